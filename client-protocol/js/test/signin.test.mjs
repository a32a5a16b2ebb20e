// Staying signed in through the SDK: the token offered as a websocket subprotocol (never in the
// URL), renewals that rotate the refresh token (one at a time, kept by the `tokens` event),
// the renewal before a socket once the token expires, one renewal and one more socket when the
// node refuses the token at the opening, HTTP calls with `{client}`, and logout ending the
// sign-in. The first tests need no node (stand-in sockets and fetch); the expiry tests run on a
// node of this file's own whose tokens live 2 s (ROOKERY_TOKEN_TTL_SECS) and whose spent
// refresh tokens get no grace; the rest on the shared node.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";

import * as rookery from "../rookery.js";
import { RookeryClient } from "../rookery.js";
import { assertSchemaValid, delay, fakeSocketClass, nodeUrl, play, player, startGame, startNode, startProxy } from "./helpers.mjs";

// ----- without a node ----------------------------------------------------------------------------

/** A JWT-shaped token (unsigned: the SDK only reads `iat` and `exp`). */
const fakeJwt = (name, { iat, exp }) => {
  const claims = Buffer.from(JSON.stringify({ sub: name, iat: Math.floor(iat / 1000), exp: Math.floor(exp / 1000) })).toString("base64url");
  return `h.${claims}.${name}`;
};
const USER = { id: "u", name: "ann", rating: 1500, guest: true, roles: [] };
const SESSION = "s".repeat(22);

/**
 * A stand-in `fetch` for `/api/auth/refresh` and `/api/auth/logout`: `answers` says what each
 * refresh answers (a status, or a fresh pair); every call is in `calls`.
 */
function fakeFetch({ refused = false, hold = null } = {}) {
  const calls = [];
  let issued = 0;
  const fetch = async (url, init) => {
    const path = new URL(url).pathname;
    calls.push({ path, url: String(url), body: init.body ? JSON.parse(init.body) : null, authorization: init.headers.authorization ?? null });
    if (hold) await hold;
    const reply = (status, body) => ({ ok: status < 300, status, text: async () => (body === undefined ? "" : JSON.stringify(body)) });
    if (path === "/api/auth/logout") return reply(204);
    if (refused) return reply(401, { code: "unauthenticated", message: "refresh token refused" });
    issued += 1;
    const now = Date.now();
    return reply(200, {
      token: fakeJwt(`new${issued}`, { iat: now, exp: now + 3_600_000 }),
      session: SESSION,
      user: USER,
      refreshToken: `refresh${issued}`,
      expiresAt: now + 3_600_000,
    });
  };
  return { fetch, calls };
}

/** The token a socket offered as its `rookery.bearer.` subprotocol, or null. */
function offeredToken(socket) {
  const bearer = (socket.protocols ?? []).find((p) => p.startsWith("rookery.bearer."));
  return bearer?.slice("rookery.bearer.".length) ?? null;
}

/**
 * A WebSocket stand-in whose opening depends on the token offered: `refuse(token)` true answers
 * `unauthenticated` (the socket stays open, anonymous), else the session resumes.
 */
function tokenSocketClass(refuse) {
  return fakeSocketClass((socket) =>
    refuse(offeredToken(socket))
      ? { type: "client/ERROR", code: "unauthenticated", message: "invalid or expired token" }
      : { type: "client/RESUME_SESSION", session: SESSION, user: USER, queue: null, matchup: null, game: null },
  );
}

const offline = { baseUrl: "http://127.0.0.1:9", reconnect: { initialDelayMs: 5, maxDelayMs: 10 } };

test("the token rides in a subprotocol, the session in the URL; no token, no subprotocol", async () => {
  const Socket = tokenSocketClass(() => false);
  const client = new RookeryClient({ ...offline, token: "t0", session: SESSION, WebSocket: Socket });
  await client.connect();
  assert.equal(Socket.sockets[0].url, `ws://127.0.0.1:9/ws?session=${SESSION}`);
  assert.deepEqual(Socket.sockets[0].protocols, ["rookery", "rookery.bearer.t0"]);
  client.close();
  const anonymous = new RookeryClient({ ...offline, WebSocket: Socket });
  assert.equal(anonymous.socketProtocols(), null);
  assert.equal(anonymous.socketUrl(), "ws://127.0.0.1:9/ws");
});

