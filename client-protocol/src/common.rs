//! Vocabulary shared by both directions: game kinds, sides, clocks, queues, results, errors.

use serde::{Deserialize, Serialize};

// The one table of game kinds: the queue keys, the rules dispatch (an exhaustive match in
// `src/games`), the schema and through it the SDK and the page read it.
wire_names! {
    /// The games a node can host.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum GameKind {
        TicTacToe = "tictactoe",
        Connect4 = "connect4",
        Chess = "chess",
    }
}

/// A seat at the table. Chess: `first` is white. The first side moves first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Side {
    First,
    Second,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::First => Side::Second,
            Side::Second => Side::First,
        }
    }

    /// 0 for `first`, 1 for `second`: handy for two-element arrays.
    pub fn index(self) -> usize {
        match self {
            Side::First => 0,
            Side::Second => 1,
        }
    }

    pub const BOTH: [Side; 2] = [Side::First, Side::Second];
}

/// A time control. `null` on the wire means an untimed game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClockSpec {
    pub initial_ms: u64,
    pub increment_ms: u64,
}

/// A matchmaking queue: which game, which clock, rated or not. All three fields are required,
/// as the protocol lists them: `clock` may be null (untimed) but not absent, so a client that
/// forgot it is told instead of being queued for something it did not choose.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["game", "clock", "rated"]))
)]
#[serde(rename_all = "camelCase")]
pub struct QueueSpec {
    pub game: GameKind,
    /// Required; null for an untimed game.
    #[serde(deserialize_with = "Option::deserialize")]
    pub clock: Option<ClockSpec>,
    pub rated: bool,
}

/// A move on the wire: chess in UCI (`"e2e4"`), tic-tac-toe a cell 0-8, connect-four a
/// column 0-6. Nodes accept a cell or column as a number or a numeric string and always
/// send numbers for those games.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Move {
    Index(u32),
    Text(String),
}

impl std::fmt::Display for Move {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Move::Index(n) => write!(f, "{n}"),
            Move::Text(s) => f.write_str(s),
        }
    }
}

/// A game position: a FEN string for chess, rows (top row first) for the other games,
/// where `x` is the first side's mark, `o` the second's and `.` an empty cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Position {
    Fen(String),
    Rows(Vec<String>),
}

/// Remaining time per side, and whose clock is running (null when none is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Clocks {
    pub first: u64,
    pub second: u64,
    pub running: Option<Side>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GameStatus {
    WaitingReady,
    Playing,
    Over,
}

/// Who won: a side, a draw, or nobody (`aborted`: the game never really started).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GameResult {
    First,
    Second,
    Draw,
    Aborted,
}

impl GameResult {
    pub fn win_for(side: Side) -> Self {
        match side {
            Side::First => GameResult::First,
            Side::Second => GameResult::Second,
        }
    }
}

wire_names! {
    /// Why a game ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum EndReason {
        Checkmate = "checkmate",
        Resign = "resign",
        Timeout = "timeout",
        DrawAgreed = "draw_agreed",
        Stalemate = "stalemate",
        Repetition = "repetition",
        FiftyMoves = "fifty_moves",
        InsufficientMaterial = "insufficient_material",
        Abandoned = "abandoned",
        /// Three (tic-tac-toe) or four (connect-four) in a line.
        Line = "line",
        BoardFull = "board_full",
    }
}

/// Why a player left a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum QueueLeftReason {
    Cancelled,
    Matched,
    Declined,
    Timeout,
}

/// Why a proposed matchup did not become a game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchupCancelReason {
    Declined,
    Timeout,
}

