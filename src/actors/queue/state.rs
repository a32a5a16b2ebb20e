//! A matchmaking queue's state, its snapshot: waiting tickets, oldest first, and pending
//! matchups; and the pure pairing rule, by rating with a window that widens while players wait.

use client_protocol::QueueSpec;
use serde::{Deserialize, Serialize};

use crate::domain::{MatchupId, QueueKey, SessionId, UserId};
use crate::messages::Ticket;

/// The rating window stops widening here.
const MAX_WINDOW: u32 = 1000;

/// Two players asked to accept each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matchup {
    pub id: MatchupId,
    pub tickets: [Ticket; 2],
    pub accepted: [bool; 2],
    pub expires_at: u64,
}

/// A queue's snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueState {
    pub key: QueueKey,
    pub spec: QueueSpec,
    /// Oldest first: the front is paired first.
    pub waiting: Vec<Ticket>,
    pub matchups: Vec<Matchup>,
    pub rev: u64,
}

/// The rating window rules, from config.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub base: u32,
    pub growth_per_sec: u32,
}

impl Window {
    /// How far from its own rating a ticket accepts an opponent after waiting until `now`.
    pub fn width(&self, ticket: &Ticket, now: u64) -> u32 {
        let waited_secs = now.saturating_sub(ticket.queued_at) / 1000;
        let grown = self.base as u64 + self.growth_per_sec as u64 * waited_secs;
        grown.min(MAX_WINDOW as u64) as u32
    }
}

impl QueueState {
    pub fn new(key: QueueKey, spec: QueueSpec) -> Self {
        QueueState {
            key,
            spec,
            waiting: Vec::new(),
            matchups: Vec::new(),
            rev: 0,
        }
    }

    pub fn holds_session(&self, session: &SessionId) -> bool {
        self.waiting.iter().any(|t| &t.session == session)
            || self
                .matchups
                .iter()
                .any(|m| m.tickets.iter().any(|t| &t.session == session))
    }

    pub fn holds_user(&self, user: &UserId) -> bool {
        self.waiting.iter().any(|t| &t.user_id == user)
            || self
                .matchups
                .iter()
                .any(|m| m.tickets.iter().any(|t| &t.user_id == user))
    }

    /// Pairs waiting tickets, oldest first, each with the closest rating both windows accept.
    /// Pure: `make_id` supplies matchup ids.
    pub fn pair(
        &mut self,
        now: u64,
        window: Window,
        timeout_ms: u64,
        mut make_id: impl FnMut() -> MatchupId,
    ) -> Vec<Matchup> {
        let mut made = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            let a = &self.waiting[i];
            let best = self.waiting[i + 1..]
                .iter()
                .enumerate()
                .filter(|(_, b)| b.user_id != a.user_id)
                .map(|(j, b)| (i + 1 + j, a.rating.abs_diff(b.rating)))
                .filter(|&(j, diff)| {
                    let b = &self.waiting[j];
                    diff <= window.width(a, now).min(window.width(b, now))
                })
                .min_by_key(|&(_, diff)| diff);
            match best {
                Some((j, _)) => {
                    let b = self.waiting.remove(j);
                    let a = self.waiting.remove(i);
                    made.push(Matchup {
                        id: make_id(),
                        tickets: [a, b],
                        accepted: [false, false],
                        expires_at: now + timeout_ms,
                    });
                }
                None => i += 1,
            }
        }
        self.matchups.extend(made.iter().cloned());
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use client_protocol::GameKind;

    fn ticket(name: &str, rating: i32, queued_at: u64) -> Ticket {
        Ticket {
            session: SessionId::generate(),
            user_id: UserId::generate(),
            name: name.into(),
            rating,
            guest: false,
            queued_at,
            glicko: None,
        }
    }

    fn queue() -> QueueState {
        let spec = QueueSpec {
            game: GameKind::Chess,
            clock: None,
            rated: true,
        };
        QueueState::new(QueueKey::from_spec(&spec).unwrap(), spec)
    }

    const WINDOW: Window = Window {
        base: 100,
        growth_per_sec: 50,
    };

    #[test]
    fn close_ratings_pair_at_once_and_far_ones_wait_for_the_window_to_widen() {
        let mut q = queue();
        q.waiting = vec![
            ticket("a", 1500, 0),
            ticket("b", 1900, 0),
            ticket("c", 1550, 0),
        ];
        let made = q.pair(0, WINDOW, 10_000, MatchupId::generate);
        assert_eq!(made.len(), 1);
        assert_eq!(
            [
                made[0].tickets[0].name.as_str(),
                made[0].tickets[1].name.as_str()
            ],
            ["a", "c"]
        );
        assert_eq!(q.waiting.len(), 1);

        q.waiting.push(ticket("d", 1500, 0));
        assert!(
            q.pair(1_000, WINDOW, 10_000, MatchupId::generate)
                .is_empty(),
            "400 apart after 1 s"
        );
        assert_eq!(
            q.pair(6_000, WINDOW, 10_000, MatchupId::generate).len(),
            1,
            "window 400 after 6 s"
        );
    }

    #[test]
    fn a_player_is_never_paired_with_themselves() {
        let mut q = queue();
        let a = ticket("a", 1500, 0);
        let mut again = ticket("a2", 1500, 0);
        again.user_id = a.user_id.clone();
        q.waiting = vec![a, again];
        assert!(q.pair(0, WINDOW, 10_000, MatchupId::generate).is_empty());
    }

    #[test]
    fn the_window_stops_widening_at_its_maximum() {
        let t = ticket("a", 1500, 0);
        assert_eq!(WINDOW.width(&t, 0), 100);
        assert_eq!(WINDOW.width(&t, 3_000), 250);
        assert_eq!(WINDOW.width(&t, 3_600_000), MAX_WINDOW);
    }
}
