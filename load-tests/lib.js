// Shared k6 code for the rookery load tests: identities over HTTP, the wire protocol v1 over
// `k6/experimental/websockets` (client-protocol/README.md), a two-seat "table" that plays one
// game to the end, the custom metrics and the JSON summary. Every scenario imports it.
//
// Environment (all optional):
//   TARGET       base URL, default http://127.0.0.1:8080 (nginx of scripts/cluster, or a node)
//   TARGETS      comma-separated base URLs; seat A of a table uses TARGETS[i], seat B the next
//                one, so a list of node URLs puts the two players of a game on different nodes
//   GAME         tictactoe | connect4 | mix (default mix)
//   THINK_MS     mean think time before a move (default 300; uniform 0.5x..1.5x)
//   REGISTERED   fraction of players that register an account instead of playing as guests
//                (default 0.1; registration hashes a password with argon2id, which is slow)
//   SUMMARY      where handleSummary writes JSON (default load-tests/results/<scenario>-k6.json)

import http from 'k6/http';
import { WebSocket } from 'k6/experimental/websockets';
import { Counter, Rate, Trend } from 'k6/metrics';

export const TARGET = (__ENV.TARGET || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const TARGETS = (__ENV.TARGETS || TARGET).split(',').map((t) => t.trim().replace(/\/+$/, '')).filter(Boolean);
export const THINK_MS = Number(__ENV.THINK_MS || 300);
export const REGISTERED = Number(__ENV.REGISTERED || 0.1);

// ----------------------------------------------------------------------------------------------
// Metrics (times in ms; k6's clock has 1 ms resolution)

export const metrics = {
  moveToOpponent: new Trend('move_to_opponent', true), // mover sends -> opponent sees the move
  moveAck: new Trend('move_ack', true), // mover sends -> mover sees its acknowledgement
  matchupWait: new Trend('matchup_wait', true), // START_MATCHMAKING -> PROPOSE_MATCHUP
  startToPlay: new Trend('start_to_playing', true), // PROPOSE_MATCHUP -> first UPDATE_GAME playing
  connect: new Trend('ws_connect', true), // socket opened -> first frame (SESSION_STARTED/RESUME_SESSION)
  resume: new Trend('resume_latency', true), // new socket opened -> RESUME_GAME
  playableAgain: new Trend('playable_again', true), // socket lost -> next move acknowledged
  gamesCompleted: new Counter('games_completed'),
  gamesFailed: new Counter('games_failed'),
  gamesResumed: new Counter('games_resumed'), // games completed after at least one reconnect
  movesAcked: new Counter('moves_acked'),
  lostAckedMoves: new Counter('lost_acked_moves'), // acknowledged, then missing after a resume
  reconnects: new Counter('reconnects'),
  protocolErrors: new Counter('protocol_errors'), // client/ERROR other than expected ones
  gameOk: new Rate('game_ok'),
};

// ----------------------------------------------------------------------------------------------
// Identities

const PASSWORD = 'loadtest-password';

function randomName() {
  return `lt${Math.random().toString(36).slice(2, 12)}${(__VU % 1000).toString(36)}`.slice(0, 20);
}

/** A guest or (with probability REGISTERED) a freshly registered user: {token, session, user}. */
export function identity(base, registered = Math.random() < REGISTERED) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = registered
      ? http.post(`${base}/api/auth/register`, JSON.stringify({ username: randomName(), password: PASSWORD }), {
          headers: { 'Content-Type': 'application/json' },
          tags: { name: 'register' },
        })
      : http.post(`${base}/api/auth/guest`, null, { tags: { name: 'guest' } });
    if (res.status === 200) return res.json();
    if (res.status !== 409 && res.status !== 429 && res.status !== 503) break;
  }
  return null;
}

export function wsUrl(base, who) {
  return `${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(who.token)}&session=${encodeURIComponent(who.session)}`;
}

// ----------------------------------------------------------------------------------------------
// Moves

/** A random legal move for the position of a tic-tac-toe or connect-four UPDATE_GAME/view. */
export function randomMove(kind, position) {
  const rows = Array.isArray(position) ? position : null; // chess sends a FEN string
  if (!rows) return null;
  const free = [];
  if (kind === 'tictactoe') {
    rows.join('').split('').forEach((c, i) => c === '.' && free.push(i));
  } else {
    rows[0].split('').forEach((c, i) => c === '.' && free.push(i));
  }
  return free.length ? free[Math.floor(Math.random() * free.length)] : null;
}