wire_names! {
    /// Every `client/ERROR` code. The protocol fixes the first seventeen; the rest are additions.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum ErrorCode {
        BadFrame = "bad_frame",
        UnknownType = "unknown_type",
        InvalidField = "invalid_field",
        Unauthenticated = "unauthenticated",
        Forbidden = "forbidden",
        NotStarted = "not_started",
        NotYourTurn = "not_your_turn",
        IllegalMove = "illegal_move",
        StaleSeq = "stale_seq",
        GameOver = "game_over",
        NotInGame = "not_in_game",
        NoSuchGame = "no_such_game",
        NoSuchMatchup = "no_such_matchup",
        RateLimited = "rate_limited",
        UsernameTaken = "username_taken",
        BadCredentials = "bad_credentials",
        Unavailable = "unavailable",
        /// Added: the session is already in a live game and cannot queue for another.
        AlreadyInGame = "already_in_game",
        /// Added: `server/CANCEL_MATCHMAKING` from a session that is in no queue.
        NotInQueue = "not_in_queue",
        /// Added: `game/DECLINE_DRAW` when the opponent has no draw offer pending.
        NoDrawOffer = "no_draw_offer",
        /// Added: an HTTP resource that does not exist (user, game, route).
        NotFound = "not_found",
        /// Added: a bug on the node; logged with details, reported without them.
        Internal = "internal",
        /// v1.1: the account is banned (`until` says until when; null: until lifted).
        Banned = "banned",
        /// v1.1: the account is muted: its chat is refused.
        Muted = "muted",
        /// v1.1: more than 5 chat messages in 10 s, or a repeat of one of the last two.
        ChatFlood = "chat_flood",
        /// v1.1: banned from queueing for a while (`until`).
        Playban = "playban",
        /// v1.1: the tournament has its maximum of players.
        TournamentFull = "tournament_full",
        /// v1.1: the tournament no longer takes registrations (started swiss, over, cancelled).
        TournamentClosed = "tournament_closed",
        /// v1.1: a player in a tournament game cannot queue.
        InTournamentGame = "in_tournament_game",
        /// Added (v1.1): the request conflicts with the resource's state (e.g. a role for a
        /// guest); HTTP 409.
        Conflict = "conflict",
        /// Added: an HTTP method the path does not serve (405, with `Allow`).
        MethodNotAllowed = "method_not_allowed",
    }
}

wire_names! {
    /// What an account may do beyond playing (v1.1). Guests never hold one.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum Role {
        Admin = "admin",
        Moderator = "moderator",
    }
}

/// When a sanction ends, on an error that carries it (`banned`, `playban`): an instant in ms,
/// or null for "until lifted". Absent on every other error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Until(pub Option<u64>);

wire_names! {
    /// What a notification is about. The protocol fixes these names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    pub enum NotificationKind {
        /// A tournament the user is registered for starts in 5 minutes, or now.
        TournamentStarting = "tournament_starting",
        /// An admin added the user to a tournament, or removed them.
        RegistrationChanged = "registration_changed",
        /// A game of the user's ended while they were away.
        GameFinished = "game_finished",
        /// The user may not queue until `data.until`.
        Playban = "playban",
        /// A ban, mute or role change on the account.
        Account = "account",
        /// Added, to moderators and admins: anti-cheat flagged an account (`data.user`).
        CheatFlagged = "cheat_flagged",
    }
}

/// One notification: `client/NOTIFICATION` carries it, `GET /api/me/notifications` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    /// One line for people.
    pub text: String,
    /// Unix ms.
    pub at: u64,
    /// What it is about, by id: `game`, `tournament`, `until` (ms, as text), `roles`.
    pub data: std::collections::BTreeMap<String, String>,
}

/// One chat message (`client/CHAT_MESSAGE`, the items of `client/CHAT_HISTORY` and of a
/// finished game's `chat`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatLine {
    pub room: String,
    pub id: String,
    /// The sender's name.
    pub from: String,
    /// Trimmed, NFC-normalised, 1-500 characters, no control characters.
    pub text: String,
    /// Unix ms.
    pub at: u64,
}

/// A user as clients see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub rating: i32,
    pub guest: bool,
    /// v1.1: `admin`, `moderator`; empty for a player (and always for a guest).
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// One player's rating before and after a rated game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RatingDelta {
    pub before: i32,
    pub after: i32,
    pub delta: i32,
}

/// Both players' rating changes after a rated game, keyed by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RatingChange {
    pub first: RatingDelta,
    pub second: RatingDelta,
}
