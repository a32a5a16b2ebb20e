// connection.js: the socket. Opens it (waiting for the session's opening frame), writes frames
// or queues them until it is open, reconnects with backoff and jitter after a drop (at once
// when the browser comes back online), and stops for good on the close codes the protocol
// says not to retry. Before each socket it lets the client renew an expiring token, and a
// token the node refuses at the opening is renewed once and tried once more. Close codes and backoff defaults come from protocol.js, generated from
// client-protocol/src/constants.rs.
import { RookeryError } from "./errors.js";
import {
  CLOSE_BANNED,
  CLOSE_NETWORK_CHANGED,
  CLOSE_POLICY,
  CLOSE_RESTART,
  CLOSE_TAKEN_OVER,
  NO_RECONNECT_CLOSE_CODES,
  RECONNECT_FACTOR,
  RECONNECT_INITIAL_DELAY_MS,
  RECONNECT_JITTER_PERCENT,
  RECONNECT_MAX_DELAY_MS,
} from "./protocol.js";

/** Close codes after which the client does not reconnect by itself. */
export const FINAL_CLOSE_CODES = Object.freeze({
  /** Policy: rate limit, slow reader or a forbidden session. Retrying blindly would not help. */
  POLICY: CLOSE_POLICY,
  /** This session connected again on another socket, which now owns it. */
  TAKEN_OVER: CLOSE_TAKEN_OVER,
  /** The account is banned (the `banned` error before it says until when). */
  BANNED: CLOSE_BANNED,
});

/** Close code of a node that is restarting or draining: reconnect and resume. */
export const RESTART_CLOSE_CODE = CLOSE_RESTART;

// WebSocket close codes of RFC 6455 that the client uses itself.
const NORMAL = 1000;
const ABNORMAL = 1006;
/** A socket that errored without a close event (Node 20) is given up after this long. */
const ERROR_WITHOUT_CLOSE_MS = 1_000;

/**
 * The delay before reconnect attempt `attempt` (0-based): exponential backoff with jitter.
 * `random` in [0, 1) takes up to `jitter` of the delay away.
 */
export function backoffDelay(attempt, policy = {}, random = Math.random) {
  const {
    initialDelayMs = RECONNECT_INITIAL_DELAY_MS,
    maxDelayMs = RECONNECT_MAX_DELAY_MS,
    factor = RECONNECT_FACTOR,
    jitter = RECONNECT_JITTER_PERCENT / 100,
  } = policy;
  const capped = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
  return Math.round(capped * (1 - jitter * random()));
}

/**
 * One client's socket, reopened as needed. Its `state` is `idle`, `connecting`, `open`,
 * `reconnecting` or `closed`; `hooks` connect it to the rest of the client:
 * - `url()`: the `/ws` URL to open; `protocols()`: the subprotocols to offer (the token rides
 *   in one); `anonymous()`: no token, so no opening frame to wait for;
 * - `prepare()`: before each socket, null or a promise (a token renewal) to wait for; when it
 *   rejects with `unauthenticated` the sign-in is over and the connection stops;
 * - `canRenew()`, `renew()`: the node refused the token at the opening (`unauthenticated`):
 *   whether a renewal can be tried, and the renewal (a promise); then one socket more;
 * - `opening(frame)`: the frame that starts or resumes the session (or refuses it);
 *   `frame(frame)`: every later frame;
 * - `opened()`: the session is on a socket (requests go out again); `lost(code)`: the socket
 *   dropped; `finished(error)`: stopped for good;
 * - `emit(type, payload)`: the `connected`, `disconnected`, `reconnecting` and `closed` events.
 */
