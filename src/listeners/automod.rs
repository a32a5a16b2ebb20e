//! Automod: playbans for players who leave their games. A game counts against a player who
//! lost it by abandonment (their socket away) or by letting the clock run out without having
//! moved, unless the game was rebuilt after its node stopped (the disconnection may have been
//! ours). Three such games within 24 h ban the player from queueing: 15 minutes, then 1 h,
//! 3 h and 24 h for repeats within a week. Idempotent: an offence is kept once per game and a
//! playban once per instant (the ending of the game that triggered it).

use std::sync::Arc;

use async_trait::async_trait;
use client_protocol::admin::{AuditOutcome, AuditType, Detail};
use client_protocol::{EndReason, GameResult, NotificationKind, Side};

use crate::audit::{Auditor, NewEvent};
use crate::cluster::Router;
use crate::domain::UserId;
use crate::events::listener::{Listener, ListenerError};
use crate::events::GameEvent;
use crate::notify::{data, Draft, Notifier};
use crate::store::{Offence, Sanction, StandingChange, Store};

const HOUR_MS: u64 = 3600 * 1000;
/// Offences within this window...
const WINDOW_MS: u64 = 24 * HOUR_MS;
/// ...this many of them...
const OFFENCES: usize = 3;
/// ...ban for these durations, the n-th playban within a week getting the n-th (the last for
/// every one after).
const DURATIONS_MS: [u64; 4] = [15 * 60 * 1000, HOUR_MS, 3 * HOUR_MS, 24 * HOUR_MS];
const REPEAT_WINDOW_MS: u64 = 7 * 24 * HOUR_MS;

/// The sides a finished game counts against.
pub fn offenders(event: &GameEvent) -> Vec<Side> {
    let GameEvent::GameOver {
        finished,
        away,
        rebuilt,
        ..
    } = event
    else {
        return Vec::new();
    };
    if *rebuilt {
        return Vec::new();
    }
    let record = &finished.record;
    let loser = match record.result {
        GameResult::First => Side::Second,
        GameResult::Second => Side::First,
        GameResult::Draw | GameResult::Aborted => return Vec::new(),
    };
    let moves_of = |side: Side| {
        (0..record.moves.len())
            .filter(|ply| (ply % 2 == 0) == (side == Side::First))
            .count()
    };
    let counts = match record.reason {
        EndReason::Abandoned => away[loser.index()],
        EndReason::Timeout => moves_of(loser) == 0,
        _ => false,
    };
    if counts {
        vec![loser]
    } else {
        Vec::new()
    }
}

/// How long the playban starting at `at` lasts, given the starts of the earlier ones.
pub fn duration_ms(at: u64, earlier: &[u64]) -> u64 {
    let repeats = earlier
        .iter()
        .filter(|&&start| start < at && at - start < REPEAT_WINDOW_MS)
        .count();
    DURATIONS_MS[repeats.min(DURATIONS_MS.len() - 1)]
}

pub struct Automod {
    store: Arc<dyn Store>,
    auditor: Auditor,
    notifier: Notifier,
    router: Router,
}

impl Automod {
    pub fn new(
        store: Arc<dyn Store>,
        auditor: Auditor,
        notifier: Notifier,
        router: Router,
    ) -> Automod {
        Automod {
            store,
            auditor,
            notifier,
            router,
        }
    }

    async fn count(&self, user: &UserId, game: &str, at: u64) -> Result<(), ListenerError> {
        let offence = Offence {
            game: game.to_owned(),
            at,
        };
        self.store
            .change_standing(user, StandingChange::AddOffence(offence))
            .await
            .map_err(ListenerError::new)?;
        let Some(account) = self
            .store
            .user_by_id(user)
            .await
            .map_err(ListenerError::new)?
        else {
            return Ok(());
        };
        let standing = &account.standing;
        tracing::debug!(%user, offences = standing.offences.len(), "automod counted an offence");
        let recent = standing
            .offences
            .iter()
            .filter(|o| o.at <= at && at - o.at < WINDOW_MS)
            .count();
        if recent < OFFENCES || standing.playbans.contains(&at) {
            return Ok(());
        }
        // Offences already behind an earlier playban of the window do not ban again.
        let last_ban = standing.playbans.iter().copied().filter(|&s| s < at).max();
        let since_ban = standing
            .offences
            .iter()
            .filter(|o| o.at <= at && last_ban.is_none_or(|b| o.at > b) && at - o.at < WINDOW_MS)
            .count();
        if since_ban < OFFENCES {
            return Ok(());
        }
        let length = duration_ms(at, &standing.playbans);
        let until = at + length;
        let reason = format!("{OFFENCES} games abandoned or timed out without a move within 24 h");
        let sanction = Sanction {
            until: Some(until),
            reason: reason.clone(),
            by: "automod".to_owned(),
            at,
        };
        self.store
            .change_standing(user, StandingChange::RecordPlayban(at))
            .await
            .map_err(ListenerError::new)?;
        self.store
            .change_standing(user, StandingChange::Playban(Some(sanction)))
            .await
            .map_err(ListenerError::new)?;
        tracing::info!(%user, until, "playban");
        let event = NewEvent::new(AuditType::Playban, AuditOutcome::Ok)
            .actor("automod")
            .target(account.name.clone())
            .text("reason", reason)
            .text("game", game)
            .detail("durationMs", Detail::Int(length as i64));
        self.auditor.record(event);
        let minutes = length / 60_000;
        let text = format!(
            "You left {OFFENCES} games within a day: you cannot queue for {minutes} minutes."
        );
        let draft = Draft::new(
            NotificationKind::Playban,
            text,
            data([("until", until.to_string()), ("game", game.to_owned())]),
        )
        .once(format!("playban-{user}-{at}"));
        self.notifier.tell(&self.router, user, draft).await;
        Ok(())
    }
}

