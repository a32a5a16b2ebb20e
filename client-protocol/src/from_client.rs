//! Messages clients send: the `server/` namespace (to their node) and `game/` (to a game).

use serde::{Deserialize, Serialize};

use crate::common::{Move, QueueSpec};

/// One client frame: an optional `ref` the replies echo, and the message itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClientFrame {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(flatten)]
    pub message: ClientMessage,
}

wire_messages! {
    /// Every message a client may send, tagged by `type`. Unknown fields are ignored so that
    /// newer clients keep working against older nodes.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    #[serde(tag = "type")]
    pub enum ClientMessage {
        RegisterUser { username: String, password: String } = "server/REGISTER_USER",
        Login { username: String, password: String } = "server/LOGIN",
        Guest = "server/GUEST",
        StartMatchmaking { queue: QueueSpec } = "server/START_MATCHMAKING",
        CancelMatchmaking = "server/CANCEL_MATCHMAKING",
        ReplyMatchup { matchup: String, accept: bool } = "server/REPLY_MATCHUP",
        PlayerReady { game: String } = "game/PLAYER_READY",
        PlayerMove {
            game: String,
            seq: u32,
            #[serde(rename = "move")]
            mv: Move,
        } = "game/PLAYER_MOVE",
        OfferDraw { game: String } = "game/OFFER_DRAW",
        DeclineDraw { game: String } = "game/DECLINE_DRAW",
        Concede { game: String } = "game/CONCEDE",
        /// v1.1: register for a tournament (`client/TOURNAMENT_JOINED`).
        JoinTournament { tournament: String } = "server/JOIN_TOURNAMENT",
        /// v1.1: withdraw from it (`client/TOURNAMENT_LEFT`).
        WithdrawTournament { tournament: String } = "server/WITHDRAW_TOURNAMENT",
        /// v1.1: get its `client/TOURNAMENT_UPDATE`s (one at once with the current view).
        WatchTournament { tournament: String } = "server/WATCH_TOURNAMENT",
        /// v1.1: stop them; no reply.
        UnwatchTournament { tournament: String } = "server/UNWATCH_TOURNAMENT",
        /// v1.1: watch a live game (`client/WATCH_GAME`, then its updates).
        WatchGame { game: String } = "server/WATCH_GAME",
        /// v1.1: stop watching it (`client/UNWATCHED`).
        UnwatchGame { game: String } = "server/UNWATCH_GAME",
        /// v1.1: join a chat room (`client/CHAT_HISTORY`, then its messages).
        ChatJoin { room: String } = "server/CHAT_JOIN",
        /// v1.1: leave it; no reply.
        ChatLeave { room: String } = "server/CHAT_LEAVE",
        /// v1.1: say something in a room (`client/CHAT_MESSAGE` to every member).
        ChatSend { room: String, text: String } = "server/CHAT_SEND",
        /// v1.1 (moderators): delete a message (`client/CHAT_DELETED` to every member).
        ChatDelete { room: String, id: String } = "server/CHAT_DELETE",
    }
}

impl ClientMessage {
    /// May an anonymous (not yet authenticated) socket send this?
    pub fn allowed_anonymously(&self) -> bool {
        matches!(
            self,
            ClientMessage::RegisterUser { .. } | ClientMessage::Login { .. } | ClientMessage::Guest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::GameKind;

    #[test]
    fn a_move_frame_round_trips_with_its_ref() {
        let text = r#"{"type":"game/PLAYER_MOVE","ref":"m1","game":"g","seq":3,"move":"e2e4"}"#;
        let frame: ClientFrame = serde_json::from_str(text).unwrap();
        assert_eq!(frame.reference.as_deref(), Some("m1"));
        assert_eq!(
            frame.message,
            ClientMessage::PlayerMove {
                game: "g".into(),
                seq: 3,
                mv: Move::Text("e2e4".into())
            }
        );
        let back: ClientFrame =
            serde_json::from_str(&serde_json::to_string(&frame).unwrap()).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn a_queue_needs_game_clock_and_rated_and_clock_may_be_null() {
        let text = r#"{"type":"server/START_MATCHMAKING","queue":{"game":"connect4","clock":null,"rated":false}}"#;
        let frame: ClientFrame = serde_json::from_str(text).unwrap();
        assert_eq!(
            frame.message,
            ClientMessage::StartMatchmaking {
                queue: QueueSpec {
                    game: GameKind::Connect4,
                    clock: None,
                    rated: false
                }
            }
        );
        for (queue, missing) in [
            (r#"{"game":"connect4"}"#, "clock"),
            (r#"{"game":"connect4","clock":null}"#, "rated"),
            (r#"{"game":"connect4","rated":true}"#, "clock"),
            (r#"{"clock":null,"rated":true}"#, "game"),
        ] {
            let text = format!(r#"{{"type":"server/START_MATCHMAKING","queue":{queue}}}"#);
            let err = serde_json::from_str::<ClientFrame>(&text).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("missing field `{missing}`")),
                "{queue}: {err}"
            );
        }
    }

    #[test]
    fn every_listed_type_names_a_variant() {
        for ty in ClientMessage::TYPES {
            let probe = format!(r#"{{"type":"{ty}"}}"#);
            let err = serde_json::from_str::<ClientMessage>(&probe).err();
            // Either it parses (no required fields) or it fails on a missing field, never on the tag.
            if let Some(err) = err {
                assert!(err.to_string().contains("missing field"), "{ty}: {err}");
            }
        }
    }
}
