//! Where a client message goes, decided purely from the message and the session's state: an
//! answer straight back, an account operation, or a command for a game or queue actor. The
//! session actor carries the route out; the tests below cover every refusal.

use client_protocol::{ClientMessage, ErrorCode, QueueSpec, ServerMessage};

use super::state::SessionState;
use crate::domain::{now_ms, GameId, QueueKey, TournamentId};
use crate::messages::{
    Address, Caller, Entrant, Envelope, GameAction, GameCommand, QueueAction, QueueCommand, Sender,
    Ticket, TournamentAction, TournamentCommand,
};
use crate::rooms::{clean_text, Room};

/// An account operation an anonymous (or any) socket may ask for.
#[derive(Debug, PartialEq)]
pub enum AccountRequest {
    Register { username: String, password: String },
    Login { username: String, password: String },
    Guest,
}

/// What the session does with one client message.
#[derive(Debug)]
pub enum Route {
    /// Answer the client at once (an error, or a reply the session knows itself).
    Reply(ServerMessage),
    /// Run an account operation, then start a fresh session.
    Authenticate(AccountRequest),
    /// Send a command to an actor.
    Forward(Envelope),
    /// Ask to join `queue` (remembered as pending until the queue answers).
    Enqueue {
        queue: QueueSpec,
        envelope: Envelope,
    },
    /// Join the fan-out group `group`, then send `envelope` (which answers with the current
    /// state of what is watched).
    Watch { group: Address, envelope: Envelope },
    /// Leave the fan-out group; no reply.
    Unwatch(Address),
    /// Stop watching a game (`client/UNWATCHED`).
    UnwatchGame(GameId),
    /// A chat request, carried out by the socket (membership is what the socket knows).
    Chat(ChatRequest),
}