test("renewals: one at a time, the new pair kept and announced, a refused one forgets the refresh token", async () => {
  let release;
  const { fetch, calls } = fakeFetch({ hold: new Promise((resolve) => (release = resolve)) });
  const now = Date.now();
  const tokens = [];
  const client = new RookeryClient({
    ...offline,
    token: fakeJwt("old", { iat: now - 3_600_000, exp: now + 30_000 }),
    session: SESSION,
    refreshToken: "refresh0",
    fetch,
    onTokens: (t) => tokens.push(t),
  });
  // The expiry is read from the token when not given; 30 s left is inside the 60 s margin.
  assert.equal(client.expiresAt, Math.floor((now + 30_000) / 1000) * 1000);
  const first = client.refresh();
  const second = client.refresh();
  assert.equal(first, second, "a renewal under way is shared");
  const fresh = client.freshToken();
  release();
  const [auth] = await Promise.all([first, second]);
  assert.equal(await fresh, auth.token, "freshToken waits for the renewal under way");
  assert.equal(calls.length, 1, "one renewal on the wire");
  assert.deepEqual(calls[0].body, { refreshToken: "refresh0", session: SESSION });
  assert.equal(client.token, auth.token);
  assert.equal(client.refreshToken, "refresh1");
  assert.equal(client.expiresAt, auth.expiresAt);
  assert.equal(tokens.length, 1);
  assert.deepEqual(tokens[0], { token: auth.token, refreshToken: "refresh1", expiresAt: auth.expiresAt, session: SESSION, user: USER });
  // Fresh for an hour: nothing to renew.
  assert.equal(await client.freshToken(), auth.token);
  assert.equal(calls.length, 1);

  const refusing = fakeFetch({ refused: true });
  const stale = new RookeryClient({ ...offline, token: "t", refreshToken: "spent", fetch: refusing.fetch });
  await assert.rejects(stale.refresh(), { code: "unauthenticated", status: 401 });
  assert.equal(stale.refreshToken, null, "a refused refresh token is forgotten");
  await assert.rejects(stale.refresh(), { code: "unauthenticated" });
  assert.equal(refusing.calls.length, 1);
});

test("an expiring token is renewed before the socket opens, and the socket offers the new one", async () => {
  const { fetch, calls } = fakeFetch();
  const Socket = tokenSocketClass((token) => token.includes("old"));
  const now = Date.now();
  const client = new RookeryClient({
    ...offline,
    token: fakeJwt("old", { iat: now - 3_600_000, exp: now - 1_000 }),
    session: SESSION,
    refreshToken: "refresh0",
    fetch,
    WebSocket: Socket,
  });
  const opening = await client.connect();
  assert.equal(opening.type, "client/RESUME_SESSION");
  assert.equal(calls.length, 1);
  assert.equal(Socket.sockets.length, 1, "no socket with the expired token");
  assert.equal(offeredToken(Socket.sockets[0]), client.token);
  client.close();

  // A short-lived token is renewed at half its lifetime at the latest, not a minute ahead.
  const short = new RookeryClient({ ...offline, token: fakeJwt("short", { iat: now, exp: now + 10_000 }), refreshToken: "r", fetch, WebSocket: Socket });
  await short.connect();
  assert.equal(calls.length, 1, "a token with most of its 10 s left is not renewed");
  short.close();
});