/** The executor every scenario uses: VUS for DURATION, or ITERATIONS games per VU if set. */
export function executor(defaults) {
  const vus = Number(__ENV.VUS || defaults.vus);
  if (__ENV.ITERATIONS) {
    return { executor: 'per-vu-iterations', vus, iterations: Number(__ENV.ITERATIONS), maxDuration: __ENV.MAX_DURATION || '2m' };
  }
  return { executor: 'constant-vus', vus, duration: __ENV.DURATION || defaults.duration, gracefulStop: __ENV.GRACEFUL_STOP || '60s' };
}

/** A time control of this VU's own, so that the two seats of its table meet each other. */
export function tableClock() {
  return 600000 + (Number(__ENV.CLOCK_BASE || 0) + __VU) * 1000;
}

export function pickGame() {
  const g = __ENV.GAME || 'mix';
  if (g === 'mix') return Math.random() < 0.5 ? 'tictactoe' : 'connect4';
  return g;
}

function think() {
  return THINK_MS * (0.5 + Math.random());
}

// ----------------------------------------------------------------------------------------------
// A table: two seats that meet through the real queue and play one game to the end.
//
// The two players of a table queue with a time control of their own (initialMs unique to the
// VU), so they are matched with each other: then one k6 clock sees both the send of a move and
// its arrival at the opponent. Matchmaking, the matchup, readiness, every move's snapshot write
// and the finished-game record all run as for any players.

export class Table {
  /**
   * opts: {kind, clockMs, dropAfterMoves (reconnect: drop a seat after that many moves, or
   * null), reconnectOnLoss (failover: reconnect when a socket dies), timeoutMs}
   */
  constructor(opts) {
    this.opts = Object.assign({ dropAfterMoves: null, reconnectOnLoss: false, timeoutMs: 60000 }, opts);
    this.kind = opts.kind;
    this.queue = { game: this.kind, clock: { initialMs: opts.clockMs, incrementMs: 0 }, rated: false };
    this.sentAt = {}; // seq -> ms when the move with that seq was sent
    this.seats = [];
    this.done = false;
    this.dropped = false;
    this.matched = 0;
  }

  /** Plays the game; resolves to true when it completed normally. */
  play() {
    return new Promise((resolve) => {
      this.resolve = resolve;
      const ids = [identity(TARGETS[0]), identity(TARGETS[0])];
      if (!ids[0] || !ids[1]) return this.finish(false, 'identity');
      ids.forEach((who, i) => {
        const base = TARGETS[(__VU + i) % TARGETS.length];
        const seat = new Seat(this, i, who, base);
        this.seats.push(seat);
        seat.open(false);
      });
      this.watchdog = setTimeout(() => this.finish(false, 'timeout'), this.opts.timeoutMs);
    });
  }

  finish(ok, why) {
    if (this.done) return;
    this.done = true;
    if (this.watchdog) clearTimeout(this.watchdog);
    metrics.gameOk.add(ok ? 1 : 0);
    if (ok) {
      metrics.gamesCompleted.add(1, { kind: this.kind });
      if (this.seats.some((s) => s.reconnected)) metrics.gamesResumed.add(1);
    } else {
      metrics.gamesFailed.add(1, { why });
      console.warn(`VU ${__VU}: game failed (${why}) ${this.game || ''}`);
    }
    this.seats.forEach((s) => s.close());
    this.resolve(ok);
  }
}

class Seat {
  constructor(table, index, who, base) {
    this.table = table;
    this.index = index;
    this.who = who;
    this.base = base;
    this.side = null;
    this.seq = 0;
    this.acked = 0; // moves this client has seen acknowledged (the game's seq after them)
    this.knownMoves = []; // moves seen acknowledged, in order
    this.pending = null; // {seq, move, sentAt}: a move sent and not yet acknowledged
    this.reconnected = false;
    this.lostAt = null;
    this.attempts = 0;
    this.timer = null;
  }

  open(resuming) {
    const t = this.table;
    if (t.done) return;
    this.openedAt = Date.now();
    this.resuming = resuming;
    this.firstFrame = false;
    const ws = new WebSocket(wsUrl(this.base, this.who));
    this.ws = ws;
    ws.onmessage = (e) => this.onFrame(ws, JSON.parse(e.data));
    ws.onerror = () => {};
    ws.onclose = () => this.onClose(ws);
  }

  send(msg) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  close() {
    if (this.timer) clearTimeout(this.timer);
    if (this.ws && this.ws.readyState <= 1) this.ws.close();
    this.ws = null;
  }

