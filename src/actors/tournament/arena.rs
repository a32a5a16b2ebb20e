//! Arena tournaments (Lichess's continuous pairing): pairing idle players, streak scoring, and
//! closing pairings shortly before the end.
//!
//! An arena has no rounds: whenever players are idle (not in a game) [`pair`] pairs them with
//! their neighbours in the standings, avoiding an immediate rematch wherever anyone else is
//! free. [`score`] counts a player's points with Lichess's streak bonus, and
//! [`pairings_closed`] says when new games stop being started.

use std::cmp::Reverse;

use client_protocol::Side;

/// An idle player as the pairing sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArenaPlayer {
    pub seed: usize,
    pub score: u32,
    pub rating: i32,
    /// Who they played last (if anyone): not paired again at once while someone else is free.
    pub last_opponent: Option<usize>,
    /// Their colour in that game.
    pub last_colour: Option<Side>,
    pub whites: u32,
    pub blacks: u32,
}

/// One game's result for the player it is counted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArenaResult {
    Win,
    Draw,
    Loss,
}

/// Pairs idle players (those not in a game): by score then rating, neighbours together, never
/// the last opponent where another is free. Returns (first=white, second=black) pairs, best
/// ranked first; with an odd count the one left out waits.
///
/// Ranked by score desc, rating desc, seed asc, each player in turn takes the nearest free
/// player below who is not their last opponent (so 1-2, 3-4, ..., with a rematch swapped
/// for the next candidate). Players left with nobody but a last opponent are paired with
/// each other and then repaired: such a pair swaps partners with another pair (or with the
/// waiting player) whenever that lowers the number of rematches, the closest swap in the
/// standings first. Two players who just met are paired again only when no pairing of the
/// idle players avoids it, e.g. when they are the only two idle. The player who waits is the
/// lowest ranked unless avoiding a rematch needs someone else to. Colours: the one with fewer
/// whites gets white, then the one who was not white last time, then the higher ranked.
pub fn pair(idle: &[ArenaPlayer]) -> Vec<(usize, usize)> {
    let n = idle.len();
    let mut ranked: Vec<&ArenaPlayer> = idle.iter().collect();
    ranked.sort_by_key(|p| (Reverse(p.score), Reverse(p.rating), p.seed));
    let rematch = |x: usize, y: usize| {
        let (a, b) = (ranked[x], ranked[y]);
        a.last_opponent == Some(b.seed) || b.last_opponent == Some(a.seed)
    };

    // Neighbours, skipping last opponents. Positions in `ranked` from here on.
    let mut taken = vec![false; n];
    let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(n / 2);
    let mut stuck = Vec::new();
    for x in 0..n {
        if taken[x] {
            continue;
        }
        taken[x] = true;
        match (x + 1..n).find(|&y| !taken[y] && !rematch(x, y)) {
            Some(y) => {
                taken[y] = true;
                pairs.push((x, y));
            }
            None => stuck.push(x),
        }
    }
    let mut waiter = None;
    for chunk in stuck.chunks(2) {
        match *chunk {
            [x, y] => pairs.push((x, y)),
            [x] => waiter = Some(x),
            _ => {}
        }
    }

    // Repair the rematches left: each applied swap removes at least one, so this ends.
    let dist = |(x, y): (usize, usize)| x.abs_diff(y);
    loop {
        let mut best: Option<(usize, usize, Swap)> = None; // (gain, displacement, swap)
        for k in 0..pairs.len() {
            let (x, y) = pairs[k];
            if !rematch(x, y) {
                continue;
            }
            let mut consider = |gain: usize, displacement: usize, swap: Swap| {
                if gain > 0
                    && best.is_none_or(|(g, d, _)| gain > g || (gain == g && displacement < d))
                {
                    best = Some((gain, displacement, swap));
                }
            };
            for (l, &(u, v)) in pairs.iter().enumerate() {
                if l == k {
                    continue;
                }
                let before = 1 + usize::from(rematch(u, v));
                for (p, q) in [((x, u), (y, v)), ((x, v), (y, u))] {
                    let after = usize::from(rematch(p.0, p.1)) + usize::from(rematch(q.0, q.1));
                    if after < before {
                        consider(before - after, dist(p) + dist(q), Swap::Pairs(k, l, p, q));
                    }
                }
            }
            if let Some(w) = waiter {
                for (stays, waits) in [(x, y), (y, x)] {
                    if !rematch(stays, w) {
                        // Prefer the lower-ranked of the two to wait.
                        let displacement = dist((stays, w)) + usize::from(waits < stays);
                        consider(1, displacement, Swap::Waiter(k, (stays, w), waits));
                    }
                }
            }
        }
        match best {
            None => break,
            Some((_, _, Swap::Pairs(k, l, p, q))) => {
                pairs[k] = p;
                pairs[l] = q;
            }
            Some((_, _, Swap::Waiter(k, p, waits))) => {
                pairs[k] = p;
                waiter = Some(waits);
            }
        }
    }

    let mut boards: Vec<(usize, usize)> = pairs
        .into_iter()
        .map(|(x, y)| (x.min(y), x.max(y)))
        .collect();
    boards.sort_unstable();
    boards
        .into_iter()
        .map(|(x, y)| {
            let (a, b) = (ranked[x], ranked[y]);
            if a_gets_white(a, b) {
                (a.seed, b.seed)
            } else {
                (b.seed, a.seed)
            }
        })
        .collect()
}

