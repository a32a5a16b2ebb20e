//! Anti-cheat: on the `game_over` of a rated game the listener puts an analysis job on the
//! `analysis` tube (never on the move path); the job's handler analyses the game
//! (`crate::analysis`: the solved game, a bounded search, or Stockfish), keeps the result, and
//! flags an account whose suspicion over its recent games reaches the threshold (a `cheat`
//! flag, audited as `cheat_flagged`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use client_protocol::admin::{AuditOutcome, AuditType, Detail};
use client_protocol::{GameKind, GameResult, Move, NotificationKind};
use serde::{Deserialize, Serialize};

use crate::analysis::{
    account_suspicion, Analyser, AnalysisError, AnalysisInput, FLAG_THRESHOLD, RECENT_GAMES,
};
use crate::audit::{Auditor, NewEvent};
use crate::cluster::Router;
use crate::domain::{now_ms, UserId};
use crate::events::listener::{Listener, ListenerError};
use crate::events::GameEvent;
use crate::jobs::worker::{Failure, Handler};
use crate::jobs::{self, Jobs, PutOptions, Reserved, Tube, ANALYSIS_TUBE};
use crate::notify::{data, Draft, Notifier};
use crate::store::{Flag, StandingChange, Store, StoredAnalysis, CHEAT_FLAG};

/// Time-to-run of one game's analysis (a long chess game at depth 10 takes seconds).
const ANALYSIS_TTR: Duration = Duration::from_secs(300);

/// What one analysis job carries: the game as the analysis needs it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisJob {
    pub game: String,
    pub kind: GameKind,
    pub ended_at: u64,
    pub moves: Vec<Move>,
    pub move_ms: Vec<u64>,
    pub names: [String; 2],
    pub user_ids: [UserId; 2],
}

/// The listener: rated games that were played (not aborted) become analysis jobs.
pub struct AntiCheat {
    jobs: Arc<dyn Jobs>,
}

impl AntiCheat {
    pub fn new(jobs: Arc<dyn Jobs>) -> AntiCheat {
        AntiCheat { jobs }
    }
}

#[async_trait]
impl Listener for AntiCheat {
    fn name(&self) -> &'static str {
        "anticheat"
    }

    fn wants(&self, event: &GameEvent) -> bool {
        matches!(event, GameEvent::GameOver { finished, .. }
            if finished.record.rated && finished.record.result != GameResult::Aborted)
    }

    async fn handle(&self, event: &GameEvent) -> Result<(), ListenerError> {
        let GameEvent::GameOver {
            finished, move_ms, ..
        } = event
        else {
            return Ok(());
        };
        let record = &finished.record;
        let player = |i: usize| record.players.get(i);
        let (Some(first), Some(second)) = (player(0), player(1)) else {
            return Ok(());
        };
        let job = AnalysisJob {
            game: record.game.clone(),
            kind: record.kind,
            ended_at: record.ended_at,
            moves: record.moves.clone(),
            move_ms: move_ms.clone(),
            names: [first.name.clone(), second.name.clone()],
            user_ids: finished.user_ids.clone(),
        };
        let tube = Tube::parse(ANALYSIS_TUBE).expect("a valid tube name");
        jobs::put_json(
            &*self.jobs,
            &tube,
            &job,
            PutOptions::default().ttr(ANALYSIS_TTR),
        )
        .await
        .map(|_| ())
        .map_err(ListenerError::new)
    }
}

/// The `analysis` tube's handler.
pub struct AnalysisHandler {
    analyser: Analyser,
    store: Arc<dyn Store>,
    auditor: Auditor,
    /// Moderators and admins are told of each flag.
    notifier: Notifier,
    router: Router,
}

impl AnalysisHandler {
    pub fn new(
        analyser: Analyser,
        store: Arc<dyn Store>,
        auditor: Auditor,
        notifier: Notifier,
        router: Router,
    ) -> AnalysisHandler {
        AnalysisHandler {
            analyser,
            store,
            auditor,
            notifier,
            router,
        }
    }

    /// Tells every moderator and admin, once per flagged account.
    async fn tell_staff(&self, user: &UserId, name: &str, suspicion: f64) {
        let staff = match self.store.staff().await {
            Ok(staff) => staff,
            Err(e) => {
                tracing::warn!(error = %e, "staff not told of a flag");
                return;
            }
        };
        for member in staff {
            let text = format!(
                "Anti-cheat flagged {name} (suspicion {suspicion:.0}): see /api/admin/reports."
            );
            let draft = Draft::new(
                NotificationKind::CheatFlagged,
                text,
                data([("user", name.to_owned())]),
            )
            .once(format!("flag-{user}-{}", member.id));
            self.notifier.tell(&self.router, &member.id, draft).await;
        }
    }

    /// Flags `user` once its suspicion over its recent games reaches the threshold.
    async fn judge(&self, user: &UserId, name: &str) -> Result<(), Failure> {
        let recent = self
            .store
            .analyses_of(user, RECENT_GAMES as u32)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let suspicion = account_suspicion(&recent);
        if suspicion < FLAG_THRESHOLD {
            return Ok(());
        }
        let account = self
            .store
            .user_by_id(user)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let Some(account) = account else {
            return Ok(());
        };
        if account.standing.flags.iter().any(|f| f.kind == CHEAT_FLAG) {
            return Ok(()); // flagged already: a moderator has it in the reports
        }
        let flag = Flag {
            kind: CHEAT_FLAG.to_owned(),
            at: now_ms(),
            details: format!(
                "suspicion {suspicion:.0} over {} analysed games",
                recent.len()
            ),
        };
        self.store
            .change_standing(user, StandingChange::AddFlag(flag))
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        tracing::warn!(%user, suspicion, "account flagged by anti-cheat");
        let event = NewEvent::new(AuditType::CheatFlagged, AuditOutcome::Ok)
            .actor("anticheat")
            .target(name.to_owned())
            .detail("suspicion", Detail::Int(suspicion.round() as i64))
            .detail("games", Detail::Int(recent.len() as i64));
        self.auditor.record(event);
        self.tell_staff(user, name, suspicion).await;
        Ok(())
    }
}

#[async_trait]
impl Handler for AnalysisHandler {
    async fn run(&self, job: &Reserved) -> Result<(), Failure> {
        let job: AnalysisJob = job
            .json()
            .map_err(|e| Failure::Fatal(format!("not an analysis job: {e}")))?;
        let input = AnalysisInput {
            kind: job.kind,
            moves: job.moves.clone(),
            move_ms: job.move_ms.clone(),
            players: job.names.clone(),
        };
        let analysis = match self.analyser.analyse(&input).await {
            Ok(analysis) => analysis,
            Err(AnalysisError::EngineMissing) => {
                tracing::warn!(game = %job.game, "no chess engine: analysis skipped");
                return Ok(());
            }
            Err(AnalysisError::IllegalGame(e)) => return Err(Failure::Fatal(e)),
            Err(e) => return Err(Failure::Retry(e.to_string())),
        };
        let stored = StoredAnalysis {
            game: job.game.clone(),
            ended_at: job.ended_at,
            engine: analysis.engine,
            user_ids: job.user_ids.clone(),
            players: analysis.players,
        };
        self.store
            .save_analysis(&stored)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        tracing::info!(game = %job.game, engine = %stored.engine, "game analysed");
        for (user, name) in job.user_ids.iter().zip(&job.names) {
            self.judge(user, name).await?;
        }
        Ok(())
    }
}
