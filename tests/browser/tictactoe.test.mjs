// Two players in two browser contexts play tic-tac-toe to a win through the page.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  acceptMatchup, assertNoErrors, baseUrl, byTest, launch, openPlayer, playAsGuest, playMoves,
  queue, screenshot, shownMoves, sides,
} from "./helpers.mjs";

test("two guests play tic-tac-toe to a win", { timeout: 120_000 }, async () => {
  const url = await baseUrl();
  const browser = await launch();
  const a = await openPlayer(browser, url, "a");
  const b = await openPlayer(browser, url, "b");
  await playAsGuest(a);
  await playAsGuest(b);
  await queue(a, "tictactoe", "180000+2000");
  await queue(b, "tictactoe", "180000+2000");
  await acceptMatchup(a, b);

  const players = await sides(a, b);
  // The first side takes the top row; the second plays the middle row and falls short.
  await playMoves(players, [0, 3, 1, 4, 2], (cell) => [`[data-testid="board"] [data-cell="${cell}"]`]);

  const { first: winner, second: loser } = players;
  for (const [player, title] of [[winner, "You won"], [loser, "You lost"]]) {
    const result = byTest(player.page, "result");
    await result.waitFor({ state: "visible" });
    assert.equal(await result.locator(".result-title").textContent(), title);
    assert.equal(await result.locator(".result-reason").textContent(), "three in a row");
    assert.equal(await byTest(player.page, "rating-change").textContent(), "Unrated game");
    assert.deepEqual(await shownMoves(player), ["✕ a3", "◯ a2", "✕ b3", "◯ b2", "✕ c3"]);
    assert.deepEqual(
      await player.page.locator('[data-testid="board"] [data-cell]').evaluateAll((cells) => cells.map((c) => c.dataset.mark || ".").join("")),
      "xxxoo....",
    );
  }
  await screenshot(winner, "tictactoe-winner");
  await screenshot(loser, "tictactoe-loser");

  // Back in the lobby, the game is in the player's recent games.
  await byTest(winner.page, "new-game").click();
  const row = byTest(winner.page, "history").locator("tbody tr").first();
  await row.waitFor();
  assert.match(await row.textContent(), /Tic-tac-toe · 3 \+ 2.*Won · three in a row/);
  await screenshot(winner, "tictactoe-history");
  assertNoErrors(a, b);
});
