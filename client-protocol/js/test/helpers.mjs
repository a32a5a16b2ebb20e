// Test helpers: a real node (the one ROOKERY_URL names, or one started from the built binary),
// a TCP proxy that can cut or stall a connection, schema validation of every frame, and
// bounded waits.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";

import { RookeryClient } from "../rookery.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const SCHEMA = JSON.parse(readFileSync(join(REPO, "client-protocol/schema/rookery.schema.json"), "utf8"));

// ----- schema validation -----------------------------------------------------------------------

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTuples: false });
const integer = (min, max) => ({ type: "number", validate: (n) => Number.isInteger(n) && n >= min && n <= max });
ajv.addFormat("uint32", integer(0, 2 ** 32 - 1));
ajv.addFormat("uint64", integer(0, Number.MAX_SAFE_INTEGER));
ajv.addFormat("int32", integer(-(2 ** 31), 2 ** 31 - 1));
ajv.addFormat("double", { type: "number", validate: (n) => Number.isFinite(n) });
ajv.addSchema(SCHEMA, "rookery");

/** Validators for each `$defs` entry, by name. */
export function validator(name) {
  const validate = ajv.getSchema(`rookery#/$defs/${name}`);
  if (!validate) throw new Error(`no $defs/${name} in the schema`);
  return (value) => {
    if (validate(value)) return null;
    return `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`;
  };
}

const validServerFrame = validator("ServerFrame");
const validClientFrame = validator("ClientFrame");

/**
 * A WebSocket class that records every frame both ways and checks it against the schema
 * (ClientFrame out, ServerFrame in). `problems` collects the frames that do not match; `urls`
 * and `protocols`, what each socket was opened with; `sockets`, the sockets themselves.
 */
export function recordingWebSocket() {
  const log = { sent: [], received: [], problems: [], urls: [], protocols: [], sockets: [] };
  class Recording extends globalThis.WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      log.urls.push(url);
      log.protocols.push(protocols ?? null);
      log.sockets.push(this);
      this.addEventListener("message", (event) => {
        const frame = JSON.parse(event.data);
        log.received.push(frame);
        const problem = validServerFrame(frame);
        if (problem) log.problems.push(`in: ${problem}`);
      });
    }
    send(text) {
      const frame = JSON.parse(text);
      log.sent.push(frame);
      const problem = validClientFrame(frame);
      if (problem) log.problems.push(`out: ${problem}`);
      super.send(text);
    }
  }
  return { WebSocket: Recording, log };
}

// ----- nodes -----------------------------------------------------------------------------------

const BIN = process.env.ROOKERY_BIN ?? join(REPO, "target/debug/rookery");

/** Environment for a test node: short match interval, no auth rate limit in the way. */
export function nodeEnv(extra = {}) {
  // A single embedded node, whatever cluster settings the environment carries.
  const { REDIS_URL: _redis, MONGODB_URI: _mongo, ...inherited } = process.env;
  return {
    ...inherited,
    ROOKERY_LOG_FORMAT: "json",
    ROOKERY_MATCH_INTERVAL_MS: "50",
    ROOKERY_LOGIN_PER_IP_PER_MIN: "100000",
    ROOKERY_LOGIN_PER_USER_PER_MIN: "100000",
    ROOKERY_SHUTDOWN_TIMEOUT_SECS: "2",
    RUST_LOG: "warn,rookery=info",
    ...extra,
  };
}

/**
 * Starts a node from the built binary. `port` 0 picks a free one (read back from its log).
 * Resolves with `{url, port, dataDir, stop(signal)}`; `stop` resolves with the exit code.
 */
export async function startNode({ port = 0, dataDir, env = {} } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "rookery-sdk-"));
  const child = spawn(BIN, [], {
    env: nodeEnv({ ROOKERY_BIND: `127.0.0.1:${port}`, ROOKERY_DATA_DIR: dir, ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  let output = "";
  const bound = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in 30 s:\n${output}`)), 30_000);
    const scan = (chunk) => {
      output += chunk;
      const match = /listening on port (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on("data", scan);
    child.stderr.on("data", scan);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${BIN}: ${error.message} (run cargo build first)`));
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code}) before listening:\n${output}`));
    });
  });
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const code = await Promise.race([exited, delay(15_000).then(() => "timeout")]);
    if (code === "timeout") {
      child.kill("SIGKILL");
      await exited;
    }
    return code;
  };
  return { url: `http://127.0.0.1:${bound}`, port: bound, dataDir: dir, stop, exited };
}

let shared = null;