test("a token refused at the opening is renewed once and tried once more; refused again, the client stops", async () => {
  const { fetch, calls } = fakeFetch();
  const ok = tokenSocketClass((token) => token === "revoked-looking");
  const client = new RookeryClient({ ...offline, token: "revoked-looking", session: SESSION, refreshToken: "refresh0", fetch, WebSocket: ok });
  const errors = [];
  client.on("client/ERROR", (e) => errors.push(e));
  const opening = await client.connect();
  assert.equal(opening.type, "client/RESUME_SESSION");
  assert.equal(ok.sockets.length, 2);
  assert.equal(calls.length, 1);
  assert.equal(offeredToken(ok.sockets[1]), client.token);
  assert.deepEqual(errors, [], "a refusal that a renewal mends is not an error of the app's");
  client.close();

  const never = tokenSocketClass(() => true);
  const doomed = new RookeryClient({ ...offline, token: "t", refreshToken: "refresh0", fetch, WebSocket: never });
  await assert.rejects(doomed.connect(), { code: "unauthenticated" });
  assert.equal(never.sockets.length, 2, "one more socket, not a loop");
  assert.equal(calls.length, 2, "one renewal");
  assert.equal(doomed.state, "closed");

  // No refresh token: refused at once, as before.
  const plain = tokenSocketClass(() => true);
  const bare = new RookeryClient({ ...offline, token: "t", WebSocket: plain });
  await assert.rejects(bare.connect(), { code: "unauthenticated" });
  assert.equal(plain.sockets.length, 1);

  // The refresh token refused before the socket: the sign-in is over.
  const refusing = fakeFetch({ refused: true });
  const now = Date.now();
  const ended = new RookeryClient({ ...offline, token: fakeJwt("old", { iat: now - 7_200_000, exp: now - 3_600_000 }), refreshToken: "spent", fetch: refusing.fetch, WebSocket: plain });
  await assert.rejects(ended.connect(), { code: "unauthenticated" });
  assert.equal(plain.sockets.length, 1, "no socket with a token known to be dead");
});

test("logout: closes, tells the node with both tokens and the session, forgets them", async () => {
  const { fetch, calls } = fakeFetch();
  const Socket = tokenSocketClass(() => false);
  const tokens = [];
  const client = new RookeryClient({ ...offline, token: "t0", session: SESSION, refreshToken: "refresh0", fetch, WebSocket: Socket, onTokens: (t) => tokens.push(t) });
  await client.connect();
  await client.logout();
  assert.equal(client.state, "closed");
  assert.equal(calls.length, 1);
  assert.equal(new URL(calls[0].url).search, `?session=${SESSION}`);
  assert.deepEqual(calls[0].body, { refreshToken: "refresh0", session: SESSION });
  assert.equal(calls[0].authorization, "Bearer t0");
  assert.deepEqual([client.token, client.refreshToken, client.expiresAt, client.session, client.user], [null, null, null, null, null]);
  assert.deepEqual(tokens.at(-1), { token: null, refreshToken: null, expiresAt: null, session: null, user: null });
});

// ----- a real node -------------------------------------------------------------------------------

/** Resolves once `check()` (sync or async) is true, polling every 50 ms for up to `ms`. */
async function until(check, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(50);
  }
  assert.fail(`never: ${what}`);
}

/** The first frame a socket opened with `protocols` gets, and the subprotocol the node chose. */
function firstFrame(url, protocols) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    const timer = setTimeout(() => reject(new Error("no first frame in 10 s")), 10_000);
    socket.onmessage = (event) => {
      clearTimeout(timer);
      resolve({ frame: JSON.parse(event.data), protocol: socket.protocol });
      socket.close();
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error("socket failed"));
    };
  });
}

const wsUrl = (base, session) => `${base.replace(/^http/, "ws")}/ws${session ? `?session=${session}` : ""}`;
const refusedWith401 = (promise) => promise.then(() => false, (error) => error.status === 401);

// The node whose tokens live 2 s (the node allows them 5 s more of clock leeway) and whose spent
// refresh tokens have no grace.
const TTL_SECS = 2;
const shortNode = await startNode({ env: { ROOKERY_TOKEN_TTL_SECS: String(TTL_SECS), ROOKERY_REFRESH_REUSE_GRACE_MS: "0" } });
after(async () => {
  await shortNode.stop();
  rmSync(shortNode.dataDir, { recursive: true, force: true });
});
const short = shortNode.url;
const base = await nodeUrl();

