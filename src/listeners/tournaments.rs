//! The tournaments listener: each finished game that belongs to a tournament is counted by
//! that tournament's actor, wherever it runs. It waits for the actor's answer, so an event is
//! acknowledged only once its result is in the tournament's snapshot; the actor counts a
//! game once, so a second delivery changes nothing.

use std::time::Duration;

use async_trait::async_trait;
use client_protocol::ErrorCode;

use crate::cluster::Router;
use crate::domain::{GameId, TournamentId};
use crate::events::listener::{Listener, ListenerError};
use crate::events::GameEvent;
use crate::messages::{
    Address, Answer, Caller, Envelope, ReplyEvent, TournamentAction, TournamentCommand,
};

/// How long the listener waits for a tournament to answer before the delivery fails (and is
/// retried).
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

pub struct Tournaments {
    router: Router,
}

impl Tournaments {
    pub fn new(router: Router) -> Tournaments {
        Tournaments { router }
    }
}

#[async_trait]
impl Listener for Tournaments {
    fn name(&self) -> &'static str {
        "tournaments"
    }

    fn wants(&self, event: &GameEvent) -> bool {
        matches!(
            event,
            GameEvent::GameOver {
                tournament: Some(_),
                ..
            }
        )
    }

    /// Results of different games commute (each is counted once): a round's results reach
    /// their tournament together, and it writes them in a few group commits.
    fn concurrent(&self) -> bool {
        true
    }

    async fn handle(&self, event: &GameEvent) -> Result<(), ListenerError> {
        let GameEvent::GameOver {
            finished,
            tournament: Some(tournament),
            ..
        } = event
        else {
            return Ok(());
        };
        let (Some(id), Some(game)) = (
            TournamentId::parse(tournament),
            GameId::parse(&finished.record.game),
        ) else {
            tracing::warn!(%tournament, game = %finished.record.game, "tournament game with a malformed id");
            return Ok(());
        };
        let action = TournamentAction::GameEnded {
            game,
            result: finished.record.result,
            reason: finished.record.reason,
            moves: finished.record.moves.len() as u32,
        };
        let ask = |to: Address| Envelope {
            to: Address::tournament(&id),
            body: TournamentCommand {
                from: Caller::Request(to),
                action: Box::new(action),
            }
            .into(),
        };
        match self.router.ask(ask, ANSWER_WITHIN).await {
            Some(ReplyEvent(Answer::Tournament(_) | Answer::Done)) => Ok(()),
            // A tournament that does not know the game (or no longer exists) never will.
            Some(ReplyEvent(Answer::Refused {
                code: ErrorCode::NotFound,
                message,
            })) => {
                tracing::warn!(%tournament, %message, "tournament result not counted");
                Ok(())
            }
            Some(ReplyEvent(other)) => Err(ListenerError::new(format!(
                "tournament {tournament} answered {other:?}"
            ))),
            None => Err(ListenerError::new(format!(
                "tournament {tournament} did not answer in {ANSWER_WITHIN:?}"
            ))),
        }
    }
}
