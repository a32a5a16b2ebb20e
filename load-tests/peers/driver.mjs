// One load generator for rookery and for its peers (`load-tests/run compare`): N pairs play
// tic-tac-toe or connect-four game after game with no think time, and the same play loop drives
// either system. Every game is the same fixed sequence of legal moves that ends in a draw (9 moves
// for tic-tac-toe, 42 for connect-four), and a player moves as soon as it sees the opponent's move.
//
//   rookery:  the wire protocol v1 over a raw WebSocket (/work/shared/protocol.md): guest login
//             (POST /api/auth/guest), /ws?token=&session=, server/START_MATCHMAKING (each pair
//             its own queue: a time control of its own, as loadgen and k6 do), server/REPLY_MATCHUP,
//             game/PLAYER_READY, game/PLAYER_MOVE with seq; after client/GAME_OVER, queue again.
//   colyseus: the @colyseus/sdk client against load-tests/peers/colyseus/server.mjs: one room per
//             pair (create, then joinById), "ready", then "move" messages; the room starts each
//             next game itself.
//
// Both seats of every pair live in this process, so one clock times a move from the mover's send
// to the opponent's receipt. Moves are counted when the opponent receives them. After --warmup
// seconds, --measure seconds are measured: moves, moves/s, the move-to-opponent percentiles, and
// (with --server-pid) the server's CPU time from /proc/<pid>/stat, hence moves per server
// CPU-second and the server's busy fraction. Prints one JSON object (and writes it to --out).
//
// Usage: node driver.mjs --system rookery|colyseus --target http://127.0.0.1:PORT
//          [--game tictactoe|connect4] [--pairs 10] [--warmup 5] [--measure 15] [--server-pid PID]
//          [--client-ws builtin|ws] [--setup-concurrency 16] [--out FILE]
// Node >= 22 (the built-in WebSocket); the packages come from load-tests/peers/colyseus
// (`npm ci` there; `load-tests/run compare` does it).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    system: { type: "string" },
    target: { type: "string" },
    game: { type: "string", default: "tictactoe" },
    pairs: { type: "string", default: "10" },
    warmup: { type: "string", default: "5" },
    measure: { type: "string", default: "15" },
    "server-pid": { type: "string" },
    "client-ws": { type: "string", default: "builtin" },
    "setup-concurrency": { type: "string", default: "16" },
    out: { type: "string" },
  },
});
if (!["rookery", "colyseus"].includes(opt.system) || !opt.target) {
  console.error("usage: node driver.mjs --system rookery|colyseus --target http://HOST:PORT [--game tictactoe|connect4] [--pairs N] ...");
  process.exit(2);
}

/** The moves of every game, in order (whoever moves first plays the even entries): draws. */
const SEQUENCES = {
  // X: 0 8 7 2 3, O: 4 1 6 5; no line.
  tictactoe: [0, 4, 8, 1, 7, 6, 2, 5, 3],
  // Columns that fill the board with no four in a line (as loadgen play).
  connect4: [3, 3, 3, 4, 0, 4, 6, 2, 5, 4, 6, 5, 3, 0, 5, 0, 4, 6, 5, 4, 4, 6, 6, 1, 2, 1, 2, 6, 1, 1, 1, 5, 1, 0, 0, 2, 2, 3, 0, 5, 3, 2],
};
const MOVES = SEQUENCES[opt.game];
if (!MOVES) throw new Error(`--game must be one of ${Object.keys(SEQUENCES).join(", ")}`);
const pairs = Number(opt.pairs);
const warmupMs = Number(opt.warmup) * 1000;
const measureMs = Number(opt.measure) * 1000;
const serverPid = opt["server-pid"] ? Number(opt["server-pid"]) : null;
const base = opt.target.replace(/\/$/, "");

const require = createRequire(new URL("./colyseus/package.json", import.meta.url));
if (opt["client-ws"] === "ws") globalThis.WebSocket = require("ws"); // for both systems
if (typeof globalThis.WebSocket !== "function") throw new Error("no WebSocket: Node >= 22 or --client-ws ws");

// ---------------------------------------------------------------------------------------------
// Measuring

