//! The tournament scheduler: every node, every tick, wakes the tournaments that should be
//! running (created ones within 5 minutes of their start, started ones). Waking one that a
//! live node hosts costs a message; waking one whose owner died activates it here or on the
//! node that wins its lease, so a tournament never depends on one node.

use std::time::Duration;

use client_protocol::TournamentStatus;

use super::state::REMINDER_MS;
use crate::actors::ActorEnv;
use crate::domain::{now_ms, TournamentId};
use crate::messages::{Address, Caller, Envelope, TournamentAction, TournamentCommand};

/// How many tournaments of each status one tick looks at.
const PER_TICK: usize = 500;

pub struct Scheduler;

impl Scheduler {
    /// Runs until the node stops.
    pub async fn run(env: ActorEnv) {
        let every = Duration::from_millis(env.config.tournament_tick_ms.max(10));
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            Self::wake_due(&env).await;
        }
    }

    async fn wake_due(env: &ActorEnv) {
        let now = now_ms();
        for status in [TournamentStatus::Started, TournamentStatus::Created] {
            let due = match env.store.tournaments(Some(status), PER_TICK).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::debug!(error = %e, "tournament scheduler: store unavailable");
                    return;
                }
            };
            for record in due {
                if status == TournamentStatus::Created && record.starts_at > now + REMINDER_MS {
                    continue;
                }
                let Some(id) = TournamentId::parse(&record.id) else {
                    continue;
                };
                let wake = TournamentCommand {
                    from: Caller::Server,
                    action: Box::new(TournamentAction::Wake),
                };
                env.router.send(Envelope {
                    to: Address::tournament(&id),
                    body: wake.into(),
                });
            }
        }
    }
}
