// A player reloads mid-game, then closes the tab and comes back in a new one: the page resumes
// the session each time, with the same moves and clocks, and the opponent is told how long the
// absent player has to return.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  acceptMatchup, assertNoErrors, baseUrl, byTest, launch, openPlayer, playAsGuest, playMoves,
  queue, screenshot, shownClocks, shownMoves, sides, storedAuth, waitForSeq,
} from "./helpers.mjs";

const column = (c) => [`[data-testid="board"] [data-col="${c}"][data-row="0"]`];

test("reload and a closed tab mid-game: the game continues with the same moves and clocks", { timeout: 150_000 }, async () => {
  const url = await baseUrl();
  const browser = await launch();
  const a = await openPlayer(browser, url, "a");
  const b = await openPlayer(browser, url, "b");
  await playAsGuest(a);
  await playAsGuest(b);
  await queue(a, "connect4", "600000+5000");
  await queue(b, "connect4", "600000+5000");
  await acceptMatchup(a, b);
  const players = await sides(a, b);
  const { first, second } = players;
  await playMoves(players, [0, 1, 0], column);

  // `first` reloads while `second` is to move: second's clock runs, first's stands still.
  await second.page.locator('[data-testid="clock-you"].running').waitFor();
  const session = (await storedAuth(first)).session;
  const moves = await shownMoves(first);
  const before = await shownClocks(first);
  assert.equal(before.running, "second");
  await first.page.reload();
  await waitForSeq(first, 3);
  await first.page.locator('[data-testid="conn-status"][data-state="open"]').waitFor();
  assert.equal((await storedAuth(first)).session, session, "the same session resumed");
  assert.deepEqual(await shownMoves(first), moves);
  assert.deepEqual(moves, ["● col 1", "● col 2", "● col 1"]);
  const after = await shownClocks(first);
  assert.equal(after.first, before.first, "first's clock is where it stopped");
  assert.ok(after.second <= before.second, "second's clock kept running");
  assert.ok(after.second > 0);
  assert.equal(after.running, "second");
  await screenshot(first, "resume-after-reload");

  // The game goes on from there.
  await playMoves(players, [1, 0], column, 3);

  // `first` closes the tab: `second` is told, with a countdown.
  await first.page.close();
  const presence = byTest(second.page, "presence");
  await presence.waitFor({ state: "visible" });
  assert.match(await presence.textContent(), /^Opponent disconnected — \d+ s to return$/);
  const shown = Number(/(\d+) s/.exec(await presence.textContent())[1]);
  assert.ok(shown > 0 && shown <= 60);
  await screenshot(second, "resume-opponent-away");

  // ...and comes back in a new tab of the same browser profile.
  first.page = await first.context.newPage();
  first.watch(first.page);
  await first.page.goto(`${url}/`);
  await waitForSeq(first, 5);
  await presence.waitFor({ state: "hidden" });
  await playMoves(players, [1, 0], column, 5);

  for (const [player, title] of [[first, "You won"], [second, "You lost"]]) {
    const result = byTest(player.page, "result");
    await result.waitFor({ state: "visible" });
    assert.equal(await result.locator(".result-title").textContent(), title);
    assert.equal(await result.locator(".result-reason").textContent(), "four in a row");
  }
  await screenshot(first, "resume-winner");
  await screenshot(second, "resume-loser");
  assertNoErrors(a, b);
});
