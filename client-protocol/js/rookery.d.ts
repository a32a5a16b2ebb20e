// Type declarations for rookery.js, the JavaScript SDK of the rookery wire protocol v1: its
// public API, whichever of its modules (client.js, connection.js, requests.js, view.js, ...)
// implements each part. The wire types and the protocol's constants between the markers are
// generated from the JSON Schema (npm run gen-types); the SDK's own API follows them.

// ---- BEGIN GENERATED from client-protocol/schema/rookery.schema.json (npm run gen-types): do not edit ----
/** One finding about an account. */
export interface AccountFlag {
  at: number;
  details: string;
  kind: string;
}

/** `GET /api/admin/users/{name}`: the account as moderators see it. */
export interface AdminUserView {
  /** Added: whether a ban is in force (with `bannedUntil` null, it is until lifted). */
  banned: boolean;
  /** When the ban in force ends; null when there is none or it is until lifted. */
  bannedUntil?: number | null;
  createdAt: number;
  /** What anti-cheat and automod found. */
  flags: AccountFlag[];
  gamesPlayed: number;
  guest: boolean;
  id: string;
  muted: boolean;
  mutedUntil?: number | null;
  name: string;
  playbanUntil?: number | null;
  playbanned: boolean;
  rating: number;
  roles: Role[];
  /** The reasons of the sanctions in force, and who set them. */
  sanctions: SanctionView[];
}

/** Every HTTP error body. */
export interface ApiError {
  code: ErrorCode;
  message: string;
  /** v1.1: on `banned` and `playban` only (null: until lifted). */
  until?: Until | null;
}

/** One audit event, as `GET /api/admin/audit` lists it. */
export interface AuditEvent {
  /** Who did it (a username), null when unknown. */
  actor?: string | null;
  /** When it happened, ms since the Unix epoch. */
  at: number;
  details: {  };
  /** SHA-256 (hex) over the previous event's `hash` and this event's canonical JSON. */
  hash: string;
  /** Position in the one chain of the cluster: 1, 2, 3, ... */
  id: number;
  /** The client's address. */
  ip?: string | null;
  outcome: AuditOutcome;
  /** Whom it was done to (a username), if anyone. */
  target?: string | null;
  type: AuditType;
}

/** Whether the recorded action happened or was refused. */
export type AuditOutcome = "ok" | "refused";

/** `GET /api/admin/audit`: newest first; `next` is the `before` of the next page. */
export interface AuditPage {
  events: AuditEvent[];
  next?: number | null;
}

/** What an audit event records. The protocol fixes these names. */
export type AuditType = "register" | "login" | "login_failed" | "logout" | "token_refused" | "session_refused" | "origin_refused" | "rate_limited" | "role_changed" | "ban" | "unban" | "mute" | "unmute" | "tournament_created" | "tournament_cancelled" | "registration_added" | "registration_removed" | "playban" | "cheat_flagged" | "job_buried" | "event_dead_lettered" | "chat_deleted";

/** `GET /api/admin/audit/verify`. */
export interface AuditVerify {
  /** How many events were checked. */
  checked: number;
  /** The id of the first event that does not match, or null. */
  firstBad?: number | null;
  ok: boolean;
}

/** Answer of the three `POST /api/auth/...` routes. */
export interface AuthResponse {
  /** Added: when `token` expires (ms since the epoch). */
  expiresAt?: number;
  /**
   * Added: a refresh token, for `POST /api/auth/refresh` once `token` expires. Each
   * renewal spends it and answers a new one.
   */
  refreshToken?: string;
  session: string;
  token: string;
  user: UserView;
}

/**
 * One chat message (`client/CHAT_MESSAGE`, the items of `client/CHAT_HISTORY` and of a
 * finished game's `chat`).
 */
export interface ChatLine {
  /** Unix ms. */
  at: number;
  /** The sender's name. */
  from: string;
  id: string;
  room: string;
  /** Trimmed, NFC-normalised, 1-500 characters, no control characters. */
  text: string;
}

/** A time control. `null` on the wire means an untimed game. */
export interface ClockSpec {
  incrementMs: number;
  initialMs: number;
}

/** Remaining time per side, and whose clock is running (null when none is). */
export interface Clocks {
  first: number;
  running?: Side | null;
  second: number;
}

/** Body of `POST /api/auth/register` and `POST /api/auth/login`. */
export interface Credentials {
  /** v1.1, register only: where notifications go by email (never shown to others). */
  email?: string | null;
  password: string;
  username: string;
}

/**
 * One value in an event's `details`. No floats: the hash is over canonical JSON, and integers
 * and strings have exactly one canonical spelling.
 */
export type Detail = boolean | number | string | string[];

/** Why a game ended. */
export type EndReason = "checkmate" | "resign" | "timeout" | "draw_agreed" | "stalemate" | "repetition" | "fifty_moves" | "insufficient_material" | "abandoned" | "board_full" | "line";

/** Every `client/ERROR` code. The protocol fixes the first seventeen; the rest are additions. */
export type ErrorCode = "bad_frame" | "unknown_type" | "invalid_field" | "unauthenticated" | "forbidden" | "not_started" | "not_your_turn" | "illegal_move" | "stale_seq" | "game_over" | "not_in_game" | "no_such_game" | "no_such_matchup" | "rate_limited" | "username_taken" | "bad_credentials" | "unavailable" | "already_in_game" | "not_in_queue" | "no_draw_offer" | "not_found" | "internal" | "banned" | "muted" | "chat_flood" | "playban" | "tournament_full" | "tournament_closed" | "in_tournament_game" | "conflict" | "method_not_allowed";

/** The games a node can host. */
export type GameKind = "tictactoe" | "connect4" | "chess";

/** A finished game: `GET /api/games/{id}` and the items of `/api/users/{name}/games`. */
export interface GameRecord {
  /** v1.1: what its players said in `game:<id>`, oldest first (deleted messages gone). */
  chat?: ChatLine[];
  clock?: ClockSpec | null;
  /** Each side's remaining time when the game ended. */
  clocks: Clocks;
  endedAt: number;
  finalPosition: Position;
  game: string;
  kind: GameKind;
  moves: Move[];
  players: GameRecordPlayer[];
  rated: boolean;
  reason: EndReason;
  result: GameResult;
  startedAt: number;
}

/** A player of a finished game, with the rating change it brought (rated games only). */
export interface GameRecordPlayer {
  name: string;
  rating: number;
  ratingChange?: RatingDelta | null;
  side: Side;
  userId: string;
}

