// Tournaments through the SDK, against a real node of this file's own (started with
// ROOKERY_ADMINS and a fast tournament clock): the HTTP helpers (create, list, read, join,
// withdraw, registrations, cancel, and the refusals as RookeryError), the socket requests
// (join, withdraw, watch with live updates, unwatch), a swiss whose game the server starts by
// itself (`client/START_GAME` with `tournament`), and the watch sent again after a network loss.
// Every frame both ways is checked against the JSON Schema. The first test needs no node: the
// watch bookkeeping against a stand-in socket.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";

import * as rookery from "../rookery.js";
import { RookeryClient } from "../rookery.js";
import { assertSchemaValid, delay, fakeSocketClass, play, player, startNode, startProxy } from "./helpers.mjs";

// The node: started before any test is declared (so it outlives them all), stopped after the last.
const unique = (prefix) => `${prefix}${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const ADMIN = unique("adm");
const node = await startNode({ env: { ROOKERY_ADMINS: ADMIN, ROOKERY_TOURNAMENT_TICK_MS: "50" } });
after(async () => {
  await node.stop();
  rmSync(node.dataDir, { recursive: true, force: true });
});
const base = node.url;
const PASSWORD = "password for tests";
const adminAuth = await rookery.register(ADMIN, PASSWORD, { baseUrl: base });
const asAdmin = { baseUrl: base, token: adminAuth.token };
const registered = async (prefix = "ply") => rookery.register(unique(prefix), PASSWORD, { baseUrl: base });

// ----- the watch bookkeeping, without a node ----------------------------------------------------

/** A WebSocket stand-in (see helpers.mjs) that opens with a fresh session. */
const FakeSocket = fakeSocketClass({ type: "client/SESSION_STARTED", session: "s".repeat(22), token: "t", user: { id: "u", name: "ann", rating: 1500, guest: true } });

const fakeView = (id, players = 0) => ({
  id, name: "T", format: "arena", game: "tictactoe", clock: null, rated: false, status: "created",
  startsAt: 0, durationMs: 60_000, rounds: null, round: 0, players, maxPlayers: null, createdBy: "adm",
  standings: [], pairings: [], endedAt: null,
});

async function until(check, what) {
  for (let i = 0; i < 400; i += 1) {
    if (check()) return;
    await delay(5);
  }
  assert.fail(`never: ${what}`);
}

test("watch: resolves with its tournament's first update, is sent again after a drop, and unwatch ends it", async () => {
  FakeSocket.sockets = [];
  const client = new RookeryClient({
    baseUrl: "http://127.0.0.1:9", token: "t", WebSocket: FakeSocket, requestTimeoutMs: 1_000,
    reconnect: { initialDelayMs: 5, maxDelayMs: 10 },
  });
  await client.connect();
  const first = FakeSocket.sockets[0];

  const watched = client.watchTournament("t1");
  const frame = first.sent.at(-1);
  assert.deepEqual({ type: frame.type, tournament: frame.tournament }, { type: "server/WATCH_TOURNAMENT", tournament: "t1" });
  assert.deepEqual(client.watching, ["t1"]);
  // Another tournament's update does not answer it; this one's does, ref or not.
  first.deliver({ type: "client/TOURNAMENT_UPDATE", tournament: fakeView("t2") });
  first.deliver({ type: "client/TOURNAMENT_UPDATE", tournament: fakeView("t1", 3) });
  assert.equal((await watched).tournament.players, 3);

  // A refusal: nothing is watched.
  const refused = client.watchTournament("nope");
  first.deliver({ type: "client/ERROR", code: "not_found", message: "no tournament", ref: first.sent.at(-1).ref });
  await assert.rejects(refused, { code: "not_found" });
  assert.deepEqual(client.watching, ["t1"]);

  // The socket drops: the new one watches t1 again, without a ref (the answer is an event).
  const updates = [];
  client.on("client/TOURNAMENT_UPDATE", (u) => updates.push(u.tournament.id));
  first.drop();
  await until(() => FakeSocket.sockets.length === 2 && client.state === "open", "a second socket");
  const second = FakeSocket.sockets[1];
  assert.deepEqual(second.sent, [{ type: "server/WATCH_TOURNAMENT", tournament: "t1" }]);
  second.deliver({ type: "client/TOURNAMENT_UPDATE", tournament: fakeView("t1", 4) });
  assert.deepEqual(updates, ["t1"]);

  // A watch on the wire when the socket drops goes again with its ref, once.
  const pending = client.watchTournament("t3");
  const sentT3 = second.sent.at(-1);
  second.drop();
  await until(() => FakeSocket.sockets.length === 3 && client.state === "open", "a third socket");
  const third = FakeSocket.sockets[2];
  assert.deepEqual(third.sent.map((f) => [f.tournament, f.ref ?? null]).sort(), [["t1", null], ["t3", sentT3.ref]]);
  third.deliver({ type: "client/TOURNAMENT_UPDATE", tournament: fakeView("t3"), ref: sentT3.ref });
  assert.equal((await pending).tournament.id, "t3");

  // Unwatching: one frame without a ref, and nothing is watched again after the next drop.
  client.unwatchTournament("t1");
  client.unwatchTournament("t3");
  assert.deepEqual(third.sent.slice(-2), [
    { type: "server/UNWATCH_TOURNAMENT", tournament: "t1" },
    { type: "server/UNWATCH_TOURNAMENT", tournament: "t3" },
  ]);
  assert.deepEqual(client.watching, []);
  third.drop();
  await until(() => FakeSocket.sockets.length === 4 && client.state === "open", "a fourth socket");
  await delay(20);
  assert.deepEqual(FakeSocket.sockets[3].sent, []);
  client.close();
});

// ----- against the node ------------------------------------------------------------------------

/** A create body: tic-tac-toe, untimed, unrated, starting in an hour unless told. */
const spec = (over = {}) => ({
  name: unique("Cup "), format: "arena", game: "tictactoe", clock: null, rated: false,
  startsAt: Date.now() + 3_600_000, durationMs: 600_000, ...over,
});

test("TOURNAMENT_STATUSES is the schema's TournamentStatus", async () => {
  const { SCHEMA } = await import("./helpers.mjs");
  assert.deepEqual([...rookery.TOURNAMENT_STATUSES], SCHEMA.$defs.TournamentStatus.enum);
  assert.ok(Object.isFrozen(rookery.TOURNAMENT_STATUSES));
});

test("HTTP: an admin creates, players join and withdraw, the admin manages registrations and cancels", async () => {
  const { validator } = await import("./helpers.mjs");
  const validView = validator("TournamentView");
  const startsAt = Date.now() + 3_600_000;
  const created = await rookery.createTournament(spec({ startsAt, clock: { initialMs: 180_000, incrementMs: 2_000 }, maxPlayers: 3 }), asAdmin);
  assert.equal(validView(created), null);
  assert.deepEqual(
    [created.status, created.format, created.game, created.round, created.players, created.maxPlayers, created.createdBy, created.startsAt, created.rounds],
    ["created", "arena", "tictactoe", 0, 0, 3, ADMIN, startsAt, null],
  );
  assert.deepEqual(created.clock, { initialMs: 180_000, incrementMs: 2_000 });
  const id = created.id;
  const swiss = await rookery.createTournament(spec({ format: "swiss", durationMs: undefined, rounds: 3 }), asAdmin);
  assert.deepEqual([swiss.format, swiss.rounds, swiss.durationMs], ["swiss", 3, null]);

  // Listed, by status and without one; read one.
  const upcoming = await rookery.getTournaments({ status: "created" }, { baseUrl: base });
  assert.ok(upcoming.tournaments.some((t) => t.id === id));
  assert.ok(upcoming.tournaments.every((t) => t.status === "created"));
  assert.ok((await rookery.getTournaments({}, { baseUrl: base })).tournaments.some((t) => t.id === swiss.id));
  assert.ok(!(await rookery.getTournaments({ status: "finished" }, { baseUrl: base })).tournaments.some((t) => t.id === id));
  assert.equal((await rookery.getTournament(id, { baseUrl: base })).name, created.name);

  // Players register themselves; joining again changes nothing.
  const ann = await registered();
  const ben = await registered();
  const joined = await rookery.joinTournament(id, { baseUrl: base, token: ann.token });
  assert.equal(joined.players, 1);
  assert.deepEqual(joined.standings.map((s) => s.name), [ann.user.name]);
  assert.equal((await rookery.joinTournament(id, { baseUrl: base, token: ann.token })).players, 1);
  // The admin adds ben; the list says who registered whom.
  assert.equal((await rookery.addRegistration(id, ben.user.name, asAdmin)).players, 2);
  const { registrations } = await rookery.getRegistrations(id, asAdmin);
  assert.deepEqual(registrations.map(({ name, by }) => ({ name, by })), [
    { name: ann.user.name, by: ann.user.name },
    { name: ben.user.name, by: ADMIN },
  ]);
  assert.ok(registrations.every((r) => r.rating === 1500 && r.registeredAt > 0));
  // Full at 3.
  const cai = await registered();
  const dee = await registered();
  await rookery.joinTournament(id, { baseUrl: base, token: cai.token });
  await assert.rejects(rookery.joinTournament(id, { baseUrl: base, token: dee.token }), { code: "tournament_full", status: 409 });
  // Removing and withdrawing.
  assert.equal((await rookery.removeRegistration(id, ben.user.name, asAdmin)).players, 2);
  await assert.rejects(rookery.removeRegistration(id, ben.user.name, asAdmin), { code: "not_found", status: 404 });
  assert.equal((await rookery.withdrawTournament(id, { baseUrl: base, token: cai.token })).players, 1);
  assert.deepEqual((await rookery.getRegistrations(id, asAdmin)).registrations.map((r) => r.name), [ann.user.name]);

  // Cancelled: closed to everyone, listed as cancelled.
  const cancelled = await rookery.cancelTournament(id, asAdmin);
  assert.equal(cancelled.status, "cancelled");
  assert.ok(cancelled.endedAt > 0 && cancelled.endedAt <= Date.now());
  await assert.rejects(rookery.joinTournament(id, { baseUrl: base, token: dee.token }), { code: "tournament_closed", status: 409 });
  await assert.rejects(rookery.cancelTournament(id, asAdmin), { code: "tournament_closed", status: 409 });
  assert.ok((await rookery.getTournaments({ status: "cancelled" }, { baseUrl: base })).tournaments.some((t) => t.id === id));
  await rookery.cancelTournament(swiss.id, asAdmin);
});

test("HTTP refusals: 401 without a token, 403 for a player and for a guest in a rated one, 404, 400", async () => {
  const player = await registered();
  const guest = await rookery.guest({ baseUrl: base });
  const asPlayer = { baseUrl: base, token: player.token };
  await assert.rejects(rookery.createTournament(spec(), { baseUrl: base }), { code: "unauthenticated", status: 401 });
  await assert.rejects(rookery.createTournament(spec(), asPlayer), { code: "forbidden", status: 403 });
  await assert.rejects(rookery.getRegistrations("nope", { baseUrl: base }), { code: "unauthenticated", status: 401 });
  await assert.rejects(rookery.getTournament("nope", { baseUrl: base }), { code: "not_found", status: 404 });
  await assert.rejects(rookery.createTournament(spec({ format: "swiss", durationMs: null, rounds: 0 }), asAdmin), { code: "invalid_field", status: 400 });
  await assert.rejects(rookery.createTournament(spec({ durationMs: null }), asAdmin), { code: "invalid_field", status: 400 });
  await assert.rejects(rookery.getTournaments({ status: "someday" }, { baseUrl: base }), { code: "invalid_field", status: 400 });
  const rated = await rookery.createTournament(spec({ rated: true }), asAdmin);
  await assert.rejects(rookery.joinTournament(rated.id, { baseUrl: base, token: guest.token }), { code: "forbidden", status: 403 });
  await assert.rejects(rookery.cancelTournament(rated.id, asPlayer), { code: "forbidden", status: 403 });
  await assert.rejects(rookery.addRegistration(rated.id, "nobody-here", asAdmin), { code: "not_found", status: 404 });
  await rookery.cancelTournament(rated.id, asAdmin);
});

test("socket: join, watch with live updates, withdraw, unwatch; refusals reject with the node's code", async () => {
  const t = await rookery.createTournament(spec({ maxPlayers: 2 }), asAdmin);
  const [ann, ben, cai] = [await registered(), await registered(), await registered()];
  const a = await player(base, ann);
  const watcher = await player(base, cai);

  const first = await watcher.watchTournament(t.id);
  assert.equal(first.type, "client/TOURNAMENT_UPDATE");
  assert.ok(first.ref, "the answer echoes the ref");
  assert.equal(first.tournament.id, t.id);
  assert.equal(first.tournament.players, 0);
  assert.deepEqual(watcher.watching, [t.id]);

  const seen = watcher.once("client/TOURNAMENT_UPDATE", { filter: (u) => u.tournament.id === t.id && u.tournament.players === 1 });
  const joined = await a.joinTournament(t.id);
  assert.equal(joined.type, "client/TOURNAMENT_JOINED");
  assert.equal(joined.tournament, t.id);
  assert.ok(joined.ref);
  assert.deepEqual((await seen).tournament.standings.map((s) => s.name), [ann.user.name]);
  // A registered player gets the updates without watching.
  const toAnn = a.once("client/TOURNAMENT_UPDATE", { filter: (u) => u.tournament.players === 2 });
  await rookery.joinTournament(t.id, { baseUrl: base, token: ben.token });
  await toAnn;
  await assert.rejects(watcher.joinTournament(t.id), { code: "tournament_full" });
  await assert.rejects(watcher.joinTournament("nope!"), { code: "not_found" });
  await assert.rejects(watcher.watchTournament("nope!"), { code: "not_found" });
  assert.deepEqual(watcher.watching, [t.id]);

  const left = await a.withdrawTournament(t.id);
  assert.deepEqual([left.type, left.tournament, left.reason], ["client/TOURNAMENT_LEFT", t.id, "withdrawn"]);
  assert.equal((await rookery.getTournament(t.id, { baseUrl: base })).players, 1);
  // The admin removes ben: he is told.
  const b = await player(base, ben);
  const removed = b.once("client/TOURNAMENT_LEFT");
  await rookery.removeRegistration(t.id, ben.user.name, asAdmin);
  assert.equal((await removed).reason, "removed");

  // Unwatched: no more updates (they come at most twice a second, so a second is plenty).
  await delay(600);
  watcher.unwatchTournament(t.id);
  assert.deepEqual(watcher.watching, []);
  await delay(100);
  let late = 0;
  watcher.on("client/TOURNAMENT_UPDATE", () => (late += 1));
  await a.joinTournament(t.id);
  await delay(1_200);
  assert.equal(late, 0, "no update after unwatching");
  // Cancelled: registered players are told.
  const cancelled = a.once("client/TOURNAMENT_LEFT");
  await rookery.cancelTournament(t.id, asAdmin);
  assert.equal((await cancelled).reason, "cancelled");
  await assert.rejects(a.withdrawTournament(t.id), { code: "tournament_closed" });
  assertSchemaValid(a, b, watcher);
  for (const c of [a, b, watcher]) c.close();
});

test("a swiss of two: the server starts the game by itself, with its tournament; results reach the standings", { timeout: 60_000 }, async () => {
  const [ann, ben] = [await registered(), await registered()];
  const a = await player(base, ann);
  const b = await player(base, ben);
  const t = await rookery.createTournament(spec({ format: "swiss", durationMs: null, rounds: 1, startsAt: Date.now() + 1_500 }), asAdmin);
  const starts = [a.once("client/START_GAME", { timeoutMs: 20_000 }), b.once("client/START_GAME", { timeoutMs: 20_000 })];
  await a.joinTournament(t.id);
  await b.joinTournament(t.id);
  const started = a.once("client/TOURNAMENT_UPDATE", { filter: (u) => u.tournament.status === "started" && u.tournament.pairings.length === 1, timeoutMs: 20_000 });
  const [va, vb] = await Promise.all(starts);
  assert.equal(va.game, vb.game);
  assert.deepEqual([va.tournament, vb.tournament], [t.id, t.id]);
  assert.equal(a.game.tournament, t.id, "the game state keeps its tournament");
  assert.equal(va.status, "waiting_ready");
  const { tournament: running } = await started;
  assert.equal(running.round, 1);
  assert.deepEqual(running.pairings[0].game, va.game);
  assert.equal(running.pairings[0].result ?? null, null);

  // In a tournament game, no queueing.
  await assert.rejects(a.startMatchmaking({ game: "tictactoe", clock: null, rated: false }), { code: "in_tournament_game" });

  await Promise.all([a.playerReady(va.game), b.playerReady(vb.game)]);
  const first = a.game.you === "first" ? a : b;
  const second = first === a ? b : a;
  const finished = a.once("client/TOURNAMENT_UPDATE", { filter: (u) => u.tournament.status === "finished", timeoutMs: 20_000 });
  const over = first.once("client/GAME_OVER");
  await play(first, second, [0, 3, 1, 4, 2]);
  assert.equal((await over).result, "first");
  const { tournament: done } = await finished;
  assert.deepEqual(done.standings.map((s) => [s.rank, s.name, s.score, s.games, s.wins, s.draws, s.losses, s.byes]), [
    [1, first.user.name, 1, 1, 1, 0, 0, 0],
    [2, second.user.name, 0, 1, 0, 0, 1, 0],
  ]);
  assert.equal(done.standings[0].tieBreak.length, 2);
  assert.ok(done.endedAt > 0);
  assert.equal(done.pairings[0].result, "first");
  assertSchemaValid(a, b);
  a.close();
  b.close();
});

test("network loss: the watch goes again on the new socket, a fresh view arrives, and updates keep coming", { timeout: 30_000 }, async () => {
  const t = await rookery.createTournament(spec(), asAdmin);
  const proxy = await startProxy(node.port);
  const watcher = await player(base, await registered(), { via: proxy.url });
  await watcher.watchTournament(t.id);
  const fresh = watcher.once("client/TOURNAMENT_UPDATE", { filter: (u) => u.tournament.id === t.id && !u.ref });
  const back = watcher.once("connected");
  proxy.cut();
  assert.equal((await back).resumed, true);
  assert.equal((await fresh).tournament.players, 0);
  const live = watcher.once("client/TOURNAMENT_UPDATE", { filter: (u) => u.tournament.players === 1 });
  await rookery.joinTournament(t.id, { baseUrl: base, token: (await registered()).token });
  assert.equal((await live).tournament.id, t.id);
  assertSchemaValid(watcher);
  watcher.close();
  await proxy.close();
  await rookery.cancelTournament(t.id, asAdmin);
});
