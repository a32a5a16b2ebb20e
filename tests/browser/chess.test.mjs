// Two players play fool's mate through the page: click a piece, see its legal moves, click
// the target square.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  acceptMatchup, assertNoErrors, baseUrl, byTest, launch, openPlayer, playAsGuest, playMoves,
  queue, screenshot, shownClocks, shownMoves, sides, waitForSeq,
} from "./helpers.mjs";

const square = (name) => `[data-testid="board"] [data-square="${name}"]`;

test("fool's mate in chess, with legal-move hints and ticking clocks", { timeout: 120_000 }, async () => {
  const url = await baseUrl();
  const browser = await launch();
  const a = await openPlayer(browser, url, "a");
  const b = await openPlayer(browser, url, "b");
  await playAsGuest(a);
  await playAsGuest(b);
  await queue(a, "chess", "300000+0");
  await queue(b, "chess", "300000+0");
  await acceptMatchup(a, b);
  const players = await sides(a, b);
  const { first: white, second: black } = players;

  // White sees white at the bottom, black sees black at the bottom.
  const corner = (p) => p.page.locator('[data-testid="board"] [data-square]').last().getAttribute("data-square");
  assert.equal(await corner(white), "h1");
  assert.equal(await corner(black), "a8");

  // Selecting a piece shows where it can go.
  await white.page.locator(square("g1")).click();
  const hints = await white.page.locator('[data-testid="board"] .hint').evaluateAll((els) => els.map((e) => e.dataset.square).sort());
  assert.deepEqual(hints, ["f3", "h3"]);
  await white.page.locator(square("g1")).click(); // deselect
  assert.equal(await white.page.locator('[data-testid="board"] .hint').count(), 0);

  const uci = (m) => [square(m.slice(0, 2)), square(m.slice(2, 4))];
  await playMoves(players, ["f2f3", "e7e5", "g2g4"], uci);

  // Both clocks: white's stopped at its value, black's running down.
  await black.page.locator('[data-testid="clock-you"].running').waitFor();
  const before = await shownClocks(black);
  assert.equal(before.running, "second");
  assert.ok(before.first > 0 && before.first <= 300_000);
  await black.page.waitForFunction(
    (ms) => Number(document.querySelector('[data-testid="clock-you"]').dataset.ms) < ms,
    before.second,
  );
  assert.equal((await shownClocks(black)).first, before.first, "the stopped clock does not move");

  await black.page.locator(square("d8")).click();
  await black.page.locator(`${square("h4")}.hint`).waitFor();
  await screenshot(black, "chess-before-mate");
  await black.page.locator(square("h4")).click();
  await waitForSeq(white, 4);

  for (const [player, title] of [[black, "You won"], [white, "You lost"]]) {
    const result = byTest(player.page, "result");
    await result.waitFor({ state: "visible" });
    assert.equal(await result.locator(".result-title").textContent(), title);
    assert.equal(await result.locator(".result-reason").textContent(), "by checkmate");
    assert.deepEqual(await shownMoves(player), ["f3", "e5", "g4", "Qh4#"]);
    assert.equal(await player.page.locator('[data-testid="board"] .check').getAttribute("data-square"), "e1");
    assert.equal(await byTest(player.page, "clock-you").evaluate((e) => e.classList.contains("running")), false);
  }
  await screenshot(black, "chess-winner");
  await screenshot(white, "chess-loser");
  assertNoErrors(a, b);
});