/** The node under test: ROOKERY_URL, or one started for this test file. */
export async function nodeUrl() {
  if (process.env.ROOKERY_URL) return process.env.ROOKERY_URL.replace(/\/$/, "");
  if (!shared) {
    shared = startNode();
    after(async () => {
      const node = await shared;
      await node.stop();
      rmSync(node.dataDir, { recursive: true, force: true });
    });
  }
  return (await shared).url;
}

// ----- a proxy that can fail -------------------------------------------------------------------

/**
 * A TCP proxy to `targetPort`. `cut()` destroys every open connection (a network loss: the
 * client sees 1006); `holdDownstream()` stops forwarding node-to-client bytes (replies get lost
 * in flight) until the next `cut()`.
 */
export async function startProxy(targetPort) {
  const pairs = new Set();
  let holding = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    client.on("data", (data) => upstream.write(data));
    upstream.on("data", (data) => {
      if (!holding) client.write(data);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    holdDownstream() {
      holding = true;
    },
    cut() {
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy?.() ?? client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      holding = false;
    },
    get connections() {
      return pairs.size;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// ----- players ---------------------------------------------------------------------------------

export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let queueCounter = 0;

/** A clock no other test uses, so each test gets a queue of its own. */
export function uniqueClock() {
  queueCounter += 1;
  return { initialMs: 600_000 + (process.pid % 5_000) * 40 + queueCounter, incrementMs: 0 };
}

/**
 * A connected client over a recording socket. `options.via` is a base URL (a proxy) to
 * connect through instead of the node.
 */
export async function player(base, auth, options = {}) {
  const { WebSocket, log } = recordingWebSocket();
  const client = new RookeryClient({
    baseUrl: options.via ?? base,
    token: auth.token,
    session: auth.session,
    refreshToken: auth.refreshToken ?? null,
    WebSocket,
    requestTimeoutMs: 10_000,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    ...options.client,
  });
  client.log = log;
  client.opening = await client.connect();
  return client;
}

/**
 * Queues both clients in the same fresh queue, accepts the matchup on both sides and readies
 * both. Resolves with `{first, second, game}`: the clients by side.
 */
export async function startGame(a, b, { game = "tictactoe", clock = uniqueClock(), rated = false, ready = true } = {}) {
  const proposals = [a.once("client/PROPOSE_MATCHUP"), b.once("client/PROPOSE_MATCHUP")];
  await a.startMatchmaking({ game, clock, rated });
  await b.startMatchmaking({ game, clock, rated });
  const [pa, pb] = await Promise.all(proposals);
  const started = [a.once("client/START_GAME"), b.once("client/START_GAME")];
  await Promise.all([a.replyMatchup(pa.matchup, true), b.replyMatchup(pb.matchup, true)]);
  const [va] = await Promise.all(started);
  if (ready) await Promise.all([a.playerReady(va.game), b.playerReady(va.game)]);
  const first = a.game.you === "first" ? a : b;
  const second = first === a ? b : a;
  return { first, second, game: va.game };
}

/** Plays `moves` alternately, first side first; resolves with the last acknowledgement. */
export async function play(first, second, moves) {
  let last = null;
  for (const [i, move] of moves.entries()) {
    const mover = i % 2 === 0 ? first : second;
    const other = mover === first ? second : first;
    const next = mover.game.seq + 1;
    const seen = other.once("client/UPDATE_GAME", { filter: (u) => u.seq === next });
    last = await mover.move(move);
    await seen;
  }
  return last;
}

/** Every frame each client sent and received matched the schema. */
export function assertSchemaValid(...clients) {
  for (const client of clients) {
    assert.deepStrictEqual(client.log.problems, [], "every frame matches the schema");
    assert.ok(client.log.received.length > 0, "frames were recorded");
  }
}

/**
 * A WebSocket stand-in class for tests without a node: each socket opens at once and delivers
 * `opening` (a frame, or a function of the socket giving one: its `url` and `protocols` are
 * set), keeps what is sent (`sent`, parsed), and can be dropped (`drop()`). A socket closed
 * before it opened stays closed. Every socket made is in the class's `sockets`.
 */
export function fakeSocketClass(opening) {
  return class FakeSocket {
    static OPEN = 1;
    static sockets = [];
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols ?? null;
      this.readyState = 0;
      this.sent = [];
      FakeSocket.sockets.push(this);
      setTimeout(() => {
        if (this.readyState === 3) return;
        this.readyState = 1;
        this.onopen?.();
        this.deliver(typeof opening === "function" ? opening(this) : opening);
      });
    }
    send(text) {
      this.sent.push(JSON.parse(text));
    }
    deliver(frame) {
      this.onmessage?.({ data: JSON.stringify(frame) });
    }
    drop() {
      this.readyState = 3;
      this.onclose?.({ code: 1006, reason: "" });
    }
    close() {
      this.readyState = 3;
    }
  };
}
