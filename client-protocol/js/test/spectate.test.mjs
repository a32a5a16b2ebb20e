// Spectators and chat through the SDK (v1.1). The first test needs no node: the bookkeeping of
// watched games and joined rooms against a stand-in socket (the fold, what goes again on a new
// socket, what the node closes by itself). Then against the node under test (ROOKERY_URL, or one
// started for this file): a watcher of a game two others play (WATCH_GAME with `you` null, the
// updates, the crowd, the end, the live list), chat in the lobby and its refusals, a game's two
// rooms kept apart, and a network loss (the node watches again by itself, the SDK joins its rooms
// again). Last, on a node of its own with ROOKERY_ADMINS: a moderator's deletion and a mute.
// Every frame both ways is checked against the JSON Schema.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";

import * as rookery from "../rookery.js";
import { RookeryClient } from "../rookery.js";
import { assertSchemaValid, delay, fakeSocketClass, nodeUrl, play, player, startGame, startNode, startProxy } from "./helpers.mjs";

const unique = (prefix) => `${prefix}${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const PASSWORD = "password for tests";

// ----- the bookkeeping, without a node -----------------------------------------------------------

/** A WebSocket stand-in (see helpers.mjs) that opens with a resumed session. */
const FakeSocket = fakeSocketClass({ type: "client/RESUME_SESSION", session: "s".repeat(22), user: { id: "u", name: "ann", rating: 1500, guest: true }, queue: null, matchup: null, game: null });

async function until(check, what) {
  for (let i = 0; i < 400; i += 1) {
    if (check()) return;
    await delay(5);
  }
  assert.fail(`never: ${what}`);
}

const players = [{ name: "bob", rating: 1500, side: "first" }, { name: "cy", rating: 1510, side: "second" }];
const watchView = (game, over = {}) => ({
  type: "client/WATCH_GAME", game, kind: "tictactoe", players, you: null, seq: 1, moves: [4],
  position: ["...", ".x.", "..."], clocks: { first: 60_000, second: 60_000, running: "second" }, toMove: "second",
  status: "playing", drawOffer: null, rated: false, clock: { initialMs: 60_000, incrementMs: 0 }, tournament: null, ...over,
});

test("bookkeeping: the watched game's fold, rooms joined again on a new socket, and what the node closes", async () => {
  FakeSocket.sockets = [];
  const client = new RookeryClient({
    baseUrl: "http://127.0.0.1:9", token: "t", WebSocket: FakeSocket, requestTimeoutMs: 1_000,
    reconnect: { initialDelayMs: 5, maxDelayMs: 10 },
  });
  await client.connect();
  const first = FakeSocket.sockets[0];

  // A watch resolves with that game's view (not another's), which the client folds.
  const watched = client.watchGame("g1");
  assert.deepEqual([first.sent.at(-1).type, first.sent.at(-1).game], ["server/WATCH_GAME", "g1"]);
  first.deliver(watchView("g2"));
  first.deliver({ ...watchView("g1"), ref: first.sent.at(-1).ref });
  assert.equal((await watched).you, null);
  const events = [];
  client.on("watched", (game) => events.push([game.game, game.seq, game.watchers, game.status]));
  first.deliver({ type: "client/UPDATE_GAME", game: "g1", seq: 2, lastMove: 0, position: ["o..", ".x.", "..."], clocks: { first: 59_000, second: 58_000, running: "first" }, toMove: "first", status: "playing", drawOffer: null });
  first.deliver({ type: "client/UPDATE_GAME", game: "g1", seq: 1, lastMove: 4, position: ["...", ".x.", "..."], clocks: { first: 1, second: 1, running: "second" }, toMove: "second", status: "playing", drawOffer: null });
  first.deliver({ type: "client/CROWD", game: "g1", watchers: 3 });
  const state = client.watchedGame("g1");
  assert.deepEqual([state.seq, state.moves, state.watchers, state.you, state.lastMove], [2, [4, 0], 3, null, 0]);
  assert.deepEqual(events, [["g1", 2, null, "playing"], ["g1", 2, 3, "playing"]], "an older update is dropped");
  assert.equal(client.game, null, "a watched game is not the client's own");

  // Rooms: joined and remembered; a refusal is not; leaving sends without a ref.
  const lobby = client.chatJoin("lobby");
  first.deliver({ type: "client/CHAT_HISTORY", room: "lobby", messages: [], ref: first.sent.at(-1).ref });
  assert.deepEqual((await lobby).messages, []);
  const refused = client.chatJoin("game:g9");
  first.deliver({ type: "client/ERROR", code: "forbidden", message: "only its two players", ref: first.sent.at(-1).ref });
  await assert.rejects(refused, { code: "forbidden" });
  const watchers = client.chatJoin("watchers:g1");
  first.deliver({ type: "client/CHAT_HISTORY", room: "watchers:g1", messages: [], ref: first.sent.at(-1).ref });
  await watchers;
  const tournament = client.chatJoin("tournament:t1");
  first.deliver({ type: "client/CHAT_HISTORY", room: "tournament:t1", messages: [], ref: first.sent.at(-1).ref });
  await tournament;
  client.chatLeave("tournament:t1");
  assert.deepEqual(first.sent.at(-1), { type: "server/CHAT_LEAVE", room: "tournament:t1" });
  assert.deepEqual(client.rooms.sort(), ["lobby", "watchers:g1"]);

  // The socket drops: the lobby is joined again at once, without a ref; the game is not
  // watched again by the client (the node does it), and its watchers' room waits for the view.
  first.drop();
  await until(() => FakeSocket.sockets.length === 2 && client.state === "open", "a second socket");
  const second = FakeSocket.sockets[1];
  assert.deepEqual(second.sent, [{ type: "server/CHAT_JOIN", room: "lobby" }]);
  second.deliver(watchView("g1", { seq: 2, moves: [4, 0] }));
  assert.deepEqual(second.sent.at(-1), { type: "server/CHAT_JOIN", room: "watchers:g1" });
  assert.equal(second.sent.length, 2);
  assert.equal(client.watchedGame("g1").watchers, 3, "the crowd count outlives a fresh view");

  // The game ends: its state keeps the result, its rooms are closed by the node.
  second.deliver({ type: "client/GAME_OVER", game: "g1", result: "second", reason: "resign", ratingChange: null });
  const over = client.watchedGame("g1");
  assert.deepEqual([over.status, over.result, over.reason, over.clocks.running], ["over", "second", "resign", null]);
  assert.deepEqual(client.rooms, ["lobby"]);
  const unwatched = client.unwatchGame("g1");
  second.deliver({ type: "client/UNWATCHED", game: "g1", ref: second.sent.at(-1).ref });
  assert.equal((await unwatched).game, "g1");
  assert.equal(client.watchedGame("g1"), null);
  assert.deepEqual(client.watchedGames.map((g) => g.game), ["g2"]);

  // A watchers' room whose game's view comes back over: forgotten, never joined again.
  const w3 = client.watchGame("g3");
  second.deliver({ ...watchView("g3"), ref: second.sent.at(-1).ref });
  await w3;
  const room3 = client.chatJoin("watchers:g3");
  second.deliver({ type: "client/CHAT_HISTORY", room: "watchers:g3", messages: [], ref: second.sent.at(-1).ref });
  await room3;
  second.drop();
  await until(() => FakeSocket.sockets.length === 3 && client.state === "open", "a third socket");
  const third = FakeSocket.sockets[2];
  third.deliver(watchView("g3", { status: "over" }));
  await delay(20);
  assert.deepEqual(third.sent, [{ type: "server/CHAT_JOIN", room: "lobby" }]);
  assert.deepEqual(client.rooms, ["lobby"]);

  // Own messages and deletions resolve by ref; a send is never repeated after a drop.
  const sent = client.chatSend("lobby", " hi ");
  third.deliver({ type: "client/CHAT_MESSAGE", room: "lobby", id: "m1", from: "ann", text: "hi", at: 1, ref: third.sent.at(-1).ref });
  assert.equal((await sent).id, "m1");
  const lost = client.chatSend("lobby", "again");
  third.drop();
  await assert.rejects(lost, { code: "disconnected" });
  await until(() => FakeSocket.sockets.length === 4 && client.state === "open", "a fourth socket");
  await delay(20);
  assert.deepEqual(FakeSocket.sockets[3].sent, [{ type: "server/CHAT_JOIN", room: "lobby" }]);
  client.close();
});

// ----- against the node --------------------------------------------------------------------------

const base = await nodeUrl();
const guest = () => rookery.guest({ baseUrl: base });

test("a watcher gets the view with you null, then every update, the crowd and the end; the live list shows it", { timeout: 60_000 }, async () => {
  const [a, b, w] = [await player(base, await guest()), await player(base, await guest()), await player(base, await guest())];
  const { first, second, game } = await startGame(a, b);
  const listed = (await rookery.getLiveGames({}, { baseUrl: base })).games.find((g) => g.game === game);
  assert.ok(listed, "a game in play is live");
  assert.deepEqual([listed.kind, listed.rated, listed.tournament, listed.players.map((p) => p.side)], ["tictactoe", false, null, ["first", "second"]]);
  assert.ok((await rookery.getLiveGames({ game: "tictactoe", limit: 100 }, { baseUrl: base })).games.some((g) => g.game === game));
  assert.ok(!(await rookery.getLiveGames({ game: "chess" }, { baseUrl: base })).games.some((g) => g.game === game));
  await assert.rejects(rookery.getLiveGames({ limit: 0 }, { baseUrl: base }), { code: "invalid_field", status: 400 });

  await play(first, second, [4]);
  // Both players and the watcher hear that someone watches.
  const crowd = (c) => c.once("client/CROWD", { filter: (f) => f.game === game && f.watchers === 1 });
  const crowds = Promise.all([crowd(first), crowd(second), crowd(w)]);
  const view = await w.watchGame(game);
  assert.equal(view.type, "client/WATCH_GAME");
  assert.ok(view.ref, "the answer echoes the ref");
  assert.equal(view.you, null);
  assert.deepEqual([view.game, view.seq, view.moves, view.status, view.toMove], [game, 1, [4], "playing", "second"]);
  assert.deepEqual(view.players.map((p) => p.name), [first.user.name, second.user.name]);
  assert.equal(w.game, null, "watching is not playing");

  await crowds;
  assert.equal(first.game.watchers, 1);
  assert.equal(w.watchedGame(game).watchers, 1);
  // The live list counts the watcher, most watched first.
  let live = [];
  for (let i = 0; i < 20 && !live.some((g) => g.game === game && g.watchers === 1); i += 1) {
    if (i) await delay(100);
    live = (await rookery.getLiveGames({ limit: 100 }, { baseUrl: base })).games;
  }
  assert.equal(live.find((g) => g.game === game)?.watchers, 1);
  assert.ok(live.every((g, i) => i === 0 || live[i - 1].watchers >= g.watchers), "most watched first");

  const updates = [];
  w.on("client/UPDATE_GAME", (u) => updates.push([u.game, u.seq, u.lastMove, u.ref ?? null]));
  const over = w.once("client/GAME_OVER", { filter: (f) => f.game === game });
  // Second to move: o at 0, x at 2, o at 1, x at 6 (the diagonal 2-4-6).
  await play(second, first, [0, 2, 1, 6]);
  const end = await over;
  assert.deepEqual([end.result, end.reason], ["first", "line"]);
  assert.deepEqual(updates, [[game, 2, 0, null], [game, 3, 2, null], [game, 4, 1, null], [game, 5, 6, null]], "each update once, in order, without the mover's ref");
  const state = w.watchedGame(game);
  assert.deepEqual([state.status, state.result, state.reason, state.moves], ["over", "first", "line", [4, 0, 2, 1, 6]]);
  assert.deepEqual(state.position, ["oox", ".x.", "x.."], "the final position");
  assert.equal(state.clocks.running, null);
  // The index is written just after the frames go out: a finished game leaves it at once, or
  // within moments.
  let stillLive = true;
  for (let i = 0; i < 20 && stillLive; i += 1) {
    stillLive = (await rookery.getLiveGames({ limit: 100 }, { baseUrl: base })).games.some((g) => g.game === game);
    if (stillLive) await delay(100);
  }
  assert.equal(stillLive, false, "a finished game is not live");

  // Watching ended with the game: unwatching answers all the same.
  const unwatched = await w.unwatchGame(game);
  assert.deepEqual([unwatched.type, unwatched.game], ["client/UNWATCHED", game]);
  assert.equal(w.watchedGame(game), null);
  await assert.rejects(w.watchGame("AAAAAAAA"), { code: "no_such_game" });
  assertSchemaValid(a, b, w);
  for (const c of [a, b, w]) c.close();
});

test("lobby chat: the other member gets the line, the sender its own once (with its ref), and history has it", { timeout: 30_000 }, async () => {
  const [ann, ben] = [await player(base, await guest()), await player(base, await guest())];
  const history = await ann.chatJoin("lobby");
  assert.deepEqual([history.type, history.room, Array.isArray(history.messages)], ["client/CHAT_HISTORY", "lobby", true]);
  assert.ok(history.ref);
  await ben.chatJoin("lobby");
  assert.deepEqual(ann.rooms, ["lobby"]);

  const text = unique("hello from ann ");
  const seen = [ann, ben].map((c) => {
    const lines = [];
    c.on("client/CHAT_MESSAGE", (line) => line.text === text && lines.push(line));
    return lines;
  });
  const mine = await ann.chatSend("lobby", `  ${text}  `);
  assert.equal(mine.type, "client/CHAT_MESSAGE");
  assert.deepEqual([mine.room, mine.from, mine.text], ["lobby", ann.user.name, text], "trimmed, from the sender's name");
  assert.ok(mine.ref && mine.id && mine.at > 0);
  const theirs = await ben.once("client/CHAT_MESSAGE", { filter: (l) => l.id === mine.id, timeoutMs: 5_000 }).catch(() => seen[1][0]);
  assert.equal(theirs.text, text);
  await delay(300);
  assert.equal(seen[0].length, 1, "the sender gets its own line once");
  assert.equal(seen[1].length, 1, "the other member gets it once");
  assert.equal(seen[1][0].ref ?? null, null, "without the sender's ref");
  assert.deepEqual(seen[1][0], { type: "client/CHAT_MESSAGE", room: "lobby", id: mine.id, from: ann.user.name, text, at: mine.at });

  const later = await player(base, await guest());
  const { messages } = await later.chatJoin("lobby");
  const kept = messages.find((m) => m.id === mine.id);
  assert.deepEqual(kept, { room: "lobby", id: mine.id, from: ann.user.name, text, at: mine.at });
  assert.ok(messages.length <= 50);
  assert.ok(messages.every((m, i) => i === 0 || messages[i - 1].at <= m.at), "oldest first");

  // Left: no more lines.
  ben.chatLeave("lobby");
  assert.deepEqual(ben.rooms, []);
  await delay(200);
  let late = 0;
  ben.on("client/CHAT_MESSAGE", () => (late += 1));
  await ann.chatSend("lobby", unique("after ben left "));
  await delay(500);
  assert.equal(late, 0);
  assertSchemaValid(ann, ben, later);
  for (const c of [ann, ben, later]) c.close();
});

test("chatSend refusals: invalid_field (empty, too long, control characters), forbidden (not joined), chat_flood", { timeout: 30_000 }, async () => {
  const c = await player(base, await guest());
  await assert.rejects(c.chatSend("lobby", "hello"), (e) => e.code === "forbidden" && e.frame?.ref === e.ref);
  await assert.rejects(c.chatJoin("nowhere"), { code: "invalid_field" });
  await assert.rejects(c.chatJoin("game:AAAAAAAA"), { code: "forbidden" });
  await assert.rejects(c.chatJoin("watchers:AAAAAAAA"), { code: "forbidden" });
  assert.deepEqual(c.rooms, [], "refused joins are not remembered");
  await c.chatJoin("lobby");
  await assert.rejects(c.chatSend("lobby", "   "), { code: "invalid_field" });
  await assert.rejects(c.chatSend("lobby", ""), { code: "invalid_field" });
  await assert.rejects(c.chatSend("lobby", "x".repeat(501)), { code: "invalid_field" });
  await assert.rejects(c.chatSend("lobby", "two\nlines"), { code: "invalid_field" });
  const tag = unique("");
  await c.chatSend("lobby", `${tag} gg`);
  await assert.rejects(c.chatSend("lobby", `${tag} GG!`), { code: "chat_flood" }, "a repeat of one of the last two");
  for (const word of ["two", "three", "four", "five"]) await c.chatSend("lobby", `${tag} ${word}`);
  await assert.rejects(c.chatSend("lobby", `${tag} six`), { code: "chat_flood" }, "a sixth in 10 s");
  await assert.rejects(c.chatDelete("lobby", "nope"), { code: "forbidden" }, "deleting needs the moderator role");
  assertSchemaValid(c);
  c.close();
});

test("a game's rooms: players talk in game:<id>, watchers in watchers:<id>, and neither hears the other", { timeout: 60_000 }, async () => {
  const [a, b, w1, w2] = [await player(base, await guest()), await player(base, await guest()), await player(base, await guest()), await player(base, await guest())];
  const { first, second, game } = await startGame(a, b);
  const heard = new Map([a, b, w1, w2].map((c) => [c, []]));
  for (const [c, lines] of heard) c.on("client/CHAT_MESSAGE", (line) => lines.push(`${line.room}|${line.text}`));

  // Players are in their game's room without joining; joining reads its history.
  const said = await first.chatSend(`game:${game}`, "good luck");
  assert.equal(said.room, `game:${game}`);
  assert.deepEqual((await second.chatJoin(`game:${game}`)).messages.map((m) => m.text), ["good luck"]);
  await assert.rejects(w1.chatJoin(`game:${game}`), { code: "forbidden" }, "a watcher is not in the players' room");
  await assert.rejects(w1.chatSend(`game:${game}`, "hi"), { code: "forbidden" });

  // Watchers watch, then join their room; players may not read it while they play.
  await assert.rejects(w1.chatJoin(`watchers:${game}`), { code: "forbidden" }, "watch first");
  await w1.watchGame(game);
  await w2.watchGame(game);
  assert.deepEqual((await w1.chatJoin(`watchers:${game}`)).messages, []);
  await w2.chatJoin(`watchers:${game}`);
  await assert.rejects(first.chatJoin(`watchers:${game}`), { code: "forbidden" });
  await assert.rejects(second.chatSend(`watchers:${game}`, "hello watchers"), { code: "forbidden" });

  const toW2 = w2.once("client/CHAT_MESSAGE", { filter: (l) => l.text === "what a move" });
  await w1.chatSend(`watchers:${game}`, "what a move");
  await toW2;
  const toFirst = first.once("client/CHAT_MESSAGE", { filter: (l) => l.text === "thanks" });
  await second.chatSend(`game:${game}`, "thanks");
  await toFirst;
  await delay(300);
  assert.deepEqual(heard.get(first), [`game:${game}|good luck`, `game:${game}|thanks`]);
  assert.deepEqual(heard.get(second), [`game:${game}|good luck`, `game:${game}|thanks`]);
  assert.deepEqual(heard.get(w1), [`watchers:${game}|what a move`]);
  assert.deepEqual(heard.get(w2), [`watchers:${game}|what a move`]);

  // The game ends: both rooms close with it; the players' chat is kept with the game.
  const over = w1.once("client/GAME_OVER");
  await play(first, second, [0, 3, 1, 4, 2]);
  await over;
  assert.deepEqual(w1.rooms, [], "the watchers' room closed with the game");
  assert.deepEqual(first.rooms, []);
  await assert.rejects(w1.chatSend(`watchers:${game}`, "gg"), { code: "forbidden" });
  let record = null;
  for (let i = 0; i < 40 && !record; i += 1) {
    record = await rookery.getGame(game, { baseUrl: base }).catch(() => null);
    if (!record) await delay(250);
  }
  assert.ok(record, "the finished game is stored");
  assert.deepEqual(record.chat.map((l) => [l.room, l.from, l.text]), [
    [`game:${game}`, first.user.name, "good luck"],
    [`game:${game}`, second.user.name, "thanks"],
  ]);
  assertSchemaValid(a, b, w1, w2);
  for (const c of [a, b, w1, w2]) c.close();
});

test("network loss: the node watches the game again by itself, the SDK joins the lobby and the watchers' room again", { timeout: 60_000 }, async () => {
  const port = Number(new URL(base).port);
  const proxy = await startProxy(port);
  const [a, b] = [await player(base, await guest()), await player(base, await guest())];
  const other = await player(base, await guest());
  const w = await player(base, await guest(), { via: proxy.url });
  const { first, second, game } = await startGame(a, b);
  await w.watchGame(game);
  await w.chatJoin("lobby");
  await w.chatJoin(`watchers:${game}`);
  await other.watchGame(game);
  await other.chatJoin(`watchers:${game}`);

  const view = w.once("client/WATCH_GAME", { filter: (f) => f.game === game && !f.ref, timeoutMs: 15_000 });
  const rejoined = ["lobby", `watchers:${game}`].map((room) => w.once("client/CHAT_HISTORY", { filter: (h) => h.room === room && !h.ref, timeoutMs: 15_000 }));
  const back = w.once("connected", { timeoutMs: 15_000 });
  proxy.cut();
  assert.equal((await back).resumed, true);
  assert.equal((await view).you, null, "the node sends the view again by itself");
  await Promise.all(rejoined);
  assert.deepEqual(w.rooms.sort(), ["lobby", `watchers:${game}`]);

  // Lines, updates and the end keep coming on the new socket.
  const line = w.once("client/CHAT_MESSAGE", { filter: (l) => l.text === "still there?", timeoutMs: 5_000 });
  await other.chatSend(`watchers:${game}`, "still there?");
  await line;
  const update = w.once("client/UPDATE_GAME", { filter: (u) => u.game === game && u.seq === 1, timeoutMs: 5_000 });
  await play(first, second, [4]);
  await update;
  const errors = w.log.received.filter((f) => f.type === "client/ERROR");
  assert.deepEqual(errors, [], "nothing refused on the new socket");
  assertSchemaValid(a, b, w, other);
  for (const c of [a, b, w, other]) c.close();
  await proxy.close();
});

// ----- a moderator, on a node of its own ----------------------------------------------------------

test("a moderator deletes a line: every member hears it, and history no longer has it; a muted player is refused", { timeout: 60_000 }, async () => {
  const ADMIN = unique("adm");
  const node = await startNode({ env: { ROOKERY_ADMINS: ADMIN } });
  after(async () => {
    await node.stop();
    rmSync(node.dataDir, { recursive: true, force: true });
  });
  const adminAuth = await rookery.register(ADMIN, PASSWORD, { baseUrl: node.url });
  const mod = await player(node.url, adminAuth);
  const ann = await player(node.url, await rookery.register(unique("ann"), PASSWORD, { baseUrl: node.url }));
  const ben = await player(node.url, await rookery.guest({ baseUrl: node.url }));
  for (const c of [mod, ann, ben]) await c.chatJoin("lobby");

  const bad = await ann.chatSend("lobby", "something rude");
  const keep = await ann.chatSend("lobby", "something nice");
  const toBen = ben.once("client/CHAT_DELETED", { filter: (d) => d.id === bad.id });
  const deletedForAnn = ann.once("client/CHAT_DELETED", { filter: (d) => d.id === bad.id });
  const deleted = await mod.chatDelete("lobby", bad.id);
  assert.deepEqual([deleted.type, deleted.room, deleted.id], ["client/CHAT_DELETED", "lobby", bad.id]);
  assert.ok(deleted.ref);
  assert.equal((await toBen).ref ?? null, null);
  await deletedForAnn;
  const { messages } = await ben.chatJoin("lobby");
  assert.deepEqual(messages.map((m) => m.id), [keep.id], "a deleted line is gone from the history");
  await assert.rejects(mod.chatDelete("lobby", bad.id), { code: "not_found" });

  // Muted: refused with `until`, and the line reaches nobody.
  await rookery.muteUser(ann.user.name, { reason: "rude", durationMs: 60_000 }, { baseUrl: node.url, token: adminAuth.token });
  const error = await ann.chatSend("lobby", "can I speak?").then(() => null, (e) => e);
  assert.equal(error?.code, "muted");
  assert.ok(error.frame.until > Date.now(), "until when");
  assertSchemaValid(mod, ann, ben);
  for (const c of [mod, ann, ben]) c.close();
});