  onClose(ws) {
    const t = this.table;
    if (ws !== this.ws || t.done) return;
    this.ws = null;
    if (!t.opts.reconnectOnLoss) return t.finish(false, 'socket closed');
    // The node went away (failover): reconnect through the target list, with a short backoff.
    if (this.lostAt === null) this.lostAt = Date.now();
    this.attempts += 1;
    if (this.attempts > 100) return t.finish(false, 'reconnect attempts exhausted');
    this.base = TARGETS[(TARGETS.indexOf(this.base) + 1) % TARGETS.length];
    this.timer = setTimeout(() => this.open(true), Math.min(50 * this.attempts, 500));
  }

  opponent() {
    return this.table.seats[1 - this.index];
  }

  onFrame(ws, m) {
    const t = this.table;
    if (ws !== this.ws || t.done) return;
    const now = Date.now();
    if (!this.firstFrame) {
      this.firstFrame = true;
      metrics.connect.add(now - this.openedAt);
    }
    switch (m.type) {
      case 'client/SESSION_STARTED':
        this.who.session = m.session;
        this.queueUp();
        break;
      case 'client/RESUME_SESSION':
        if (!this.resuming) this.queueUp();
        else if (!m.game) {
          // The game ended while we were away (the opponent's side decided it).
          t.finish(false, 'game gone after resume');
        }
        break;
      case 'client/QUEUED':
      case 'client/ALREADY_IN_QUEUE':
      case 'client/QUEUE_LEFT':
        break;
      case 'client/PROPOSE_MATCHUP':
        if (this.queuedAt) metrics.matchupWait.add(now - this.queuedAt);
        this.queuedAt = null;
        t.proposedAt = t.proposedAt || now;
        this.send({ type: 'server/REPLY_MATCHUP', matchup: m.matchup, accept: true });
        break;
      case 'client/MATCHUP_CANCELLED':
        break;
      case 'client/START_GAME':
        t.game = m.game;
        this.side = m.you;
        this.send({ type: 'game/PLAYER_READY', game: m.game });
        break;
      case 'client/RESUME_GAME':
        this.onResume(m, now);
        break;
      case 'client/UPDATE_GAME':
        this.onUpdate(m, now);
        break;
      case 'client/GAME_OVER':
        if (m.game === t.game) t.finish(true);
        break;
      case 'client/ERROR':
        if (m.code === 'stale_seq' || m.code === 'unavailable' || m.code === 'not_your_turn') {
          // A fresh UPDATE_GAME follows stale_seq; unavailable: retry the same move shortly.
          if (m.code === 'unavailable' && this.pending) this.retryPending(200);
        } else {
          metrics.protocolErrors.add(1, { code: m.code });
          console.warn(`VU ${__VU}: client/ERROR ${m.code}: ${m.message}`);
        }
        break;
      default:
        break;
    }
  }

  queueUp() {
    this.queuedAt = Date.now();
    this.send({ type: 'server/START_MATCHMAKING', queue: this.table.queue });
  }

  /** What a client must check after a resume: every move it saw acknowledged is still there. */
  onResume(view, now) {
    const t = this.table;
    if (this.resuming) {
      metrics.resume.add(now - this.openedAt);
      metrics.reconnects.add(1);
      this.reconnected = true;
      this.resuming = false;
    }
    t.game = view.game;
    this.side = view.you;
    const lost = this.knownMoves.filter((mv, i) => String(view.moves[i]) !== String(mv)).length;
    if (lost > 0) {
      metrics.lostAckedMoves.add(lost);
      console.error(`VU ${__VU}: ${lost} acknowledged move(s) missing after resume of ${view.game}`);
    }
    this.seq = view.seq;
    // A move sent and never acknowledged: send it again with the same seq (applied at most once).
    if (this.pending && view.seq === this.pending.seq && view.toMove === this.side && view.status === 'playing') {
      this.retryPending(0);
    } else {
      this.pending = null;
      if (view.status === 'waiting_ready') this.send({ type: 'game/PLAYER_READY', game: view.game });
      else this.maybeMove(view);
    }
  }

