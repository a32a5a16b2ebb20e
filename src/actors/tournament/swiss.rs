//! Swiss pairing (placeholder until the Dutch-system module lands): greedy, no repeats.

use client_protocol::Side;

pub struct SwissPlayer {
    pub seed: usize,
    pub points: u32,
    pub rating: i32,
    pub opponents: Vec<usize>,
    pub colours: Vec<Side>,
    pub had_bye: bool,
}

pub struct SwissRound {
    pub pairs: Vec<(usize, usize)>,
    pub bye: Option<usize>,
}

pub fn pair(players: &[SwissPlayer]) -> Option<SwissRound> {
    let mut order: Vec<&SwissPlayer> = players.iter().collect();
    order.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then(b.rating.cmp(&a.rating))
            .then(a.seed.cmp(&b.seed))
    });
    let mut bye = None;
    if order.len() % 2 == 1 {
        let i = order.iter().rposition(|p| !p.had_bye)?;
        bye = Some(order.remove(i).seed);
    }
    let mut pairs = Vec::new();
    while let Some(a) = order.first().map(|p| p.seed) {
        let me = order.remove(0);
        let j = order.iter().position(|p| !me.opponents.contains(&p.seed))?;
        let b = order.remove(j);
        let whites = |p: &SwissPlayer| {
            p.colours.iter().filter(|c| **c == Side::First).count() as i64 * 2
                - p.colours.len() as i64
        };
        if whites(me) <= whites(b) {
            pairs.push((a, b.seed))
        } else {
            pairs.push((b.seed, a))
        }
    }
    Some(SwissRound { pairs, bye })
}
