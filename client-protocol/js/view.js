// view.js: the state a client folds from what its node sends: the identity (token, session,
// user), the queue it is in, the pending matchup and the current game, plus the helpers that
// read a game's clocks and presence between frames.

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
 * The views of one session, folded frame by frame: `token`, `session`, `user`, `queue`,
 * `matchup` (the pending `client/PROPOSE_MATCHUP`) and `game` (a `GameState`). `emit` gets
 * the `session` and `game` events.
 */
export class View {
  /**
   * @param {{token?: string|null, session?: string|null, emit: (type: string, payload: object) => void}} options
   */
  constructor({ token = null, session = null, emit }) {
    this.token = token;
    this.session = session;
    this.user = null;
    /** @type {object|null} the queue this session is in */
    this.queue = null;
    /** @type {object|null} the pending `client/PROPOSE_MATCHUP` */
    this.matchup = null;
    /** @type {GameState|null} the current (or last) game */
    this.game = null;
    this._emit = emit;
  }

  /** Folds a frame into `queue`, `matchup`, `game` and the identity. */
  fold(frame) {
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
}
