// view.js: the state a client folds from what its node sends: the identity (token, refresh
// token and expiry, session, user), the queue it is in, the pending matchup, the current game and the games it watches,
// plus the helpers that read a game's clocks and presence between frames.

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

/** A full game view (`client/START_GAME`, `RESUME_GAME`, `WATCH_GAME`) as a game state. */
function fromView(frame, previous, now) {
  const { type: _type, ref: _ref, ...view } = frame;
  return {
    ...view,
    you: view.you ?? null,
    lastMove: view.moves.length ? view.moves[view.moves.length - 1] : null,
    receivedAt: now,
    result: previous?.result ?? null,
    reason: previous?.reason ?? null,
    ratingChange: previous?.ratingChange ?? null,
    opponentPresence: previous?.opponentPresence ?? null,
    watchers: previous?.watchers ?? null,
  };
}

/** `game` with a `client/UPDATE_GAME` folded in, or null when the update is not newer. */
function updated(game, frame, now) {
  if (!game || game.game !== frame.game || frame.seq < game.seq) return null;
  if (game.status === "over" && frame.status !== "over") return null;
  const moves = [...game.moves];
  if (frame.seq === moves.length + 1 && frame.lastMove != null) moves.push(frame.lastMove);
  return {
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
  };
}

/** `game` with its `client/GAME_OVER` folded in: the clocks stop where they stood. */
function ended(game, frame, now) {
  const clocks = game.clocks;
  const frozen = {
    first: remainingMs(game, "first", now),
    second: remainingMs(game, "second", now),
    running: null,
  };
  if (frame.reason === "timeout" && clocks.running) frozen[clocks.running] = 0;
  return {
    ...game,
    status: "over",
    clocks: clocks.running ? frozen : clocks,
    drawOffer: null,
    result: frame.result,
    reason: frame.reason,
    ratingChange: frame.ratingChange ?? null,
    receivedAt: now,
  };
}

/**
 * The views of one session, folded frame by frame: `token`, `refreshToken`, `expiresAt`,
 * `session`, `user`, `queue`,
 * `matchup` (the pending `client/PROPOSE_MATCHUP`), `game` (a `GameState`) and `watched` (the
 * games it watches, by id). `emit` gets the `session`, `tokens`, `game` and `watched` events.
 */
export class View {
  /**
   * @param {{token?: string|null, session?: string|null, refreshToken?: string|null, expiresAt?: number|null, emit: (type: string, payload: object) => void}} options
   */
  constructor({ token = null, session = null, refreshToken = null, expiresAt = null, emit }) {
    this.token = token;
    this.session = session;
    this.user = null;
    /** The refresh token that renews `token` (`POST /api/auth/refresh`), or null. */
    this.refreshToken = refreshToken;
    /** When `token` expires (ms since the epoch), or null when unknown. */
    this.expiresAt = expiresAt;
    /** @type {object|null} the queue this session is in */
    this.queue = null;
    /** @type {object|null} the pending `client/PROPOSE_MATCHUP` */
    this.matchup = null;
    /** @type {GameState|null} the current (or last) game */
    this.game = null;
    /** @type {Map<string, GameState>} the games watched (`client/WATCH_GAME`), until unwatched */
    this.watched = new Map();
    this._emit = emit;
  }

  /** Folds a frame into `queue`, `matchup`, `game` and the identity. */
  fold(frame) {
    const now = monotonic();
    switch (frame.type) {
      case "client/SESSION_STARTED": {
        const fresh = this.session !== frame.session;
        const before = this.tokens();
        if (frame.token !== this.token) this.expiresAt = null;
        this.token = frame.token;
        this.session = frame.session;
        this.user = frame.user;
        // A socket that opened with a token gets no refresh token (null): its client keeps its own.
        if (frame.refreshToken) this.refreshToken = frame.refreshToken;
        if (frame.expiresAt != null) this.expiresAt = frame.expiresAt;
        if (fresh) {
          this.queue = null;
          this.matchup = null;
          if (this.game && this.game.status !== "over") this._lostGame();
        }
        this._emit("session", this.identity());
        this._tokensChanged(before);
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
        this._emit("session", this.identity());
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
        const previous = this.game?.game === frame.game ? this.game : null;
        this.matchup = null;
        this.queue = null;
        this._setGame({ ...fromView(frame, previous, now), watchers: previous?.watchers ?? 0 });
        break;
      }
      case "client/WATCH_GAME":
        this._setWatched(fromView(frame, this.watched.get(frame.game), now));
        break;
      case "client/UNWATCHED":
        this.watched.delete(frame.game);
        break;
      case "client/UPDATE_GAME": {
        const game = updated(this.game, frame, now);
        if (game) this._setGame(game);
        const watched = updated(this.watched.get(frame.game), frame, now);
        if (watched) this._setWatched(watched);
        break;
      }
      case "client/OFFER_DRAW":
        if (this.game?.game === frame.game) this._setGame({ ...this.game, drawOffer: frame.from });
        if (this.watched.has(frame.game)) this._setWatched({ ...this.watched.get(frame.game), drawOffer: frame.from });
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
        if (this.game?.game === frame.game) this._setGame(ended(this.game, frame, now));
        if (this.watched.has(frame.game) && this.watched.get(frame.game).result == null) {
          this._setWatched(ended(this.watched.get(frame.game), frame, now));
        }
        break;
      case "client/CROWD":
        if (this.game?.game === frame.game) this._setGame({ ...this.game, watchers: frame.watchers });
        if (this.watched.has(frame.game)) this._setWatched({ ...this.watched.get(frame.game), watchers: frame.watchers });
        break;
      default:
        break;
    }
  }

  /** The identity, as the `session` and `tokens` events carry it. */
  identity() {
    return {
      token: this.token,
      refreshToken: this.refreshToken,
      expiresAt: this.expiresAt,
      session: this.session,
      user: this.user,
    };
  }

  /** What renews the sign-in, to compare before and after a change. */
  tokens() {
    return `${this.token} ${this.refreshToken} ${this.expiresAt}`;
  }

  /**
   * Adopts a renewal or a sign-in answered over HTTP (`{token, session, user, refreshToken,
   * expiresAt}`), or forgets the identity (`null`): the `session` and `tokens` events follow.
   */
  adopt(auth) {
    const before = this.tokens();
    const sessionBefore = this.session;
    this.token = auth?.token ?? null;
    this.refreshToken = auth?.refreshToken ?? null;
    this.expiresAt = auth?.expiresAt ?? null;
    if (auth === null || auth?.session) this.session = auth?.session ?? null;
    if (auth === null || auth?.user) this.user = auth?.user ?? null;
    if (before !== this.tokens() || sessionBefore !== this.session) this._emit("session", this.identity());
    this._tokensChanged(before);
  }

  _tokensChanged(before) {
    if (before !== this.tokens()) this._emit("tokens", this.identity());
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

  _setWatched(game) {
    this.watched.set(game.game, game);
    this._emit("watched", game);
  }
}
