// rookery.js: the JavaScript SDK for the rookery wire protocol v1 (client-protocol/README.md).
//
// A plain ES module with no dependencies: import it in a browser straight from a node
// (`/sdk/rookery.js`) or in Node 20+ (pass a WebSocket implementation where there is no global
// one). Types are in rookery.d.ts; the message types there are generated from the JSON Schema
// in client-protocol/schema/ (npm run gen-types).

/** Every `type` a client may send (`server/` and `game/`), as in the schema. */
export const CLIENT_MESSAGE_TYPES = Object.freeze([
  "server/REGISTER_USER",
  "server/LOGIN",
  "server/GUEST",
  "server/START_MATCHMAKING",
  "server/CANCEL_MATCHMAKING",
  "server/REPLY_MATCHUP",
  "game/PLAYER_READY",
  "game/PLAYER_MOVE",
  "game/OFFER_DRAW",
  "game/DECLINE_DRAW",
  "game/CONCEDE",
]);

/** Every `type` a node sends (`client/`): each is also an event name of `RookeryClient`. */
export const SERVER_MESSAGE_TYPES = Object.freeze([
  "client/SESSION_STARTED",
  "client/RESUME_SESSION",
  "client/QUEUED",
  "client/ALREADY_IN_QUEUE",
  "client/QUEUE_LEFT",
  "client/PROPOSE_MATCHUP",
  "client/MATCHUP_CANCELLED",
  "client/START_GAME",
  "client/RESUME_GAME",
  "client/UPDATE_GAME",
  "client/OFFER_DRAW",
  "client/OPPONENT_PRESENCE",
  "client/GAME_OVER",
  "client/ERROR",
]);

/** Close codes after which the client does not reconnect by itself. */
export const FINAL_CLOSE_CODES = Object.freeze({
  /** Policy: rate limit, slow reader or a forbidden session. Retrying blindly would not help. */
  POLICY: 1008,
  /** This session connected again on another socket, which now owns it. */
  TAKEN_OVER: 4001,
});

/** Close code of a node that is restarting or draining: reconnect and resume. */
export const RESTART_CLOSE_CODE = 1012;

/**
 * An error from a node (`client/ERROR` or an HTTP error body) or from the SDK itself.
 * SDK codes: `timeout` (no answer in time), `disconnected` (the socket dropped before the
 * answer; the message may or may not have been applied), `closed` (the client was closed).
 */
export class RookeryError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ref?: string, frame?: object, status?: number}} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "RookeryError";
    this.code = code;
    this.ref = details.ref;
    this.frame = details.frame;
    this.status = details.status;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

function defaultBase() {
  if (typeof document !== "undefined" && document.baseURI) return document.baseURI;
  if (typeof location !== "undefined" && location.href) return location.href;
  throw new TypeError("rookery: pass baseUrl (e.g. 'http://127.0.0.1:8080') outside a browser");
}

/** Resolves a path (without leading slash) against the node's base URL. */
function resolve(path, baseUrl) {
  let base = baseUrl ?? defaultBase();
  if (baseUrl != null && !String(base).endsWith("/")) base = `${base}/`;
  return new URL(path, base);
}

async function httpJson(method, path, { baseUrl, body, token, fetch: fetchImpl } = {}) {
  const doFetch = fetchImpl ?? globalThis.fetch;
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await doFetch(resolve(path, baseUrl), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let value = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = null;
  }
  if (!response.ok) {
    const code = value?.code ?? "http_error";
    throw new RookeryError(code, value?.message ?? `HTTP ${response.status}`, {
      status: response.status,
    });
  }
  return value;
}

/** `POST /api/auth/guest`: a guest account. Resolves with `{token, session, user}`. */
export function guest(options = {}) {
  return httpJson("POST", "api/auth/guest", options);
}

/** `POST /api/auth/register`. Resolves with `{token, session, user}`. */
export function register(username, password, options = {}) {
  return httpJson("POST", "api/auth/register", { ...options, body: { username, password } });
}

/** `POST /api/auth/login`. Resolves with `{token, session, user}`. */
export function login(username, password, options = {}) {
  return httpJson("POST", "api/auth/login", { ...options, body: { username, password } });
}