  retryPending(delay) {
    const p = this.pending;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.pending !== p || this.table.done) return;
      // A move that was chosen but never sent (its think time ran over the drop) starts now.
      if (!p.sentAt) {
        p.sentAt = Date.now();
        this.table.sentAt[p.seq] = p.sentAt;
      }
      this.send({ type: 'game/PLAYER_MOVE', game: this.table.game, seq: p.seq, move: p.move, ref: `m${p.seq}` });
    }, delay);
  }

  onUpdate(u, now) {
    const t = this.table;
    if (u.game !== t.game) return;
    if (u.status === 'playing' && u.seq === 0 && !t.playingAt) {
      t.playingAt = now;
      if (t.proposedAt) metrics.startToPlay.add(now - t.proposedAt);
    }
    if (u.seq > this.acked && u.lastMove !== null && u.lastMove !== undefined) {
      const moved = u.seq - 1;
      if (this.pending && this.pending.seq === moved) {
        if (this.pending.sentAt) metrics.moveAck.add(now - this.pending.sentAt);
        metrics.movesAcked.add(1);
        if (this.lostAt !== null) {
          metrics.playableAgain.add(now - this.lostAt);
          this.lostAt = null;
        }
        this.pending = null;
      } else if (t.sentAt[moved] !== undefined && !this.pending) {
        metrics.moveToOpponent.add(now - t.sentAt[moved]);
        if (this.lostAt !== null) {
          metrics.playableAgain.add(now - this.lostAt);
          this.lostAt = null;
        }
      }
      this.knownMoves[moved] = u.lastMove;
      this.acked = u.seq;
    }
    this.seq = u.seq;
    // The reconnect scenario: drop this seat's socket mid-game, right after sending a move, so
    // the retry-with-the-same-seq path runs too.
    const drop = t.opts.dropAfterMoves;
    if (drop !== null && !t.dropped && u.seq >= drop && u.status === 'playing' && u.toMove === this.side) {
      t.dropped = true;
      this.maybeMove(u, 0);
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close();
      this.lostAt = Date.now();
      this.timer = setTimeout(() => this.open(true), 10 + Math.random() * 40);
      return;
    }
    this.maybeMove(u);
  }

  maybeMove(u, delay) {
    const t = this.table;
    if (u.status !== 'playing' || u.toMove !== this.side || this.pending) return;
    const move = randomMove(t.kind, u.position);
    if (move === null) return;
    const seq = u.seq;
    this.pending = { seq, move, sentAt: 0 };
    const p = this.pending;
    const fire = () => {
      if (t.done || this.pending !== p) return;
      p.sentAt = Date.now();
      t.sentAt[seq] = p.sentAt;
      if (this.ws && this.ws.readyState === 1) {
        this.ws.send(JSON.stringify({ type: 'game/PLAYER_MOVE', game: t.game, seq, move, ref: `m${seq}` }));
      }
    };
    if (delay === 0) fire();
    else this.timer = setTimeout(fire, think());
  }
}

// ----------------------------------------------------------------------------------------------
// Summary

/** Trend statistics every scenario reports (p99 included). */
export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

function fmt(v) {
  if (v === undefined || v === null) return '-';
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(2);
}

/** A short text summary of the custom metrics and thresholds (no remote jslib needed). */
export function textSummary(data) {
  const lines = [];
  const m = data.metrics;
  for (const name of Object.keys(m).sort()) {
    const metric = m[name];
    if (name.startsWith('http_') && name !== 'http_req_failed' && name !== 'http_req_duration') continue;
    if (name.startsWith('data_') || name.startsWith('ws_ping') || name.startsWith('iteration')) continue;
    const v = metric.values;
    let text;
    if (metric.type === 'trend') {
      text = `p50=${fmt(v.med)} p95=${fmt(v['p(95)'])} p99=${fmt(v['p(99)'])} max=${fmt(v.max)} ms (n=${fmt(v.count)})`;
    } else if (metric.type === 'counter') {
      text = `${fmt(v.count)} (${fmt(v.rate)}/s)`;
    } else if (metric.type === 'rate') {
      text = `${(100 * v.rate).toFixed(1)}%`;
    } else {
      text = `${fmt(v.value)} (max ${fmt(v.max)})`;
    }
    const th = metric.thresholds
      ? ' ' + Object.entries(metric.thresholds).map(([k, r]) => `[${r.ok ? 'ok' : 'CROSSED'} ${k}]`).join(' ')
      : '';
    lines.push(`  ${name.padEnd(22)} ${text}${th}`);
  }
  return lines.join('\n');
}

/** handleSummary for every scenario: JSON to SUMMARY (or results/<name>-k6.json) and text. */
export function summary(name) {
  return (data) => {
    const out = __ENV.SUMMARY || `load-tests/results/${name}-k6.json`;
    return {
      [out]: JSON.stringify(data, null, 2),
      stdout: `\n${name}: k6 summary\n${textSummary(data)}\n`,
    };
  };
}

