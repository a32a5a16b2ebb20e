//! How many watch a game. Each node counts its own watcher sockets of each game (its members
//! of `watch:game:<id>`) and reports a count to the game when it changes, at most once per
//! report tick, and again every few ticks so that a rebuilt game learns it and a dead node's
//! count expires. The game sums the nodes' counts ([`Crowd`]) and tells players and watchers
//! (`client/CROWD`) at most once per second. So 50 joins in a second cost each node one report
//! and each player at most two frames, and 10,000 watchers cost nothing per move.

use std::collections::HashMap;
use std::time::Duration;

use crate::cluster::Router;
use crate::domain::GameId;
use crate::messages::{ActorKind, Envelope, GameAction, GameCommand};

/// At most one `client/CROWD` per game per this long.
pub const CROWD_EVERY_MS: u64 = 1_000;
/// A node's unchanged counts are reported again every this many ticks...
const REFRESH_TICKS: u32 = 10;
/// ...and a count not heard of for this many ticks is dropped (its node died).
const STALE_TICKS: u64 = 35;

/// The nodes' watcher counts of one game, and what its players were last told.
#[derive(Debug, Default)]
pub struct Crowd {
    /// Per node: its count and when it reported it (ms).
    nodes: HashMap<String, (u32, u64)>,
    told: u32,
    told_at: Option<u64>,
    /// How long a report lives (ms).
    stale_ms: u64,
    /// Until when the game counts as watched without a report (someone just asked to watch:
    /// their node reports at its next tick).
    expect_until: u64,
    /// How long a fresh activation or a watch request keeps the game counted as watched.
    expect_ms: u64,
}

impl Crowd {
    /// A crowd whose node reports come every `tick_ms`.
    pub fn new(tick_ms: u64) -> Crowd {
        let tick_ms = tick_ms.max(1);
        Crowd {
            stale_ms: tick_ms * STALE_TICKS,
            expect_ms: tick_ms * u64::from(REFRESH_TICKS + 2),
            ..Crowd::default()
        }
    }

    /// Someone may watch from now on (a watch request, or an activation that knows no counts
    /// yet): the game sends its watchers' frames until the reports say otherwise.
    pub fn expect(&mut self, now: u64) {
        self.expect_until = now + self.expect_ms;
    }

    /// Whether the game's updates should go to its watchers' group.
    pub fn watched(&mut self, now: u64) -> bool {
        now < self.expect_until || self.total(now) > 0
    }

    pub fn report(&mut self, node: String, watchers: u32, now: u64) {
        if watchers == 0 {
            self.nodes.remove(&node);
        } else {
            self.nodes.insert(node, (watchers, now));
        }
    }

    /// The watchers of every node still reporting.
    pub fn total(&mut self, now: u64) -> u32 {
        let stale_ms = self.stale_ms;
        self.nodes
            .retain(|_, (_, at)| now.saturating_sub(*at) < stale_ms);
        self.nodes.values().map(|(n, _)| n).sum()
    }

    /// When the players should next be told (None: they know the count).
    pub fn due(&mut self, now: u64) -> Option<u64> {
        if self.total(now) == self.told {
            return None;
        }
        Some(
            self.told_at
                .map_or(now, |at| (at + CROWD_EVERY_MS).max(now)),
        )
    }

    /// The count the players were just told.
    pub fn told(&mut self, watchers: u32, now: u64) {
        self.told = watchers;
        self.told_at = Some(now);
    }

    pub fn last_told(&self) -> u32 {
        self.told
    }
}

/// This node's side: every tick, report the watcher counts that changed, and every
/// `REFRESH_TICKS` ticks all of them, to their games.
pub async fn report_crowds(router: Router, tick: Duration) {
    let mut ticks = tokio::time::interval(tick.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let prefix = format!("{}:game:", ActorKind::Watchers.prefix());
    let mut reported: HashMap<String, u32> = HashMap::new();
    for n in 0u32.. {
        ticks.tick().await;
        let now: HashMap<String, u32> = router
            .group_sizes(&prefix)
            .into_iter()
            .map(|(group, size)| (group.id()["game:".len()..].to_owned(), size as u32))
            .collect();
        let refresh = n % REFRESH_TICKS == 0;
        let gone = reported
            .keys()
            .filter(|game| !now.contains_key(*game))
            .map(|game| (game.clone(), 0));
        let changed: Vec<(String, u32)> = now
            .iter()
            .filter(|(game, size)| refresh || reported.get(*game) != Some(size))
            .map(|(game, size)| (game.clone(), *size))
            .chain(gone)
            .collect();
        for (game, watchers) in changed {
            let Some(id) = GameId::parse(&game) else {
                continue;
            };
            let action = GameAction::Crowd {
                node: router.node_id().to_owned(),
                watchers,
            };
            router.send(Envelope::game(&id, GameCommand { from: None, action }));
        }
        reported = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_over_nodes_and_told_at_most_once_a_second() {
        let mut crowd = Crowd::new(1_000);
        assert_eq!(crowd.due(0), None);
        crowd.report("a".into(), 3, 0);
        crowd.report("b".into(), 2, 0);
        assert_eq!(crowd.due(10), Some(10), "never told: at once");
        crowd.told(5, 10);
        assert_eq!(crowd.due(20), None);
        crowd.report("a".into(), 4, 300);
        assert_eq!(crowd.due(300), Some(1_010), "a second after the last");
        assert_eq!(crowd.due(2_000), Some(2_000));
        crowd.report("a".into(), 0, 2_000);
        assert_eq!(crowd.total(2_000), 2);
    }

    #[test]
    fn a_watch_request_counts_until_the_reports_take_over() {
        let mut crowd = Crowd::new(100);
        assert!(!crowd.watched(0));
        crowd.expect(0);
        assert!(crowd.watched(1_100));
        assert!(!crowd.watched(1_200), "12 ticks without a report");
        crowd.report("a".into(), 1, 1_200);
        assert!(crowd.watched(1_300));
    }

    #[test]
    fn a_node_that_stops_reporting_is_forgotten() {
        let mut crowd = Crowd::new(100);
        crowd.report("dead".into(), 7, 0);
        crowd.report("alive".into(), 1, 3_000);
        assert_eq!(crowd.total(3_000), 8);
        assert_eq!(crowd.total(3_600), 1, "35 ticks without a report");
    }
}
