// The SDK against the JSON Schema (generated from the Rust types): every message type has its
// event or helper, every helper sends a frame the schema accepts, the TypeScript declarations
// and protocol.js (the constants of client-protocol/src/constants.rs) are generated from the
// schema, the declarations compile and describe exactly what rookery.js exports.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import * as rookery from "../rookery.js";
import { CLIENT_MESSAGE_TYPES, HELPERS, RookeryClient, SERVER_MESSAGE_TYPES } from "../rookery.js";
import * as protocol from "../protocol.js";
import { constants, currentSection, DTS_PATH, generate, generateProtocol, PROTOCOL_PATH } from "../gen-types.mjs";
import { SCHEMA, validator } from "./helpers.mjs";

const typesOf = (frame) => SCHEMA.$defs[frame].oneOf.map((v) => v.properties.type.const);
const clientTypes = typesOf("ClientFrame");
const serverTypes = typesOf("ServerFrame");

test("the schema holds every message of the protocol, in both directions", () => {
  assert.equal(clientTypes.length, 21);
  assert.equal(serverTypes.length, 24);
  assert.ok(clientTypes.every((t) => t.startsWith("server/") || t.startsWith("game/")));
  assert.ok(serverTypes.every((t) => t.startsWith("client/")));
});

test("every client/ type in the schema is an SDK event, and nothing else is", () => {
  assert.deepEqual([...SERVER_MESSAGE_TYPES].sort(), [...serverTypes].sort());
});

test("every server/ and game/ type in the schema has an SDK helper", () => {
  assert.deepEqual([...CLIENT_MESSAGE_TYPES].sort(), [...clientTypes].sort());
  for (const type of clientTypes) {
    assert.equal(typeof RookeryClient.prototype[HELPERS[type]], "function", `${type}: ${HELPERS[type]}`);
  }
});

/** A WebSocket stand-in that opens at once and keeps what is sent. */
class FakeSocket {
  static OPEN = 1;
  static last = null;
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols ?? null;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.last = this;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.();
      this.deliver({ type: "client/SESSION_STARTED", session: "s".repeat(22), token: "t", user: { id: "u", name: "ann", rating: 1500, guest: true } });
    });
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  deliver(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  close() {
    this.readyState = 3;
  }
}

test("every helper sends a frame of its type that the schema accepts", async () => {
  const client = new RookeryClient({ baseUrl: "http://127.0.0.1:9", token: "t", WebSocket: FakeSocket, requestTimeoutMs: 50 });
  const opening = await client.connect();
  assert.equal(opening.type, "client/SESSION_STARTED");
  const socket = FakeSocket.last;
  // The token rides in a subprotocol, never in the URL.
  assert.equal(socket.url, "ws://127.0.0.1:9/ws");
  assert.deepEqual(socket.protocols, ["rookery", "rookery.bearer.t"]);
  const calls = {
    "server/REGISTER_USER": () => client.registerUser("ann", "password1"),
    "server/LOGIN": () => client.login("ann", "password1"),
    "server/GUEST": () => client.guest(),
    "server/START_MATCHMAKING": () => client.startMatchmaking({ game: "chess", clock: { initialMs: 60_000, incrementMs: 0 } }),
    "server/CANCEL_MATCHMAKING": () => client.cancelMatchmaking(),
    "server/REPLY_MATCHUP": () => client.replyMatchup("m1", true, { timeoutMs: 50 }),
    "game/PLAYER_READY": () => client.playerReady("g1", { timeoutMs: 50 }),
    "game/PLAYER_MOVE": () => client.playerMove("g1", 0, "e2e4"),
    "game/OFFER_DRAW": () => client.offerDraw("g1"),
    "game/DECLINE_DRAW": () => client.declineDraw("g1"),
    "game/CONCEDE": () => client.concede("g1"),
    "server/JOIN_TOURNAMENT": () => client.joinTournament("t1"),
    "server/WITHDRAW_TOURNAMENT": () => client.withdrawTournament("t1"),
    "server/WATCH_TOURNAMENT": () => client.watchTournament("t1"),
    "server/UNWATCH_TOURNAMENT": () => client.unwatchTournament("t1"),
    "server/WATCH_GAME": () => client.watchGame("g1"),
    "server/UNWATCH_GAME": () => client.unwatchGame("g1"),
    "server/CHAT_JOIN": () => client.chatJoin("lobby"),
    "server/CHAT_LEAVE": () => client.chatLeave("lobby"),
    "server/CHAT_SEND": () => client.chatSend("lobby", "hello"),
    "server/CHAT_DELETE": () => client.chatDelete("lobby", "m1"),
  };
  // Messages the node does not answer: sent without a ref, nothing to wait for.
  const unanswered = new Set(["server/UNWATCH_TOURNAMENT", "server/CHAT_LEAVE"]);
  assert.deepEqual(Object.keys(calls).sort(), [...clientTypes].sort());
  const valid = validator("ClientFrame");
  for (const [type, call] of Object.entries(calls)) {
    const reply = call();
    const frame = socket.sent.at(-1);
    assert.equal(frame.type, type);
    assert.equal(valid(frame), null);
    if (unanswered.has(type)) {
      assert.equal(reply, undefined);
      assert.equal(frame.ref, undefined);
      continue;
    }
    assert.match(frame.ref, /^[a-z0-9]+-\d+$/);
    socket.deliver({ type: "client/ERROR", code: "internal", message: "test", ref: frame.ref });
    await assert.rejects(reply, { code: "internal", ref: frame.ref });
  }
  const refs = socket.sent.map((f) => f.ref).filter(Boolean);
  assert.equal(new Set(refs).size, refs.length, "refs are unique");
  client.close();
});

