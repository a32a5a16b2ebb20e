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

/// Every message a client may send, tagged by `type`. Unknown fields are ignored so that
/// newer clients keep working against older nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type")]
pub enum ClientMessage {
    #[serde(rename = "server/REGISTER_USER")]
    RegisterUser { username: String, password: String },
    #[serde(rename = "server/LOGIN")]
    Login { username: String, password: String },
    #[serde(rename = "server/GUEST")]
    Guest,
    #[serde(rename = "server/START_MATCHMAKING")]
    StartMatchmaking { queue: QueueSpec },
    #[serde(rename = "server/CANCEL_MATCHMAKING")]
    CancelMatchmaking,
    #[serde(rename = "server/REPLY_MATCHUP")]
    ReplyMatchup { matchup: String, accept: bool },
    #[serde(rename = "game/PLAYER_READY")]
    PlayerReady { game: String },
    #[serde(rename = "game/PLAYER_MOVE")]
    PlayerMove {
        game: String,
        seq: u32,
        #[serde(rename = "move")]
        mv: Move,
    },
    #[serde(rename = "game/OFFER_DRAW")]
    OfferDraw { game: String },
    #[serde(rename = "game/DECLINE_DRAW")]
    DeclineDraw { game: String },
    #[serde(rename = "game/CONCEDE")]
    Concede { game: String },
}

impl ClientMessage {
    /// Every `type` a client may send. A type outside this list is `unknown_type`.
    pub const TYPES: &'static [&'static str] = &[
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
    ];

    /// The wire `type` of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::RegisterUser { .. } => "server/REGISTER_USER",
            ClientMessage::Login { .. } => "server/LOGIN",
            ClientMessage::Guest => "server/GUEST",
            ClientMessage::StartMatchmaking { .. } => "server/START_MATCHMAKING",
            ClientMessage::CancelMatchmaking => "server/CANCEL_MATCHMAKING",
            ClientMessage::ReplyMatchup { .. } => "server/REPLY_MATCHUP",
            ClientMessage::PlayerReady { .. } => "game/PLAYER_READY",
            ClientMessage::PlayerMove { .. } => "game/PLAYER_MOVE",
            ClientMessage::OfferDraw { .. } => "game/OFFER_DRAW",
            ClientMessage::DeclineDraw { .. } => "game/DECLINE_DRAW",
            ClientMessage::Concede { .. } => "game/CONCEDE",
        }
    }

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
    fn a_queue_without_clock_or_rated_defaults_to_untimed_unrated() {
        let text = r#"{"type":"server/START_MATCHMAKING","queue":{"game":"connect4"}}"#;
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
