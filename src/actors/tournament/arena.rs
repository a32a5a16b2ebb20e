//! Arena pairing (placeholder until the arena module lands).

use client_protocol::Side;

pub struct ArenaPlayer {
    pub seed: usize,
    pub score: u32,
    pub rating: i32,
    pub last_opponent: Option<usize>,
    pub last_colour: Option<Side>,
    pub whites: u32,
    pub blacks: u32,
}

pub enum ArenaResult {
    Win,
    Draw,
    Loss,
}

pub fn pair(idle: &[ArenaPlayer]) -> Vec<(usize, usize)> {
    let mut order: Vec<&ArenaPlayer> = idle.iter().collect();
    order.sort_by(|a, b| b.score.cmp(&a.score).then(b.rating.cmp(&a.rating)));
    order
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].seed, c[1].seed))
        .collect()
}

pub fn pairings_closed(now_ms: u64, ends_at_ms: u64, initial_clock_ms: Option<u64>) -> bool {
    let close = initial_clock_ms.map_or(30_000, |c| (c / 2).clamp(30_000, 120_000));
    now_ms + close >= ends_at_ms
}

pub fn score(results: &[ArenaResult]) -> (u32, bool) {
    let (mut points, mut wins) = (0, 0);
    for r in results {
        match r {
            ArenaResult::Win => {
                points += if wins >= 2 { 4 } else { 2 };
                wins += 1;
            }
            ArenaResult::Draw => {
                points += 1;
                wins = 0;
            }
            ArenaResult::Loss => wins = 0,
        }
    }
    (points, wins >= 2)
}
