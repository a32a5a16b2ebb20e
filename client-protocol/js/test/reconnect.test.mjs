// Reconnecting against a real node: network loss through a proxy that cuts or stalls the
// connection, session resume, the unacknowledged-move retry, takeover (4001), refusals, and a
// node that drains (1012).
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";

import * as rookery from "../rookery.js";
import { backoffDelay } from "../rookery.js";
import { assertSchemaValid, nodeUrl, play, player, startGame, startNode, startProxy } from "./helpers.mjs";

const base = await nodeUrl();
const guest = () => rookery.guest({ baseUrl: base });

/** Events of one kind, in order, for assertions after the fact. */
function record(client, ...types) {
  const seen = [];
  for (const type of types) client.on(type, (payload) => seen.push({ type, payload }));
  return seen;
}

test("backoff: exponential, capped, with jitter taking at most its share", () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, jitter: 0.5 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0)),
    [100, 200, 400, 800, 1_000, 1_000],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((n) => backoffDelay(n, policy, () => 0.999999)),
    [50, 100, 200, 400],
  );
  for (let i = 0; i < 100; i += 1) {
    const d = backoffDelay(3, policy);
    assert.ok(d >= 400 && d <= 800, `${d}`);
  }
});

test("network loss mid-game: the client reconnects, resumes the game, and play goes on", async () => {
  const url = new URL(base);
  const proxy = await startProxy(Number(url.port));
  const a = await player(base, await guest(), { via: proxy.url });
  const b = await player(base, await guest());
  const { first, second, game } = await startGame(a, b);
  await play(first, second, [4, 0]);
  const events = record(a, "disconnected", "reconnecting", "connected");

  const away = b.once("client/OPPONENT_PRESENCE", { filter: (p) => !p.connected });
  const back = b.once("client/OPPONENT_PRESENCE", { filter: (p) => p.connected });
  const resumed = a.once("client/RESUME_GAME");
  proxy.cut();
  const presence = await away;
  assert.equal(presence.game, game);
  assert.ok(presence.graceMs > 0);
  assert.equal(b.game.opponentPresence.connected, false);
  assert.ok(rookery.opponentGraceLeftMs(b.game) <= presence.graceMs);

  const view = await resumed;
  await back;
  assert.equal(b.game.opponentPresence.connected, true);
  assert.equal(rookery.opponentGraceLeftMs(b.game), null);
  assert.equal(view.game, game);
  assert.deepEqual(view.moves, [4, 0]);
  assert.equal(a.state, "open");
  const kinds = events.map((e) => e.type);
  assert.deepEqual(kinds.slice(0, 2), ["disconnected", "reconnecting"]);
  assert.equal(kinds.at(-1), "connected");
  assert.equal(events[0].payload.code, 1006);
  assert.equal(events[0].payload.willReconnect, true);
  assert.equal(events.at(-1).payload.resumed, true);
  assert.equal(events.at(-1).payload.frame.game, game);

  const overs = [first.once("client/GAME_OVER"), second.once("client/GAME_OVER")];
  await play(first, second, [8, 2, 6, 1]);
  const [over] = await Promise.all(overs);
  assert.equal(over.result, "second");
  assertSchemaValid(a, b);
  a.close();
  b.close();
  await proxy.close();
});

test("an unacknowledged move is re-sent with the same seq after a reconnect and applied once", async () => {
  const proxy = await startProxy(Number(new URL(base).port));
  const viaProxy = await player(base, await guest(), { via: proxy.url });
  const direct = await player(base, await guest());
  const { first, second } = await startGame(viaProxy, direct);
  // Make it the proxied player's turn, whichever side the queue gave it.
  if (first !== viaProxy) await play(first, second, [0]);
  const seq = viaProxy.game.seq;
  const move = 4;

  // The move reaches the node, but its acknowledgement is lost with the connection.
  proxy.holdDownstream();
  const applied = direct.once("client/UPDATE_GAME", { filter: (u) => u.seq === seq + 1 });
  const ack = viaProxy.move(move);
  const seenByOpponent = await applied;
  assert.deepEqual(seenByOpponent.lastMove, move);
  proxy.cut();

  const update = await ack;
  assert.equal(update.type, "client/UPDATE_GAME");
  assert.equal(update.seq, seq + 1);
  assert.deepEqual(update.lastMove, move);
  const sent = viaProxy.log.sent.filter((f) => f.type === "game/PLAYER_MOVE" && f.seq === seq);
  assert.equal(sent.length, 2, "sent once, then re-sent once after the reconnect");
  assert.deepEqual(sent[1], sent[0], "same game, seq, move and ref");
  assert.equal(viaProxy.game.seq, seq + 1);
  assert.equal(viaProxy.game.moves.length, seq + 1);

  // Applied once: the opponent's next move is at seq + 1 and the game goes on normally.
  const next = await direct.move(seq === 0 ? 0 : 8);
  assert.equal(next.seq, seq + 2);
  assert.equal(viaProxy.game.status, "playing");
  assertSchemaValid(viaProxy, direct);
  viaProxy.close();
  direct.close();
  await proxy.close();
});