export class Connection {
  /**
   * @param {object} options
   * @param {typeof WebSocket} [options.WebSocket]
   * @param {() => object|null} options.policy the reconnect policy (null: never reconnect)
   * @param {() => number} options.random
   * @param {object} hooks
   */
  constructor({ WebSocket, policy, random }, hooks) {
    this.state = "idle";
    this._WebSocket = WebSocket ?? globalThis.WebSocket;
    if (!this._WebSocket) throw new TypeError("rookery: no WebSocket implementation available");
    this._policy = policy;
    this._random = random;
    this._hooks = hooks;
    this._outbox = [];
    this._socket = null;
    this._attempt = 0;
    this._timer = null;
    this._connectWaiters = [];
    this._awaitingOpening = false;
    this._openingError = null;
    /** A renewal (before a socket, or after a refused token) is under way: no socket yet. */
    this._renewing = false;
    /** The token was renewed after a refusal since the last opening: not again. */
    this._renewedAfterRefusal = false;
    /** Counts the attempts to open, so a renewal that ends late starts nothing stale. */
    this._generation = 0;
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

  /** See `RookeryClient.connect`. */
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

  /** See `RookeryClient.close`. */
  close() {
    if (this.state === "closed") return;
    this._closedByUser = true;
    this._renewing = false;
    this._generation += 1;
    clearTimeout(this._timer);
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      this._detach(socket);
      try {
        socket.close(NORMAL, "client closed");
      } catch {
        // already closing
      }
    }
    if (typeof window !== "undefined" && this._onOnline) {
      window.removeEventListener("online", this._onOnline);
      window.removeEventListener("offline", this._onOffline);
    }
    this._finish({ code: NORMAL, reason: "client closed" }, new RookeryError("closed", "client closed"));
  }

  /** The session is on an open socket: a frame written now goes out now. */
  canSend() {
    return this.state === "open" && Boolean(this._socket);
  }

  /** Sends a frame, or keeps it until the socket is open. */
  write(frame) {
    const socket = this._socket;
    const OPEN = this._WebSocket.OPEN ?? 1;
    if (!socket || socket.readyState !== OPEN || this.state !== "open") {
      this._outbox.push(frame);
      return;
    }
    socket.send(JSON.stringify(frame));
  }

  _open() {
    clearTimeout(this._timer);
    this.state = this._attempt === 0 && !this._everConnected ? "connecting" : "reconnecting";
    this._awaitingOpening = true;
    this._openingError = null;
    const generation = ++this._generation;
    const preparing = this._hooks.prepare();
    if (!preparing) {
      this._dial();
      return;
    }
    this._renewing = true;
    preparing.then(
      () => this._afterRenewal(generation, null),
      (error) => this._afterRenewal(generation, error),
    );
  }

  /**
   * A renewal ended: dial unless the client closed meanwhile. A refused renewal ends the
   * sign-in (`unauthenticated`); any other failure (the network) is a failed attempt.
   */
  _afterRenewal(generation, error) {
    if (generation !== this._generation || this.state === "closed") return;
    this._renewing = false;
    if (error?.code === "unauthenticated") {
      this._openingError = new RookeryError("unauthenticated", error.message || "the sign-in has ended");
      this._lost({ code: NORMAL, reason: "sign-in ended" });
    } else if (error) {
      this._lost({ code: ABNORMAL, reason: `renewal failed: ${error.message ?? error}` });
    } else {
      this._dial();
    }
  }