/** `GET /api/me` (with `options.token`, or the login cookie in a browser). */
export function me(options = {}) {
  return httpJson("GET", "api/me", options);
}

/** `GET /api/users/{name}`: a profile. */
export function getUser(name, options = {}) {
  return httpJson("GET", `api/users/${encodeURIComponent(name)}`, options);
}

/** `GET /api/users/{name}/games?limit=N`: finished games, newest first. */
export function getUserGames(name, options = {}) {
  const limit = options.limit ?? 20;
  return httpJson("GET", `api/users/${encodeURIComponent(name)}/games?limit=${limit}`, options);
}

/** `GET /api/games/{id}`: a finished game. */
export function getGame(id, options = {}) {
  return httpJson("GET", `api/games/${encodeURIComponent(id)}`, options);
}

/** `GET /api/queues`: players waiting per queue. */
export function getQueues(options = {}) {
  return httpJson("GET", "api/queues", options);
}

// ---------------------------------------------------------------------------------------------
// Helpers on game state

const monotonic =
  typeof performance !== "undefined" && typeof performance.now === "function"
    ? () => performance.now()
    : () => Date.now();

/**
 * Milliseconds left on `side`'s clock now: the last value the node sent, less the time since
 * it arrived if that clock is running. Untimed games give 0.
 * @param {GameState} game
 * @param {"first"|"second"} side
 * @param {number} [now] a `performance.now()` reading
 */
export function remainingMs(game, side, now = monotonic()) {
  if (!game?.clocks) return 0;
  const base = game.clocks[side] ?? 0;
  if (game.status !== "playing" || game.clocks.running !== side) return base;
  return Math.max(0, base - (now - game.receivedAt));
}

/**
 * Milliseconds left before a disconnected opponent loses by abandonment, or null when the
 * opponent is connected.
 */
export function opponentGraceLeftMs(game, now = monotonic()) {
  const presence = game?.opponentPresence;
  if (!presence || presence.connected) return null;
  return Math.max(0, presence.graceMs - (now - presence.at));
}

/**
 * The delay before reconnect attempt `attempt` (0-based): exponential backoff with jitter.
 * `random` in [0, 1) takes up to `jitter` of the delay away.
 */
export function backoffDelay(attempt, policy = {}, random = Math.random) {
  const { initialDelayMs = 250, maxDelayMs = 10_000, factor = 2, jitter = 0.5 } = policy;
  const capped = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
  return Math.round(capped * (1 - jitter * random()));
}

// ---------------------------------------------------------------------------------------------
// The client

const RESEND_AFTER_RECONNECT = new Set([
  "server/START_MATCHMAKING",
  "game/PLAYER_READY",
  "game/PLAYER_MOVE",
  "game/OFFER_DRAW",
]);

function camelMethod(type) {
  const name = type.split("/")[1].toLowerCase();
  return name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
}

/**
 * A connection to a node that survives socket drops: it reconnects with backoff, resumes its
 * session, re-sends what was not acknowledged, and keeps the state of the current queue,
 * matchup and game.
 */
