// The SDK against a real node: auth helpers, sessions, ref promises, and whole games, with
// every frame both ways checked against the JSON Schema.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as rookery from "../rookery.js";
import { RookeryClient, RookeryError } from "../rookery.js";
import { assertSchemaValid, nodeUrl, play, player, recordingWebSocket, startGame, uniqueClock } from "./helpers.mjs";

const base = await nodeUrl();
const unique = () => `u${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

test("HTTP helpers: guest, register, login, profile, and errors as RookeryError", async () => {
  const g = await rookery.guest({ baseUrl: base });
  assert.equal(g.user.guest, true);
  assert.match(g.session, /^[A-Za-z0-9_-]{22}$/);

  const name = unique();
  const reg = await rookery.register(name, "correct horse", { baseUrl: base });
  assert.equal(reg.user.name, name);
  assert.equal(reg.user.guest, false);
  const again = await rookery.login(name, "correct horse", { baseUrl: base });
  assert.equal(again.user.id, reg.user.id);
  const profile = await rookery.me({ baseUrl: base, token: again.token });
  assert.equal(profile.name, name);
  assert.equal((await rookery.getUser(name, { baseUrl: base })).id, reg.user.id);

  await assert.rejects(rookery.login(name, "wrong password!", { baseUrl: base }), (e) => {
    assert.ok(e instanceof RookeryError);
    assert.equal(e.code, "bad_credentials");
    assert.equal(e.status, 401);
    return true;
  });
  await assert.rejects(rookery.register(name, "correct horse", { baseUrl: base }), { code: "username_taken", status: 409 });
  await assert.rejects(rookery.getUser("nobody-here", { baseUrl: base }), { code: "not_found", status: 404 });
});

test("connect starts a session, and a later connect with it resumes", async () => {
  const auth = await rookery.guest({ baseUrl: base });
  const fresh = await player(base, { token: auth.token });
  assert.equal(fresh.opening.type, "client/SESSION_STARTED");
  assert.equal(fresh.session, fresh.opening.session);
  assert.equal(fresh.user.name, auth.user.name);
  const session = fresh.session;
  fresh.close();
  assert.equal(fresh.state, "closed");

  const back = await player(base, { token: auth.token, session });
  assert.equal(back.opening.type, "client/RESUME_SESSION");
  assert.equal(back.opening.session, session);
  assert.equal(back.opening.game, null);
  assertSchemaValid(fresh, back);
  back.close();
});

test("an anonymous socket logs in over the socket and gets a session", async () => {
  const { WebSocket, log } = recordingWebSocket();
  const client = new RookeryClient({ baseUrl: base, WebSocket });
  client.log = log;
  const sessions = [];
  client.on("session", (s) => sessions.push(s));
  assert.equal(await client.connect(), null);
  await assert.rejects(client.startMatchmaking({ game: "chess" }), { code: "unauthenticated" });
  const started = await client.guest();
  assert.equal(started.type, "client/SESSION_STARTED");
  assert.equal(client.token, started.token);
  assert.equal(client.session, started.session);
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].user.guest, true);

  const name = unique();
  const registered = await client.registerUser(name, "long enough pw");
  assert.equal(registered.user.name, name);
  await assert.rejects(client.login(name, "not the password"), { code: "bad_credentials" });
  const logged = await client.login(name, "long enough pw");
  assert.equal(logged.user.name, name);
  assertSchemaValid(client);
  client.close();
});

test("ref promises: resolve on the reply that echoes the ref, reject on its client/ERROR", async () => {
  const a = await player(base, await rookery.guest({ baseUrl: base }));
  const queue = { game: "connect4", clock: uniqueClock(), rated: false };
  const queued = await a.startMatchmaking(queue);
  assert.equal(queued.type, "client/QUEUED");
  assert.ok(queued.ref, "the reply echoes a ref");
  assert.deepEqual(a.queue, queue);
  const already = await a.startMatchmaking(queue);
  assert.equal(already.type, "client/ALREADY_IN_QUEUE");
  await assert.rejects(a.startMatchmaking({ ...queue, rated: true }), (e) => {
    assert.equal(e.code, "forbidden"); // guests play unrated only
    assert.ok(e.ref);
    assert.equal(e.frame.type, "client/ERROR");
    return true;
  });
  const left = await a.cancelMatchmaking();
  assert.equal(left.type, "client/QUEUE_LEFT");
  assert.equal(left.reason, "cancelled");
  assert.equal(a.queue, null);
  await assert.rejects(a.cancelMatchmaking(), { code: "not_in_queue" });
  await assert.rejects(a.playerMove("nope", 0, 4), { code: "no_such_game" });
  await assert.rejects(a.move(4), { code: "not_in_game" });
  await assert.rejects(a.startMatchmaking({ game: "go" }), { code: "invalid_field" });
  // The schema catches that frame too; take it out before checking the rest.
  assert.equal(a.log.problems.length, 1);
  assert.match(a.log.problems.pop(), /^out: .*"game":"go"/);
  assertSchemaValid(a);
  a.close();
});

test("tic-tac-toe to a win: events, game state, a ready timeout, and the history", async () => {
  const [ga, gb] = await Promise.all([rookery.guest({ baseUrl: base }), rookery.guest({ baseUrl: base })]);
  const a = await player(base, ga);
  const b = await player(base, gb);
  const { first, second, game } = await startGame(a, b, { ready: false });
  assert.equal(first.game.status, "waiting_ready");
  assert.equal(first.game.kind, "tictactoe");
  assert.deepEqual(first.game.position, ["...", "...", "..."]);

  // Only one side ready: nothing answers, so the request times out.
  await assert.rejects(first.playerReady(game, { timeoutMs: 200 }), { code: "timeout" });
  await assert.rejects(first.move(0), { code: "not_started" });
  const started = [first.playerReady(game), second.playerReady(game)];
  const [u1] = await Promise.all(started);
  assert.equal(u1.type, "client/UPDATE_GAME");
  assert.equal(u1.status, "playing");
  assert.equal(u1.seq, 0);
  assert.equal(first.game.clocks.running, "first");

  await assert.rejects(second.move(4), { code: "not_your_turn" });
  await assert.rejects(first.playerMove(game, 3, 4), { code: "stale_seq" });
  await assert.rejects(first.move(9), { code: "illegal_move" });

  const overs = [first.once("client/GAME_OVER"), second.once("client/GAME_OVER")];
  const games = [];
  second.on("game", (g) => games.push(g.seq));
  const ack = await play(first, second, [0, 3, 1, 4, 2]);
  assert.equal(ack.type, "client/UPDATE_GAME");
  assert.equal(ack.seq, 5);
  const [over] = await Promise.all(overs);
  assert.equal(over.result, "first");
  assert.equal(over.reason, "line");
  assert.equal(over.ratingChange, null, "guests play unrated");
  for (const c of [first, second]) {
    assert.equal(c.game.status, "over");
    assert.equal(c.game.result, "first");
    assert.deepEqual(c.game.moves, [0, 3, 1, 4, 2]);
    assert.deepEqual(c.game.position, ["xxx", "oo.", "..."]);
    assert.equal(c.game.clocks.running, null);
  }
  assert.ok(games.includes(5));
  await assert.rejects(first.move(8), { code: "game_over" });

  // The record is written just after GAME_OVER (by the recorder listener): poll for it.
  let history = [];
  for (let i = 0; i < 100 && history[0]?.game !== game; i += 1) {
    history = await rookery.getUserGames(first.user.name, { baseUrl: base, limit: 5 });
    if (history[0]?.game !== game) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(history[0].game, game);
  assert.equal(history[0].result, "first");
  assert.deepEqual(history[0].moves, [0, 3, 1, 4, 2]);
  assert.equal((await rookery.getGame(game, { baseUrl: base })).reason, "line");
  assertSchemaValid(a, b);
  a.close();
  b.close();
});

test("rated chess between registered players: draw offer, decline, accept; then a resignation with rating changes", async () => {
  const names = [unique(), unique()];
  const auths = await Promise.all(names.map((n) => rookery.register(n, "a good password", { baseUrl: base })));
  const a = await player(base, auths[0]);
  const b = await player(base, auths[1]);
  const clock = uniqueClock();
  let { first, second, game } = await startGame(a, b, { game: "chess", clock, rated: true });
  assert.equal(first.game.rated, true);
  assert.match(first.game.position, /^rnbqkbnr\/pppppppp/);
  await play(first, second, ["e2e4", "e7e5"]);

  const offered = second.once("client/OFFER_DRAW");
  const own = await first.offerDraw();
  assert.equal(own.type, "client/OFFER_DRAW");
  assert.equal(own.from, "first");
  assert.equal((await offered).from, "first");
  assert.equal(second.game.drawOffer, "first");
  await assert.rejects(first.declineDraw(), { code: "no_draw_offer" });
  const declined = await second.declineDraw();
  assert.equal(declined.drawOffer, null);
  await first.offerDraw();
  const over = await second.offerDraw();
  assert.equal(over.type, "client/GAME_OVER");
  assert.equal(over.result, "draw");
  assert.equal(over.reason, "draw_agreed");
  assert.ok(over.ratingChange, "rated games change ratings");

  ({ first, second, game } = await startGame(a, b, { game: "chess", clock, rated: true }));
  const theirs = second.once("client/GAME_OVER");
  const resigned = await first.concede();
  assert.equal(resigned.type, "client/GAME_OVER");
  assert.equal(resigned.result, "second");
  assert.equal(resigned.reason, "resign");
  const change = resigned.ratingChange;
  for (const side of ["first", "second"]) {
    assert.equal(change[side].after - change[side].before, change[side].delta);
  }
  assert.ok(change.second.delta > 0 && change.first.delta < 0);
  assert.deepEqual((await theirs).ratingChange, change);
  assert.equal(first.game.ratingChange.first.delta, change.first.delta);
  const winner = second.user.name;
  // The finished game reaches the store through the event stream's recorder, just after.
  let profile;
  for (let tries = 0; tries < 100; tries += 1) {
    profile = await rookery.getUser(winner, { baseUrl: base });
    if (profile.rating === change.second.after) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(profile.rating, change.second.after);
  assertSchemaValid(a, b);
  a.close();
  b.close();
});

test("a declined matchup: the decliner leaves the queue, the other is queued again", async () => {
  const a = await player(base, await rookery.guest({ baseUrl: base }));
  const b = await player(base, await rookery.guest({ baseUrl: base }));
  const clock = uniqueClock();
  const proposals = [a.once("client/PROPOSE_MATCHUP"), b.once("client/PROPOSE_MATCHUP")];
  await a.startMatchmaking({ game: "connect4", clock });
  await b.startMatchmaking({ game: "connect4", clock });
  const [pa, pb] = await Promise.all(proposals);
  assert.equal(pa.opponent.name, b.user.name);
  assert.equal(a.matchup.matchup, pa.matchup);
  const cancelled = a.once("client/MATCHUP_CANCELLED");
  const outcome = await b.replyMatchup(pb.matchup, false);
  assert.equal(outcome.type, "client/QUEUE_LEFT");
  assert.equal(outcome.reason, "declined");
  assert.equal((await cancelled).reason, "declined");
  assert.equal(a.matchup, null);
  assert.deepEqual(a.queue, { game: "connect4", clock, rated: false });
  assert.equal(b.queue, null);
  await assert.rejects(b.replyMatchup(pb.matchup, true), { code: "no_such_matchup" });
  assertSchemaValid(a, b);
  a.close();
  b.close();
});