  _dial() {
    let socket;
    try {
      const protocols = this._hooks.protocols();
      socket = protocols ? new this._WebSocket(this._hooks.url(), protocols) : new this._WebSocket(this._hooks.url());
    } catch (error) {
      this._lost({ code: ABNORMAL, reason: String(error?.message ?? error) });
      return;
    }
    this._socket = socket;
    socket.onopen = () => {
      if (this._socket !== socket) return;
      if (this._hooks.anonymous()) this._opened(null);
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
        this._lost({ code: ABNORMAL, reason: "connection failed" });
      }, ERROR_WITHOUT_CLOSE_MS);
    };
  }

  _detach(socket) {
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
  }

  /** Until the session's opening frame, frames go to `hooks.opening`; then to `hooks.frame`. */
  _receive(frame) {
    const type = frame?.type;
    if (this._awaitingOpening) {
      if (type === "client/SESSION_STARTED" || type === "client/RESUME_SESSION") {
        this._hooks.opening(frame);
        this._opened(frame);
        return;
      }
      if (type === "client/ERROR" && !frame.ref && (frame.code === "forbidden" || frame.code === "unauthenticated")) {
        // forbidden: the node closes the socket; unauthenticated: it would stay anonymous.
        const socket = this._socket;
        if (frame.code === "unauthenticated" && socket) {
          this._socket = null;
          this._detach(socket);
          socket.close(NORMAL, "bad token");
          if (!this._renewedAfterRefusal && this._hooks.canRenew()) {
            // The token expired (or was refused): renew it once and open once more.
            this._renewedAfterRefusal = true;
            this._renewAfterRefusal(frame);
            return;
          }
          this._openingError = new RookeryError(frame.code, frame.message, { frame });
          this._hooks.opening(frame);
          this._lost({ code: NORMAL, reason: "bad token" });
          return;
        }
        this._openingError = new RookeryError(frame.code, frame.message, { frame });
        this._hooks.opening(frame);
        return;
      }
    }
    this._hooks.frame(frame);
  }

  /** The node refused the token at the opening: one renewal, then one more socket at once. */
  _renewAfterRefusal(frame) {
    const generation = this._generation;
    this._renewing = true;
    this._hooks.renew().then(
      () => {
        if (generation !== this._generation || this.state === "closed") return;
        this._renewing = false;
        this._open();
      },
      (error) => {
        if (generation !== this._generation || this.state === "closed") return;
        this._renewing = false;
        if (error?.code === "unauthenticated") {
          // The refresh token is refused too: the sign-in is over.
          this._openingError = new RookeryError(frame.code, frame.message, { frame });
          this._hooks.opening(frame);
          this._lost({ code: NORMAL, reason: "bad token" });
        } else {
          // The renewal did not get through: an attempt like any failed one, renewed again later.
          this._renewedAfterRefusal = false;
          this._lost({ code: ABNORMAL, reason: `renewal failed: ${error?.message ?? error}` });
        }
      },
    );
  }

  /** The socket is usable: flush what waited, re-send what was not acknowledged. */
  _opened(opening) {
    this.state = "open";
    this._awaitingOpening = false;
    this._renewedAfterRefusal = false;
    this._everConnected = true;
    this._attempt = 0;
    this._opening = opening;
    const resumed = opening?.type === "client/RESUME_SESSION";
    this._hooks.opened();
    const queued = this._outbox.splice(0);
    for (const frame of queued) this.write(frame);
    for (const waiter of this._connectWaiters.splice(0)) waiter.resolve(opening);
    this._hooks.emit("connected", { resumed, frame: opening });
  }

  _lost({ code, reason }) {
    const wasOpen = this.state === "open";
    this._hooks.lost(code);
    const finalCode = NO_RECONNECT_CLOSE_CODES.includes(code);
    const policy = this._policy();
    const giveUp =
      this._closedByUser ||
      finalCode ||
      this._openingError ||
      !policy ||
      this._attempt >= policy.maxAttempts;
    if (giveUp) {
      const error =
        this._openingError ??
        (code === CLOSE_TAKEN_OVER
          ? new RookeryError("taken_over", "this session connected on another socket")
          : code === CLOSE_BANNED
          ? new RookeryError("banned", reason || "this account is banned")
          : new RookeryError("closed", `socket closed (${code}${reason ? `: ${reason}` : ""})`));
      this._hooks.emit("disconnected", { code, reason, willReconnect: false });
      this._finish({ code, reason }, error);
      return;
    }
    const delayMs = backoffDelay(this._attempt, policy, this._random);
    this._attempt += 1;
    this.state = "reconnecting";
    if (wasOpen) this._hooks.emit("disconnected", { code, reason, willReconnect: true, delayMs });
    this._hooks.emit("reconnecting", { attempt: this._attempt, delayMs, code });
    this._timer = setTimeout(() => this._open(), delayMs);
  }

  /** The browser says the network is back: try now rather than at the end of the backoff. */
  _networkBack() {
    if (this.state === "reconnecting" && !this._socket && !this._renewing) {
      this._open();
    } else if (this.state === "open" && this._wentOffline && this._socket) {
      // The old socket may be silently dead; a new one resumes the session and the node
      // closes the old one.
      const socket = this._socket;
      this._socket = null;
      this._detach(socket);
      try {
        socket.close(CLOSE_NETWORK_CHANGED, "network changed");
      } catch {
        // ignore
      }
      this._lost({ code: ABNORMAL, reason: "network changed" });
    }
    this._wentOffline = false;
  }

  _finish({ code, reason }, error) {
    this.state = "closed";
    this._awaitingOpening = false;
    this._hooks.finished(error);
    this._outbox.length = 0;
    for (const waiter of this._connectWaiters.splice(0)) waiter.reject(error);
    this._hooks.emit("closed", { code, reason, error });
  }
}
