//! The messages actors send one another, possibly across nodes: addresses, the envelope that
//! carries one message to one actor, and every actor kind's commands.
//!
//! This is the lowest layer above the domain: the router moves envelopes without knowing what
//! they carry, and actors import their commands from here, not from each other's files. A new
//! actor kind adds its line to `actor_kinds!` below and its message types here; the router does
//! not change.

use std::fmt;

use client_protocol::{ErrorCode, Move, ServerFrame, ServerMessage};
use serde::{Deserialize, Serialize};

use crate::domain::{GameId, QueueKey, SessionId, TournamentId, UserId};

/// Declares every actor kind once: its address prefix and the message type its actor takes.
/// It generates [`ActorKind`], [`Body`] (what an envelope carries) and [`Deliverable`] for each
/// message, so a kind without a message, or a message without a kind, does not compile.
macro_rules! actor_kinds {
    ($($(#[$doc:meta])* $kind:ident = $prefix:literal => $message:ty),* $(,)?) => {
        /// The kinds of actor an address can name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ActorKind {
            $($(#[$doc])* $kind),*
        }

        impl ActorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ActorKind] = &[$(ActorKind::$kind),*];

            /// The prefix of this kind's keys (`game` in `game:AbC123xy`), also its metric label.
            pub fn prefix(self) -> &'static str {
                match self {
                    $(ActorKind::$kind => $prefix),*
                }
            }
        }

        /// What an envelope carries: the message of one actor kind.
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub enum Body {
            $($kind($message)),*
        }

        impl Body {
            /// The kind of actor this message is for.
            pub fn kind(&self) -> ActorKind {
                match self {
                    $(Body::$kind(_) => ActorKind::$kind),*
                }
            }
        }

        $(
            impl From<$message> for Body {
                fn from(message: $message) -> Body {
                    Body::$kind(message)
                }
            }

            impl Deliverable for $message {
                const KIND: ActorKind = ActorKind::$kind;

                fn from_body(body: Body) -> Result<Self, Body> {
                    match body {
                        Body::$kind(message) => Ok(message),
                        #[allow(unreachable_patterns)]
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

actor_kinds! {
    /// A player's websocket session (registered by its socket, not activated).
    Session = "session" => SessionEvent,
    /// A live game (virtual actor).
    Game = "game" => GameCommand,
    /// A matchmaking queue (virtual actor).
    Queue = "queue" => QueueCommand,
    /// An account's open sockets, on every node (a group: each socket of the user is a member).
    User = "user" => UserEvent,
    /// A tournament (virtual actor).
    Tournament = "tournament" => TournamentCommand,
    /// Sockets following something, on every node (a group): a tournament
    /// (`watch:tournament:<id>`), a game (`watch:game:<id>`), a chat room (`watch:chat:lobby`).
    Watchers = "watch" => FeedEvent,
    /// A request waiting on one node for one answer (an HTTP handler, a listener).
    Reply = "reply" => ReplyEvent,
}

/// A message type that one actor kind takes out of an envelope.
pub trait Deliverable: actix::Message<Result = ()> + Send + Sized + 'static {
    const KIND: ActorKind;
    /// The message, or the body back when it is for another kind.
    fn from_body(body: Body) -> Result<Self, Body>;
}

/// Where a message goes: an actor kind and its key (`game:AbC123xy`,
/// `queue:chess:300000+3000:rated`, `session:<id>`), which is also its bus channel and the key
/// of its snapshot and lease.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    kind: ActorKind,
    key: String,
}

impl Address {
    pub fn session(id: &SessionId) -> Address {
        Address::of(ActorKind::Session, id.as_str())
    }

    pub fn game(id: &GameId) -> Address {
        Address::of(ActorKind::Game, id.as_str())
    }

    pub fn user(id: &UserId) -> Address {
        Address::of(ActorKind::User, id.as_str())
    }

    pub fn queue(key: &QueueKey) -> Address {
        // A queue key already starts with `queue:`.
        Address {
            kind: ActorKind::Queue,
            key: key.to_string(),
        }
    }

    pub fn tournament(id: &TournamentId) -> Address {
        Address::of(ActorKind::Tournament, id.as_str())
    }

    /// The sockets that watch a tournament.
    pub fn tournament_watchers(id: &TournamentId) -> Address {
        Address::of(ActorKind::Watchers, &format!("tournament:{id}"))
    }

    /// The sockets that watch a game.
    pub fn game_watchers(id: &GameId) -> Address {
        Address::of(ActorKind::Watchers, &format!("game:{id}"))
    }

    /// The sockets in a chat room (`room` as the protocol names it: `lobby`, `game:<id>`).
    pub fn chat_room(room: &str) -> Address {
        Address::of(ActorKind::Watchers, &format!("chat:{room}"))
    }

    /// A fresh address for one answer.
    pub fn reply() -> Address {
        Address::of(ActorKind::Reply, &crate::domain::random_token(12))
    }

    fn of(kind: ActorKind, id: &str) -> Address {
        Address {
            kind,
            key: format!("{}:{id}", kind.prefix()),
        }
    }

    /// Reads a key back into an address (its kind is its prefix).
    pub fn parse(key: &str) -> Option<Address> {
        let prefix = key.split(':').next()?;
        let kind = ActorKind::ALL
            .iter()
            .copied()
            .find(|k| k.prefix() == prefix)?;
        Some(Address {
            kind,
            key: key.to_owned(),
        })
    }

    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// The bus channel and snapshot/lease key of this address.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The id part of the key (after the kind's prefix).
    pub fn id(&self) -> &str {
        &self.key[self.kind.prefix().len() + 1..]
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        Address::parse(&key).ok_or_else(|| serde::de::Error::custom(format!("no address {key}")))
    }
}

/// One message for one actor, as it travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub to: Address,
    pub body: Body,
}

impl Envelope {
    pub fn session(id: &SessionId, event: SessionEvent) -> Envelope {
        Envelope {
            to: Address::session(id),
            body: event.into(),
        }
    }

    /// A frame for a session's client (folded into its state first).
    pub fn push(id: &SessionId, frame: ServerFrame) -> Envelope {
        Envelope::session(
            id,
            SessionEvent::Push {
                frame: Box::new(frame),
            },
        )
    }

    pub fn game(id: &GameId, command: GameCommand) -> Envelope {
        Envelope {
            to: Address::game(id),
            body: command.into(),
        }
    }

    pub fn queue(key: &QueueKey, command: QueueCommand) -> Envelope {
        Envelope {
            to: Address::queue(key),
            body: command.into(),
        }
    }

    pub fn user(id: &UserId, event: UserEvent) -> Envelope {
        Envelope {
            to: Address::user(id),
            body: event.into(),
        }
    }

    /// The `client/ERROR` that tells this message's sender it could not be delivered, and the
    /// session it goes to (none for messages without a sender).
    pub fn refusal(&self, refusal: Refusal) -> Option<Envelope> {
        // What was not found: a game the client named (`no_such_game`), or a queue it could
        // only have named through a field (`invalid_field`).
        let (from, not_found) = match &self.body {
            Body::Game(command) => (command.from.as_ref()?, ErrorCode::NoSuchGame),
            Body::Queue(command) => (&command.from, ErrorCode::InvalidField),
            Body::Tournament(command) => match &command.from {
                Caller::Socket(from) => (from, ErrorCode::NotFound),
                Caller::Request(to) => {
                    let answer = match refusal {
                        Refusal::NotFound => {
                            Answer::refused(ErrorCode::NotFound, "no such tournament")
                        }
                        Refusal::Unavailable => Answer::refused(
                            ErrorCode::Unavailable,
                            "the tournament is unavailable, retry",
                        ),
                    };
                    return Some(Envelope {
                        to: to.clone(),
                        body: ReplyEvent(answer).into(),
                    });
                }
                Caller::Server => return None,
            },
            Body::Session(_) | Body::User(_) | Body::Watchers(_) | Body::Reply(_) => return None,
        };
        let what = format!("{} {}", self.to.kind().prefix(), self.to.id());
        let (code, message) = match refusal {
            Refusal::NotFound => (not_found, format!("no {what}")),
            Refusal::Unavailable => (
                ErrorCode::Unavailable,
                format!("{what} is unavailable, retry"),
            ),
        };
        let frame = ServerFrame {
            reference: from.reference.clone(),
            message: ServerMessage::error(code, message),
        };
        Some(Envelope::push(&from.session, frame))
    }
}

/// Why an actor could not be reached or activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// There is nothing to host (no snapshot of that game).
    NotFound,
    /// A dependency failed; the sender may retry.
    Unavailable,
}

/// Who sent a command to an actor, and where its replies go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    pub session: SessionId,
    pub user: UserId,
    /// The client message's `ref`, echoed by the reply.
    pub reference: Option<String>,
    /// The node the sender's socket is on (a game notices when that node dies). Set by the
    /// session as it sends; None where no socket sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<std::sync::Arc<str>>,
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// Something for a session: a frame to push to its client, or a takeover.
#[derive(Clone, Debug, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub enum SessionEvent {
    /// Send this frame to the client (the session state folds it first).
    Push { frame: Box<ServerFrame> },
    /// The same session connected on another socket (`by`, its connection id): close this
    /// one, unless it is the one that connected.
    TakenOver { by: u64 },
    /// Messages for this session may have been missed (the bus reconnected): resend the live
    /// game's state (`client/RESUME_GAME`).
    Resync,
}

// ---------------------------------------------------------------------------------------------
// Accounts

/// Something for every open socket of one account, on whichever node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub enum UserEvent {
    /// The account was banned until `until` (None: until lifted): each socket is told
    /// `banned` and closes with 4003.
    Banned { until: Option<u64>, reason: String },
    /// A frame for each of the account's sockets (a notification).
    Push { frame: Box<ServerFrame> },
}

