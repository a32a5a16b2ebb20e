// Spectators and chat in the page, on a node of their own (ROOKERY_ADMINS names a moderator).
// Two guests play tic-tac-toe in their pages; a third guest opens the lobby's live games, clicks
// the game and watches it: the board, the moves as they come, the crowd count and the result,
// with no controls. The moderator watches too. The players talk in their game's room and the
// watchers in theirs, and neither side sees the other's lines while the game is on; the players
// see how many watch. The moderator deletes a watcher's line: it disappears from every page. In
// the lobby's chat, a repeated line is refused inline (chat_flood), and so is a muted player's.
// A reload keeps watching (the session does), with the watchers' chat history.
// The watcher's page, with the board and its chat, is saved as artifacts/watch.png (and
// /tmp/watch.png).
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { test } from "node:test";

import * as rookery from "../../client-protocol/js/rookery.js";
import {
  acceptMatchup, assertNoErrors, byTest, launch, openPlayer, ownNode, playAsGuest, queue, registerInPage,
  screenshot, shownMoves, sides, storedAuth, waitForSeq,
} from "./helpers.mjs";

const MODERATOR = "mod_mia";
const PASSWORD = "correct horse battery";
const url = await ownNode({ ROOKERY_ADMINS: MODERATOR });

/** One of the page's chat panels (`lobby`, `game`, `watch`). */
const panel = (player, key) => byTest(player.page, `chat-${key}`);

/** The texts a panel shows, oldest first. */
const lines = (player, key) => panel(player, key).locator(".chat-line .chat-text").allTextContents();

/** Types a line into a panel and sends it; waits until it shows there. */
async function say(player, key, text) {
  const box = panel(player, key);
  await box.locator('[data-testid="chat-input"]').fill(text);
  await box.locator('[data-testid="chat-send"]').click();
  await box.locator(".chat-line .chat-text", { hasText: text }).waitFor();
  assert.equal(await box.locator('[data-testid="chat-input"]').inputValue(), "", "the input is cleared once sent");
}

/** Waits until a panel shows a line with `text`. */
const sees = (player, key, text) => panel(player, key).locator(".chat-line .chat-text", { hasText: text }).waitFor();

/** Waits until the watched board shows `seq` moves. */
const watchedSeq = (player, seq) => player.page.locator(`[data-testid="watch-board"][data-seq="${seq}"]`).waitFor();

/** Opens a game from the lobby's live list and waits for its board. */
async function watchFromList(player, game) {
  const row = byTest(player.page, "live-games").locator(`tr[data-game="${game}"]`);
  await row.waitFor();
  await row.locator('[data-testid="live-watch"]').click();
  await byTest(player.page, "watch").waitFor({ state: "visible" });
  await player.page.locator(`[data-testid="watch"][data-game="${game}"] [data-testid="watch-board"][data-status]`).waitFor();
}