/// A chat message from a client, its room read and its text cleaned.
#[derive(Debug, PartialEq)]
pub enum ChatRequest {
    Join(Room),
    Leave(Room),
    Send { room: Room, text: String },
    Delete { room: Room, id: String },
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Route {
    Route::Reply(ServerMessage::error(code, message))
}

/// Routes `message` for a session in `state` (None: an anonymous socket) with a queue request
/// in flight (`queue_pending`). `reference` is the message's `ref`, carried by commands.
pub fn route(
    message: ClientMessage,
    reference: Option<String>,
    state: Option<&SessionState>,
    queue_pending: Option<&QueueSpec>,
) -> Route {
    let account = match message {
        ClientMessage::RegisterUser { username, password } => {
            AccountRequest::Register { username, password }
        }
        ClientMessage::Login { username, password } => AccountRequest::Login { username, password },
        ClientMessage::Guest => AccountRequest::Guest,
        other => return route_player(other, reference, state, queue_pending),
    };
    Route::Authenticate(account)
}

/// Routes a message that only a player (an authenticated socket) may send.
fn route_player(
    message: ClientMessage,
    reference: Option<String>,
    state: Option<&SessionState>,
    queue_pending: Option<&QueueSpec>,
) -> Route {
    let Some(state) = state else {
        return refuse(
            ErrorCode::Unauthenticated,
            "log in first: server/LOGIN, server/REGISTER_USER or server/GUEST",
        );
    };
    let from = Sender {
        session: state.id.clone(),
        user: state.user_id.clone(),
        reference,
        node: None,
    };
    let game = |game: &str, action: GameAction| match GameId::parse(game) {
        Some(id) => Route::Forward(Envelope::game(
            &id,
            GameCommand {
                from: Some(from.clone()),
                action,
            },
        )),
        None => refuse(ErrorCode::NoSuchGame, format!("no game {game:?}")),
    };
    match message {
        ClientMessage::StartMatchmaking { queue } => {
            start_matchmaking(queue, state, queue_pending, from)
        }
        ClientMessage::CancelMatchmaking => match state.queue.as_ref().or(queue_pending) {
            Some(queue) => to_queue(queue, from, QueueAction::Leave),
            None => refuse(ErrorCode::NotInQueue, "you are not in a queue"),
        },
        ClientMessage::ReplyMatchup { matchup, accept } => {
            let pending = state.matchup_id.as_deref() == Some(matchup.as_str());
            match (&state.queue, pending) {
                (Some(queue), true) => {
                    to_queue(queue, from, QueueAction::Reply { matchup, accept })
                }
                _ => refuse(
                    ErrorCode::NoSuchMatchup,
                    format!("no pending matchup {matchup}"),
                ),
            }
        }
        ClientMessage::PlayerReady { game: id } => game(&id, GameAction::Ready),
        ClientMessage::PlayerMove { game: id, seq, mv } => game(&id, GameAction::Move { seq, mv }),
        ClientMessage::OfferDraw { game: id } => game(&id, GameAction::OfferDraw),
        ClientMessage::DeclineDraw { game: id } => game(&id, GameAction::DeclineDraw),
        ClientMessage::Concede { game: id } => game(&id, GameAction::Concede),
        ClientMessage::JoinTournament { tournament } => {
            let entrant = Entrant {
                user_id: state.user_id.clone(),
                name: state.user.name.clone(),
                rating: state.user.rating,
                guest: state.user.guest,
            };
            let join = TournamentAction::Join { entrant, by: None };
            to_tournament(&tournament, from, join)
        }
        ClientMessage::WithdrawTournament { tournament } => {
            let user = state.user_id.clone();
            to_tournament(
                &tournament,
                from,
                TournamentAction::Withdraw { user, by: None },
            )
        }
        ClientMessage::WatchTournament { tournament } => {
            match to_tournament(&tournament, from, TournamentAction::View) {
                Route::Forward(envelope) => Route::Watch {
                    group: Address::tournament_watchers(
                        &TournamentId::parse(&tournament).expect("parsed above"),
                    ),
                    envelope,
                },
                refused => refused,
            }
        }
        ClientMessage::UnwatchTournament { tournament } => match TournamentId::parse(&tournament) {
            Some(id) => Route::Unwatch(Address::tournament_watchers(&id)),
            None => Route::Reply(ServerMessage::error(
                ErrorCode::NotFound,
                format!("no tournament {tournament:?}"),
            )),
        },
        ClientMessage::WatchGame { game: id } => match GameId::parse(&id) {
            Some(game) => Route::Watch {
                group: Address::game_watchers(&game),
                envelope: Envelope::game(
                    &game,
                    GameCommand {
                        from: Some(from),
                        action: GameAction::Watch,
                    },
                ),
            },
            None => refuse(ErrorCode::NoSuchGame, format!("no game {id:?}")),
        },
        ClientMessage::UnwatchGame { game: id } => match GameId::parse(&id) {
            Some(game) => Route::UnwatchGame(game),
            None => refuse(ErrorCode::NoSuchGame, format!("no game {id:?}")),
        },
        ClientMessage::ChatJoin { room } => chat(&room, ChatRequest::Join),
        ClientMessage::ChatLeave { room } => chat(&room, ChatRequest::Leave),
        ClientMessage::ChatSend { room, text } => match clean_text(&text) {
            Ok(text) => chat(&room, |room| ChatRequest::Send { room, text }),
            Err(message) => refuse(ErrorCode::InvalidField, message),
        },
        ClientMessage::ChatDelete { room, id } => {
            chat(&room, |room| ChatRequest::Delete { room, id })
        }
        ClientMessage::RegisterUser { .. } | ClientMessage::Login { .. } | ClientMessage::Guest => {
            unreachable!("account messages are routed above")
        }
    }
}

/// A chat request for the room named `room`, or `invalid_field` when no room has that name.
fn chat(room: &str, request: impl FnOnce(Room) -> ChatRequest) -> Route {
    match Room::parse(room) {
        Some(room) => Route::Chat(request(room)),
        None => refuse(
            ErrorCode::InvalidField,
            format!("room: no room {room:?} (lobby, game:<id>, watchers:<id>, tournament:<id>)"),
        ),
    }
}

fn to_tournament(tournament: &str, from: Sender, action: TournamentAction) -> Route {
    match TournamentId::parse(tournament) {
        Some(id) => Route::Forward(Envelope {
            to: Address::tournament(&id),
            body: TournamentCommand {
                from: Caller::Socket(from),
                action: Box::new(action),
            }
            .into(),
        }),
        None => refuse(ErrorCode::NotFound, format!("no tournament {tournament:?}")),
    }
}

fn to_queue(queue: &QueueSpec, from: Sender, action: QueueAction) -> Route {
    match QueueKey::from_spec(queue) {
        Ok(key) => Route::Forward(Envelope::queue(&key, QueueCommand { from, action })),
        Err(message) => refuse(ErrorCode::InvalidField, message),
    }
}

fn start_matchmaking(
    queue: QueueSpec,
    state: &SessionState,
    queue_pending: Option<&QueueSpec>,
    from: Sender,
) -> Route {
    let key = match QueueKey::from_spec(&queue) {
        Ok(key) => key,
        Err(message) => return refuse(ErrorCode::InvalidField, message),
    };
    if queue.rated && state.user.guest {
        return refuse(
            ErrorCode::Forbidden,
            "guests play unrated games only: register to play rated",
        );
    }
    if let Some(current) = state.queue.as_ref().or(queue_pending) {
        return Route::Reply(ServerMessage::AlreadyInQueue {
            queue: current.clone(),
        });
    }
    if let (Some(game), true) = (&state.game, state.in_tournament) {
        return refuse(
            ErrorCode::InTournamentGame,
            format!("finish your tournament game {game} first"),
        );
    }
    if let Some(game) = &state.game {
        return refuse(
            ErrorCode::AlreadyInGame,
            format!("finish game {game} first"),
        );
    }
    let ticket = Ticket {
        session: state.id.clone(),
        user_id: state.user_id.clone(),
        name: state.user.name.clone(),
        rating: state.user.rating,
        guest: state.user.guest,
        queued_at: now_ms(),
        glicko: None,
    };
    let command = QueueCommand {
        from,
        action: QueueAction::Enqueue {
            ticket: Box::new(ticket),
        },
    };
    Route::Enqueue {
        queue,
        envelope: Envelope::queue(&key, command),
    }
}

#[cfg(test)]
mod tests {
    use client_protocol::{GameKind, Move, UserView};