/// A frame for every member of a watchers group. Shared: every member on a node gets the
/// same frame, rendered to text once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub struct FeedEvent {
    pub frame: std::sync::Arc<FeedFrame>,
}

impl FeedEvent {
    pub fn new(frame: ServerFrame) -> FeedEvent {
        FeedEvent {
            frame: std::sync::Arc::new(FeedFrame {
                frame,
                text: Default::default(),
            }),
        }
    }
}

/// The frame of a [`FeedEvent`] and its JSON text, made on first use.
#[derive(Debug, Serialize, Deserialize)]
pub struct FeedFrame {
    pub frame: ServerFrame,
    #[serde(skip)]
    text: std::sync::OnceLock<String>,
}

impl FeedFrame {
    /// The frame as its socket text (serialised once per node, whatever the members).
    pub fn text(&self) -> &str {
        self.text
            .get_or_init(|| serde_json::to_string(&self.frame).expect("frames serialise"))
    }
}

impl PartialEq for FeedFrame {
    fn eq(&self, other: &FeedFrame) -> bool {
        self.frame == other.frame
    }
}

// ---------------------------------------------------------------------------------------------
// Games

/// A command for a game, as sessions and queues send it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub struct GameCommand {
    /// None only for `Start`, which the queue sends.
    pub from: Option<Sender>,
    pub action: GameAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GameAction {
    /// Announce the new game to both players (`client/START_GAME`).
    Start,
    /// A player's session (re)connected: send it the game, tell the opponent.
    Join,
    /// A player's socket closed: start the abandonment grace period.
    Leave,
    Ready,
    Move {
        seq: u32,
        mv: Move,
    },
    OfferDraw,
    DeclineDraw,
    Concede,
    /// Anyone's socket: send it the game as a watcher sees it (`client/WATCH_GAME`).
    Watch,
    /// How many sockets on node `node` watch this game (each node reports its own count
    /// when it changes, and again now and then; `from` is None).
    Crowd {
        node: String,
        watchers: u32,
    },
    /// The nodes alive now (their heartbeats current): a player whose socket was on any
    /// other node is away from now on, as if the socket had closed (`from` is None).
    NodesAlive {
        alive: Vec<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// Matchmaking queues

/// A command for a queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub struct QueueCommand {
    pub from: Sender,
    pub action: QueueAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QueueAction {
    /// Join the queue (`client/QUEUED`, or `client/ALREADY_IN_QUEUE`).
    Enqueue { ticket: Box<Ticket> },
    /// Leave it (`client/QUEUE_LEFT` with reason `cancelled`); declines a pending matchup.
    Leave,
    /// Answer a proposed matchup.
    Reply { matchup: String, accept: bool },
    /// A queued player's session resumed: it wakes a queue whose owner died, so that pairing
    /// goes on, and names the matchup the session knows of (the queue proposes a pending one
    /// the session missed again).
    Resume { matchup: Option<String> },
}

/// A waiting player.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub session: SessionId,
    pub user_id: UserId,
    pub name: String,
    pub rating: i32,
    pub guest: bool,
    pub queued_at: u64,
    /// The player's Glicko-2 rating as the session read it when it queued, so that a game
    /// is created without a store read (None: the game reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glicko: Option<TicketRating>,
}

/// A Glicko-2 rating carried by a ticket (`store::Glicko`'s three numbers).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketRating {
    pub rating: f64,
    pub deviation: f64,
    pub volatility: f64,
}

