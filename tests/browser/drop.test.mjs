// The network drops mid-game (a proxy between the page and the node cuts every connection):
// the page says it is reconnecting, comes back by itself, and the game goes on.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  acceptMatchup, assertNoErrors, baseUrl, byTest, cutAndReconnect, launch, openPlayer, playAsGuest, playMoves,
  queue, screenshot, shownMoves, sides, startProxy, storedAuth, waitForSeq,
} from "./helpers.mjs";

const cell = (c) => [`[data-testid="board"] [data-cell="${c}"]`];

test("a network drop mid-game: the page reconnects on its own and play goes on", { timeout: 120_000 }, async () => {
  const url = await baseUrl();
  const proxy = await startProxy(Number(new URL(url).port));
  const browser = await launch();
  const a = await openPlayer(browser, proxy.url, "a (through the proxy)");
  const b = await openPlayer(browser, url, "b");
  await playAsGuest(a);
  await playAsGuest(b);
  await queue(a, "tictactoe", "600000+5000");
  await queue(b, "tictactoe", "600000+5000");
  await acceptMatchup(a, b);
  const players = await sides(a, b);
  await playMoves(players, [4, 0], cell);
  const session = (await storedAuth(a)).session;

  await cutAndReconnect(a, proxy);
  assert.equal((await storedAuth(a)).session, session);
  await waitForSeq(a, 2);
  assert.deepEqual(await shownMoves(a), ["✕ b2", "◯ a3"]);
  await byTest(b.page, "presence").waitFor({ state: "hidden" });

  // Nobody gets a line: the board fills up.
  await playMoves(players, [8, 2, 1, 7, 3, 5, 6], cell, 2);
  for (const player of [a, b]) {
    const result = byTest(player.page, "result");
    await result.waitFor({ state: "visible" });
    assert.equal(await result.locator(".result-title").textContent(), "Draw");
    assert.equal(await result.locator(".result-reason").textContent(), "the board is full");
  }
  await screenshot(a, "drop-draw");
  // Chromium logs the failed socket while the network is down; nothing else may go wrong.
  a.errors = a.errors.filter((e) => !/WebSocket connection to .* failed/.test(e));
  assertNoErrors(a, b);
  await proxy.close();
});