/** Who won: a side, a draw, or nobody (`aborted`: the game never really started). */
export type GameResult = "first" | "second" | "draw" | "aborted";

export type GameStatus = "waiting_ready" | "playing" | "over";

/** `client/UPDATE_GAME`: the state after a move, a ready, or a declined draw. */
export interface GameUpdate {
  clocks: Clocks;
  /** Added: the side whose draw offer is pending, or null. */
  drawOffer?: Side | null;
  game: string;
  lastMove?: Move | null;
  position: Position;
  seq: number;
  status: GameStatus;
  toMove: Side;
}

/** The full game view of `client/START_GAME` and `client/RESUME_GAME`. */
export interface GameView {
  /** Added: the time control (null for an untimed game). */
  clock?: ClockSpec | null;
  clocks: Clocks;
  drawOffer?: Side | null;
  game: string;
  kind: GameKind;
  moves: Move[];
  players: PlayerView[];
  position: Position;
  rated: boolean;
  seq: number;
  status: GameStatus;
  toMove: Side;
  /** v1.1: the tournament this game belongs to (its id), null for other games. */
  tournament?: string | null;
  /** The side of the socket's player; null for a watcher (`client/WATCH_GAME`). */
  you?: Side | null;
}

/** Why a proposed matchup did not become a game. */
export type MatchupCancelReason = "declined" | "timeout";

/**
 * A move on the wire: chess in UCI (`"e2e4"`), tic-tac-toe a cell 0-8, connect-four a
 * column 0-6. Nodes accept a cell or column as a number or a numeric string and always
 * send numbers for those games.
 */
export type Move = number | string;

/** One notification: `client/NOTIFICATION` carries it, `GET /api/me/notifications` lists it. */
export interface Notification {
  /** Unix ms. */
  at: number;
  /** What it is about, by id: `game`, `tournament`, `until` (ms, as text), `roles`. */
  data: {  };
  id: string;
  kind: NotificationKind;
  /** One line for people. */
  text: string;
}

/** What a notification is about. The protocol fixes these names. */
export type NotificationKind = "tournament_starting" | "registration_changed" | "game_finished" | "playban" | "account" | "cheat_flagged";

/** The opponent in a matchup proposal. */
export interface Opponent {
  name: string;
  rating: number;
}

/** A player seated in a game. */
export interface PlayerView {
  name: string;
  rating: number;
  side: Side;
}

/**
 * A game position: a FEN string for chess, rows (top row first) for the other games,
 * where `x` is the first side's mark, `o` the second's and `.` an empty cell.
 */
export type Position = string | string[];

/** Why a player left a queue. */
export type QueueLeftReason = "cancelled" | "matched" | "declined" | "timeout";

/** One queue in `GET /api/queues`. */
export interface QueueSize {
  queue: QueueSpec;
  /** Players waiting (not counting those in a pending matchup). */
  waiting: number;
}

/**
 * A matchmaking queue: which game, which clock, rated or not. All three fields are required,
 * as the protocol lists them: `clock` may be null (untimed) but not absent, so a client that
 * forgot it is told instead of being queued for something it did not choose.
 */
export interface QueueSpec {
  /** Required; null for an untimed game. */
  clock: ClockSpec | null;
  game: GameKind;
  rated: boolean;
}

/** Both players' rating changes after a rated game, keyed by side. */
export interface RatingChange {
  first: RatingDelta;
  second: RatingDelta;
}

/** One player's rating before and after a rated game. */
export interface RatingDelta {
  after: number;
  before: number;
  delta: number;
}

/**
 * Body of `POST /api/auth/refresh` and (optional) `POST /api/auth/logout`: the refresh token,
 * unless the `rookery_refresh` cookie carries it; `session`, the session to keep (else the
 * `rookery_session` cookie's; a new one when neither is the caller's).
 */
export interface RefreshRequest {
  refreshToken?: string | null;
  session?: string | null;
}

/** What an account may do beyond playing (v1.1). Guests never hold one. */
export type Role = "admin" | "moderator";

/** `PUT /api/admin/users/{name}/roles`. */
export interface RolesBody {
  roles: Role[];
}

/** `POST /api/admin/users/{name}/ban` and `.../mute`. */
export interface SanctionBody {
  /** How long, in ms; null = until lifted. */
  durationMs?: number | null;
  reason: string;
}

/** A sanction in force, as moderators see it. */
export interface SanctionView {
  at: number;
  by: string;
  /** `ban`, `mute` or `playban`. */
  kind: string;
  reason: string;
  until?: number | null;
}

/** A seat at the table. Chess: `first` is white. The first side moves first. */
export type Side = "first" | "second";

/** One row of a tournament's standings, best first. */
export interface Standing {
  /** Added: byes received (swiss), each worth 1 point and no game. */
  byes: number;
  draws: number;
  games: number;
  losses: number;
  name: string;
  rank: number;
  rating: number;
  /** Swiss: 1 / ½ / 0 and 1 per bye; arena: 2 / 1 / 0, 4 per win on a streak. */
  score: number;
  /** Added (arena): the next win scores 4. */
  streak?: boolean;
  /** Swiss `[buchholz, sonnebornBerger]`, arena `[]`. */
  tieBreak: number[];
  wins: number;
  /** Added: withdrawn from a running tournament (no further pairings; played games stay). */
  withdrawn?: boolean;
}

/** How a tournament pairs its players. */
export type TournamentFormat = "arena" | "swiss";

/** Why `client/TOURNAMENT_LEFT` was sent. */
export type TournamentLeftReason = "withdrawn" | "removed" | "cancelled";

/** A game of the current round (swiss) or running now (arena). */
export interface TournamentPairing {
  /** Names: `first` plays the first side (white in chess). */
  first: string;
  game: string;
  /** `first`, `second`, `draw`, or null while it is played. */
  result?: GameResult | null;
  round: number;
  second: string;
}

/** Where a tournament is in its life. */
export type TournamentStatus = "created" | "started" | "finished" | "cancelled";

/** The tournament view of every route and of `client/TOURNAMENT_UPDATE`. */
export interface TournamentView {
  clock?: ClockSpec | null;
  /** The admin who created it. */
  createdBy: string;
  durationMs?: number | null;
  /** Added: when it finished or was cancelled (ms), else null. */
  endedAt?: number | null;
  format: TournamentFormat;
  game: GameKind;
  id: string;
  maxPlayers?: number | null;
  name: string;
  /** Added: the games of the current round (swiss) or in progress (arena). */
  pairings?: TournamentPairing[];
  /** How many players are registered. */
  players: number;
  rated: boolean;
  /** 0 before the start; the current round of a swiss; arena: how many pairing waves so far. */
  round: number;
  rounds?: number | null;
  standings: Standing[];
  startsAt: number;
  status: TournamentStatus;
}

