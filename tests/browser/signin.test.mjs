// Staying signed in past the access token's life, on a node of this file's own whose tokens
// live 2 s (ROOKERY_TOKEN_TTL_SECS): once the node refuses the page's token, a network drop
// mid-game makes the page renew it with the refresh token before it reconnects, and the game
// goes on; a reload after the next expiry still finds the player signed in; "Log out" ends
// the sign-in on the node (the renewed token is refused from then on).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  acceptMatchup, assertNoErrors, byTest, cutAndReconnect, launch, openPlayer, ownNode, playAsGuest, playMoves,
  queue, registerInPage, screenshot, shownMoves, sides, startProxy, storedAuth, waitForSeq,
} from "./helpers.mjs";

const cell = (c) => [`[data-testid="board"] [data-cell="${c}"]`];

/** `GET /api/me` with `token` straight to the node: its HTTP status. */
async function meStatus(url, token) {
  const response = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

/** Polls until the node answers `status` for `token` (its TTL and clock leeway, then 401). */
async function untilStatus(url, token, status, what) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await meStatus(url, token)) === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`never: ${what}`);
}

test("an expired token: the page renews it, reconnects and plays on, stays signed in after a reload, and logs out", { timeout: 150_000 }, async () => {
  const url = await ownNode({ ROOKERY_TOKEN_TTL_SECS: "2" });
  const proxy = await startProxy(Number(new URL(url).port));
  const browser = await launch();
  const a = await openPlayer(browser, proxy.url, "a (through the proxy)");
  const b = await openPlayer(browser, url, "b");
  const name = `stay${Date.now().toString(36).slice(-6)}`;
  await registerInPage(a, name, "password for tests");
  await playAsGuest(b);
  await queue(a, "tictactoe", "600000+5000");
  await queue(b, "tictactoe", "600000+5000");
  await acceptMatchup(a, b);
  const players = await sides(a, b);
  await playMoves(players, [4, 0], cell);

  const before = await storedAuth(a);
  assert.equal(typeof before.refreshToken, "string", "the page keeps the refresh token");
  assert.ok(before.expiresAt > 0);
  // The node refuses the page's token now; the open socket stays open past it.
  await untilStatus(url, before.token, 401, "the node refuses the first token");
  assert.equal(await byTest(a.page, "conn-status").getAttribute("data-state"), "open");

  await cutAndReconnect(a, proxy);
  const renewed = await storedAuth(a);
  assert.notEqual(renewed.token, before.token, "a new token, stored");
  assert.notEqual(renewed.refreshToken, before.refreshToken, "the refresh token rotated");
  assert.equal(renewed.session, before.session, "the same session resumed");
  assert.equal(renewed.user.name, name);
  await waitForSeq(a, 2);
  assert.deepEqual(await shownMoves(a), ["✕ b2", "◯ a3"]);
  await byTest(b.page, "presence").waitFor({ state: "hidden" });
  assert.equal(await byTest(a.page, "user-name").textContent(), name);

  // Play on to the end: the first side takes the middle row.
  await playMoves(players, [3, 8, 5], cell, 2);
  const winner = players.first;
  const result = byTest(winner.page, "result");
  await result.waitFor({ state: "visible" });
  assert.equal(await result.locator(".result-title").textContent(), "You won");
  assert.equal(await result.locator(".result-reason").textContent(), "three in a row");
  await screenshot(a, "signin-renewed-after-drop");

  // The renewed token expires too; a reload then renews once more and the player is still in.
  const stored = await storedAuth(a);
  await untilStatus(url, stored.token, 401, "the node refuses the renewed token");
  await a.page.reload();
  await a.page.locator('[data-testid="conn-status"][data-state="open"]').waitFor();
  await byTest(a.page, "lobby").waitFor({ state: "visible" });
  assert.equal(await byTest(a.page, "user-name").textContent(), name);
  const reloaded = await storedAuth(a);
  assert.notEqual(reloaded.token, stored.token);
  assert.equal(reloaded.session, stored.session);
  assert.equal(await meStatus(url, reloaded.token), 200, "the stored token is a live one");
  await screenshot(a, "signin-after-reload");

  // Log out: the page forgets the player and the node refuses the live token from then on.
  await byTest(a.page, "logout").click();
  await byTest(a.page, "auth-guest").waitFor({ state: "visible" });
  assert.equal(await storedAuth(a), null);
  await untilStatus(url, reloaded.token, 401, "the node refuses the token after logout");
  const refresh = await fetch(`${url}/api/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refreshToken: reloaded.refreshToken }),
  });
  assert.equal(refresh.status, 401, "and its refresh token");

  // Chromium logs the failed socket while the network is down; nothing else may go wrong.
  a.errors = a.errors.filter((e) => !/WebSocket connection to .* failed/.test(e));
  assertNoErrors(a, b);
  await proxy.close();
});