export class RookeryClient {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] the node (default: the page's own location)
   * @param {string} [options.token]
   * @param {string} [options.session]
   * @param {typeof WebSocket} [options.WebSocket]
   * @param {number} [options.requestTimeoutMs]
   * @param {boolean|object} [options.reconnect]
   * @param {() => number} [options.random]
   */
  constructor(options = {}) {
    this.baseUrl = options.baseUrl;
    this.token = options.token ?? null;
    this.session = options.session ?? null;
    this.user = null;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.reconnectPolicy =
      options.reconnect === false
        ? null
        : { maxAttempts: Infinity, ...(typeof options.reconnect === "object" ? options.reconnect : {}) };
    this.state = "idle";
    /** @type {object|null} the queue this session is in */
    this.queue = null;
    /** @type {object|null} the pending `client/PROPOSE_MATCHUP` */
    this.matchup = null;
    /** @type {GameState|null} the current (or last) game */
    this.game = null;
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this._WebSocket) throw new TypeError("rookery: no WebSocket implementation available");
    this._random = options.random ?? Math.random;
    this._listeners = new Map();
    this._pending = new Map();
    this._outbox = [];
    this._socket = null;
    this._attempt = 0;
    this._timer = null;
    this._refCounter = 0;
    this._refPrefix = Math.floor(this._random() * 36 ** 4).toString(36);
    this._connectWaiters = [];
    this._awaitingOpening = false;
    this._openingError = null;
    this._wentOffline = false;
    if (typeof window !== "undefined" && typeof window.addEventListener === "function") {
      this._onOnline = () => this._networkBack();
      this._onOffline = () => {
        this._wentOffline = true;
      };
      window.addEventListener("online", this._onOnline);
      window.addEventListener("offline", this._onOffline);
    }
  }

  // ----- events ------------------------------------------------------------------------------

  /**
   * Listens for an event: every `client/...` type, `message` (every frame), `connected`,
   * `disconnected`, `reconnecting`, `closed`, `session`, `game`. Returns an unsubscribe function.
   */
  on(type, listener) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this._listeners.get(type)?.delete(listener);
  }

  /**
   * Resolves with the next `type` event whose payload passes `filter`; rejects with
   * `timeout` after `timeoutMs` (default: the request timeout).
   */
  once(type, { filter = () => true, timeoutMs = this.requestTimeoutMs } = {}) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new RookeryError("timeout", `no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(type, (payload) => {
        if (!filter(payload)) return;
        clearTimeout(timer);
        off();
        resolve(payload);
      });
    });
  }

  _emit(type, payload) {
    for (const listener of [...(this._listeners.get(type) ?? [])]) {
      try {
        listener(payload);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  // ----- connection --------------------------------------------------------------------------

  /**
   * Opens the socket (retrying per the reconnect policy). Resolves with the opening frame:
   * `client/SESSION_STARTED` or `client/RESUME_SESSION`, or null for an anonymous socket
   * (no token). Rejects with `unauthenticated` (bad token) or `forbidden` (the session belongs
   * to another user); then the client is closed.
   */
  connect() {
    if (this.state === "open" && !this._awaitingOpening) return Promise.resolve(this._opening);
    const waiter = new Promise((resolve, reject) => this._connectWaiters.push({ resolve, reject }));
    if (this.state === "idle" || this.state === "closed") {
      this._closedByUser = false;
      this._attempt = 0;
      this._open();
    }
    return waiter;
  }

  /** Closes the socket for good: no reconnect; pending requests reject with `closed`. */
  close() {
    if (this.state === "closed") return;
    this._closedByUser = true;
    clearTimeout(this._timer);
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      this._detach(socket);
      try {
        socket.close(1000, "client closed");
      } catch {
        // already closing
      }
    }
    if (typeof window !== "undefined" && this._onOnline) {
      window.removeEventListener("online", this._onOnline);
      window.removeEventListener("offline", this._onOffline);
    }
    this._finish({ code: 1000, reason: "client closed" }, new RookeryError("closed", "client closed"));
  }

  /** The `/ws` URL for the current token and session. */
  socketUrl() {
    const url = resolve("ws", this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.token) url.searchParams.set("token", this.token);
    if (this.session) url.searchParams.set("session", this.session);
    return url.toString();
  }

  _open() {
    clearTimeout(this._timer);
    this.state = this._attempt === 0 && !this._everConnected ? "connecting" : "reconnecting";
    this._awaitingOpening = true;
    this._openingError = null;
    let socket;
    try {
      socket = new this._WebSocket(this.socketUrl());
    } catch (error) {
      this._lost({ code: 1006, reason: String(error?.message ?? error) });
      return;
    }
    this._socket = socket;
    socket.onopen = () => {
      if (this._socket !== socket) return;
      if (!this.token) this._opened(null);
    };
    socket.onmessage = (event) => {
      if (this._socket !== socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this._receive(frame);
    };
    socket.onclose = (event) => {
      if (this._socket !== socket) return;
      this._socket = null;
      this._lost({ code: event.code, reason: event.reason });
    };
    socket.onerror = () => {
      // Browsers follow an error with a close event; Node 20's WebSocket reports a failed
      // handshake with an error alone. Whatever comes first wins.
      setTimeout(() => {
        if (this._socket !== socket) return;
        this._socket = null;
        this._detach(socket);
        try {
          socket.close();
        } catch {
          // never opened
        }
        this._lost({ code: 1006, reason: "connection failed" });
      }, 1_000);
    };
  }

  _detach(socket) {
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
  }

  /** The socket is usable: flush what waited, re-send what was not acknowledged. */
  _opened(opening) {
    this.state = "open";
    this._awaitingOpening = false;
    this._everConnected = true;
    this._attempt = 0;
    this._opening = opening;
    const resumed = opening?.type === "client/RESUME_SESSION";
    for (const pending of this._pending.values()) {
      if (pending.unsent || pending.resend) {
        pending.unsent = false;
        pending.resend = false;
        this._write(pending.frame);
      }
    }
    const queued = this._outbox.splice(0);
    for (const frame of queued) this._write(frame);
    for (const waiter of this._connectWaiters.splice(0)) waiter.resolve(opening);
    this._emit("connected", { resumed, frame: opening });
  }

  _lost({ code, reason }) {
    const wasOpen = this.state === "open";
    // Requests on the wire: the idempotent ones go again after the reconnect, the others fail.
    for (const [ref, pending] of this._pending) {
      if (pending.unsent) continue;
      if (this._retryable(pending)) {
        pending.resend = true;
      } else {
        this._settle(ref, null, new RookeryError("disconnected", `connection lost (${code}) before the answer`, { ref }));
      }
    }
    const finalCode = code === FINAL_CLOSE_CODES.POLICY || code === FINAL_CLOSE_CODES.TAKEN_OVER;
    const policy = this.reconnectPolicy;
    const giveUp =
      this._closedByUser ||
      finalCode ||
      this._openingError ||
      !policy ||
      this._attempt >= policy.maxAttempts;
    if (giveUp) {
      const error =
        this._openingError ??
        (code === FINAL_CLOSE_CODES.TAKEN_OVER
          ? new RookeryError("taken_over", "this session connected on another socket")
          : new RookeryError("closed", `socket closed (${code}${reason ? `: ${reason}` : ""})`));
      this._emit("disconnected", { code, reason, willReconnect: false });
      this._finish({ code, reason }, error);
      return;
    }
    const delayMs = backoffDelay(this._attempt, policy, this._random);
    this._attempt += 1;
    this.state = "reconnecting";
    if (wasOpen) this._emit("disconnected", { code, reason, willReconnect: true, delayMs });
    this._emit("reconnecting", { attempt: this._attempt, delayMs, code });
    this._timer = setTimeout(() => this._open(), delayMs);
  }

  /** The browser says the network is back: try now rather than at the end of the backoff. */
  _networkBack() {
    if (this.state === "reconnecting" && !this._socket) {
      this._open();
    } else if (this.state === "open" && this._wentOffline && this._socket) {
      // The old socket may be silently dead; a new one resumes the session and the node
      // closes the old one.
      const socket = this._socket;
      this._socket = null;
      this._detach(socket);
      try {
        socket.close(4000, "network changed");
      } catch {
        // ignore
      }
      this._lost({ code: 1006, reason: "network changed" });
    }
    this._wentOffline = false;
  }

  _finish({ code, reason }, error) {
    this.state = "closed";
    this._awaitingOpening = false;
    for (const ref of [...this._pending.keys()]) this._settle(ref, null, error);
    this._outbox.length = 0;
    for (const waiter of this._connectWaiters.splice(0)) waiter.reject(error);
    this._emit("closed", { code, reason, error });
  }

  _write(frame) {
    const socket = this._socket;
    const OPEN = this._WebSocket.OPEN ?? 1;
    if (!socket || socket.readyState !== OPEN || this.state !== "open") {
      this._outbox.push(frame);
      return;
    }
    socket.send(JSON.stringify(frame));
  }

  // ----- incoming ----------------------------------------------------------------------------

  _receive(frame) {
    const type = frame?.type;
    if (this._awaitingOpening) {
      if (type === "client/SESSION_STARTED" || type === "client/RESUME_SESSION") {
        this._fold(frame);
        this._emit("message", frame);
        this._emit(type, frame);
        this._opened(frame);
        return;
      }
      if (type === "client/ERROR" && !frame.ref && (frame.code === "forbidden" || frame.code === "unauthenticated")) {
        this._openingError = new RookeryError(frame.code, frame.message, { frame });
        this._emit("message", frame);
        this._emit(type, frame);
        // forbidden: the node closes the socket; unauthenticated: it would stay anonymous.
        const socket = this._socket;
        if (frame.code === "unauthenticated" && socket) {
          this._socket = null;
          this._detach(socket);
          socket.close(1000, "bad token");
          this._lost({ code: 1000, reason: "bad token" });
        }
        return;
      }
    }
    this._fold(frame);
    this._emit("message", frame);
    if (type) this._emit(type, frame);
    const byRef = frame.ref ? this._pending.get(frame.ref) : null;
    if (byRef) {
      if (type === "client/ERROR" && frame.code === "unavailable" && this._retryable(byRef)) {
        // A dependency of the node is down: the same message (a move with the same seq) is
        // safe to send again, after a backoff, until the request times out.
        const delayMs = backoffDelay(byRef.retries, this.reconnectPolicy ?? {}, this._random);
        byRef.retries += 1;
        byRef.retryTimer = setTimeout(() => {
          if (this._pending.get(frame.ref) === byRef) this._write(byRef.frame);
        }, delayMs);
      } else if (type === "client/ERROR") {
        this._settle(frame.ref, null, new RookeryError(frame.code, frame.message, { ref: frame.ref, frame }));
      } else if (!byRef.settle) {
        this._settle(frame.ref, frame, null);
      }
    }
    for (const [ref, pending] of this._pending) {
      if (pending.settle?.(frame)) this._settle(ref, frame, null);
    }
  }

  _retryable(pending) {
    return RESEND_AFTER_RECONNECT.has(pending.frame.type) && !pending.noResend;
  }

  _settle(ref, frame, error) {
    const pending = this._pending.get(ref);
    if (!pending) return;
    this._pending.delete(ref);
    clearTimeout(pending.timer);
    clearTimeout(pending.retryTimer);
    if (error) pending.reject(error);
    else pending.resolve(frame);
  }

  /** Folds a frame into `queue`, `matchup`, `game` and the identity. */
  _fold(frame) {
    const now = monotonic();
    switch (frame.type) {
      case "client/SESSION_STARTED": {
        const fresh = this.session !== frame.session;
        this.token = frame.token;
        this.session = frame.session;
        this.user = frame.user;
        if (fresh) {
          this.queue = null;
          this.matchup = null;
          if (this.game && this.game.status !== "over") this._lostGame();
        }
        this._emit("session", { token: this.token, session: this.session, user: this.user });
        break;
      }
      case "client/RESUME_SESSION":
        this.session = frame.session;
        this.user = frame.user;
        this.queue = frame.queue ?? null;
        if (!frame.matchup) this.matchup = null;
        if (this.game && this.game.status !== "over" && this.game.game !== frame.game) {
          this._lostGame();
        }
        this._emit("session", { token: this.token, session: this.session, user: this.user });
        break;
      case "client/QUEUED":
      case "client/ALREADY_IN_QUEUE":
        this.queue = frame.queue;
        break;
      case "client/QUEUE_LEFT":
        this.queue = null;
        if (frame.reason !== "matched") this.matchup = null;
        break;
      case "client/PROPOSE_MATCHUP":
        this.matchup = frame;
        break;
      case "client/MATCHUP_CANCELLED":
        if (!this.matchup || this.matchup.matchup === frame.matchup) this.matchup = null;
        break;
      case "client/START_GAME":
      case "client/RESUME_GAME": {
        const { type: _type, ref: _ref, ...view } = frame;
        const previous = this.game?.game === view.game ? this.game : null;
        this.matchup = null;
        this.queue = null;
        this._setGame({
          ...view,
          lastMove: view.moves.length ? view.moves[view.moves.length - 1] : null,
          receivedAt: now,
          result: previous?.result ?? null,
          reason: previous?.reason ?? null,
          ratingChange: previous?.ratingChange ?? null,
          opponentPresence: previous?.opponentPresence ?? null,
        });
        break;
      }
      case "client/UPDATE_GAME": {
        const game = this.game;
        if (!game || game.game !== frame.game || frame.seq < game.seq) break;
        if (game.status === "over" && frame.status !== "over") break;
        const moves = [...game.moves];
        if (frame.seq === moves.length + 1 && frame.lastMove != null) moves.push(frame.lastMove);
        this._setGame({
          ...game,
          seq: frame.seq,
          lastMove: frame.lastMove,
          moves,
          position: frame.position,
          clocks: frame.clocks,
          toMove: frame.toMove,
          status: frame.status,
          drawOffer: frame.drawOffer ?? null,
          receivedAt: now,
        });
        break;
      }
      case "client/OFFER_DRAW":
        if (this.game?.game === frame.game) this._setGame({ ...this.game, drawOffer: frame.from });
        break;
      case "client/OPPONENT_PRESENCE":
        if (this.game?.game === frame.game) {
          this._setGame({
            ...this.game,
            opponentPresence: { connected: frame.connected, graceMs: frame.graceMs, at: now },
          });
        }
        break;
      case "client/GAME_OVER":
        if (this.game?.game === frame.game) {
          const clocks = this.game.clocks;
          const frozen = {
            first: remainingMs(this.game, "first", now),
            second: remainingMs(this.game, "second", now),
            running: null,
          };
          if (frame.reason === "timeout" && clocks.running) frozen[clocks.running] = 0;
          this._setGame({
            ...this.game,
            status: "over",
            clocks: clocks.running ? frozen : clocks,
            drawOffer: null,
            result: frame.result,
            reason: frame.reason,
            ratingChange: frame.ratingChange ?? null,
            receivedAt: now,
          });
        }
        break;
      default:
        break;
    }
  }

  /** The game ended while we were away: its result is in the player's history. */
  _lostGame() {
    this._setGame({
      ...this.game,
      status: "over",
      clocks: { ...this.game.clocks, running: null },
      drawOffer: null,
      result: null,
      reason: null,
      endedWhileAway: true,
    });
  }

  _setGame(game) {
    this.game = game;
    this._emit("game", game);
  }

  // ----- requests ----------------------------------------------------------------------------

  _nextRef() {
    this._refCounter += 1;
    return `${this._refPrefix}-${this._refCounter}`;
  }

  /**
   * Sends a message with a fresh `ref` and resolves with the reply that echoes it (or, given
   * `settle`, with the first frame `settle` accepts); rejects with a `RookeryError` on a `client/ERROR` with that ref,
   * on `timeout`, or on `disconnected` for messages that are not safe to repeat. While the
   * client is reconnecting, the message waits and goes out once the session is back.
   */
  request(message, { timeoutMs = this.requestTimeoutMs, settle, resend = true } = {}) {
    if (this.state === "closed" || this.state === "idle") {
      return Promise.reject(new RookeryError("closed", "connect() first"));
    }
    const ref = this._nextRef();
    const frame = { ...message, ref };
    return new Promise((resolve, reject) => {
      const pending = { frame, resolve, reject, settle, unsent: false, resend: false, noResend: !resend, retries: 0 };
      pending.timer = setTimeout(() => {
        this._settle(ref, null, new RookeryError("timeout", `no answer to ${message.type} within ${timeoutMs} ms`, { ref }));
      }, timeoutMs);
      this._pending.set(ref, pending);
      if (this.state === "open" && this._socket) {
        this._write(frame);
      } else {
        pending.unsent = true;
      }
    });
  }

  /** Sends a message without waiting for anything (no `ref`). */
  send(message) {
    this._write({ ...message });
  }

  // ----- server/ -----------------------------------------------------------------------------

  /** `server/REGISTER_USER` over the socket; the socket becomes the new session. */
  registerUser(username, password, options) {
    return this.request({ type: "server/REGISTER_USER", username, password }, { resend: false, ...options });
  }

  /** `server/LOGIN` over the socket. */
  login(username, password, options) {
    return this.request({ type: "server/LOGIN", username, password }, { resend: false, ...options });
  }

  /** `server/GUEST` over the socket. */
  guest(options) {
    return this.request({ type: "server/GUEST" }, { resend: false, ...options });
  }

  /**
   * `server/START_MATCHMAKING`: resolves with `client/QUEUED` or `client/ALREADY_IN_QUEUE`.
   * @param {{game: string, clock?: {initialMs: number, incrementMs: number}|null, rated?: boolean}} queue
   */
  startMatchmaking(queue, options) {
    const spec = { game: queue.game, clock: queue.clock ?? null, rated: Boolean(queue.rated) };
    return this.request({ type: "server/START_MATCHMAKING", queue: spec }, options);
  }

  /** `server/CANCEL_MATCHMAKING`: resolves with `client/QUEUE_LEFT`. */
  cancelMatchmaking(options) {
    return this.request({ type: "server/CANCEL_MATCHMAKING" }, { resend: false, ...options });
  }

  /**
   * `server/REPLY_MATCHUP`. The node answers only once the matchup resolves, so this resolves
   * accepting, with `client/START_GAME` or `client/MATCHUP_CANCELLED`; declining, with
   * `client/QUEUE_LEFT`.
   */
  replyMatchup(matchup, accept, options = {}) {
    const expiresAt = this.matchup?.matchup === matchup ? this.matchup.expiresAt : null;
    const untilExpiry = expiresAt ? Math.max(0, expiresAt - Date.now()) + 5_000 : 30_000;
    // Accepting ends in a game or a cancelled matchup (then back in the queue, or out of it on
    // a timeout); declining ends with leaving the queue.
    const settle = accept
      ? (frame) =>
          frame.type === "client/START_GAME" ||
          (frame.type === "client/MATCHUP_CANCELLED" && frame.matchup === matchup) ||
          (frame.type === "client/QUEUE_LEFT" && frame.reason === "timeout")
      : (frame) => frame.type === "client/QUEUE_LEFT";
    return this.request(
      { type: "server/REPLY_MATCHUP", matchup, accept: Boolean(accept) },
      { timeoutMs: Math.max(this.requestTimeoutMs, untilExpiry), settle, resend: Boolean(accept), ...options },
    );
  }

  // ----- game/ -------------------------------------------------------------------------------

  /**
   * `game/PLAYER_READY`: resolves with the `client/UPDATE_GAME` that starts the game (which
   * comes when both players are ready), or `client/GAME_OVER` if it was aborted.
   */
  playerReady(game = this.game?.game, options) {
    const settle = (frame) =>
      (frame.type === "client/UPDATE_GAME" || frame.type === "client/GAME_OVER") && frame.game === game;
    return this.request({ type: "game/PLAYER_READY", game }, { timeoutMs: 70_000, settle, ...options });
  }

  /**
   * `game/PLAYER_MOVE`: resolves with the acknowledging `client/UPDATE_GAME`. If the socket
   * drops first, the same (`seq`, `move`) is sent again after the reconnect, which the node
   * applies at most once.
   */
  playerMove(game, seq, move, options) {
    return this.request({ type: "game/PLAYER_MOVE", game, seq, move }, options);
  }

  /** A move in the current game at its current `seq`. */
  move(move, options) {
    const game = this.game;
    if (!game) return Promise.reject(new RookeryError("not_in_game", "no current game"));
    return this.playerMove(game.game, game.seq, move, options);
  }

  /** `game/OFFER_DRAW` (accepts the opponent's pending offer): resolves with `client/OFFER_DRAW` or `client/GAME_OVER`. */
  offerDraw(game = this.game?.game, options) {
    return this.request({ type: "game/OFFER_DRAW", game }, options);
  }

  /** `game/DECLINE_DRAW`: resolves with `client/UPDATE_GAME`. */
  declineDraw(game = this.game?.game, options) {
    return this.request({ type: "game/DECLINE_DRAW", game }, { resend: false, ...options });
  }

  /** `game/CONCEDE`: resolves with `client/GAME_OVER`. */
  concede(game = this.game?.game, options) {
    return this.request({ type: "game/CONCEDE", game }, { resend: false, ...options });
  }
}

/** The helper method of `RookeryClient` for each client message type. */
export const HELPERS = Object.freeze(
  Object.fromEntries(CLIENT_MESSAGE_TYPES.map((type) => [type, camelMethod(type)])),
);

/**
 * Opens a client: `await connect({baseUrl, token, session})` resolves once the session is
 * started or resumed.
 */
export async function connect(options = {}) {
  const client = new RookeryClient(options);
  await client.connect();
  return client;
}