/**
 * When a sanction ends, on an error that carries it (`banned`, `playban`): an instant in ms,
 * or null for "until lifted". Absent on every other error.
 */
export type Until = number | null;

/** `GET /api/users/{name}` and `GET /api/me`. */
export interface UserProfile {
  createdAt: number;
  /** v1.1: the account's email, in `GET /api/me` only. */
  email?: string | null;
  gamesPlayed: number;
  guest: boolean;
  id: string;
  name: string;
  /** v1.1, `GET /api/me` only: when the account's playban ends (ms), null when none. */
  playbanUntil?: Until | null;
  rating: number;
  /** Glicko-2 rating deviation: how sure the rating is (350 for a new player). */
  ratingDeviation: number;
  /** v1.1: `admin`, `moderator`; empty for a player. */
  roles?: Role[];
}

/** A user as clients see them. */
export interface UserView {
  guest: boolean;
  id: string;
  name: string;
  rating: number;
  /** v1.1: `admin`, `moderator`; empty for a player (and always for a guest). */
  roles?: Role[];
}

/** `server/REGISTER_USER` */
export interface ServerRegisterUserMessage {
  type: "server/REGISTER_USER";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  password: string;
  username: string;
}

/** `server/LOGIN` */
export interface ServerLoginMessage {
  type: "server/LOGIN";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  password: string;
  username: string;
}

/** `server/GUEST` */
export interface ServerGuestMessage {
  type: "server/GUEST";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
}

/** `server/START_MATCHMAKING` */
export interface ServerStartMatchmakingMessage {
  type: "server/START_MATCHMAKING";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  queue: QueueSpec;
}

/** `server/CANCEL_MATCHMAKING` */
export interface ServerCancelMatchmakingMessage {
  type: "server/CANCEL_MATCHMAKING";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
}

/** `server/REPLY_MATCHUP` */
export interface ServerReplyMatchupMessage {
  type: "server/REPLY_MATCHUP";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  accept: boolean;
  matchup: string;
}

