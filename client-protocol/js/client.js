// client.js: RookeryClient, the SDK's one object. It puts the parts together: a Connection
// (connection.js: the socket, reconnects, close codes), Requests (requests.js: refs and
// their promises, retries) and a View (view.js: the session's state folded from frames),
// and adds the events and a method per client message. What belongs to the socket rather than
// the session (the tournaments watched, the chat rooms joined) it sends again on a new socket.
// It keeps the sign-in going: a token about to expire is renewed with the refresh token before
// a socket opens (`refresh`), and `logout` ends it on the node.
import { Connection } from "./connection.js";
import { RookeryError } from "./errors.js";
import { logout as logoutRoute, refresh as refreshRoute, resolve, tokenTimes } from "./http.js";
import { READY_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from "./protocol.js";
import { Requests } from "./requests.js";
import { View } from "./view.js";

/** How long after a matchup expires an accepted `server/REPLY_MATCHUP` still waits. */
const MATCHUP_ANSWER_SLACK_MS = 5_000;
/** How long a `server/REPLY_MATCHUP` waits for a matchup the client has not seen. */
const UNKNOWN_MATCHUP_WAIT_MS = 30_000;
/** A token this close to its expiry is renewed before a socket or an HTTP call. */
const REFRESH_MARGIN_MS = 60_000;
/** The subprotocol offered beside the token's (`rookery.bearer.<token>`); the node answers it. */
const SUBPROTOCOL = "rookery";
const BEARER_SUBPROTOCOL = "rookery.bearer.";

/**
 * A connection to a node that survives socket drops: it reconnects with backoff, resumes its
 * session, re-sends what was not acknowledged, joins its chat rooms again, and keeps the state
 * of the current queue, matchup and game, and of the games it watches.
 */
export class RookeryClient {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] the node (default: the page's own location)
   * @param {string} [options.token]
   * @param {string} [options.session]
   * @param {string} [options.refreshToken] renews `token` once it expires
   * @param {number} [options.expiresAt] when `token` expires (default: read from the token)
   * @param {(tokens: object) => void} [options.onTokens] a `tokens` listener: store them
   * @param {number} [options.refreshMarginMs]
   * @param {typeof fetch} [options.fetch]
   * @param {typeof WebSocket} [options.WebSocket]
   * @param {number} [options.requestTimeoutMs]
   * @param {boolean|object} [options.reconnect]
   * @param {() => number} [options.random]
   */
  constructor(options = {}) {
    this.baseUrl = options.baseUrl;
    /** The `fetch` of the renewals and of HTTP calls made with `{client}` (default: the global one). */
    this.fetch = options.fetch;
    this.refreshMarginMs = options.refreshMarginMs ?? REFRESH_MARGIN_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    /** The renewal under way: every caller meanwhile waits for this one. */
    this._refreshing = null;
    this.reconnectPolicy =
      options.reconnect === false
        ? null
        : { maxAttempts: Infinity, ...(typeof options.reconnect === "object" ? options.reconnect : {}) };
    this._listeners = new Map();
    /** The tournaments this client watches, each with its watch requests not yet answered. */
    this._watching = new Map();
    /** The chat rooms this client joined, each with its join requests not yet answered. */
    this._rooms = new Map();
    /** The socket dropped since the watches and joins were last sent: send them again once it is back. */
    this._watchLost = false;
    const emit = (type, payload) => this._emit(type, payload);
    this._view = new View({
      token: options.token ?? null,
      session: options.session ?? null,
      refreshToken: options.refreshToken ?? null,
      expiresAt: options.expiresAt ?? null,
      emit,
    });
    if (typeof options.onTokens === "function") this.on("tokens", options.onTokens);
    const random = options.random ?? Math.random;
    this._connection = new Connection(
      { WebSocket: options.WebSocket, policy: () => this.reconnectPolicy, random },
      {
        url: () => this.socketUrl(),
        protocols: () => this.socketProtocols(),
        anonymous: () => !this.token,
        prepare: () => (this._expiring() ? this.refresh() : null),
        canRenew: () => Boolean(this.refreshToken),
        renew: () => this.refresh(),
        opening: (frame) => this._deliver(frame),
        frame: (frame) => {
          this._deliver(frame);
          this._requests.receive(frame);
        },
        opened: () => {
          this._requests.opened();
          this._rewatch();
        },
        lost: (code) => {
          this._requests.lost(code);
          this._watchLost = true;
        },
        finished: (error) => this._requests.rejectAll(error),
        emit,
      },
    );
    this._requests = new Requests({
      write: (frame) => this._connection.write(frame),
      canSend: () => this._connection.canSend(),
      retryPolicy: () => this.reconnectPolicy,
      random,
    });
  }

  // ----- state -------------------------------------------------------------------------------

  /** `idle`, `connecting`, `open`, `reconnecting` or `closed`. */
  get state() {
    return this._connection.state;
  }

  get token() {
    return this._view.token;
  }

  set token(token) {
    this._view.token = token;
  }

  get session() {
    return this._view.session;
  }

  /** The refresh token that renews `token`, or null. */
  get refreshToken() {
    return this._view.refreshToken;
  }

  set refreshToken(refreshToken) {
    this._view.refreshToken = refreshToken;
  }

  /** When `token` expires (ms since the epoch): as the node said, else read from the token. */
  get expiresAt() {
    return this._view.expiresAt ?? tokenTimes(this.token)?.expiresAt ?? null;
  }

  set expiresAt(expiresAt) {
    this._view.expiresAt = expiresAt;
  }

  set session(session) {
    this._view.session = session;
  }

  get user() {
    return this._view.user;
  }

  /** @type {object|null} the queue this session is in */
  get queue() {
    return this._view.queue;
  }

  /** @type {object|null} the pending `client/PROPOSE_MATCHUP` */
  get matchup() {
    return this._view.matchup;
  }

  /** @type {GameState|null} the current (or last) game */
  get game() {
    return this._view.game;
  }

  // ----- events ------------------------------------------------------------------------------

  /**
   * Listens for an event: every `client/...` type, `message` (every frame), `connected`,
   * `disconnected`, `reconnecting`, `closed`, `session`, `tokens` (the token, refresh token or
   * expiry changed: store them), `game`, `watched` (a watched game changed). Returns an
   * unsubscribe function.
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

  /** The tournaments this client watches (`watchTournament`), by id. */
  get watching() {
    return [...this._watching.keys()];
  }

  /** The chat rooms this client is in (`chatJoin`), by name. */
  get rooms() {
    return [...this._rooms.keys()];
  }

  /** The games this client watches (`watchGame`), each a `GameState` with `you` null. */
  get watchedGames() {
    return [...this._view.watched.values()];
  }

  /** One watched game's state, or null. A finished one stays until `unwatchGame`. */
  watchedGame(game) {
    return this._view.watched.get(game) ?? null;
  }

  /** A frame from the node: folded into the views, then its events. */
  _deliver(frame) {
    this._view.fold(frame);
    this._roomsFollow(frame);
    this._emit("message", frame);
    if (frame.type) this._emit(frame.type, frame);
  }

  // ----- connection --------------------------------------------------------------------------

  /**
   * Opens the socket (retrying per the reconnect policy). Resolves with the opening frame:
   * `client/SESSION_STARTED` or `client/RESUME_SESSION`, or null for an anonymous socket
   * (no token). Rejects with `unauthenticated` (bad token) or `forbidden` (the session belongs
   * to another user); then the client is closed.
   */
  connect() {
    return this._connection.connect();
  }

  /** Closes the socket for good: no reconnect; pending requests reject with `closed`. */
  close() {
    this._connection.close();
  }

  /** The `/ws` URL for the current session (the token goes in a subprotocol, not in the URL). */
  socketUrl() {
    const url = resolve("ws", this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.session) url.searchParams.set("session", this.session);
    return url.toString();
  }

  /** The subprotocols the socket offers: `rookery` and `rookery.bearer.<token>`; none without a token. */
  socketProtocols() {
    return this.token ? [SUBPROTOCOL, `${BEARER_SUBPROTOCOL}${this.token}`] : null;
  }

  // ----- staying signed in -------------------------------------------------------------------

  /**
   * The token is expired or close to it (`refreshMarginMs`, at most half its lifetime) and a
   * refresh token can renew it.
   */
  _expiring(now = Date.now()) {
    const expiresAt = this.expiresAt;
    if (!this.token || !this.refreshToken || expiresAt == null) return false;
    const issuedAt = tokenTimes(this.token)?.issuedAt;
    const margin = issuedAt != null && expiresAt > issuedAt
      ? Math.min(this.refreshMarginMs, (expiresAt - issuedAt) / 2)
      : this.refreshMarginMs;
    return expiresAt - now <= margin;
  }

  /**
   * `POST /api/auth/refresh` with the refresh token (and the session, which the node keeps):
   * the new token, refresh token and expiry replace the old ones (the `tokens` and `session`
   * events). One renewal at a time: a call while one is under way gets the same promise.
   * Resolves with the node's answer; rejects with `unauthenticated` when the refresh token is
   * refused (spent, revoked, expired: it is forgotten) or there is none.
   */
  refresh() {
    if (this._refreshing) return this._refreshing;
    const refreshToken = this.refreshToken;
    if (!refreshToken) return Promise.reject(new RookeryError("unauthenticated", "no refresh token to renew the sign-in"));
    const renewal = refreshRoute(refreshToken, { baseUrl: this.baseUrl, fetch: this.fetch, session: this.session })
      .then(
        (auth) => {
          // A logout or another sign-in meanwhile: this answer is not for the client any more.
          if (this.refreshToken === refreshToken) this._view.adopt(auth);
          return auth;
        },
        (error) => {
          if (error.code === "unauthenticated" && this.refreshToken === refreshToken) {
            this._view.adopt({ ...this._view.identity(), refreshToken: null });
          }
          throw error;
        },
      )
      .finally(() => {
        if (this._refreshing === renewal) this._refreshing = null;
      });
    this._refreshing = renewal;
    return renewal;
  }

  /**
   * Resolves with a token good for a while yet: the current one, renewed first when it is
   * expired or close to it and a refresh token is known (the HTTP helpers' `{client}` option).
   */
  async freshToken() {
    if (this._refreshing) await this._refreshing.catch(() => {});
    else if (this._expiring()) await this.refresh().catch(() => {});
    return this.token;
  }

  /**
   * Signs out: closes the socket, `POST /api/auth/logout` with the token and the refresh
   * token (the sign-in ends on every node: they and every token renewed from them are refused
   * from then on, and the session can no longer be resumed), and forgets token, refresh
   * token and session (the `tokens` and `session` events, with nulls). Resolves once the node
   * has answered; tokens it already refused count as signed out.
   */
  async logout() {
    if (this._refreshing) await this._refreshing.catch(() => {});
    const { token, refreshToken, session } = this;
    this.close();
    this._view.adopt(null);
    if (!token && !refreshToken) return;
    try {
      await logoutRoute({ baseUrl: this.baseUrl, fetch: this.fetch, token: token ?? undefined, refreshToken, session });
    } catch (error) {
      if (error.status !== 401) throw error;
    }
  }

  // ----- requests ----------------------------------------------------------------------------

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
    return this._requests.send(message, { timeoutMs, settle, resend });
  }

  /** Sends a message without waiting for anything (no `ref`). */
  send(message) {
    this._connection.write({ ...message });
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
    const untilExpiry = expiresAt
      ? Math.max(0, expiresAt - Date.now()) + MATCHUP_ANSWER_SLACK_MS
      : UNKNOWN_MATCHUP_WAIT_MS;
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

  // ----- tournaments (v1.1) -----------------------------------------------------------------

  /**
   * `server/JOIN_TOURNAMENT`: resolves with `client/TOURNAMENT_JOINED`. Joining again changes
   * nothing, so it is sent again after a reconnect. Refusals: `tournament_full`,
   * `tournament_closed`, `forbidden` (a guest and a rated tournament), `not_found`.
   */
  joinTournament(tournament, options) {
    return this.request({ type: "server/JOIN_TOURNAMENT", tournament }, options);
  }

  /**
   * `server/WITHDRAW_TOURNAMENT`: resolves with `client/TOURNAMENT_LEFT` (`withdrawn`), also
   * when the session was not registered. Refused once the tournament is over
   * (`tournament_closed`).
   */
  withdrawTournament(tournament, options) {
    return this.request({ type: "server/WITHDRAW_TOURNAMENT", tournament }, options);
  }

  /**
   * `server/WATCH_TOURNAMENT`: resolves with the first `client/TOURNAMENT_UPDATE` of that
   * tournament (the node answers at once with the current view); every later one is a
   * `client/TOURNAMENT_UPDATE` event. The watch belongs to the socket, so after a reconnect
   * the client sends it again (and gets a fresh view) until `unwatchTournament`.
   */
  watchTournament(tournament, options) {
    const entry = this._watching.get(tournament) ?? { pending: 0 };
    entry.pending += 1;
    this._watching.set(tournament, entry);
    const settle = (frame) => frame.type === "client/TOURNAMENT_UPDATE" && frame.tournament?.id === tournament;
    const done = () => {
      entry.pending -= 1;
    };
    return this.request({ type: "server/WATCH_TOURNAMENT", tournament }, { settle, ...options }).then(
      (frame) => {
        done();
        return frame;
      },
      (error) => {
        done();
        // Refused (no such tournament): nothing to watch. A timeout or a drop leaves the watch
        // to be sent again after the next reconnect.
        if (error.frame && this._watching.get(tournament) === entry && entry.pending === 0) {
          this._watching.delete(tournament);
        }
        throw error;
      },
    );
  }

  /** `server/UNWATCH_TOURNAMENT`: no more updates of that tournament. The node does not answer. */
  unwatchTournament(tournament) {
    this._watching.delete(tournament);
    if (this.state !== "idle" && this.state !== "closed") this.send({ type: "server/UNWATCH_TOURNAMENT", tournament });
  }

  /**
   * A session is on a new socket: the watches and the joins of the last one go again (without a
   * ref; their answers are events). The node itself watches the session's games again (a
   * `client/WATCH_GAME` for each), so a game's `watchers:` room is joined again only once that
   * view has come: before it, the node does not count the socket as a watcher.
   */
  _rewatch() {
    if (!this._watchLost) return;
    this._watchLost = false;
    for (const [tournament, entry] of this._watching) {
      // A watch still waiting for its answer goes again with its request.
      if (entry.pending === 0) this._connection.write({ type: "server/WATCH_TOURNAMENT", tournament });
    }
    for (const [room, entry] of this._rooms) {
      if (entry.pending > 0) continue;
      if (room.startsWith("watchers:")) entry.awaitingView = true;
      else this._connection.write({ type: "server/CHAT_JOIN", room });
    }
  }

  /**
   * Keeps the rooms in step with the node: a watched game's view lets its `watchers:` room be
   * joined again; a game's end closes its `game:` and `watchers:` rooms, and unwatching closes
   * the `watchers:` one.
   */
  _roomsFollow(frame) {
    switch (frame.type) {
      case "client/WATCH_GAME": {
        const room = `watchers:${frame.game}`;
        const entry = this._rooms.get(room);
        if (frame.status === "over") this._rooms.delete(room);
        else if (entry?.awaitingView) {
          entry.awaitingView = false;
          if (entry.pending === 0) this._connection.write({ type: "server/CHAT_JOIN", room });
        }
        break;
      }
      case "client/GAME_OVER":
        this._rooms.delete(`game:${frame.game}`);
        this._rooms.delete(`watchers:${frame.game}`);
        break;
      case "client/UNWATCHED":
        this._rooms.delete(`watchers:${frame.game}`);
        break;
      default:
        break;
    }
  }

  // ----- spectators (v1.1) ------------------------------------------------------------------

  /**
   * `server/WATCH_GAME`: resolves with the `client/WATCH_GAME` of that game (its full view, `you`
   * null); its `client/UPDATE_GAME`, `client/OFFER_DRAW`, `client/CROWD` and `client/GAME_OVER`
   * follow as events, folded into `watchedGame(game)` (the `watched` event). The session keeps
   * the watch: after a reconnect the node sends `client/WATCH_GAME` again by itself. It ends by
   * itself at the game's `client/GAME_OVER`. Refused: `no_such_game`.
   */
  watchGame(game, options) {
    const settle = (frame) => frame.type === "client/WATCH_GAME" && frame.game === game;
    return this.request({ type: "server/WATCH_GAME", game }, { settle, ...options });
  }

  /** `server/UNWATCH_GAME`: resolves with `client/UNWATCHED`; the game's state is forgotten. */
  unwatchGame(game, options) {
    const settle = (frame) => frame.type === "client/UNWATCHED" && frame.game === game;
    return this.request({ type: "server/UNWATCH_GAME", game }, { settle, ...options });
  }

  // ----- chat (v1.1) ------------------------------------------------------------------------

  /**
   * `server/CHAT_JOIN`: resolves with the `client/CHAT_HISTORY` of that room (its last 50
   * messages, oldest first); new lines come as `client/CHAT_MESSAGE` events, deletions as
   * `client/CHAT_DELETED`. Joined rooms belong to the socket, so after a reconnect the client
   * joins them again (a fresh `client/CHAT_HISTORY` event without a ref) until `chatLeave`, or
   * until the node closes the room (the game's end; unwatching, for `watchers:<id>`). A
   * player is in `game:<id>` without joining; joining it reads its history. Refused:
   * `forbidden` (not a member: `watchers:<id>` needs `watchGame` first and is closed to the
   * game's players while they play), `invalid_field` (no such room name). Sent again when the
   * socket drops before the answer, but for a `watchers:` room, which rejects with
   * `disconnected` and is joined again once the game's view is back.
   */
  chatJoin(room, options) {
    const entry = this._rooms.get(room) ?? { pending: 0, awaitingView: false };
    entry.pending += 1;
    this._rooms.set(room, entry);
    const settle = (frame) => frame.type === "client/CHAT_HISTORY" && frame.room === room;
    const done = () => {
      entry.pending -= 1;
    };
    // A `watchers:` join on the wire when the socket drops is not sent again at once (the node
    // would refuse it before the game's view comes back): it rejects with `disconnected`, and
    // the room is joined again after the view, as every room is.
    const resend = !room.startsWith("watchers:");
    return this.request({ type: "server/CHAT_JOIN", room }, { settle, resend, ...options }).then(
      (frame) => {
        done();
        return frame;
      },
      (error) => {
        done();
        // Refused: not in the room. A timeout or a drop leaves it to be joined again.
        if (error.frame && this._rooms.get(room) === entry && entry.pending === 0) this._rooms.delete(room);
        throw error;
      },
    );
  }

  /** `server/CHAT_LEAVE`: no more lines of that room. The node does not answer. */
  chatLeave(room) {
    this._rooms.delete(room);
    if (this.state !== "idle" && this.state !== "closed") this.send({ type: "server/CHAT_LEAVE", room });
  }

  /**
   * `server/CHAT_SEND`: resolves with the sender's own `client/CHAT_MESSAGE` (the line as kept:
   * trimmed, with its `id` and `at`), which every other member gets too. Not sent again after a
   * drop (it rejects with `disconnected`). Refused: `invalid_field` (empty after trimming, over
   * 500 characters, control characters), `chat_flood` (more than 5 in 10 s, or a repeat of one
   * of the last two), `muted` (with `until`), `forbidden` (not a member).
   */
  chatSend(room, text, options) {
    return this.request({ type: "server/CHAT_SEND", room, text }, { resend: false, ...options });
  }

  /** `server/CHAT_DELETE` (moderators): resolves with `client/CHAT_DELETED`; every member gets it. */
  chatDelete(room, id, options) {
    return this.request({ type: "server/CHAT_DELETE", room, id }, { resend: false, ...options });
  }

  // ----- game/ -------------------------------------------------------------------------------

  /**
   * `game/PLAYER_READY`: resolves with the `client/UPDATE_GAME` that starts the game (which
   * comes when both players are ready), or `client/GAME_OVER` if it was aborted. Waits for the
   * node's default ready timeout and then a request timeout.
   */
  playerReady(game = this.game?.game, options) {
    const settle = (frame) =>
      (frame.type === "client/UPDATE_GAME" || frame.type === "client/GAME_OVER") && frame.game === game;
    const timeoutMs = READY_TIMEOUT_MS + REQUEST_TIMEOUT_MS;
    return this.request({ type: "game/PLAYER_READY", game }, { timeoutMs, settle, ...options });
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

/**
 * Opens a client: `await connect({baseUrl, token, session, refreshToken})` resolves once the
 * session is started or resumed.
 */
export async function connect(options = {}) {
  const client = new RookeryClient(options);
  await client.connect();
  return client;
}
