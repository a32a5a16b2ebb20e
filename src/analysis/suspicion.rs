//! Suspicion scores: how much one game, and an account's recent games, look like an engine
//! played them (accuracy near perfect, move times regular), damped when there is little to go on.
//!
//! Every score is `100 * skill * timing * evidence`:
//! - skill: the mean of the accuracy and perfect-move shares, 0 at or below 55 % (a strong
//!   human's range at these depths), 1 at 90 % and above;
//! - timing: 0.5 + 0.5 * regularity, where regularity falls from 1 (every move in the same
//!   time) to 0 at a coefficient of variation of 0.8 (typical of people, who think longest at
//!   the hard moves). So timing never clears a perfect player, and alone never flags one;
//! - evidence: how much the games say, by kind (a solved game is easy to play perfectly) and
//!   length. Per game `weight(kind) * n / (n + 5)` for `n` moves; over an account `E / (E + 1)`
//!   where `E` is the games' evidence summed.

use super::PlayerAnalysis;
use crate::games::GameKind;

/// An account whose `account_suspicion` is at or above this is flagged. Five perfect chess
/// games of 20 moves with regular times score about 78; one game, however long, at most 50; an account
/// that plays only tic-tac-toe, however perfectly, stays below (at most 67).
pub const FLAG_THRESHOLD: f64 = 70.0;

/// How many of an account's newest games `account_suspicion` reads.
pub const RECENT_GAMES: usize = 20;

/// Skill is 0 at or below this share of good moves...
const SKILL_FLOOR: f64 = 0.55;
/// ...and 1 at or above this one.
const SKILL_CEILING: f64 = 0.90;

/// The coefficient of variation of move times at which they stop looking regular.
const HUMAN_TIME_VARIATION: f64 = 0.8;

/// A game of this many moves counts half as much as an endless one.
const HALF_EVIDENCE_MOVES: f64 = 5.0;

/// How much a perfect game of each kind says about its player: chess cannot be played
/// perfectly by a person, connect-four rarely to depth 8, tic-tac-toe easily.
fn kind_weight(kind: GameKind) -> f64 {
    match kind {
        GameKind::Chess => 1.0,
        GameKind::Connect4 => 0.6,
        GameKind::TicTacToe => 0.2,
    }
}

fn evidence(kind: GameKind, moves: u32) -> f64 {
    let n = f64::from(moves);
    kind_weight(kind) * n / (n + HALF_EVIDENCE_MOVES)
}

/// The share of good play, 0-1: accurate and perfect moves counted alike.
fn quality(player: &PlayerAnalysis) -> f64 {
    if player.moves == 0 {
        return 0.0;
    }
    let perfect = f64::from(player.perfect_moves) / f64::from(player.moves);
    (player.accuracy / 100.0 + perfect) / 2.0
}

fn skill(quality: f64) -> f64 {
    ((quality - SKILL_FLOOR) / (SKILL_CEILING - SKILL_FLOOR)).clamp(0.0, 1.0)
}

/// 1 for moves all made in the same time, 0 for times as uneven as a person's. Instant moves
/// (a mean of 0) are as regular as it gets.
fn regularity(player: &PlayerAnalysis) -> f64 {
    if player.move_time_mean_ms <= 0.0 {
        return 1.0;
    }
    let variation = player.move_time_spread_ms / player.move_time_mean_ms;
    (1.0 - variation / HUMAN_TIME_VARIATION).clamp(0.0, 1.0)
}

fn score(skill: f64, regularity: f64, evidence: f64) -> f64 {
    100.0 * skill * (0.5 + 0.5 * regularity) * evidence
}

/// The suspicion of one game alone, 0-100, from the other fields of `player`.
pub(super) fn game_suspicion(player: &PlayerAnalysis) -> f64 {
    score(
        skill(quality(player)),
        regularity(player),
        evidence(player.kind, player.moves),
    )
}

/// Suspicion across an account's recent games (newest first), 0-100: combines high accuracy
/// with low move-time spread; few games -> damped. Reads the newest `RECENT_GAMES`; each game
/// weighs by its evidence, so long chess games count most.
pub fn account_suspicion(recent: &[PlayerAnalysis]) -> f64 {
    let games = &recent[..recent.len().min(RECENT_GAMES)];
    let total: f64 = games.iter().map(|g| evidence(g.kind, g.moves)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let mean = |f: fn(&PlayerAnalysis) -> f64| {
        games
            .iter()
            .map(|g| evidence(g.kind, g.moves) * f(g))
            .sum::<f64>()
            / total
    };
    score(
        skill(mean(quality)),
        mean(regularity),
        total / (total + 1.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(
        kind: GameKind,
        moves: u32,
        perfect: u32,
        accuracy: f64,
        times: (f64, f64),
    ) -> PlayerAnalysis {
        let mut player = PlayerAnalysis {
            name: "p".into(),
            kind,
            accuracy,
            perfect_moves: perfect,
            moves,
            average_loss: 0.0,
            move_time_mean_ms: times.0,
            move_time_spread_ms: times.1,
            suspicion: 0.0,
        };
        player.suspicion = game_suspicion(&player);
        player
    }

    fn engine_like() -> PlayerAnalysis {
        game(GameKind::Chess, 20, 19, 100.0, (1500.0, 60.0))
    }

    fn human_like() -> PlayerAnalysis {
        game(GameKind::Chess, 20, 7, 55.0, (9000.0, 8000.0))
    }

    #[test]
    fn a_steady_perfect_player_is_flagged_over_five_games_and_a_human_is_not() {
        let engine = account_suspicion(&vec![engine_like(); 5]);
        let human = account_suspicion(&vec![human_like(); 5]);
        assert!(engine >= FLAG_THRESHOLD, "{engine}");
        assert!(human < 10.0, "{human}");
    }

    #[test]
    fn one_perfect_game_is_damped_below_the_threshold() {
        let one = account_suspicion(&[engine_like()]);
        assert!(one > 0.0 && one < FLAG_THRESHOLD, "{one}");
    }

    #[test]
    fn irregular_times_lower_suspicion_but_never_clear_a_perfect_player() {
        let steady = engine_like();
        let uneven = game(GameKind::Chess, 20, 19, 100.0, (1500.0, 3000.0));
        assert!(uneven.suspicion < steady.suspicion);
        assert!(uneven.suspicion >= steady.suspicion / 2.0 - 1.0);
    }

    #[test]
    fn perfect_tic_tac_toe_alone_never_flags_an_account() {
        let perfect = game(GameKind::TicTacToe, 5, 5, 100.0, (800.0, 0.0));
        let score = account_suspicion(&vec![perfect; 50]);
        assert!(score < FLAG_THRESHOLD, "{score}");
    }

    #[test]
    fn only_the_newest_games_count() {
        let mut games = vec![human_like(); RECENT_GAMES];
        games.extend(vec![engine_like(); 10]);
        assert!(account_suspicion(&games) < 10.0);
    }

    #[test]
    fn no_games_or_no_moves_is_no_suspicion() {
        assert_eq!(account_suspicion(&[]), 0.0);
        let empty = game(GameKind::Chess, 0, 0, 0.0, (0.0, 0.0));
        assert_eq!(empty.suspicion, 0.0);
        assert_eq!(account_suspicion(&[empty]), 0.0);
    }
}