/** `game/PLAYER_READY` */
export interface GamePlayerReadyMessage {
  type: "game/PLAYER_READY";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `game/PLAYER_MOVE` */
export interface GamePlayerMoveMessage {
  type: "game/PLAYER_MOVE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
  move: Move;
  seq: number;
}

/** `game/OFFER_DRAW` */
export interface GameOfferDrawMessage {
  type: "game/OFFER_DRAW";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `game/DECLINE_DRAW` */
export interface GameDeclineDrawMessage {
  type: "game/DECLINE_DRAW";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `game/CONCEDE` */
export interface GameConcedeMessage {
  type: "game/CONCEDE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `server/JOIN_TOURNAMENT` */
export interface ServerJoinTournamentMessage {
  type: "server/JOIN_TOURNAMENT";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  tournament: string;
}

/** `server/WITHDRAW_TOURNAMENT` */
export interface ServerWithdrawTournamentMessage {
  type: "server/WITHDRAW_TOURNAMENT";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  tournament: string;
}

/** `server/WATCH_TOURNAMENT` */
export interface ServerWatchTournamentMessage {
  type: "server/WATCH_TOURNAMENT";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  tournament: string;
}

/** `server/UNWATCH_TOURNAMENT` */
export interface ServerUnwatchTournamentMessage {
  type: "server/UNWATCH_TOURNAMENT";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  tournament: string;
}

/** `server/WATCH_GAME` */
export interface ServerWatchGameMessage {
  type: "server/WATCH_GAME";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `server/UNWATCH_GAME` */
export interface ServerUnwatchGameMessage {
  type: "server/UNWATCH_GAME";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `server/CHAT_JOIN` */
export interface ServerChatJoinMessage {
  type: "server/CHAT_JOIN";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  room: string;
}

/** `server/CHAT_LEAVE` */
export interface ServerChatLeaveMessage {
  type: "server/CHAT_LEAVE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  room: string;
}

/** `server/CHAT_SEND` */
export interface ServerChatSendMessage {
  type: "server/CHAT_SEND";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  room: string;
  text: string;
}

/** `server/CHAT_DELETE` */
export interface ServerChatDeleteMessage {
  type: "server/CHAT_DELETE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  id: string;
  room: string;
}

/** One client frame: an optional `ref` the replies echo, and the message itself. */
export type ClientFrame =
  | ServerRegisterUserMessage
  | ServerLoginMessage
  | ServerGuestMessage
  | ServerStartMatchmakingMessage
  | ServerCancelMatchmakingMessage
  | ServerReplyMatchupMessage
  | GamePlayerReadyMessage
  | GamePlayerMoveMessage
  | GameOfferDrawMessage
  | GameDeclineDrawMessage
  | GameConcedeMessage
  | ServerJoinTournamentMessage
  | ServerWithdrawTournamentMessage
  | ServerWatchTournamentMessage
  | ServerUnwatchTournamentMessage
  | ServerWatchGameMessage
  | ServerUnwatchGameMessage
  | ServerChatJoinMessage
  | ServerChatLeaveMessage
  | ServerChatSendMessage
  | ServerChatDeleteMessage;

/** Each `ClientFrame` type by its wire `type`. */
export interface ClientMessageMap {
  "server/REGISTER_USER": ServerRegisterUserMessage;
  "server/LOGIN": ServerLoginMessage;
  "server/GUEST": ServerGuestMessage;
  "server/START_MATCHMAKING": ServerStartMatchmakingMessage;
  "server/CANCEL_MATCHMAKING": ServerCancelMatchmakingMessage;
  "server/REPLY_MATCHUP": ServerReplyMatchupMessage;
  "game/PLAYER_READY": GamePlayerReadyMessage;
  "game/PLAYER_MOVE": GamePlayerMoveMessage;
  "game/OFFER_DRAW": GameOfferDrawMessage;
  "game/DECLINE_DRAW": GameDeclineDrawMessage;
  "game/CONCEDE": GameConcedeMessage;
  "server/JOIN_TOURNAMENT": ServerJoinTournamentMessage;
  "server/WITHDRAW_TOURNAMENT": ServerWithdrawTournamentMessage;
  "server/WATCH_TOURNAMENT": ServerWatchTournamentMessage;
  "server/UNWATCH_TOURNAMENT": ServerUnwatchTournamentMessage;
  "server/WATCH_GAME": ServerWatchGameMessage;
  "server/UNWATCH_GAME": ServerUnwatchGameMessage;
  "server/CHAT_JOIN": ServerChatJoinMessage;
  "server/CHAT_LEAVE": ServerChatLeaveMessage;
  "server/CHAT_SEND": ServerChatSendMessage;
  "server/CHAT_DELETE": ServerChatDeleteMessage;
}

/** `client/SESSION_STARTED` */
export interface ClientSessionStartedMessage {
  type: "client/SESSION_STARTED";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  /** Added: when `token` expires (ms since the epoch). */
  expiresAt?: number;
  /**
   * Added: renews the sign-in at `POST /api/auth/refresh` once `token` expires;
   * null when the socket opened with a token (its client holds its own).
   */
  refreshToken?: string | null;
  session: string;
  token: string;
  user: UserView;
}

/** `client/RESUME_SESSION` */
export interface ClientResumeSessionMessage {
  type: "client/RESUME_SESSION";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game?: string | null;
  /** The pending matchup's id; its `client/PROPOSE_MATCHUP` is sent again right after. */
  matchup?: string | null;
  queue?: QueueSpec | null;
  session: string;
  user: UserView;
}

/** `client/QUEUED` */
export interface ClientQueuedMessage {
  type: "client/QUEUED";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  queue: QueueSpec;
  queuedAt: number;
}

/** `client/ALREADY_IN_QUEUE` */
export interface ClientAlreadyInQueueMessage {
  type: "client/ALREADY_IN_QUEUE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  queue: QueueSpec;
}

/** `client/QUEUE_LEFT` */
export interface ClientQueueLeftMessage {
  type: "client/QUEUE_LEFT";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  queue: QueueSpec;
  reason: QueueLeftReason;
}

/** `client/PROPOSE_MATCHUP` */
export interface ClientProposeMatchupMessage {
  type: "client/PROPOSE_MATCHUP";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  expiresAt: number;
  matchup: string;
  opponent: Opponent;
  queue: QueueSpec;
}

/** `client/MATCHUP_CANCELLED` */
export interface ClientMatchupCancelledMessage {
  type: "client/MATCHUP_CANCELLED";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  matchup: string;
  reason: MatchupCancelReason;
}

/** `client/START_GAME` */
export type ClientStartGameMessage = { type: "client/START_GAME"; ref?: string | null; } & GameView;

/** `client/RESUME_GAME` */
export type ClientResumeGameMessage = { type: "client/RESUME_GAME"; ref?: string | null; } & GameView;

/** `client/UPDATE_GAME` */
export type ClientUpdateGameMessage = { type: "client/UPDATE_GAME"; ref?: string | null; } & GameUpdate;

/** `client/OFFER_DRAW` */
export interface ClientOfferDrawMessage {
  type: "client/OFFER_DRAW";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  from: Side;
  game: string;
}

/** `client/OPPONENT_PRESENCE` */
export interface ClientOpponentPresenceMessage {
  type: "client/OPPONENT_PRESENCE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  connected: boolean;
  game: string;
  graceMs: number;
}

/** `client/GAME_OVER` */
export interface ClientGameOverMessage {
  type: "client/GAME_OVER";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
  ratingChange?: RatingChange | null;
  reason: EndReason;
  result: GameResult;
}

/** `client/TOURNAMENT_JOINED` */
export interface ClientTournamentJoinedMessage {
  type: "client/TOURNAMENT_JOINED";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  tournament: string;
}

/** `client/TOURNAMENT_LEFT` */
export interface ClientTournamentLeftMessage {
  type: "client/TOURNAMENT_LEFT";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  reason: TournamentLeftReason;
  tournament: string;
}

/** `client/TOURNAMENT_UPDATE` */
export interface ClientTournamentUpdateMessage {
  type: "client/TOURNAMENT_UPDATE";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  tournament: TournamentView;
}

/** `client/NOTIFICATION` */
export type ClientNotificationMessage = { type: "client/NOTIFICATION"; ref?: string | null; } & Notification;

/** `client/WATCH_GAME` */
export type ClientWatchGameMessage = { type: "client/WATCH_GAME"; ref?: string | null; } & GameView;

/** `client/UNWATCHED` */
export interface ClientUnwatchedMessage {
  type: "client/UNWATCHED";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
}

/** `client/CROWD` */
export interface ClientCrowdMessage {
  type: "client/CROWD";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  game: string;
  watchers: number;
}

/** `client/CHAT_HISTORY` */
export interface ClientChatHistoryMessage {
  type: "client/CHAT_HISTORY";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  messages: ChatLine[];
  room: string;
}

/** `client/CHAT_MESSAGE` */
export type ClientChatMessageMessage = { type: "client/CHAT_MESSAGE"; ref?: string | null; } & ChatLine;

/** `client/CHAT_DELETED` */
export interface ClientChatDeletedMessage {
  type: "client/CHAT_DELETED";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  id: string;
  room: string;
}

/** `client/ERROR` */
export interface ClientErrorMessage {
  type: "client/ERROR";
  /** Echoed on replies to a message that carried it. */
  ref?: string | null;
  code: ErrorCode;
  message: string;
  /** v1.1: on `banned` and `playban` only. */
  until?: Until | null;
}

/** One frame to a client: the message plus the `ref` of the client message it answers. */
export type ServerFrame =
  | ClientSessionStartedMessage
  | ClientResumeSessionMessage
  | ClientQueuedMessage
  | ClientAlreadyInQueueMessage
  | ClientQueueLeftMessage
  | ClientProposeMatchupMessage
  | ClientMatchupCancelledMessage
  | ClientStartGameMessage
  | ClientResumeGameMessage
  | ClientUpdateGameMessage
  | ClientOfferDrawMessage
  | ClientOpponentPresenceMessage
  | ClientGameOverMessage
  | ClientTournamentJoinedMessage
  | ClientTournamentLeftMessage
  | ClientTournamentUpdateMessage
  | ClientNotificationMessage
  | ClientWatchGameMessage
  | ClientUnwatchedMessage
  | ClientCrowdMessage
  | ClientChatHistoryMessage
  | ClientChatMessageMessage
  | ClientChatDeletedMessage
  | ClientErrorMessage;

/** Each `ServerFrame` type by its wire `type`. */
export interface ServerMessageMap {
  "client/SESSION_STARTED": ClientSessionStartedMessage;
  "client/RESUME_SESSION": ClientResumeSessionMessage;
  "client/QUEUED": ClientQueuedMessage;
  "client/ALREADY_IN_QUEUE": ClientAlreadyInQueueMessage;
  "client/QUEUE_LEFT": ClientQueueLeftMessage;
  "client/PROPOSE_MATCHUP": ClientProposeMatchupMessage;
  "client/MATCHUP_CANCELLED": ClientMatchupCancelledMessage;
  "client/START_GAME": ClientStartGameMessage;
  "client/RESUME_GAME": ClientResumeGameMessage;
  "client/UPDATE_GAME": ClientUpdateGameMessage;
  "client/OFFER_DRAW": ClientOfferDrawMessage;
  "client/OPPONENT_PRESENCE": ClientOpponentPresenceMessage;
  "client/GAME_OVER": ClientGameOverMessage;
  "client/TOURNAMENT_JOINED": ClientTournamentJoinedMessage;
  "client/TOURNAMENT_LEFT": ClientTournamentLeftMessage;
  "client/TOURNAMENT_UPDATE": ClientTournamentUpdateMessage;
  "client/NOTIFICATION": ClientNotificationMessage;
  "client/WATCH_GAME": ClientWatchGameMessage;
  "client/UNWATCHED": ClientUnwatchedMessage;
  "client/CROWD": ClientCrowdMessage;
  "client/CHAT_HISTORY": ClientChatHistoryMessage;
  "client/CHAT_MESSAGE": ClientChatMessageMessage;
  "client/CHAT_DELETED": ClientChatDeletedMessage;
  "client/ERROR": ClientErrorMessage;
}

// The protocol's numbers (protocol.js, from client-protocol/src/constants.rs).
/** Close code 1008 (policy): over the rate limit for too long, too slow to read its messages, or another user's session. Do not reconnect blindly. */
export declare const CLOSE_POLICY: 1008;
/** Close code 1012 (service restart): the node is restarting or draining. Reconnect, to any node, with the same session and resume. */
export declare const CLOSE_RESTART: 1012;
/** Close code 4000, sent by a client: it closes a socket it believes dead (the network changed) before it opens a new one. */
export declare const CLOSE_NETWORK_CHANGED: 4000;
/** Close code 4001: this session connected again on another socket, which now owns it. Do not reconnect. */
export declare const CLOSE_TAKEN_OVER: 4001;
/** Close code 4003: the account is banned (v1.1); the `client/ERROR` `banned` before it says until when. Do not reconnect. */
export declare const CLOSE_BANNED: 4003;
/** The close codes after which a client does not reconnect by itself. */
export declare const NO_RECONNECT_CLOSE_CODES: readonly [1008, 4001, 4003];
/** Largest text frame a node accepts, in bytes; a larger one gets `bad_frame`. */
export declare const MAX_FRAME_BYTES: 16384;
/** Longest `ref` a client may attach to a message, in characters. */
export declare const MAX_REF_CHARS: 64;
/** Shortest username, in characters. */
export declare const USERNAME_MIN_CHARS: 3;
/** Longest username, in characters. */
export declare const USERNAME_MAX_CHARS: 20;
/** Shortest password, in characters. */
export declare const PASSWORD_MIN_CHARS: 8;
/** Longest password, in characters. */
export declare const PASSWORD_MAX_CHARS: 128;
/** How long a node waits by default for both players' `game/PLAYER_READY` before it aborts the game, in ms (`ROOKERY_READY_TIMEOUT_MS` changes it). */
export declare const READY_TIMEOUT_MS: 60000;
/** How long a client waits for the answer to a message before it gives up, in ms. */
export declare const REQUEST_TIMEOUT_MS: 10000;
/** Reconnect backoff: the delay before the first attempt, in ms. */
export declare const RECONNECT_INITIAL_DELAY_MS: 250;
/** Reconnect backoff: the largest delay, in ms. */
export declare const RECONNECT_MAX_DELAY_MS: 10000;
/** Reconnect backoff: each attempt waits this many times longer than the one before. */
export declare const RECONNECT_FACTOR: 2;
/** Reconnect backoff: up to this share of each delay, in percent, is taken away at random, so that clients dropped together (a node draining with 1012) do not all come back at once. */
export declare const RECONNECT_JITTER_PERCENT: 50;
// ---- END GENERATED ----

// ---------------------------------------------------------------------------------------------
// The SDK

/** Every `type` a client may send (`server/` and `game/`). */
export declare const CLIENT_MESSAGE_TYPES: ReadonlyArray<keyof ClientMessageMap>;
/** Every `type` a node sends (`client/`); each is also an event of `RookeryClient`. */
export declare const SERVER_MESSAGE_TYPES: ReadonlyArray<keyof ServerMessageMap>;
/** The `RookeryClient` method that sends each client message type. */
export declare const HELPERS: Readonly<Record<keyof ClientMessageMap, string>>;
/** Close codes after which the client does not reconnect: 1008 (policy) and 4001 (taken over). */
export declare const FINAL_CLOSE_CODES: Readonly<{ POLICY: typeof CLOSE_POLICY; TAKEN_OVER: typeof CLOSE_TAKEN_OVER; BANNED: typeof CLOSE_BANNED }>;
/** 1012: the node is restarting or draining; the client reconnects and resumes. */
export declare const RESTART_CLOSE_CODE: typeof CLOSE_RESTART;

/** Error codes of the SDK itself, besides the node's `ErrorCode`s. */
export type SdkErrorCode = "timeout" | "disconnected" | "closed" | "taken_over" | "not_in_game" | "http_error";

/** A `client/ERROR`, an HTTP error body, or an SDK error. */
export declare class RookeryError extends Error {
  constructor(code: string, message: string, details?: { ref?: string; frame?: object; status?: number });
  readonly code: ErrorCode | SdkErrorCode;
  /** The `ref` of the message that caused it. */
  readonly ref?: string;
  /** The `client/ERROR` frame, for node errors. */
  readonly frame?: ClientErrorMessage;
  /** The HTTP status, for HTTP errors. */
  readonly status?: number;
}

/** Where the node is and how to reach it over HTTP. */
export interface HttpOptions {
  /** The node's base URL, e.g. `http://127.0.0.1:8080`; default: the page's own location. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  /**
   * Instead of `token`: this client's token, renewed first when it is expired or about to be
   * (and once more after a 401); its `baseUrl` and `fetch` unless given here.
   */
  client?: RookeryClient;
  fetch?: typeof fetch;
}

/** The answer of a sign-in or a renewal, with the refresh token and expiry always there. */
export interface SignedIn extends AuthResponse {
  refreshToken: string;
  expiresAt: number;
}

export declare function guest(options?: HttpOptions): Promise<AuthResponse>;
export declare function register(username: string, password: string, options?: HttpOptions): Promise<AuthResponse>;
export declare function login(username: string, password: string, options?: HttpOptions): Promise<AuthResponse>;
/**
 * `POST /api/auth/refresh`: renews the sign-in; `refreshToken` is spent (keep the new one).
 * null leaves it to the browser's `rookery_refresh` cookie. Rejects with `unauthenticated`.
 */
export declare function refresh(
  refreshToken: string | null,
  options?: Omit<HttpOptions, "token" | "client"> & { session?: string | null },
): Promise<SignedIn>;
/**
 * `POST /api/auth/logout`: the sign-in ends on every node (`token` and/or `refreshToken`; in
 * a browser the cookies stand in), and `session` can no longer be resumed. Resolves with null.
 */
export declare function logout(
  options?: Omit<HttpOptions, "client"> & { refreshToken?: string | null; session?: string | null },
): Promise<null>;
export declare function me(options?: HttpOptions): Promise<UserProfile>;
export declare function getUser(name: string, options?: HttpOptions): Promise<UserProfile>;
export declare function getUserGames(name: string, options?: HttpOptions & { limit?: number }): Promise<GameRecord[]>;
export declare function getGame(id: string, options?: HttpOptions): Promise<GameRecord>;
export declare function getQueues(options?: HttpOptions): Promise<QueueSize[]>;

/** One game of `GET /api/games/live` (v1.1). */
export interface LiveGame {
  game: string;
  kind: GameKind;
  players: PlayerView[];
  /** Moves played, as of at most a few seconds ago. */
  seq: number;
  startedAt: number;
  watchers: number;
  rated: boolean;
  /** The tournament it belongs to, or null. */
  tournament: string | null;
}
/** `GET /api/games/live`: the games being played, most watched first. */
export interface LiveGames {
  games: LiveGame[];
}
/** The filters of `getLiveGames`: a game kind, and at most `limit` (1-100) games. */
export interface LiveGamesQuery {
  game?: GameKind | "" | null;
  limit?: number | null;
}
/** `GET /api/games/live?game=&limit=` (v1.1). */
export declare function getLiveGames(query?: LiveGamesQuery, options?: HttpOptions): Promise<LiveGames>;

// Administration (v1.1): every call needs `token`; the node checks the role each time (401
// without a valid token, 403 `forbidden` without the role, 404 `not_found` for no such user).

/** Every audit event type, in the protocol's order. */
export declare const AUDIT_TYPES: ReadonlyArray<AuditType>;
/** A ban or mute: `durationMs` null (or absent) = until lifted. */
export interface SanctionRequest {
  reason?: string;
  durationMs?: number | null;
}
/** The filters of `searchAudit`; empty and null ones are left out. */
export interface AuditQuery {
  type?: AuditType | "" | null;
  actor?: string | null;
  target?: string | null;
  /** Instants in ms since the Unix epoch. */
  since?: number | null;
  until?: number | null;
  limit?: number | null;
  /** The `next` of the page before. */
  before?: number | null;
}
/** `GET /api/admin/users/{name}` (moderator). */
export declare function getAdminUser(name: string, options?: HttpOptions): Promise<AdminUserView>;
/** `PUT /api/admin/users/{name}/roles` (admin). */
export declare function setUserRoles(name: string, roles: Role[], options?: HttpOptions): Promise<AdminUserView>;
/** `POST /api/admin/users/{name}/ban` (moderator). */
export declare function banUser(name: string, sanction: SanctionRequest, options?: HttpOptions): Promise<AdminUserView>;
/** `DELETE /api/admin/users/{name}/ban` (moderator). */
export declare function unbanUser(name: string, options?: HttpOptions): Promise<AdminUserView>;
/** `POST /api/admin/users/{name}/mute` (moderator). */
export declare function muteUser(name: string, sanction: SanctionRequest, options?: HttpOptions): Promise<AdminUserView>;
/** `DELETE /api/admin/users/{name}/mute` (moderator). */
export declare function unmuteUser(name: string, options?: HttpOptions): Promise<AdminUserView>;
/** `GET /api/admin/audit` (admin): newest first; pass `next` as `before` for the next page. */
export declare function searchAudit(query?: AuditQuery, options?: HttpOptions): Promise<AuditPage>;
/** `GET /api/admin/audit/verify` (admin). */
export declare function verifyAudit(options?: HttpOptions): Promise<AuditVerify>;

// Tournaments (v1.1). Anyone lists and reads them; `joinTournament` and `withdrawTournament`
// take the player's `token`; the others are for admins (401, then 403 `forbidden`, then 404).

/** Every tournament status, in order. */
export declare const TOURNAMENT_STATUSES: ReadonlyArray<TournamentStatus>;
/** Body of `POST /api/tournaments`: `durationMs` for an arena, `rounds` (1-20) for a swiss. */
export interface TournamentCreate {
  name: string;
  format: TournamentFormat;
  game: GameKind;
  /** null or absent: untimed. */
  clock?: ClockSpec | null;
  rated: boolean;
  /** ms since the Unix epoch; not in the future: it starts at once. */
  startsAt: number;
  durationMs?: number | null;
  rounds?: number | null;
  maxPlayers?: number | null;
}
/** `GET /api/tournaments`. */
export interface TournamentList {
  tournaments: TournamentView[];
}
/** One registered player; `by` is who registered them (their own name, or the admin's). */
export interface Registration {
  name: string;
  rating: number;
  registeredAt: number;
  by?: string;
}
/** `GET /api/tournaments/{id}/registrations` (admin), oldest first. */
export interface RegistrationList {
  registrations: Registration[];
}
/** `GET /api/tournaments?status=` (no status: every one). */
export declare function getTournaments(query?: { status?: TournamentStatus | "" | null }, options?: HttpOptions): Promise<TournamentList>;
/** `GET /api/tournaments/{id}`. */
export declare function getTournament(id: string, options?: HttpOptions): Promise<TournamentView>;
/** `POST /api/tournaments` (admin): the new tournament. */
export declare function createTournament(spec: TournamentCreate, options?: HttpOptions): Promise<TournamentView>;
/** `POST /api/tournaments/{id}/cancel` (admin). */
export declare function cancelTournament(id: string, options?: HttpOptions): Promise<TournamentView>;
/** `POST /api/tournaments/{id}/join`: the caller registers. */
export declare function joinTournament(id: string, options?: HttpOptions): Promise<TournamentView>;
/** `POST /api/tournaments/{id}/withdraw`: the caller withdraws. */
export declare function withdrawTournament(id: string, options?: HttpOptions): Promise<TournamentView>;
/** `GET /api/tournaments/{id}/registrations` (admin). */
export declare function getRegistrations(id: string, options?: HttpOptions): Promise<RegistrationList>;
/** `POST /api/tournaments/{id}/registrations` (admin): registers `username`. */
export declare function addRegistration(id: string, username: string, options?: HttpOptions): Promise<TournamentView>;
/** `DELETE /api/tournaments/{id}/registrations/{name}` (admin). */
export declare function removeRegistration(id: string, name: string, options?: HttpOptions): Promise<TournamentView>;

/** The game as the client sees it: the last full view with every update folded in. */
export interface GameState extends Omit<GameView, "clock" | "you"> {
  clock?: ClockSpec | null;
  /** Your side. */
  you: Side;
  lastMove: Move | null;
  /** `performance.now()` when the last clocks arrived (see `remainingMs`). */
  receivedAt: number;
  /** Set by `client/GAME_OVER`. */
  result: GameResult | null;
  reason: EndReason | null;
  ratingChange: RatingChange | null;
  /** The last `client/OPPONENT_PRESENCE`, with `at` its `performance.now()` arrival. */
  opponentPresence: { connected: boolean; graceMs: number; at: number } | null;
  /** The game ended while this client was away; look it up with `getUserGames`. */
  endedWhileAway?: boolean;
  /**
   * How many watch it, from the last `client/CROWD` (v1.1): 0 for your game until one comes,
   * null for a watched game until one comes.
   */
  watchers: number | null;
}

/**
 * A game this client watches (v1.1): its `client/WATCH_GAME` view with every update, draw
 * offer, crowd count and the result folded in; `you` is null.
 */
export interface WatchedGame extends Omit<GameState, "you" | "opponentPresence" | "endedWhileAway"> {
  you: null;
  opponentPresence: null;
}

/** A chat room's name (v1.1). */
export type ChatRoom = "lobby" | `game:${string}` | `watchers:${string}` | `tournament:${string}`;

/** Milliseconds left on `side`'s clock now, counting down locally while it runs. */
export declare function remainingMs(game: GameState | WatchedGame | null, side: Side, now?: number): number;
/** Milliseconds before a disconnected opponent loses by abandonment, or null if connected. */
export declare function opponentGraceLeftMs(game: GameState | null, now?: number): number | null;

export interface ReconnectPolicy {
  /** First delay (default 250 ms). */
  initialDelayMs?: number;
  /** Largest delay (default 10 000 ms). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Up to this share of each delay is taken away at random (default 0.5). */
  jitter?: number;
  /** Attempts in a row before giving up (default: never give up). */
  maxAttempts?: number;
}

/** The delay before reconnect attempt `attempt` (0-based). */
export declare function backoffDelay(attempt: number, policy?: ReconnectPolicy, random?: () => number): number;

/** What the `tokens` and `session` events carry: store it to stay signed in after a reload. */
export interface Identity {
  token: string | null;
  /** Renews `token` (`refresh()`); null when unknown. */
  refreshToken: string | null;
  /** When `token` expires (ms since the epoch); null when unknown. */
  expiresAt: number | null;
  session: string | null;
  user: UserView | null;
}

export interface ClientOptions {
  baseUrl?: string;
  token?: string | null;
  session?: string | null;
  /** Renews `token` before it expires (from a sign-in's answer or `client/SESSION_STARTED`). */
  refreshToken?: string | null;
  /** When `token` expires (ms since the epoch); default: read from the token. */
  expiresAt?: number | null;
  /** Called with the new tokens whenever they change (a `tokens` listener): store them. */
  onTokens?: (tokens: Identity) => void;
  /** Renew a token this close to its expiry, at most half its lifetime (default 60 000 ms). */
  refreshMarginMs?: number;
  /** The `fetch` of renewals, logout and `{client}` HTTP calls (default: the global one). */
  fetch?: typeof fetch;
  /** A WebSocket implementation (default: the global one). */
  WebSocket?: typeof WebSocket;
  /** How long a request waits for its answer (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** `false` to never reconnect; default: reconnect forever with backoff and jitter. */
  reconnect?: boolean | ReconnectPolicy;
  /** Random numbers in [0, 1) for the jitter and refs (default Math.random). */
  random?: () => number;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Also settle on a frame this accepts (for messages the node answers without the ref). */
  settle?: (frame: ServerFrame) => boolean;
  /** Send again after a reconnect if unanswered (default true; false rejects with `disconnected`). */
  resend?: boolean;
}

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/** Events besides the `client/...` message types. */
export interface LifecycleEvents {
  /** Every frame from the node. */
  message: ServerFrame;
  /** A session was started or resumed on a (new) socket. */
  connected: { resumed: boolean; frame: ClientSessionStartedMessage | ClientResumeSessionMessage | null };
  /** The socket dropped. */
  disconnected: { code: number; reason: string; willReconnect: boolean; delayMs?: number };
  /** A reconnect attempt is scheduled. */
  reconnecting: { attempt: number; delayMs: number; code: number };
  /** The client stopped for good (closed, taken over, refused, or out of attempts). */
  closed: { code: number; reason: string; error: RookeryError };
  /** The token or session changed: store them to resume after a reload. */
  session: Identity;
  /** The token, refresh token or expiry changed (a sign-in, a renewal, a logout): store them. */
  tokens: Identity;
  /** The current game changed. */
  game: GameState;
  /** A watched game changed (v1.1). */
  watched: WatchedGame;
}

export type ClientEvents = { [K in keyof ServerMessageMap]: ServerMessageMap[K] } & LifecycleEvents;

export declare class RookeryClient {
  constructor(options?: ClientOptions);
  readonly state: ConnectionState;
  readonly token: string | null;
  readonly session: string | null;
  /** The refresh token that renews `token`, or null. */
  readonly refreshToken: string | null;
  /** When `token` expires (ms since the epoch), or null. */
  readonly expiresAt: number | null;
  /** Tokens this close to their expiry are renewed before a socket or HTTP call. */
  refreshMarginMs: number;
  readonly user: UserView | null;
  /** The queue this session is in. */
  readonly queue: QueueSpec | null;
  /** The pending matchup proposal. */
  readonly matchup: ClientProposeMatchupMessage | null;
  /** The current (or last) game. */
  readonly game: GameState | null;