test("the node accepts the token as a subprotocol and answers `rookery`", async () => {
  const auth = await rookery.guest({ baseUrl: base });
  assert.equal(typeof auth.refreshToken, "string");
  assert.ok(auth.expiresAt > Date.now());
  const client = await player(base, auth);
  assert.equal(client.opening.type, "client/RESUME_SESSION");
  assert.equal(client.opening.session, auth.session);
  assert.deepEqual(client.log.urls, [wsUrl(base, auth.session)], "no token in the URL");
  assert.deepEqual(client.log.protocols, [["rookery", `rookery.bearer.${auth.token}`]]);
  assert.equal(client.log.sockets[0].protocol, "rookery");
  assertSchemaValid(client);
  client.close();

  // A socket sign-in answers a refresh token that renews it over HTTP; a token socket gets null.
  const anonymous = await player(base, {});
  const started = await anonymous.guest();
  assert.equal(typeof started.refreshToken, "string");
  assert.equal(anonymous.refreshToken, started.refreshToken);
  assert.equal(anonymous.expiresAt, started.expiresAt);
  const renewed = await anonymous.refresh();
  assert.equal(renewed.session, started.session, "the session is kept");
  assert.equal(renewed.user.id, started.user.id);
  anonymous.close();
  const { frame } = await firstFrame(wsUrl(base), ["rookery", `rookery.bearer.${renewed.token}`]);
  assert.equal(frame.type, "client/SESSION_STARTED");
  assert.equal(frame.refreshToken, null);
  assert.equal(frame.expiresAt, renewed.expiresAt);
});

test("refresh rotates: a new pair each time, and a spent refresh token used again ends the sign-in", async () => {
  const auth = await rookery.register(`ren${Date.now().toString(36).slice(-6)}`, "password for tests", { baseUrl: short });
  const tokens = [];
  const client = new RookeryClient({ baseUrl: short, token: auth.token, session: auth.session, refreshToken: auth.refreshToken, onTokens: (t) => tokens.push(t) });
  const renewed = await client.refresh();
  assert.notEqual(renewed.token, auth.token);
  assert.notEqual(renewed.refreshToken, auth.refreshToken);
  assert.equal(renewed.session, auth.session);
  assert.ok(renewed.expiresAt >= auth.expiresAt);
  assert.deepEqual(tokens.map((t) => t.refreshToken), [renewed.refreshToken]);
  assert.equal((await rookery.me({ baseUrl: short, token: client.token })).name, auth.user.name);
  const again = await client.refresh();
  assert.notEqual(again.refreshToken, renewed.refreshToken);

  // The first refresh token is spent: used again (no grace on this node) it is taken for a
  // stolen copy, and every token of this sign-in is refused from then on.
  await assert.rejects(rookery.refresh(auth.refreshToken, { baseUrl: short }), { code: "unauthenticated", status: 401 });
  await assert.rejects(rookery.me({ baseUrl: short, token: again.token }), { status: 401 });
  await assert.rejects(client.refresh(), { code: "unauthenticated" });
  assert.equal(client.refreshToken, null);
});

test("after the token expires, a dropped client renews it before reconnecting and the game goes on", { timeout: 90_000 }, async () => {
  const proxy = await startProxy(shortNode.port);
  const auth = await rookery.guest({ baseUrl: short });
  const a = await player(short, auth, { via: proxy.url, client: { expiresAt: auth.expiresAt } });
  const b = await player(short, await rookery.guest({ baseUrl: short }));
  const { first, second, game } = await startGame(a, b);
  await play(first, second, [4]);
  const tokens = [];
  a.on("tokens", (t) => tokens.push(t));

  // Wait for the node itself to refuse the token (its TTL, then its leeway): the open socket
  // stays open past it.
  const old = a.token;
  await until(() => refusedWith401(rookery.me({ baseUrl: short, token: old })), "the node refuses the expired token");
  assert.ok(Date.now() > auth.expiresAt);
  assert.equal(a.state, "open");
  // HTTP calls with {client} renew first. (b has no refresh token set: its helper passed one.)
  const me = await rookery.me({ client: a });
  assert.equal(me.name, auth.user.name);
  assert.notEqual(a.token, old);
  assert.equal(tokens.length, 1);

  // Now let the renewed token expire too, then drop the socket: the client renews before
  // the new socket and resumes the game.
  const renewed = a.token;
  await until(() => a.expiresAt < Date.now(), "the renewed token expires");
  const resumed = a.once("client/RESUME_GAME", { timeoutMs: 20_000 });
  const received = a.log.received.length;
  proxy.cut();
  const view = await resumed;
  assert.equal(view.game, game);
  assert.notEqual(a.token, renewed);
  assert.equal(tokens.length, 2, "one renewal for the reconnect");
  assert.deepEqual(a.log.protocols.at(-1), ["rookery", `rookery.bearer.${a.token}`]);
  assert.ok(!a.log.received.slice(received).some((f) => f.type === "client/ERROR"), "the node never refused the new socket");
  assert.equal(a.session, auth.session);
  const overs = [a.once("client/GAME_OVER", { timeoutMs: 20_000 }), b.once("client/GAME_OVER", { timeoutMs: 20_000 })];
  // The first side played 4: the second moves next, and wins with the top row.
  await play(second, first, [0, 8, 2, 6, 1]);
  await Promise.all(overs);
  assertSchemaValid(a, b);
  a.close();
  b.close();
  await proxy.close();
});