// ---------------------------------------------------------------------------------------------
// Tournaments

/// A command for a tournament.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub struct TournamentCommand {
    pub from: Caller,
    /// Boxed: an envelope stays small whatever its kind.
    pub action: Box<TournamentAction>,
}

/// Who asked, and where the answer goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Caller {
    /// A socket: answered with client frames (`client/TOURNAMENT_JOINED`, `client/ERROR`).
    Socket(Sender),
    /// A request waiting at a reply address for one [`ReplyEvent`].
    Request(Address),
    /// The node itself (the scheduler): nobody to answer.
    Server,
}

/// A registered or registering player, as the tournament keeps them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entrant {
    pub user_id: UserId,
    pub name: String,
    pub rating: i32,
    pub guest: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TournamentAction {
    /// The first command of a tournament: only a tournament with no snapshot takes it.
    Create {
        spec: Box<client_protocol::tournament::TournamentCreate>,
        created_by: String,
    },
    /// Register `entrant`; `by` is the admin's name when an admin adds them.
    Join {
        entrant: Entrant,
        by: Option<String>,
    },
    /// Remove the registration of `user`; `by` is the admin's name when an admin removes it.
    Withdraw {
        user: UserId,
        by: Option<String>,
    },
    Cancel {
        by: String,
    },
    /// The current view (`client/TOURNAMENT_UPDATE` to a socket).
    View,
    /// The registrations, with who registered whom (admins).
    Registrations,
    /// A game of this tournament ended (from the event stream; idempotent).
    GameEnded {
        game: GameId,
        result: client_protocol::GameResult,
        reason: client_protocol::EndReason,
        /// Moves played (0 with `abandoned`: a player was never ready).
        moves: u32,
    },
    /// The scheduler's nudge: start when due, pair, finish; activates a tournament whose
    /// owner died.
    Wake,
}