  on<K extends keyof ClientEvents>(type: K, listener: (payload: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(type: K, listener: (payload: ClientEvents[K]) => void): void;
  once<K extends keyof ClientEvents>(
    type: K,
    options?: { filter?: (payload: ClientEvents[K]) => boolean; timeoutMs?: number },
  ): Promise<ClientEvents[K]>;

  /** Opens the socket; resolves with the opening frame (null for an anonymous socket). */
  connect(): Promise<ClientSessionStartedMessage | ClientResumeSessionMessage | null>;
  /** Closes for good. */
  close(): void;
  /** The `/ws` URL with the current session (the token is not in it). */
  socketUrl(): string;
  /** The subprotocols offered: `["rookery", "rookery.bearer.<token>"]`, or null without a token. */
  socketProtocols(): string[] | null;

  /**
   * `POST /api/auth/refresh` with the refresh token: the new pair replaces the old (the
   * `tokens` event). One at a time; concurrent calls share it. Rejects with `unauthenticated`.
   */
  refresh(): Promise<SignedIn>;
  /** A token good for a while: the current one, renewed first when it is about to expire. */
  freshToken(): Promise<string | null>;
  /** Closes, `POST /api/auth/logout` (the sign-in ends on every node), forgets the tokens. */
  logout(): Promise<void>;

  /** Sends with a fresh `ref`; resolves with the reply echoing it, rejects on its `client/ERROR`. */
  request(message: ClientFrame, options?: RequestOptions): Promise<ServerFrame>;
  /** Sends without a ref and without waiting. */
  send(message: ClientFrame): void;

  registerUser(username: string, password: string, options?: RequestOptions): Promise<ClientSessionStartedMessage>;
  login(username: string, password: string, options?: RequestOptions): Promise<ClientSessionStartedMessage>;
  guest(options?: RequestOptions): Promise<ClientSessionStartedMessage>;
  startMatchmaking(
    queue: { game: GameKind; clock?: ClockSpec | null; rated?: boolean },
    options?: RequestOptions,
  ): Promise<ClientQueuedMessage | ClientAlreadyInQueueMessage>;
  cancelMatchmaking(options?: RequestOptions): Promise<ClientQueueLeftMessage>;
  /** Resolves when the matchup resolves: accepted, `client/START_GAME` or `client/MATCHUP_CANCELLED`; declined, `client/QUEUE_LEFT`. */
  replyMatchup(
    matchup: string,
    accept: boolean,
    options?: RequestOptions,
  ): Promise<ClientStartGameMessage | ClientMatchupCancelledMessage | ClientQueueLeftMessage>;
  /** Resolves with the `client/UPDATE_GAME` that starts the game (or `client/GAME_OVER`). */
  playerReady(game?: string, options?: RequestOptions): Promise<ClientUpdateGameMessage | ClientGameOverMessage>;
  /** Resolves with the acknowledging `client/UPDATE_GAME`; re-sent with the same seq after a reconnect. */
  playerMove(game: string, seq: number, move: Move, options?: RequestOptions): Promise<ClientUpdateGameMessage>;
  /** `playerMove` in the current game at its current seq. */
  move(move: Move, options?: RequestOptions): Promise<ClientUpdateGameMessage>;
  offerDraw(game?: string, options?: RequestOptions): Promise<ClientOfferDrawMessage | ClientGameOverMessage>;
  declineDraw(game?: string, options?: RequestOptions): Promise<ClientUpdateGameMessage>;
  concede(game?: string, options?: RequestOptions): Promise<ClientGameOverMessage>;

  /** The tournaments this client watches (sent again after every reconnect). */
  readonly watching: string[];
  /** `server/JOIN_TOURNAMENT`; joining again changes nothing. */
  joinTournament(tournament: string, options?: RequestOptions): Promise<ClientTournamentJoinedMessage>;
  /** `server/WITHDRAW_TOURNAMENT`; also resolves when not registered. */
  withdrawTournament(tournament: string, options?: RequestOptions): Promise<ClientTournamentLeftMessage>;
  /** `server/WATCH_TOURNAMENT`: resolves with the first `client/TOURNAMENT_UPDATE`; the rest are events. */
  watchTournament(tournament: string, options?: RequestOptions): Promise<ClientTournamentUpdateMessage>;
  /** `server/UNWATCH_TOURNAMENT` (no answer). */
  unwatchTournament(tournament: string): void;

  /** The games watched, each folded from its `client/WATCH_GAME` and what followed (v1.1). */
  readonly watchedGames: WatchedGame[];
  /** One watched game, or null; a finished one stays until `unwatchGame`. */
  watchedGame(game: string): WatchedGame | null;
  /** `server/WATCH_GAME`: resolves with the game's `client/WATCH_GAME`; the session keeps the watch across reconnects until the game ends. */
  watchGame(game: string, options?: RequestOptions): Promise<ClientWatchGameMessage>;
  /** `server/UNWATCH_GAME`: resolves with `client/UNWATCHED`. */
  unwatchGame(game: string, options?: RequestOptions): Promise<ClientUnwatchedMessage>;

  /** The chat rooms joined (joined again on every new socket until left or closed). */
  readonly rooms: string[];
  /** `server/CHAT_JOIN`: resolves with the room's `client/CHAT_HISTORY` (the last 50, oldest first). */
  chatJoin(room: ChatRoom, options?: RequestOptions): Promise<ClientChatHistoryMessage>;
  /** `server/CHAT_LEAVE` (no answer). */
  chatLeave(room: ChatRoom): void;
  /** `server/CHAT_SEND`: resolves with your own `client/CHAT_MESSAGE`; never sent twice. */
  chatSend(room: ChatRoom, text: string, options?: RequestOptions): Promise<ClientChatMessageMessage>;
  /** `server/CHAT_DELETE` (moderators): resolves with `client/CHAT_DELETED`. */
  chatDelete(room: ChatRoom, id: string, options?: RequestOptions): Promise<ClientChatDeletedMessage>;
}

/** `new RookeryClient(options)` and `connect()`. */
export declare function connect(options?: ClientOptions): Promise<RookeryClient>;