/// A repair step: a rematch pair `k` exchanges partners with pair `l`, or takes the waiting
/// player in (the named player waits instead).
#[derive(Clone, Copy)]
enum Swap {
    Pairs(usize, usize, (usize, usize), (usize, usize)),
    Waiter(usize, (usize, usize), usize),
}

/// `a` is the higher ranked: fewer whites gets white, then not white last time, then `a`.
fn a_gets_white(a: &ArenaPlayer, b: &ArenaPlayer) -> bool {
    if a.whites != b.whites {
        return a.whites < b.whites;
    }
    let (a_was_white, b_was_white) = (
        a.last_colour == Some(Side::First),
        b.last_colour == Some(Side::First),
    );
    if a_was_white != b_was_white {
        return !a_was_white;
    }
    true
}

/// How long before the end no new game is paired, in ms: Lichess's
/// `pairingsClosedSeconds = max(30, min(clock.limitSeconds / 2, 120))` (whole seconds, as
/// Lichess counts them); untimed: 30 s.
pub fn pairings_closed_window_ms(initial_clock_ms: Option<u64>) -> u64 {
    let seconds = match initial_clock_ms {
        None => 30,
        Some(ms) => (ms / 1000 / 2).clamp(30, 120),
    };
    seconds * 1000
}

/// Lichess closes arena pairings shortly before the end: no new pairing once fewer than
/// `max(30 s, min(initial clock / 2, 120 s))` remain (untimed: 30 s). Times in ms; also
/// closed once the arena has ended.
pub fn pairings_closed(now_ms: u64, ends_at_ms: u64, initial_clock_ms: Option<u64>) -> bool {
    ends_at_ms.saturating_sub(now_ms) < pairings_closed_window_ms(initial_clock_ms)
}

