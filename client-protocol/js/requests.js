// requests.js: `ref` → promise matching. Each request gets a fresh `ref` and settles on the
// frame that echoes it (or on a frame its `settle` predicate accepts), on the `client/ERROR`
// that echoes it, or on a timeout. Messages the node answers once however often they arrive
// (a move with its `seq`, ready, queueing, a draw offer, accepting a matchup, joining,
// withdrawing from and watching a tournament, watching and unwatching a game, joining a chat
// room) are sent again after a reconnect, and after an `unavailable` refusal (with backoff).
import { backoffDelay } from "./connection.js";
import { RookeryError } from "./errors.js";

/** Message types that are safe to send again: the node applies a repeat at most once. */
export const RESEND_AFTER_RECONNECT = new Set([
  "server/START_MATCHMAKING",
  "game/PLAYER_READY",
  "game/PLAYER_MOVE",
  "game/OFFER_DRAW",
  // Joining again or withdrawing again changes nothing; watching again answers with the view.
  "server/JOIN_TOURNAMENT",
  "server/WITHDRAW_TOURNAMENT",
  "server/WATCH_TOURNAMENT",
  // Watching, unwatching or joining again answers with the view, UNWATCHED or the history.
  "server/WATCH_GAME",
  "server/UNWATCH_GAME",
  "server/CHAT_JOIN",
]);

/** The requests of one client that have not settled yet. */
export class Requests {
  /**
   * @param {object} options
   * @param {(frame: object) => void} options.write sends a frame (or queues it until the socket is open)
   * @param {() => boolean} options.canSend the socket is open now
   * @param {() => object|null} options.retryPolicy the backoff for `unavailable` retries
   * @param {() => number} options.random
   */
  constructor({ write, canSend, retryPolicy, random }) {
    this._write = write;
    this._canSend = canSend;
    this._retryPolicy = retryPolicy;
    this._random = random;
    this._pending = new Map();
    this._refCounter = 0;
    this._refPrefix = Math.floor(random() * 36 ** 4).toString(36);
  }

  _nextRef() {
    this._refCounter += 1;
    return `${this._refPrefix}-${this._refCounter}`;
  }

  /**
   * Sends `message` with a fresh `ref` now, or once the socket is open; resolves with the
   * answer (see `RookeryClient.request`).
   */
  send(message, { timeoutMs, settle, resend }) {
    const ref = this._nextRef();
    const frame = { ...message, ref };
    return new Promise((resolve, reject) => {
      const pending = { frame, resolve, reject, settle, unsent: false, resend: false, noResend: !resend, retries: 0 };
      pending.timer = setTimeout(() => {
        this._settle(ref, null, new RookeryError("timeout", `no answer to ${message.type} within ${timeoutMs} ms`, { ref }));
      }, timeoutMs);
      this._pending.set(ref, pending);
      if (this._canSend()) {
        this._write(frame);
      } else {
        pending.unsent = true;
      }
    });
  }

  /** A frame from the node: settle what it answers, retry what it refused as `unavailable`. */
  receive(frame) {
    const type = frame?.type;
    const byRef = frame.ref ? this._pending.get(frame.ref) : null;
    if (byRef) {
      if (type === "client/ERROR" && frame.code === "unavailable" && this._retryable(byRef)) {
        // A dependency of the node is down: the same message (a move with the same seq) is
        // safe to send again, after a backoff, until the request times out.
        const delayMs = backoffDelay(byRef.retries, this._retryPolicy() ?? {}, this._random);
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

  /** A session is (back) on a socket: send what waited and what must go again. */
  opened() {
    for (const pending of this._pending.values()) {
      if (pending.unsent || pending.resend) {
        pending.unsent = false;
        pending.resend = false;
        this._write(pending.frame);
      }
    }
  }

  /** The socket dropped: the idempotent requests on the wire go again after the reconnect, the others fail. */
  lost(code) {
    for (const [ref, pending] of this._pending) {
      if (pending.unsent) continue;
      if (this._retryable(pending)) {
        pending.resend = true;
      } else {
        this._settle(ref, null, new RookeryError("disconnected", `connection lost (${code}) before the answer`, { ref }));
      }
    }
  }

  /** The client stopped for good: every request rejects with `error`. */
  rejectAll(error) {
    for (const ref of [...this._pending.keys()]) this._settle(ref, null, error);
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
}