test("a request with no answer times out", async () => {
  const client = new RookeryClient({ baseUrl: "http://127.0.0.1:9", token: "t", WebSocket: FakeSocket });
  await client.connect();
  await assert.rejects(client.offerDraw("g1", { timeoutMs: 20 }), { code: "timeout" });
  client.close();
  await assert.rejects(client.offerDraw("g1"), { code: "closed" });
});

test("a move refused as unavailable goes again, same seq and ref, until it is acknowledged", async () => {
  const client = new RookeryClient({
    baseUrl: "http://127.0.0.1:9",
    token: "t",
    WebSocket: FakeSocket,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
  });
  await client.connect();
  const socket = FakeSocket.last;
  const ack = client.playerMove("g1", 3, "e2e4", { timeoutMs: 5_000 });
  const frame = socket.sent.at(-1);
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    socket.deliver({ type: "client/ERROR", code: "unavailable", message: "store down", ref: frame.ref });
    for (let i = 0; i < 200 && socket.sent.length <= attempt; i += 1) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(socket.sent.at(-1), frame, `retry ${attempt}: the same frame`);
  }
  const update = { type: "client/UPDATE_GAME", ref: frame.ref, game: "g1", seq: 4, lastMove: "e2e4", position: "fen", clocks: { first: 0, second: 0, running: null }, toMove: "second", status: "playing", drawOffer: null };
  socket.deliver(update);
  assert.equal((await ack).seq, 4);
  // Messages that are not safe to repeat are not retried.
  const resign = client.concede("g1");
  socket.deliver({ type: "client/ERROR", code: "unavailable", message: "store down", ref: socket.sent.at(-1).ref });
  await assert.rejects(resign, { code: "unavailable" });
  client.close();
});

test("rookery.d.ts holds exactly the types generated from the schema", () => {
  const dts = readFileSync(DTS_PATH, "utf8");
  assert.equal(currentSection(dts), generate(SCHEMA), "out of date: run `npm run gen-types` in client-protocol/js");
});

test("protocol.js holds exactly the constants generated from the schema", () => {
  assert.equal(readFileSync(PROTOCOL_PATH, "utf8"), generateProtocol(SCHEMA), "out of date: run `npm run gen-types` in client-protocol/js");
  assert.deepEqual(Object.keys(protocol).sort(), constants(SCHEMA).map(([name]) => name).sort());
  for (const [name, value] of constants(SCHEMA)) assert.deepEqual(rookery[name], value, `rookery.js re-exports ${name}`);
});

test("the close codes the SDK names are the ones the protocol says not to retry", () => {
  assert.deepEqual(Object.values(rookery.FINAL_CLOSE_CODES).sort(), [...protocol.NO_RECONNECT_CLOSE_CODES].sort());
  assert.equal(rookery.RESTART_CLOSE_CODE, protocol.CLOSE_RESTART);
});

test("rookery.d.ts declares exactly what rookery.js exports", () => {
  const dts = readFileSync(DTS_PATH, "utf8");
  const declared = [...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(declared)].sort(), Object.keys(rookery).sort());
});

test("the declarations compile with strict TypeScript, with an example use", () => {
  const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
  const project = fileURLToPath(new URL("./tsconfig.json", import.meta.url));
  execFileSync(process.execPath, [tsc, "-p", project], { stdio: "pipe", timeout: 120_000 });
});