const stats = {
  measuring: false,
  from: 0, // performance.now() when the window opened
  moves: 0, // moves received by the opponent, in the window
  games: 0, // games over, in the window
  latencies: [], // ms, moves sent and received in the window
  errors: {}, // server-reported errors by code, over the whole run
};
/** The opponent received a move sent at `sentAt`. */
function arrived(sentAt) {
  if (!stats.measuring) return;
  stats.moves++;
  if (sentAt >= stats.from) stats.latencies.push(performance.now() - sentAt);
}
function gameOver() {
  if (stats.measuring) stats.games++;
}
function countError(code) {
  stats.errors[code] = (stats.errors[code] ?? 0) + 1;
}
/** Seconds of CPU (user + system, all threads) of process `pid` so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
}
function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : null;
}
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const round3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000);

/** Runs `fn` on 0..n-1 with at most `limit` in flight. */
async function forEachLimited(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

let running = false; // play only once every pair is seated

// ---------------------------------------------------------------------------------------------
// rookery: the wire protocol v1

function rookeryQueue(pair) {
  // A time control per pair: each pair meets itself in a queue of its own.
  return { game: opt.game, clock: { initialMs: 600_000 + pair * 1000, incrementMs: 0 }, rated: false };
}

/** Live games by id: the move in flight (one at a time per game). */
const rookeryGames = new Map();

async function rookerySeat(pair) {
  const res = await fetch(`${base}/api/auth/guest`, { method: "POST" });
  if (!res.ok) throw new Error(`guest login: HTTP ${res.status} ${await res.text()}`);
  const { token, session } = await res.json();
  return new Promise((resolve, reject) => {
    const url = `${base.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}&session=${encodeURIComponent(session)}`;
    const ws = new WebSocket(url);
    const seat = { ws, pair, side: null, game: null, ready: false };
    const send = (m) => ws.send(JSON.stringify(m));
    seat.queue = () => send({ type: "server/START_MATCHMAKING", queue: rookeryQueue(pair) });
    ws.onerror = (e) => (seat.ready ? countError("socket_error") : reject(new Error(`socket: ${e.message ?? e}`)));
    ws.onclose = () => running && countError("socket_closed");
    ws.onmessage = ({ data }) => {
      const m = JSON.parse(data);
      switch (m.type) {
        case "client/SESSION_STARTED":
        case "client/RESUME_SESSION":
          if (!seat.ready) {
            seat.ready = true;
            resolve(seat);
          }
          break;
        case "client/PROPOSE_MATCHUP":
          send({ type: "server/REPLY_MATCHUP", matchup: m.matchup, accept: true });
          break;
        case "client/START_GAME":
          seat.game = m.game;
          seat.side = m.you;
          if (!rookeryGames.has(m.game)) rookeryGames.set(m.game, { seq: -1, sentAt: 0, by: null });
          send({ type: "game/PLAYER_READY", game: m.game });
          break;
        case "client/UPDATE_GAME": {
          const g = rookeryGames.get(m.game);
          if (!g || m.game !== seat.game) break;
          if (m.seq > 0 && m.lastMove != null && g.seq === m.seq - 1 && g.by !== seat) arrived(g.sentAt);
          if (m.status === "playing" && m.toMove === seat.side && m.seq < MOVES.length && g.seq < m.seq) {
            g.seq = m.seq;
            g.by = seat;
            g.sentAt = performance.now();
            send({ type: "game/PLAYER_MOVE", game: m.game, seq: m.seq, move: MOVES[m.seq] });
          }
          break;
        }
        case "client/GAME_OVER":
          if (rookeryGames.delete(m.game)) gameOver(); // the first of the two seats to hear it
          if (m.result !== "draw") countError(`unexpected_result_${m.reason}`);
          seat.game = null;
          if (running) seat.queue();
          break;
        case "client/ERROR":
          countError(m.code);
          break;
      }
    };
  });
}

async function rookerySetup() {
  const seats = [];
  await forEachLimited(pairs, Number(opt["setup-concurrency"]), async (i) => {
    seats.push(await rookerySeat(i), await rookerySeat(i));
  });
  return {
    start: () => seats.forEach((s) => s.queue()),
    close: () => seats.forEach((s) => s.ws.close()),
  };
}

// ---------------------------------------------------------------------------------------------
// Colyseus: @colyseus/sdk

async function colyseusSetup() {
  const { Client } = require("@colyseus/sdk");
  const client = new Client(base);
  const rooms = [];
  await forEachLimited(pairs, Number(opt["setup-concurrency"]), async () => {
    const pair = { seq: -1, sentAt: 0, by: null };
    const a = await client.create(opt.game);
    const b = await client.joinById(a.roomId);
    for (const room of [a, b]) {
      const move = (seq) => {
        pair.seq = seq;
        pair.by = room;
        pair.sentAt = performance.now();
        room.send("move", { seq, move: MOVES[seq] });
      };
      room.onMessage("start", ({ first }) => {
        if (first === room.sessionId && running) move(0);
      });
      room.onMessage("move", ({ seq, by }) => {
        if (by === room.sessionId) return; // our own move's acknowledgement
        if (pair.seq === seq && pair.by !== room) arrived(pair.sentAt);
        if (running && seq + 1 < MOVES.length) move(seq + 1);
      });
      room.onMessage("over", ({ result, reason }) => {
        if (room === a) gameOver();
        if (result !== "draw") countError(`unexpected_result_${reason}`);
      });
      room.onMessage("error", ({ code }) => countError(code));
      room.onLeave(() => running && countError("socket_closed"));
      rooms.push(room);
    }
  });
  return {
    start: () => rooms.forEach((r) => r.send("ready")), // the room then starts the first game
    close: () => rooms.forEach((r) => r.leave().catch(() => {})),
  };
}

// ---------------------------------------------------------------------------------------------
// The run

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadBefore = loadavg()[0];
const setupStarted = performance.now();
const system = opt.system === "rookery" ? await rookerySetup() : await colyseusSetup();
const setupMs = performance.now() - setupStarted;

running = true;
system.start();
await sleep(warmupMs);

const cpu0 = serverPid ? cpuSeconds(serverPid) : null;
const self0 = process.cpuUsage();
stats.from = performance.now();
stats.measuring = true;
await sleep(measureMs);
stats.measuring = false;
const wallS = (performance.now() - stats.from) / 1000;
const cpu1 = serverPid ? cpuSeconds(serverPid) : null;
const self1 = process.cpuUsage(self0);
running = false;

const serverCpuS = serverPid ? cpu1 - cpu0 : null;
const sorted = Float64Array.from(stats.latencies).sort();
const result = {
  system: opt.system,
  game: opt.game,
  pairs,
  target: base,
  loadavg_before: loadBefore,
  setup_s: round3(setupMs / 1000),
  warmup_s: warmupMs / 1000,
  measured_s: round3(wallS),
  moves: stats.moves,
  games: stats.games,
  moves_per_sec: Math.round(stats.moves / wallS),
  server_cpu_s: serverCpuS == null ? null : round3(serverCpuS),
  moves_per_cpu_s: serverCpuS ? Math.round(stats.moves / serverCpuS) : null,
  us_per_move: serverCpuS && stats.moves ? round3((serverCpuS / stats.moves) * 1e6) : null,
  server_busy: serverCpuS == null ? null : round3(serverCpuS / wallS),
  driver_busy: round3((self1.user + self1.system) / 1e6 / wallS),
  server_rss_kib: serverPid ? rssKiB(serverPid) : null,
  move_to_opponent_ms: {
    n: sorted.length,
    p50: round3(percentile(sorted, 50)),
    p90: round3(percentile(sorted, 90)),
    p99: round3(percentile(sorted, 99)),
    p999: round3(percentile(sorted, 99.9)),
    max: round3(sorted.length ? sorted[sorted.length - 1] : null),
  },
  errors: stats.errors,
  node: process.version,
  client_ws: opt["client-ws"],
};
system.close();
const text = JSON.stringify(result);
if (opt.out) writeFileSync(opt.out, text + "\n");
console.log(text);
await sleep(200); // let the close frames go out
process.exit(0);