test("a token the node refuses at the opening (a client clock behind) is renewed once, then the session resumes", { timeout: 60_000 }, async () => {
  const auth = await rookery.guest({ baseUrl: short });
  await until(() => refusedWith401(rookery.me({ baseUrl: short, token: auth.token })), "the node refuses the token");
  // The client believes the token good for an hour more: it opens with it, is refused, renews.
  const client = await player(short, auth, { client: { expiresAt: Date.now() + 3_600_000 } });
  assert.equal(client.opening.type, "client/RESUME_SESSION");
  assert.equal(client.opening.session, auth.session);
  assert.equal(client.log.sockets.length, 2);
  assert.equal(client.log.received[0].type, "client/ERROR");
  assert.equal(client.log.received[0].code, "unauthenticated");
  assert.deepEqual(client.log.protocols[1], ["rookery", `rookery.bearer.${client.token}`]);
  assert.notEqual(client.token, auth.token);
  assert.notEqual(client.refreshToken, auth.refreshToken);
  assertSchemaValid(client);
  client.close();
});

test("logout ends the sign-in: the old tokens are refused over HTTP and at /ws, the session is gone", async () => {
  const auth = await rookery.register(`out${Date.now().toString(36).slice(-6)}`, "password for tests", { baseUrl: base });
  const client = await player(base, auth);
  const renewed = await client.refresh();
  const { token, refreshToken, session } = client;
  assert.equal(token, renewed.token);
  const tokens = [];
  client.on("tokens", (t) => tokens.push(t));
  await client.logout();
  assert.equal(client.state, "closed");
  assert.deepEqual(tokens, [{ token: null, refreshToken: null, expiresAt: null, session: null, user: null }]);

  await assert.rejects(rookery.me({ baseUrl: base, token }), { code: "unauthenticated", status: 401 });
  await assert.rejects(rookery.refresh(refreshToken, { baseUrl: base }), { code: "unauthenticated", status: 401 });
  // The token from before the renewal is of the same sign-in: refused too.
  await assert.rejects(rookery.me({ baseUrl: base, token: auth.token }), { status: 401 });
  const { frame, protocol } = await firstFrame(wsUrl(base, session), ["rookery", `rookery.bearer.${token}`]);
  assert.equal(protocol, "rookery");
  assert.equal(frame.type, "client/ERROR");
  assert.equal(frame.code, "unauthenticated");
  const refused = new RookeryClient({ baseUrl: base, token, session, reconnect: false });
  await assert.rejects(refused.connect(), { code: "unauthenticated" });

  // Signing in again does not bring the old session back.
  const again = await rookery.login(auth.user.name, "password for tests", { baseUrl: base });
  const back = await player(base, { ...again, session });
  assert.equal(back.opening.type, "client/SESSION_STARTED");
  assert.notEqual(back.session, session);
  // Logging out with only a refresh token (an expired access token's client) works too.
  await rookery.logout({ baseUrl: base, refreshToken: back.refreshToken, session: back.session });
  await assert.rejects(rookery.me({ baseUrl: base, token: back.token }), { status: 401 });
  back.close();
});