    use super::*;
    use crate::domain::{SessionId, UserId};
    use crate::messages::{Address, Body};

    fn player(guest: bool) -> SessionState {
        let user = UserView {
            id: "u".into(),
            name: "ada".into(),
            rating: 1500,
            guest,
            roles: Vec::new(),
        };
        SessionState::new(SessionId::generate(), UserId::generate(), user)
    }

    fn spec(rated: bool) -> QueueSpec {
        QueueSpec {
            game: GameKind::TicTacToe,
            clock: None,
            rated,
        }
    }

    fn refusal_code(route: Route) -> ErrorCode {
        match route {
            Route::Reply(ServerMessage::Error { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_anonymous_socket_may_only_authenticate() {
        let ready = ClientMessage::PlayerReady { game: "x".into() };
        assert_eq!(
            refusal_code(route(ready, None, None, None)),
            ErrorCode::Unauthenticated
        );
        assert!(matches!(
            route(ClientMessage::Guest, None, None, None),
            Route::Authenticate(AccountRequest::Guest)
        ));
    }

    #[test]
    fn refusals_that_need_no_actor_are_answered_by_the_session() {
        let guest = player(true);
        let mut queued = player(false);
        queued.queue = Some(spec(false));
        let mut playing = player(false);
        playing.game = Some(GameId::generate());
        let start = |rated| ClientMessage::StartMatchmaking { queue: spec(rated) };
        let cases: Vec<(ClientMessage, &SessionState, ErrorCode)> = vec![
            (start(true), &guest, ErrorCode::Forbidden),
            (start(false), &playing, ErrorCode::AlreadyInGame),
            (
                ClientMessage::CancelMatchmaking,
                &guest,
                ErrorCode::NotInQueue,
            ),
            (
                ClientMessage::ReplyMatchup {
                    matchup: "m".into(),
                    accept: true,
                },
                &queued,
                ErrorCode::NoSuchMatchup,
            ),
            (
                ClientMessage::PlayerMove {
                    game: "not an id".into(),
                    seq: 0,
                    mv: Move::Index(0),
                },
                &guest,
                ErrorCode::NoSuchGame,
            ),
        ];
        for (message, state, code) in cases {
            let shown = format!("{message:?}");
            assert_eq!(
                refusal_code(route(message, None, Some(state), None)),
                code,
                "{shown}"
            );
        }
    }

    #[test]
    fn a_second_queue_request_is_answered_already_in_queue_even_while_the_first_is_in_flight() {
        let state = player(false);
        let pending = spec(false);
        let route = route(
            ClientMessage::StartMatchmaking { queue: spec(false) },
            None,
            Some(&state),
            Some(&pending),
        );
        assert!(matches!(
            route,
            Route::Reply(ServerMessage::AlreadyInQueue { .. })
        ));
    }

    #[test]
    fn game_commands_go_to_the_named_game_with_the_sender_and_its_ref() {
        let state = player(false);
        let game = GameId::generate();
        let message = ClientMessage::PlayerMove {
            game: game.to_string(),
            seq: 2,
            mv: Move::Index(4),
        };
        let Route::Forward(envelope) = route(message, Some("r7".into()), Some(&state), None) else {
            panic!("a forward");
        };
        assert_eq!(envelope.to, Address::game(&game));
        let Body::Game(command) = envelope.body else {
            panic!("a game command");
        };
        let from = command.from.expect("a sender");
        assert_eq!(
            (from.session, from.reference),
            (state.id.clone(), Some("r7".into()))
        );
        assert_eq!(
            command.action,
            GameAction::Move {
                seq: 2,
                mv: Move::Index(4)
            }
        );
    }

    #[test]
    fn joining_a_queue_sends_a_ticket_to_that_queue() {
        let state = player(false);
        let route = route(
            ClientMessage::StartMatchmaking { queue: spec(false) },
            None,
            Some(&state),
            None,
        );
        let Route::Enqueue { queue, envelope } = route else {
            panic!("an enqueue");
        };
        let key = QueueKey::from_spec(&queue).unwrap();
        assert_eq!(envelope.to, Address::queue(&key));
        let Body::Queue(QueueCommand {
            action: QueueAction::Enqueue { ticket },
            ..
        }) = envelope.body
        else {
            panic!("an enqueue command");
        };
        assert_eq!((ticket.name.as_str(), ticket.rating), ("ada", 1500));
    }
}