#[async_trait]
impl Listener for Automod {
    fn name(&self) -> &'static str {
        "automod"
    }

    fn wants(&self, event: &GameEvent) -> bool {
        !offenders(event).is_empty()
    }

    async fn handle(&self, event: &GameEvent) -> Result<(), ListenerError> {
        let GameEvent::GameOver { finished, .. } = event else {
            return Ok(());
        };
        for side in offenders(event) {
            let user = &finished.user_ids[side.index()];
            self.count(user, &finished.record.game, finished.record.ended_at)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use client_protocol::http::{GameRecord, GameRecordPlayer};
    use client_protocol::{Clocks, GameKind, Move, Position};

    fn over(
        reason: EndReason,
        result: GameResult,
        moves: usize,
        away: [bool; 2],
        rebuilt: bool,
    ) -> GameEvent {
        let player = |side| GameRecordPlayer {
            user_id: "u".into(),
            name: "n".into(),
            side,
            rating: 1500,
            rating_change: None,
        };
        let record = GameRecord {
            game: "g".into(),
            kind: GameKind::Connect4,
            rated: false,
            clock: None,
            players: vec![player(Side::First), player(Side::Second)],
            moves: (0..moves).map(|i| Move::Index(i as u32 % 7)).collect(),
            result,
            reason,
            clocks: Clocks {
                first: 0,
                second: 0,
                running: None,
            },
            final_position: Position::Rows(Vec::new()),
            started_at: 0,
            ended_at: 1,
            chat: Vec::new(),
        };
        GameEvent::GameOver {
            finished: crate::store::FinishedGame {
                record,
                user_ids: [UserId::generate(), UserId::generate()],
                ratings: Vec::new(),
            },
            away,
            move_ms: vec![0; moves],
            rebuilt,
            tournament: None,
        }
    }

    #[test]
    fn what_counts_against_a_player() {
        use EndReason::*;
        use GameResult::*;
        let abandoned = over(Abandoned, First, 3, [false, true], false);
        assert_eq!(offenders(&abandoned), [Side::Second]);
        let ours = over(Abandoned, First, 3, [false, true], true);
        assert!(offenders(&ours).is_empty(), "a rebuilt game never counts");
        assert_eq!(
            offenders(&over(Timeout, Second, 0, [false; 2], false)),
            [Side::First]
        );
        assert!(
            offenders(&over(Timeout, Second, 2, [false; 2], false)).is_empty(),
            "a timeout after moving is play"
        );
        assert!(offenders(&over(Resign, First, 4, [false, true], false)).is_empty());
        assert!(offenders(&over(Abandoned, Draw, 4, [true, true], false)).is_empty());
    }

    #[test]
    fn playbans_grow_with_repeats_within_a_week() {
        let at = 30 * 24 * HOUR_MS;
        assert_eq!(duration_ms(at, &[]), 15 * 60 * 1000);
        assert_eq!(duration_ms(at, &[at - HOUR_MS]), HOUR_MS);
        assert_eq!(
            duration_ms(at, &[at - 2 * HOUR_MS, at - HOUR_MS]),
            3 * HOUR_MS
        );
        let many = [
            at - 4 * HOUR_MS,
            at - 3 * HOUR_MS,
            at - 2 * HOUR_MS,
            at - HOUR_MS,
        ];
        assert_eq!(duration_ms(at, &many), 24 * HOUR_MS);
        assert_eq!(
            duration_ms(at, &[at - REPEAT_WINDOW_MS - 1]),
            15 * 60 * 1000,
            "a week later it starts over"
        );
    }
}