/// The points of a player's results in order: win 2, draw 1, loss 0; after two wins in a row
/// each further win scores 4 until a result that is not a win. Also returns whether the player
/// is on a streak ("on fire": the next win would score 4).
pub fn score(results: &[ArenaResult]) -> (u32, bool) {
    let mut points: u32 = 0;
    let mut wins_in_a_row = 0u32;
    for result in results {
        let (gained, streak) = match result {
            ArenaResult::Win if wins_in_a_row >= 2 => (4, wins_in_a_row + 1),
            ArenaResult::Win => (2, wins_in_a_row + 1),
            ArenaResult::Draw => (1, 0),
            ArenaResult::Loss => (0, 0),
        };
        points = points.saturating_add(gained);
        wins_in_a_row = streak.min(2);
    }
    (points, wins_in_a_row >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    use ArenaResult::{Draw as D, Loss as L, Win as W};

    fn player(seed: usize, score: u32, last: Option<usize>) -> ArenaPlayer {
        ArenaPlayer {
            seed,
            score,
            rating: 1500,
            last_opponent: last,
            last_colour: None,
            whites: 0,
            blacks: 0,
        }
    }

    fn as_set(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut v: Vec<(usize, usize)> = pairs.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn the_only_two_idle_play_again() {
        let idle = [player(0, 4, Some(1)), player(1, 2, Some(0))];
        assert_eq!(pair(&idle), vec![(0, 1)]);
        assert_eq!(pair(&[]), vec![]);
        assert_eq!(pair(&[player(7, 0, None)]), vec![]);
    }

    #[test]
    fn top_two_just_met_so_the_top_plays_the_third() {
        let idle = [
            player(0, 10, Some(1)),
            player(1, 8, Some(0)),
            player(2, 6, None),
        ];
        assert_eq!(pair(&idle), vec![(0, 2)]);
        // Only one of them having the other as last opponent is enough.
        let idle = [
            player(0, 10, Some(1)),
            player(1, 8, None),
            player(2, 6, None),
        ];
        assert_eq!(pair(&idle), vec![(0, 2)]);
    }

    #[test]
    fn four_sorted_by_score_then_rating_then_seed() {
        let mut idle = vec![
            player(3, 1, None),
            player(1, 9, None),
            player(2, 5, None),
            player(0, 7, None),
        ];
        assert_eq!(pair(&idle), vec![(1, 0), (2, 3)]);
        // Equal scores: rating, then seed.
        idle[0].score = 9; // seed 3
        idle[0].rating = 1400;
        assert_eq!(pair(&idle), vec![(1, 3), (0, 2)]);
    }

    #[test]
    fn rematch_swapped_with_the_next_candidate() {
        // 0-1 just met: 0-2 and 1-3.
        let idle = [
            player(0, 8, Some(1)),
            player(1, 7, Some(0)),
            player(2, 6, None),
            player(3, 5, None),
        ];
        assert_eq!(as_set(&pair(&idle)), vec![(0, 2), (1, 3)]);
        // 2-3 (the bottom pair) just met: repaired by swapping with 0-1.
        let idle = [
            player(0, 8, None),
            player(1, 7, None),
            player(2, 6, Some(3)),
            player(3, 5, Some(2)),
        ];
        let pairs = pair(&idle);
        assert_eq!(pairs.len(), 2);
        assert!(!as_set(&pairs).contains(&(2, 3)), "{pairs:?}");
        // Odd: 1-2 just met; 0-1 and 2 waits would do, and does.
        let idle = [
            player(0, 8, None),
            player(1, 7, Some(2)),
            player(2, 6, Some(1)),
        ];
        assert_eq!(as_set(&pair(&idle)), vec![(0, 1)]);
        // Odd, the waiter must change: 0-1 just met, and 2 conflicts with... nobody; the
        // greedy gives 0-2, 1 waits.
        let idle = [
            player(0, 8, Some(1)),
            player(1, 7, Some(0)),
            player(2, 6, None),
        ];
        assert_eq!(as_set(&pair(&idle)), vec![(0, 2)]);
    }

    #[test]
    fn colours_balance() {
        let mut a = player(0, 10, None);
        let mut b = player(1, 8, None);
        // Nothing to go on: the higher ranked is white.
        assert_eq!(pair(&[a.clone(), b.clone()]), vec![(0, 1)]);
        // Fewer whites gets white.
        a.whites = 3;
        b.whites = 2;
        assert_eq!(pair(&[a.clone(), b.clone()]), vec![(1, 0)]);
        // Same whites: the one who was not white last time.
        b.whites = 3;
        a.last_colour = Some(Side::Second);
        b.last_colour = Some(Side::First);
        assert_eq!(pair(&[a.clone(), b.clone()]), vec![(0, 1)]);
        a.last_colour = Some(Side::First);
        b.last_colour = Some(Side::Second);
        assert_eq!(pair(&[a.clone(), b.clone()]), vec![(1, 0)]);
        // Both white last time, same whites: the higher ranked.
        b.last_colour = Some(Side::First);
        assert_eq!(pair(&[a.clone(), b.clone()]), vec![(0, 1)]);
        // Blacks do not matter, only whites.
        b.blacks = 9;
        assert_eq!(pair(&[a, b]), vec![(0, 1)]);
    }

    #[test]
    fn streak_scoring() {
        assert_eq!(
            score(&[W, W, W, D, W, W, W]),
            (2 + 2 + 4 + 1 + 2 + 2 + 4, true)
        );
        assert_eq!(score(&[W, W, W, D, W, W, W]).0, 17);
        assert_eq!(score(&[L, W, W, W]), (8, true));
        assert_eq!(score(&[]), (0, false));
        assert_eq!(score(&[W]), (2, false));
        assert_eq!(score(&[W, W]), (4, true));
        assert_eq!(score(&[W, W, W, W, W]), (2 + 2 + 4 + 4 + 4, true));
        assert_eq!(score(&[W, W, L]), (4, false));
        assert_eq!(score(&[W, W, D, W]), (4 + 1 + 2, false));
        assert_eq!(score(&[D, D, D]), (3, false));
    }

    #[test]
    fn pairings_close_before_the_end() {
        let end = 10_000_000;
        // 3+2: limit 180 s -> 90 s.
        let blitz = Some(180_000);
        assert_eq!(pairings_closed_window_ms(blitz), 90_000);
        assert!(!pairings_closed(end - 90_000, end, blitz));
        assert!(pairings_closed(end - 89_999, end, blitz));
        // 10 min -> capped at 120 s.
        let rapid = Some(600_000);
        assert_eq!(pairings_closed_window_ms(rapid), 120_000);
        assert!(!pairings_closed(end - 120_000, end, rapid));
        assert!(pairings_closed(end - 119_999, end, rapid));
        // 30 s clock -> at least 30 s.
        let bullet = Some(30_000);
        assert_eq!(pairings_closed_window_ms(bullet), 30_000);
        assert!(!pairings_closed(end - 30_000, end, bullet));
        assert!(pairings_closed(end - 29_999, end, bullet));
        // Untimed -> 30 s.
        assert_eq!(pairings_closed_window_ms(None), 30_000);
        assert!(!pairings_closed(end - 30_000, end, None));
        assert!(pairings_closed(end - 29_999, end, None));
        // Whole seconds of the limit, as Lichess: 61 s -> 30 s, 181.5 s -> 90 s.
        assert_eq!(pairings_closed_window_ms(Some(61_000)), 30_000);
        assert_eq!(pairings_closed_window_ms(Some(181_500)), 90_000);
        // Long before: open; at or after the end: closed.
        assert!(!pairings_closed(0, end, blitz));
        assert!(pairings_closed(end, end, blitz));
        assert!(pairings_closed(end + 5, end, blitz));
    }

    // ---- properties ----

    fn field(
        n: usize,
        scores: &[u32],
        lasts: &[Option<usize>],
        mutual: &[bool],
        whites: &[u32],
    ) -> Vec<ArenaPlayer> {
        let mut idle: Vec<ArenaPlayer> = (0..n)
            .map(|s| ArenaPlayer {
                seed: s,
                score: scores[s],
                rating: 1500 + (scores[s] as i32 * 7) % 50,
                last_opponent: lasts[s].filter(|&o| o != s),
                last_colour: if whites[s].is_multiple_of(2) {
                    None
                } else {
                    Some(Side::First)
                },
                whites: whites[s],
                blacks: 0,
            })
            .collect();
        for s in 0..n {
            if let (true, Some(o)) = (mutual[s], idle[s].last_opponent) {
                if o < n {
                    idle[o].last_opponent = Some(s);
                }
            }
        }
        idle
    }

    fn rematches(idle: &[ArenaPlayer], pairs: &[(usize, usize)]) -> usize {
        let last = |s: usize| {
            idle.iter()
                .find(|p| p.seed == s)
                .and_then(|p| p.last_opponent)
        };
        pairs
            .iter()
            .filter(|&&(a, b)| last(a) == Some(b) || last(b) == Some(a))
            .count()
    }

    /// The fewest rematches any pairing of floor(n/2) games can have.
    fn fewest_rematches(idle: &[ArenaPlayer]) -> usize {
        fn rec(idle: &[ArenaPlayer], free: &[usize], waits_left: usize) -> usize {
            let Some((&a, rest)) = free.split_first() else {
                return 0;
            };
            let mut best = usize::MAX;
            if waits_left > 0 {
                best = rec(idle, rest, waits_left - 1);
            }
            for (i, &b) in rest.iter().enumerate() {
                let (pa, pb) = (&idle[a], &idle[b]);
                let cost = usize::from(
                    pa.last_opponent == Some(pb.seed) || pb.last_opponent == Some(pa.seed),
                );
                let others: Vec<usize> = rest
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &v)| v)
                    .collect();
                best = best.min(cost.saturating_add(rec(idle, &others, waits_left)));
            }
            best
        }
        let n = idle.len();
        rec(idle, &(0..n).collect::<Vec<_>>(), n % 2)
    }

    fn check_shape(idle: &[ArenaPlayer], pairs: &[(usize, usize)]) -> Result<(), TestCaseError> {
        prop_assert_eq!(pairs.len(), idle.len() / 2);
        let seeds: HashSet<usize> = idle.iter().map(|p| p.seed).collect();
        let mut seen = HashSet::new();
        for &(a, b) in pairs {
            prop_assert!(a != b);
            prop_assert!(seeds.contains(&a) && seeds.contains(&b));
            prop_assert!(seen.insert(a) && seen.insert(b), "twice in {:?}", pairs);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn rematch_only_when_unavoidable(
            n in 0usize..=11,
            scores in prop::collection::vec(0u32..6, 11),
            lasts in prop::collection::vec(prop::option::of(0usize..13), 11),
            mutual in prop::collection::vec(any::<bool>(), 11),
            whites in prop::collection::vec(0u32..4, 11),
        ) {
            let idle = field(n, &scores, &lasts, &mutual, &whites);
            let pairs = pair(&idle);
            check_shape(&idle, &pairs)?;
            let fewest = fewest_rematches(&idle);
            let got = rematches(&idle, &pairs);
            prop_assert_eq!(got, fewest, "pairs {:?} for {:?}", pairs, idle);
        }

        #[test]
        fn rematch_only_when_unavoidable_with_stars(
            n in 0usize..=11,
            scores in prop::collection::vec(0u32..3, 11),
            lasts in prop::collection::vec(prop::option::of(0usize..3), 11),
            mutual in prop::collection::vec(any::<bool>(), 11),
        ) {
            // Everyone's last opponent among the top three: stars and crowded conflicts.
            let idle = field(n, &scores, &lasts, &mutual, &[0; 11]);
            let pairs = pair(&idle);
            check_shape(&idle, &pairs)?;
            prop_assert_eq!(rematches(&idle, &pairs), fewest_rematches(&idle), "{:?}", pairs);
        }

        #[test]
        fn large_idle_sets_keep_their_shape(
            n in 0usize..=300,
            scores in prop::collection::vec(0u32..40, 300),
            lasts in prop::collection::vec(prop::option::of(0usize..310), 300),
            mutual in prop::collection::vec(any::<bool>(), 300),
            whites in prop::collection::vec(0u32..10, 300),
        ) {
            let idle = field(n, &scores, &lasts, &mutual, &whites);
            let pairs = pair(&idle);
            check_shape(&idle, &pairs)?;
            // With four or more idle a rematch is avoidable unless someone is everyone's last
            // opponent; these random fields have no such player, so no rematch at all.
            let mut last_of_many = vec![0usize; 310];
            for p in &idle {
                if let Some(o) = p.last_opponent {
                    last_of_many[o] += 1;
                }
            }
            if n >= 6 && last_of_many.iter().all(|&c| c + 3 < n) {
                prop_assert_eq!(rematches(&idle, &pairs), 0, "{:?}", pairs);
            }
        }

        #[test]
        fn without_rematches_neighbours_play(
            n in 0usize..=50,
            scores in prop::collection::vec(0u32..40, 50),
        ) {
            let idle: Vec<ArenaPlayer> = (0..n).map(|s| player(s, scores[s], None)).collect();
            let pairs = pair(&idle);
            let mut ranked: Vec<&ArenaPlayer> = idle.iter().collect();
            ranked.sort_by_key(|p| (Reverse(p.score), Reverse(p.rating), p.seed));
            let expected: Vec<(usize, usize)> = ranked
                .chunks_exact(2)
                .map(|c| (c[0].seed, c[1].seed))
                .collect();
            prop_assert_eq!(pairs, expected);
        }
    }
}