/// The one answer to a [`Caller::Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub struct ReplyEvent(pub Answer);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    Tournament(Box<client_protocol::TournamentView>),
    Registrations(Vec<client_protocol::tournament::Registration>),
    Done,
    Refused { code: ErrorCode, message: String },
}

impl Answer {
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Answer {
        Answer::Refused {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_round_trips_through_its_key() {
        let game = GameId::generate();
        let address = Address::game(&game);
        assert_eq!(address.key(), format!("game:{game}"));
        assert_eq!(address.id(), game.as_str());
        assert_eq!(Address::parse(address.key()), Some(address));
        let queue = Address::parse("queue:chess:untimed:casual").expect("a queue key");
        assert_eq!(queue.kind(), ActorKind::Queue);
        assert_eq!(Address::parse("nothing:x"), None);
    }

    #[test]
    fn every_kind_has_its_own_prefix() {
        let mut prefixes: Vec<&str> = ActorKind::ALL.iter().map(|k| k.prefix()).collect();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), ActorKind::ALL.len());
    }

    #[test]
    fn an_envelope_survives_the_bus_encoding() {
        let envelope = Envelope::game(
            &GameId::generate(),
            GameCommand {
                from: None,
                action: GameAction::Move {
                    seq: 3,
                    mv: Move::Index(4),
                },
            },
        );
        let bytes = serde_json::to_vec(&envelope).unwrap();
        let back: Envelope = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.to, envelope.to);
        assert_eq!(back.body.kind(), ActorKind::Game);
        assert!(GameCommand::from_body(back.body).is_ok());
    }

    #[test]
    fn a_refused_command_tells_its_sender_and_a_session_event_tells_nobody() {
        let session = SessionId::generate();
        let from = Sender {
            session: session.clone(),
            user: UserId::generate(),
            reference: Some("r1".into()),
            node: None,
        };
        let envelope = Envelope::game(
            &GameId::generate(),
            GameCommand {
                from: Some(from),
                action: GameAction::Ready,
            },
        );
        let reply = envelope.refusal(Refusal::NotFound).expect("a reply");
        assert_eq!(reply.to, Address::session(&session));
        let Body::Session(SessionEvent::Push { frame }) = reply.body else {
            panic!("a push");
        };
        assert_eq!(frame.reference.as_deref(), Some("r1"));
        assert!(matches!(
            frame.message,
            ServerMessage::Error {
                code: ErrorCode::NoSuchGame,
                ..
            }
        ));
        let event = Envelope::session(&session, SessionEvent::Resync);
        assert!(event.refusal(Refusal::Unavailable).is_none());
    }
}
