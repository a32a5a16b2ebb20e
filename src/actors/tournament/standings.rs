//! Standings from a tournament's games, pure: the contract's scoring (swiss 1 / ½ / 0 and 1 per
//! bye; arena 2 / 1 / 0 and 4 per win on a streak) and tie-breaks (swiss Buchholz, then
//! Sonneborn–Berger).

use client_protocol::tournament::Standing;
use client_protocol::{GameResult, Side, TournamentFormat};

use super::arena::{self, ArenaResult};
use super::state::TournamentState;

/// A side's score in a game, in half points (aborted: a loss for both, nobody was ready).
pub fn points2(result: Option<GameResult>, side: Side) -> u32 {
    match result {
        Some(GameResult::Draw) => 1,
        Some(GameResult::First) if side == Side::First => 2,
        Some(GameResult::Second) if side == Side::Second => 2,
        _ => 0,
    }
}

/// One game of one player, in the order the tournament started them.
#[derive(Clone, Copy, Debug)]
pub struct Played {
    pub opponent: usize,
    pub side: Side,
    /// None while it is played.
    pub result: Option<GameResult>,
}

impl Played {
    /// This player's points in half points (0 while it is played).
    pub fn points2(&self) -> u32 {
        points2(self.result, self.side)
    }
}

/// Every player's games, by index, in one pass over the tournament's games.
pub fn histories(state: &TournamentState) -> Vec<Vec<Played>> {
    let mut all = vec![Vec::new(); state.players.len()];
    for game in &state.games {
        for side in Side::BOTH {
            let me = game.players[side.index()];
            all[me].push(Played {
                opponent: game.players[side.other().index()],
                side,
                result: game.result,
            });
        }
    }
    all
}

/// Every player's arena score and streak, by index.
pub fn arena_scores(histories: &[Vec<Played>]) -> Vec<(u32, bool)> {
    histories
        .iter()
        .map(|games| {
            let results: Vec<ArenaResult> = games
                .iter()
                .filter(|g| g.result.is_some())
                .map(|g| match g.points2() {
                    2 => ArenaResult::Win,
                    1 => ArenaResult::Draw,
                    _ => ArenaResult::Loss,
                })
                .collect();
            arena::score(&results)
        })
        .collect()
}

/// The standings, best first: by score, then tie-breaks, then rating, then name.
pub fn of(state: &TournamentState) -> Vec<Standing> {
    let swiss = state.spec.format == TournamentFormat::Swiss;
    let histories = histories(state);
    // Finished games only: (opponent, points2).
    let games: Vec<Vec<(usize, u32)>> = histories
        .iter()
        .map(|h| {
            h.iter()
                .filter(|g| g.result.is_some())
                .map(|g| (g.opponent, g.points2()))
                .collect()
        })
        .collect();
    // Swiss scores in half points, byes included: the tie-breaks sum opponents' scores.
    let swiss_points: Vec<u32> = (0..state.players.len())
        .map(|i| {
            2 * state.players[i].byes.len() as u32 + games[i].iter().map(|(_, p)| p).sum::<u32>()
        })
        .collect();
    let arena = if swiss {
        Vec::new()
    } else {
        arena_scores(&histories)
    };
    let mut rows: Vec<Standing> = state
        .players
        .iter()
        .enumerate()
        .filter(|(i, p)| !p.withdrawn || !games[*i].is_empty())
        .map(|(i, player)| {
            let mine = &games[i];
            let wins = mine.iter().filter(|(_, p)| *p == 2).count() as u32;
            let draws = mine.iter().filter(|(_, p)| *p == 1).count() as u32;
            let (score, tie_break, streak) = if swiss {
                let buchholz: u32 = mine.iter().map(|(o, _)| swiss_points[*o]).sum();
                let sonneborn: u32 = mine.iter().map(|(o, p)| swiss_points[*o] * p).sum();
                (
                    swiss_points[i] as f64 / 2.0,
                    vec![buchholz as f64 / 2.0, sonneborn as f64 / 4.0],
                    false,
                )
            } else {
                let (score, fire) = arena[i];
                (score as f64, Vec::new(), fire)
            };
            Standing {
                rank: 0,
                name: player.name.clone(),
                rating: player.rating,
                score,
                games: mine.len() as u32,
                wins,
                draws,
                losses: mine.len() as u32 - wins - draws,
                tie_break,
                byes: player.byes.len() as u32,
                streak,
                withdrawn: player.withdrawn,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| {
                b.tie_break
                    .iter()
                    .zip(&a.tie_break)
                    .map(|(x, y)| x.total_cmp(y))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .then(b.rating.cmp(&a.rating))
            .then_with(|| a.name.cmp(&b.name))
    });
    for (rank, row) in rows.iter_mut().enumerate() {
        row.rank = rank as u32 + 1;
    }
    rows
}