test("a move made while the socket is down goes out once the session is back", async () => {
  const url = new URL(base);
  const proxy = await startProxy(Number(url.port));
  const a = await player(base, await guest(), { via: proxy.url, client: { reconnect: { initialDelayMs: 100, maxDelayMs: 200 } } });
  const b = await player(base, await guest());
  const { first, second } = await startGame(a, b);
  if (first !== a) await play(first, second, [0]);
  const seq = a.game.seq;
  const move = seq === 0 ? 0 : 4;
  let ack;
  a.on("disconnected", () => {
    assert.equal(a.state, "reconnecting");
    ack ??= a.move(move); // nothing can be on the wire now: it waits for the reconnect
  });
  const seen = b.once("client/UPDATE_GAME", { filter: (u) => u.seq === seq + 1 });
  proxy.cut();
  await seen;
  const update = await ack;
  assert.equal(update.seq, seq + 1);
  const moves = a.log.sent.filter((f) => f.type === "game/PLAYER_MOVE");
  assert.equal(moves.length, 1, "sent exactly once, after the reconnect");
  assertSchemaValid(a, b);
  a.close();
  b.close();
  await proxy.close();
});

test("4001: the same session on a second socket takes over, and the first stops for good", async () => {
  const auth = await guest();
  const one = await player(base, auth);
  const events = record(one, "reconnecting", "closed");
  const closed = one.once("closed");
  const two = await player(base, { token: auth.token, session: one.session });
  assert.equal(two.opening.type, "client/RESUME_SESSION");
  const { code, error } = await closed;
  assert.equal(code, 4001);
  assert.equal(error.code, "taken_over");
  assert.equal(one.state, "closed");
  assert.deepEqual(events.map((e) => e.type), ["closed"], "no reconnect attempt");
  await assert.rejects(one.startMatchmaking({ game: "chess" }), { code: "closed" });
  const queued = await two.startMatchmaking({ game: "tictactoe", clock: null });
  assert.equal(queued.type, "client/QUEUED");
  await two.cancelMatchmaking();
  two.close();
});

test("another user's session is refused without revealing it, and the client does not retry", async () => {
  const victim = await player(base, await guest());
  await victim.startMatchmaking({ game: "chess", clock: { initialMs: 777_000, incrementMs: 7_000 } });
  const intruder = await guest();
  const client = new rookery.RookeryClient({
    baseUrl: base,
    token: intruder.token,
    session: victim.session,
    reconnect: { initialDelayMs: 10 },
  });
  const frames = record(client, "message", "reconnecting", "closed");
  await assert.rejects(client.connect(), { code: "forbidden" });
  assert.equal(client.state, "closed");
  const messages = frames.filter((f) => f.type === "message").map((f) => f.payload);
  assert.deepEqual(messages.map((m) => [m.type, m.code]), [["client/ERROR", "forbidden"]]);
  assert.ok(!JSON.stringify(messages).includes(victim.user.name));
  assert.ok(!JSON.stringify(messages).includes("777000"));
  assert.equal(frames.filter((f) => f.type === "reconnecting").length, 0);
  assert.equal(frames.find((f) => f.type === "closed").payload.code, 1008);
  // The victim's session is untouched.
  assert.equal(victim.state, "open");
  assert.equal((await victim.cancelMatchmaking()).reason, "cancelled");
  victim.close();
});

test("a bad token is refused as unauthenticated", async () => {
  const client = new rookery.RookeryClient({ baseUrl: base, token: "not.a.token", reconnect: { initialDelayMs: 10 } });
  await assert.rejects(client.connect(), { code: "unauthenticated" });
  assert.equal(client.state, "closed");
});

test("1012: a draining node makes clients reconnect, and they come back when a node is up again", async () => {
  const node = await startNode();
  const auth = await rookery.guest({ baseUrl: node.url });
  const client = await player(node.url, auth, { client: { reconnect: { initialDelayMs: 50, maxDelayMs: 300 } } });
  const dropped = client.once("disconnected", { timeoutMs: 15_000 });
  const stopping = node.stop("SIGTERM");
  const { code, willReconnect } = await dropped;
  assert.equal(code, 1012);
  assert.equal(willReconnect, true);
  await stopping;
  assert.equal(client.state, "reconnecting");

  // The same address and data dir: the token (its secret is kept in the data dir) still works.
  const again = await startNode({ port: node.port, dataDir: node.dataDir });
  const connected = await client.once("connected", { timeoutMs: 15_000 });
  assert.equal(client.state, "open");
  assert.ok(connected.frame.type === "client/SESSION_STARTED" || connected.frame.type === "client/RESUME_SESSION");
  assert.equal(client.user.name, auth.user.name);
  const queued = await client.startMatchmaking({ game: "connect4" });
  assert.equal(queued.type, "client/QUEUED");
  assertSchemaValid(client);
  client.close();
  await again.stop();
  rmSync(node.dataDir, { recursive: true, force: true });
});
