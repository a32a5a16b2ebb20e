//! Glicko-2 ratings (skillratings): the numbers a store keeps and the update a rated game makes.

use client_protocol::{GameResult, RatingChange, RatingDelta};
use serde::{Deserialize, Serialize};
use skillratings::glicko2::{glicko2, Glicko2Config, Glicko2Rating};
use skillratings::Outcomes;

/// A player's Glicko-2 rating.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Glicko {
    pub rating: f64,
    pub deviation: f64,
    pub volatility: f64,
}

impl Default for Glicko {
    fn default() -> Self {
        let r = Glicko2Rating::new();
        Glicko {
            rating: r.rating,
            deviation: r.deviation,
            volatility: r.volatility,
        }
    }
}

impl Glicko {
    /// The rating clients see.
    pub fn display(&self) -> i32 {
        self.rating.round() as i32
    }

    fn to_lib(self) -> Glicko2Rating {
        Glicko2Rating {
            rating: self.rating,
            deviation: self.deviation,
            volatility: self.volatility,
        }
    }

    fn from_lib(r: Glicko2Rating) -> Self {
        Glicko {
            rating: r.rating,
            deviation: r.deviation,
            volatility: r.volatility,
        }
    }
}

/// New ratings of (first, second) after a game with `result`; None for an aborted game.
pub fn rate(first: Glicko, second: Glicko, result: GameResult) -> Option<(Glicko, Glicko)> {
    let outcome = match result {
        GameResult::First => Outcomes::WIN,
        GameResult::Second => Outcomes::LOSS,
        GameResult::Draw => Outcomes::DRAW,
        GameResult::Aborted => return None,
    };
    let (a, b) = glicko2(
        &first.to_lib(),
        &second.to_lib(),
        &outcome,
        &Glicko2Config::new(),
    );
    Some((Glicko::from_lib(a), Glicko::from_lib(b)))
}

/// The wire summary of a rating update.
pub fn change(before: [Glicko; 2], after: [Glicko; 2]) -> RatingChange {
    let delta = |b: Glicko, a: Glicko| RatingDelta {
        before: b.display(),
        after: a.display(),
        delta: a.display() - b.display(),
    };
    RatingChange {
        first: delta(before[0], after[0]),
        second: delta(before[1], after[1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_win_between_equals_moves_both_ratings_symmetrically() {
        let (w, l) = rate(Glicko::default(), Glicko::default(), GameResult::First).unwrap();
        assert!(w.rating > 1500.0 && l.rating < 1500.0);
        assert!(((w.rating - 1500.0) - (1500.0 - l.rating)).abs() < 1e-6);
        assert!(rate(Glicko::default(), Glicko::default(), GameResult::Aborted).is_none());
        let c = change([Glicko::default(); 2], [w, l]);
        assert_eq!(c.first.delta, -c.second.delta);
    }
}