test("a third page watches two guests play from the live list; players and watchers chat apart; a moderator deletes a line", { timeout: 180_000 }, async () => {
  const browser = await launch();
  const a = await openPlayer(browser, url, "a");
  const b = await openPlayer(browser, url, "b");
  const w = await openPlayer(browser, url, "watcher");
  const m = await openPlayer(browser, url, "moderator");
  for (const p of [a, b, w]) await playAsGuest(p);
  await registerInPage(m, MODERATOR, PASSWORD);

  // Nothing is played yet.
  await byTest(w.page, "live-games").locator("text=No game is being played right now.").waitFor();
  await queue(a, "tictactoe", "600000+5000");
  await queue(b, "tictactoe", "600000+5000");
  await acceptMatchup(a, b);
  const players = await sides(a, b);
  const { first, second } = players;
  const game = await byTest(first.page, "game").getAttribute("data-game");
  assert.match(game, /^[A-Za-z0-9_-]{8}$/);
  const cell = (player, i) => player.page.locator(`[data-testid="board"] [data-cell="${i}"]`);
  await cell(first, 4).click();
  await waitForSeq(second, 1);

  // The watcher finds the game in the live list (refreshed by itself) and opens it.
  const row = byTest(w.page, "live-games").locator(`tr[data-game="${game}"]`);
  await row.waitFor({ timeout: 15_000 });
  const rowText = await row.textContent();
  assert.match(rowText, /Tic-tac-toe/);
  assert.ok(rowText.includes(first.user.name) && rowText.includes(second.user.name), rowText);
  await screenshot(w, "watch-live-list");
  await watchFromList(w, game);
  const board = byTest(w.page, "watch-board");
  await w.page.locator('[data-testid="watch-board"][data-seq="1"]').waitFor();
  assert.equal(await board.getAttribute("data-kind"), "tictactoe");
  assert.deepEqual(await w.page.locator('[data-testid="watch-moves"] .move').allTextContents(), ["✕ b2"]);
  assert.equal(await board.locator("button:not([disabled])").count(), 0, "a watcher cannot play");
  for (const control of ["offer-draw", "resign", "draw-accept"]) {
    assert.equal(await byTest(w.page, "watch").locator(`[data-testid="${control}"]`).count(), 0, `no ${control} for a watcher`);
  }
  assert.match(await byTest(w.page, "watch-status").textContent(), new RegExp(`◯ ${second.user.name} to move`));
  assert.match(await byTest(w.page, "watch-bottom").textContent(), new RegExp(first.user.name));
  assert.match(await byTest(w.page, "watch-top").textContent(), new RegExp(second.user.name));
  assert.match(await byTest(w.page, "watch-clock-bottom").textContent(), /^\d+:\d\d$/);

  // The moderator watches too; everybody sees two watchers.
  await watchFromList(m, game);
  for (const player of [first, second]) await player.page.locator('[data-testid="crowd"][data-watchers="2"]').waitFor();
  assert.equal(await byTest(first.page, "crowd").textContent(), "2 watching");
  await w.page.locator('[data-testid="watch-crowd"][data-watchers="2"]').waitFor();

  // The players talk in their room, the watchers in theirs.
  await say(first, "game", "good luck!");
  await sees(second, "game", "good luck!");
  await say(w, "watch", "nice center opening");
  await sees(m, "watch", "nice center opening");
  await say(m, "watch", "agreed, solid start");
  await sees(w, "watch", "agreed, solid start");
  await say(second, "game", "thanks, you too");
  await sees(first, "game", "thanks, you too");
  await say(w, "watch", "second is lost already");
  await sees(m, "watch", "second is lost already");

  // The moderator deletes the watcher's line: it goes from both pages.
  const doomed = panel(m, "watch").locator(".chat-line", { hasText: "second is lost already" });
  await doomed.locator('[data-testid="chat-delete"]').click();
  await panel(w, "watch").locator(".chat-line", { hasText: "second is lost already" }).waitFor({ state: "detached" });
  await doomed.waitFor({ state: "detached" });
  assert.equal(await panel(w, "watch").locator('[data-testid="chat-delete"]').count(), 0, "only moderators get the delete button");

  // The watcher reloads: the session still watches, so the page opens the game again, and the
  // watchers' chat comes back from its history (the deleted line gone).
  await w.page.reload();
  await w.page.locator(`[data-testid="watch"][data-game="${game}"] [data-testid="watch-board"][data-seq="1"]`).waitFor();
  await sees(w, "watch", "agreed, solid start");
  assert.deepEqual(await lines(w, "watch"), ["nice center opening", "agreed, solid start"]);
  await w.page.locator('[data-testid="chat-watch"][data-open="true"]').waitFor();
  await w.page.locator('[data-testid="watch-crowd"][data-watchers="2"]').waitFor();

  // Two more moves, seen by the watcher as they come.
  await cell(second, 0).click();
  await watchedSeq(w, 2);
  await cell(first, 2).click();
  await watchedSeq(w, 3);
  await say(w, "watch", "o must block at 6 now");
  await sees(m, "watch", "o must block at 6 now");
  assert.deepEqual(await w.page.locator('[data-testid="watch-moves"] .move').allTextContents(), ["✕ b2", "◯ a3", "✕ c3"]);

  // Neither side sees the other's lines while the game is on.
  await first.page.waitForTimeout(300);
  for (const player of [first, second]) assert.deepEqual(await lines(player, "game"), ["good luck!", "thanks, you too"], `${player.name}'s game chat`);
  for (const player of [w, m]) assert.deepEqual(await lines(player, "watch"), ["nice center opening", "agreed, solid start", "o must block at 6 now"], `${player.name}'s watchers' chat`);
  assert.equal(await byTest(first.page, "chat-watch").isVisible(), false);

  await screenshot(first, "watch-player");
  const shot = await screenshot(w, "watch");
  copyFileSync(shot, "/tmp/watch.png");

  // The last moves: the first side takes the 2-4-6 diagonal.
  await cell(second, 1).click();
  await watchedSeq(w, 4);
  await cell(first, 6).click();
  const result = byTest(w.page, "watch-result");
  await result.waitFor({ state: "visible" });
  assert.equal(await result.locator(".result-title").textContent(), `✕ ${first.user.name} won`);
  assert.equal(await result.locator(".result-reason").textContent(), "three in a row");
  assert.equal(await board.getAttribute("data-status"), "over");
  assert.deepEqual(await w.page.locator('[data-testid="watch-moves"] .move').allTextContents(), ["✕ b2", "◯ a3", "✕ c3", "◯ b3", "✕ a1"]);
  assert.equal(await byTest(w.page, "watch-status").textContent(), "Game over");
  // The watchers' chat closes with the game, its lines stay on screen.
  await w.page.locator('[data-testid="chat-watch"][data-open="false"]').waitFor();
  assert.match(await panel(w, "watch").locator('[data-testid="chat-note"]').textContent(), /The game is over/);
  assert.equal(await panel(w, "watch").locator('[data-testid="chat-input"]').isDisabled(), true);
  await screenshot(w, "watch-result");
  for (const [player, title] of [[first, "You won"], [second, "You lost"]]) {
    await byTest(player.page, "result").waitFor({ state: "visible" });
    assert.equal(await byTest(player.page, "result").locator(".result-title").textContent(), title);
    assert.deepEqual(await shownMoves(player), ["✕ b2", "◯ a3", "✕ c3", "◯ b3", "✕ a1"]);
  }
  // What the players said is kept with the game; the watchers' lines are not.
  let record = null;
  for (let i = 0; i < 40 && !record; i += 1) {
    record = await rookery.getGame(game, { baseUrl: url }).catch(() => null);
    if (!record) await w.page.waitForTimeout(250);
  }
  assert.deepEqual(record.chat.map((l) => l.text), ["good luck!", "thanks, you too"]);

  // Back to the live list: the finished game is gone from it.
  await byTest(w.page, "watch-back").click();
  await byTest(w.page, "lobby").waitFor({ state: "visible" });
  await byTest(w.page, "live-games").locator(`tr[data-game="${game}"]`).waitFor({ state: "detached", timeout: 10_000 });

  // The lobby's chat: the moderator (back in the lobby too) sees the watcher's line; a repeat is
  // refused inline; so is anything from a muted player.
  await byTest(m.page, "watch-close").click();
  await byTest(m.page, "lobby").waitFor({ state: "visible" });
  await say(w, "lobby", "anyone up for connect four?");
  await sees(m, "lobby", "anyone up for connect four?");
  const lobbyBox = panel(w, "lobby");
  await lobbyBox.locator('[data-testid="chat-input"]').fill("Anyone up for connect four??");
  await lobbyBox.locator('[data-testid="chat-send"]').click();
  await lobbyBox.locator('[data-testid="chat-error"]', { hasText: "Slow down" }).waitFor();
  assert.equal(await lobbyBox.locator('[data-testid="chat-input"]').inputValue(), "Anyone up for connect four??", "a refused line stays in the input");
  const { token } = await storedAuth(m);
  await rookery.muteUser(w.user.name, { reason: "testing", durationMs: 3_600_000 }, { baseUrl: url, token });
  await lobbyBox.locator('[data-testid="chat-input"]').fill("hello?");
  await lobbyBox.locator('[data-testid="chat-error"]').waitFor({ state: "hidden" });
  await lobbyBox.locator('[data-testid="chat-send"]').click();
  await lobbyBox.locator('[data-testid="chat-error"]', { hasText: "You are muted until" }).waitFor();
  assert.deepEqual((await lines(m, "lobby")).filter((t) => t.includes("connect four") || t === "hello?"), ["anyone up for connect four?"]);
  await screenshot(w, "lobby-chat");
  assertNoErrors(a, b, w, m);
});
