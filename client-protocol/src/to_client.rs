//! Messages nodes send to clients: the `client/` namespace.

use serde::{Deserialize, Serialize};

use crate::common::*;

/// One frame to a client: the message plus the `ref` of the client message it answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ServerFrame {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(flatten)]
    pub message: ServerMessage,
}

wire_messages! {
    /// Every message a node sends to a client, tagged by `type`.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    #[serde(tag = "type")]
    pub enum ServerMessage {
        #[serde(rename_all = "camelCase")]
        SessionStarted {
            session: String,
            token: String,
            user: UserView,
            /// Added: renews the sign-in at `POST /api/auth/refresh` once `token` expires;
            /// null when the socket opened with a token (its client holds its own).
            #[serde(default)]
            refresh_token: Option<String>,
            /// Added: when `token` expires (ms since the epoch).
            #[serde(default)]
            expires_at: u64,
        } = "client/SESSION_STARTED",
        ResumeSession {
            session: String,
            user: UserView,
            queue: Option<QueueSpec>,
            /// The pending matchup's id; its `client/PROPOSE_MATCHUP` is sent again right after.
            matchup: Option<String>,
            game: Option<String>,
        } = "client/RESUME_SESSION",
        #[serde(rename_all = "camelCase")]
        Queued { queue: QueueSpec, queued_at: u64 } = "client/QUEUED",
        AlreadyInQueue { queue: QueueSpec } = "client/ALREADY_IN_QUEUE",
        QueueLeft {
            queue: QueueSpec,
            reason: QueueLeftReason,
        } = "client/QUEUE_LEFT",
        #[serde(rename_all = "camelCase")]
        ProposeMatchup {
            matchup: String,
            queue: QueueSpec,
            opponent: Opponent,
            expires_at: u64,
        } = "client/PROPOSE_MATCHUP",
        MatchupCancelled {
            matchup: String,
            reason: MatchupCancelReason,
        } = "client/MATCHUP_CANCELLED",
        StartGame(GameView) = "client/START_GAME",
        ResumeGame(GameView) = "client/RESUME_GAME",
        UpdateGame(GameUpdate) = "client/UPDATE_GAME",
        OfferDraw { game: String, from: Side } = "client/OFFER_DRAW",
        #[serde(rename_all = "camelCase")]
        OpponentPresence {
            game: String,
            connected: bool,
            grace_ms: u64,
        } = "client/OPPONENT_PRESENCE",
        #[serde(rename_all = "camelCase")]
        GameOver {
            game: String,
            result: GameResult,
            reason: EndReason,
            rating_change: Option<RatingChange>,
        } = "client/GAME_OVER",
        /// v1.1: registered for a tournament (by the player; an admin's add is a notification).
        TournamentJoined { tournament: String } = "client/TOURNAMENT_JOINED",
        /// v1.1: no longer registered.
        TournamentLeft {
            tournament: String,
            reason: crate::tournament::TournamentLeftReason,
        } = "client/TOURNAMENT_LEFT",
        /// v1.1: the tournament changed (start, pairings, results, end); at most 2 per second.
        TournamentUpdate {
            tournament: Box<crate::tournament::TournamentView>,
        } = "client/TOURNAMENT_UPDATE",
        /// v1.1: something for the account, on each of its open sockets.
        Notification(Notification) = "client/NOTIFICATION",
        /// v1.1: the answer to `server/WATCH_GAME`: the full game view with `you` null.
        WatchGame(GameView) = "client/WATCH_GAME",
        /// v1.1: no longer watching (the answer to `server/UNWATCH_GAME`).
        Unwatched { game: String } = "client/UNWATCHED",
        /// v1.1: how many watch a game, to its players and watchers; at most 1 per second.
        Crowd { game: String, watchers: u32 } = "client/CROWD",
        /// v1.1: a room's last 50 messages, oldest first (the answer to `server/CHAT_JOIN`).
        ChatHistory {
            room: String,
            messages: Vec<ChatLine>,
        } = "client/CHAT_HISTORY",
        /// v1.1: a message said in a room the socket is in.
        ChatMessage(ChatLine) = "client/CHAT_MESSAGE",
        /// v1.1: a moderator deleted a message.
        ChatDeleted { room: String, id: String } = "client/CHAT_DELETED",
        Error {
            code: ErrorCode,
            message: String,
            /// v1.1: on `banned` and `playban` only.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            until: Option<Until>,
        } = "client/ERROR",
    }
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
            until: None,
        }
    }
}

/// The opponent in a matchup proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Opponent {
    pub name: String,
    pub rating: i32,
}

/// A player seated in a game.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlayerView {
    pub name: String,
    pub rating: i32,
    pub side: Side,
}

/// The full game view of `client/START_GAME` and `client/RESUME_GAME`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GameView {
    pub game: String,
    pub kind: GameKind,
    pub players: Vec<PlayerView>,
    /// The side of the socket's player; null for a watcher (`client/WATCH_GAME`).
    pub you: Option<Side>,
    pub seq: u32,
    pub moves: Vec<Move>,
    pub position: Position,
    pub clocks: Clocks,
    pub to_move: Side,
    pub status: GameStatus,
    pub draw_offer: Option<Side>,
    pub rated: bool,
    /// Added: the time control (null for an untimed game).
    pub clock: Option<ClockSpec>,
    /// v1.1: the tournament this game belongs to (its id), null for other games.
    #[serde(default)]
    pub tournament: Option<String>,
}

/// `client/UPDATE_GAME`: the state after a move, a ready, or a declined draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GameUpdate {
    pub game: String,
    pub seq: u32,
    pub last_move: Option<Move>,
    pub position: Position,
    pub clocks: Clocks,
    pub to_move: Side,
    pub status: GameStatus,
    /// Added: the side whose draw offer is pending, or null.
    pub draw_offer: Option<Side>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_frame_carries_code_message_and_ref() {
        let frame = ServerFrame {
            reference: Some("r9".into()),
            message: ServerMessage::error(ErrorCode::StaleSeq, "seq 2 is not the current 3"),
        };
        let value: serde_json_value::Value = serde_json::to_value(&frame).unwrap();
        assert_eq!(value["type"], "client/ERROR");
        assert_eq!(value["code"], "stale_seq");
        assert_eq!(value["ref"], "r9");
    }

    #[test]
    fn a_game_view_is_flattened_into_start_game() {
        let view = GameView {
            game: "g1".into(),
            kind: GameKind::TicTacToe,
            players: vec![],
            you: Some(Side::First),
            seq: 0,
            moves: vec![],
            position: Position::Rows(vec!["...".into(); 3]),
            clocks: Clocks {
                first: 1000,
                second: 1000,
                running: None,
            },
            to_move: Side::First,
            status: GameStatus::WaitingReady,
            draw_offer: None,
            rated: false,
            clock: None,
            tournament: None,
        };
        let text = serde_json::to_string(&ServerFrame {
            reference: None,
            message: ServerMessage::StartGame(view.clone()),
        })
        .unwrap();
        assert!(text.contains(r#""type":"client/START_GAME""#), "{text}");
        assert!(text.contains(r#""toMove":"first""#), "{text}");
        let back: ServerFrame = serde_json::from_str(&text).unwrap();
        assert_eq!(back.message, ServerMessage::StartGame(view));
    }

    mod serde_json_value {
        pub use serde_json::Value;
    }
}
