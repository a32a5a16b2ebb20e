//! Swiss tournament pairing: the Dutch system's core rules (FIDE C.04.3 in spirit, simplified).
//!
//! [`pair`] takes the standings before a round and returns that round's boards and bye. The
//! rules, in priority order:
//!
//! 1. Absolute: no repeat pairing, at most one bye per player, exactly one bye iff the field is
//!    odd, each player once.
//! 2. The bye goes to the lowest-ranked player who has not had one and whose removal leaves a
//!    field that can still be paired.
//! 3. Absolute colours: nobody gets a third game in a row with the same colour, nor a colour
//!    difference beyond ±2, wherever some pairing that honours 1 and 2 avoids it; when none
//!    does, this rule is dropped for the whole round (FIDE keeps it as an absolute criterion
//!    too, which is why it sits above the score-group preferences here).
//! 4. Score groups (ranked by points, rating, seed), each with the downfloaters of the group
//!    above at its top: S1 (top half) against S2 (bottom half) in order; when that breaks a rule
//!    above, transpositions of S2 in lexicographic order, then exchanges of one player (of two in
//!    brackets with at most [`DOUBLE_EXCHANGE_MAX_S1`] players in S1) between S1 and S2 in FIDE's
//!    order, then any pairing of the bracket; as many pairs as possible in the bracket, so the
//!    fewest and lowest players float down.
//! 5. Colours: first whatever breaks fewer absolute preferences; then different preferences
//!    are both granted; a shared one goes to the higher-ranked; a single one is granted; with
//!    none at all (round 1) the higher-ranked is white on odd boards and black on even ones.
//!    A preference is white when whites minus blacks is negative, or zero with black last
//!    (black symmetrically); it is absolute at a difference beyond ±1 or after two games
//!    in a row with the same colour.
//!
//! How it stays complete and fast: an exact maximum matching (Edmonds' blossom algorithm) on
//! the graph of pairs that rule 1 (and, when it can be kept, rule 3) allows is the oracle.
//! `None` is returned exactly when that graph, with a dummy "bye" vertex joined to every player
//! still owed a bye when the field is odd, has no perfect matching, so `None` means no valid
//! pairing exists at all. During the search a perfect matching of the not-yet-paired players
//! is kept; a tentative pair is accepted only if the rest can still be perfectly matched (one
//! augmenting-path search, O(V·E) at worst, usually a few steps). So no branch of the search can
//! strand a player, and the greedy fallback can always finish. The Dutch search itself is a
//! backtracking search bounded by a work budget ([`BRACKET_BUDGET`] per score bracket,
//! [`ROUND_BUDGET`] per call, counted in edges and vertices looked at); when a bracket's budget
//! runs out that bracket is paired greedily in Dutch order (each player takes the first of a few
//! candidates the oracle accepts, else floats), and when the round's budget runs out the rest
//! comes straight from the oracle's matching. Either way rule 1 holds; only the finer Dutch
//! preferences may be missed.
//!
//! Simplifications against FIDE C.04.3: brackets with downfloaters are treated as homogeneous
//! (the downfloaters simply head S1); colour preferences below the absolute ones do not reorder
//! the search, they only decide who gets white; there are no float-history criteria; absolute
//! colour constraints are kept or dropped for the whole round, not pair by pair.

use std::cmp::Reverse;
use std::collections::{HashMap, VecDeque};

use client_protocol::Side;

/// A player's standing before the round being paired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwissPlayer {
    /// The player's stable pairing number: 0 is the top seed.
    pub seed: usize,
    /// Score in half points: win 2, draw 1, loss 0, bye 2.
    pub points: u32,
    pub rating: i32,
    /// Seeds already met (never paired again). Seeds not in the field are ignored.
    pub opponents: Vec<usize>,
    /// Colours of the games played, in order (byes not included); `Side::First` is white.
    pub colours: Vec<Side>,
    pub had_bye: bool,
}

/// One round: `(white, black)` seeds in board order (board 1 first), and the bye if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwissRound {
    pub pairs: Vec<(usize, usize)>,
    pub bye: Option<usize>,
}

/// Work units (candidate pairs looked at plus vertices and edges scanned by the matching oracle)
/// that the Dutch search may spend on one score bracket before pairing it greedily.
pub const BRACKET_BUDGET: u64 = 300_000;
/// Work units one call of [`pair`] may spend on searching; past it the rest is paired straight
/// from the oracle's matching. Roughly 10 ms of work on a current machine.
pub const ROUND_BUDGET: u64 = 3_000_000;
/// How many candidates the greedy fallback asks the oracle about for one player before it
/// floats that player (or, in the last bracket, takes its partner in the oracle's matching).
const GREEDY_TRIES: usize = 8;
/// Brackets with at most this many players in S1 (and three times as many in S2) also try
/// exchanges of two players.
pub const DOUBLE_EXCHANGE_MAX_S1: usize = 8;

const NONE: usize = usize::MAX;

/// Pairs one round. `None` when no pairing of everyone (but at most one bye) without a repeat
/// exists (the tournament then ends early), and also for a field with a duplicate seed.
pub fn pair(players: &[SwissPlayer]) -> Option<SwissRound> {
    pair_with(players, Budget::default()).0
}

/// The search's work limits (see [`BRACKET_BUDGET`] and [`ROUND_BUDGET`]).
#[derive(Clone, Copy, Debug)]
struct Budget {
    bracket: u64,
    round: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            bracket: BRACKET_BUDGET,
            round: ROUND_BUDGET,
        }
    }
}

/// What a call spent: work units and how many brackets fell back to the greedy pairing (read by
/// the tests' timing reports).
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(not(test), allow(dead_code))]
struct Spent {
    work: u64,
    fallbacks: usize,
}

fn pair_with(players: &[SwissPlayer], budget: Budget) -> (Option<SwissRound>, Spent) {
    let n = players.len();
    // Vertices are rank positions: vertex k is `ranked[k]`.
    let ranked = ranking(players);
    let mut at_rank: HashMap<usize, usize> = HashMap::with_capacity(n);
    for (k, p) in ranked.iter().enumerate() {
        if at_rank.insert(p.seed, k).is_some() {
            return (None, Spent::default());
        }
    }
    let mut met = vec![false; n * n];
    for (k, p) in ranked.iter().enumerate() {
        for seed in &p.opponents {
            if let Some(&j) = at_rank.get(seed) {
                met[k * n + j] = true;
                met[j * n + k] = true;
            }
        }
    }
    let history: Vec<History> = ranked.iter().map(|p| History::of(&p.colours)).collect();
    let odd = n % 2 == 1;
    let dummy = n;

    // Rules 1 and 2: the exact feasibility check, then the lowest-ranked possible bye.
    let mut relaxed = Matcher::new(n + usize::from(odd), |a, b| {
        if b == dummy {
            !ranked[a].had_bye
        } else {
            !met[a * n + b]
        }
    });
    if !relaxed.grow() {
        return (None, Spent::default());
    }
    let mut bye = None;
    if odd {
        bye = (0..n)
            .rev()
            .find(|&k| !ranked[k].had_bye && relaxed.try_pair(k, dummy));
        if bye.is_none() {
            return (None, Spent::default());
        }
    }

    // Rule 3: keep absolute colours if some pairing with this bye does.
    let mut strict = Matcher::new(n, |a, b| {
        !met[a * n + b] && colour_compatible(&history[a], &history[b])
    });
    for v in 0..n {
        strict.active[v] = relaxed.active[v];
    }
    for v in 0..n {
        let u = relaxed.mate[v];
        if strict.active[v] && u < n && strict.active[u] && strict.has_edge(v, u) {
            strict.mate[v] = u;
        }
    }
    let oracle = if strict.grow() { strict } else { relaxed };

    // Rule 4: score brackets, top down.
    let points: Vec<u32> = ranked.iter().map(|p| p.points).collect();
    let order: Vec<usize> = (0..n).filter(|&k| Some(k) != bye).collect();
    let mut dutch = Dutch {
        m: oracle,
        budget,
        last: false,
        bracket_start: 0,
        fallbacks: 0,
    };
    let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(n / 2);
    let mut floaters: Vec<usize> = Vec::new();
    let mut pos = 0;
    while pos < order.len() || !floaters.is_empty() {
        let mut bracket = std::mem::take(&mut floaters);
        if let Some(&first) = order.get(pos) {
            let group = points[first];
            while pos < order.len() && points[order[pos]] == group {
                bracket.push(order[pos]);
                pos += 1;
            }
        }
        let last = pos >= order.len();
        floaters = dutch.pair_bracket(&bracket, last, &mut pairs);
        if last && !floaters.is_empty() {
            // Cannot happen (the last bracket always pairs everyone); fail safe below.
            break;
        }
    }

    let spent = Spent {
        work: dutch.m.work,
        fallbacks: dutch.fallbacks,
    };
    // Check rule 1 on what we built before handing it out.
    let mut seen = vec![false; n];
    if let Some(b) = bye {
        seen[b] = true;
    }
    for &(a, b) in &pairs {
        if a == b || seen[a] || seen[b] || met[a * n + b] {
            debug_assert!(false, "swiss pairing broke rule 1");
            return (None, spent);
        }
        seen[a] = true;
        seen[b] = true;
    }
    if seen.iter().any(|s| !s) {
        debug_assert!(false, "swiss pairing left a player out");
        return (None, spent);
    }

    // Boards ordered by their higher-ranked player; colours per board.
    let mut boards: Vec<(usize, usize)> = pairs
        .into_iter()
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect();
    boards.sort_unstable();
    let pairs = boards
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            if colours_for(&history[a], &history[b], i + 1) {
                (ranked[a].seed, ranked[b].seed)
            } else {
                (ranked[b].seed, ranked[a].seed)
            }
        })
        .collect();
    let round = SwissRound {
        pairs,
        bye: bye.map(|k| ranked[k].seed),
    };
    (Some(round), spent)
}

/// The players in rank order: points desc, rating desc, seed asc.
fn ranking(players: &[SwissPlayer]) -> Vec<&SwissPlayer> {
    let mut ranked: Vec<&SwissPlayer> = players.iter().collect();
    ranked.sort_by_key(|p| (Reverse(p.points), Reverse(p.rating), p.seed));
    ranked
}

/// What a player's colour history allows and asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct History {
    /// Whites minus blacks.
    diff: i32,
    last: Option<Side>,
    /// The last two games had the same colour.
    repeated: bool,
}

impl History {
    fn of(colours: &[Side]) -> History {
        let diff = colours.iter().map(|&c| sign(c)).sum();
        let repeated = matches!(colours, [.., a, b] if a == b);
        History {
            diff,
            last: colours.last().copied(),
            repeated,
        }
    }

    /// Playing `colour` now would give a third in a row or a difference beyond ±2.
    fn forbids(&self, colour: Side) -> bool {
        (self.diff + sign(colour)).abs() > 2 || (self.repeated && self.last == Some(colour))
    }

    fn preference(&self) -> Option<Side> {
        if self.diff < 0 || (self.diff == 0 && self.last == Some(Side::Second)) {
            Some(Side::First)
        } else if self.diff > 0 || (self.diff == 0 && self.last == Some(Side::First)) {
            Some(Side::Second)
        } else {
            None
        }
    }
}

fn sign(colour: Side) -> i32 {
    match colour {
        Side::First => 1,
        Side::Second => -1,
    }
}

/// Some colour assignment breaks neither player's absolute preference.
fn colour_compatible(a: &History, b: &History) -> bool {
    (!a.forbids(Side::First) && !b.forbids(Side::Second))
        || (!a.forbids(Side::Second) && !b.forbids(Side::First))
}

/// Whether `a` (the higher-ranked of the pair, on board `board`, 1-based) gets white:
/// first the assignment breaking fewer absolute preferences; then different preferences are
/// both granted; the same preference goes to the higher-ranked; a single preference is
/// granted; with none (round 1) the higher-ranked gets white on odd boards, black on even.
fn colours_for(a: &History, b: &History, board: usize) -> bool {
    let breaks_if_a_white = u8::from(a.forbids(Side::First)) + u8::from(b.forbids(Side::Second));
    let breaks_if_a_black = u8::from(a.forbids(Side::Second)) + u8::from(b.forbids(Side::First));
    if breaks_if_a_white != breaks_if_a_black {
        breaks_if_a_white < breaks_if_a_black
    } else {
        match (a.preference(), b.preference()) {
            (Some(pa), _) => pa == Side::First,
            (None, Some(pb)) => pb == Side::Second,
            (None, None) => board % 2 == 1,
        }
    }
}

/// The outcome of one search over a bracket.
enum Step {
    Found,
    NotFound,
    OutOfBudget,
}

/// The Dutch search over score brackets, on top of the matching oracle.
struct Dutch {
    m: Matcher,
    budget: Budget,
    /// The bracket being paired is the last one: everyone left is in it.
    last: bool,
    bracket_start: u64,
    /// Brackets paired by the greedy fallback.
    fallbacks: usize,
}

impl Dutch {
    fn bracket_exhausted(&self) -> bool {
        self.m.work - self.bracket_start > self.budget.bracket || self.m.work > self.budget.round
    }

    /// Pairs what it can of `bracket` (rank positions, ascending) into `out` and returns the
    /// floaters. The last bracket pairs everyone.
    fn pair_bracket(
        &mut self,
        bracket: &[usize],
        last: bool,
        out: &mut Vec<(usize, usize)>,
    ) -> Vec<usize> {
        let m = bracket.len();
        self.last = last;
        if self.m.work > self.budget.round {
            self.fallbacks += 1;
            return self.greedy(bracket, last, 0, out);
        }
        self.bracket_start = self.m.work;
        let (most, fewest) = if last {
            (m / 2, m / 2)
        } else {
            ((m / 2).min(self.inner_matching(bracket)), 1)
        };
        for p in (fewest..=most).rev() {
            let mut chosen = Vec::with_capacity(p);
            match self.search(bracket, p, &mut chosen) {
                Step::Found => {
                    out.extend_from_slice(&chosen);
                    return bracket
                        .iter()
                        .copied()
                        .filter(|v| !chosen.iter().any(|&(a, b)| a == *v || b == *v))
                        .collect();
                }
                Step::NotFound => {}
                Step::OutOfBudget => {
                    self.fallbacks += 1;
                    return self.greedy(bracket, last, GREEDY_TRIES, out);
                }
            }
        }
        if last && m > 0 {
            self.greedy(bracket, last, GREEDY_TRIES, out)
        } else {
            bracket.to_vec()
        }
    }

    /// The largest number of pairs the bracket's players could form among themselves.
    fn inner_matching(&mut self, bracket: &[usize]) -> usize {
        let size = bracket.len();
        let edges = &self.m;
        let mut inner = Matcher::new(size, |a, b| edges.has_edge(bracket[a], bracket[b]));
        inner.grow();
        self.m.work += inner.work;
        inner.mate.iter().filter(|&&u| u != NONE).count() / 2
    }

    /// Dutch order for `p` pairs in the bracket: transpositions, exchanges, anything.
    fn search(&mut self, bracket: &[usize], p: usize, chosen: &mut Vec<(usize, usize)>) -> Step {
        let (s1, s2) = bracket.split_at(p);
        match self.transpose(s1, s2, chosen) {
            Step::NotFound => {}
            done => return done,
        }
        // Single exchanges, FIDE order: smallest difference of the exchanged players' bracket
        // numbers, then the S1 player with the highest number (lowest in S1) first, then
        // (implied) the S2 player with the lowest.
        let (l1, l2) = (s1.len(), s2.len());
        for d in 1..(l1 + l2) {
            for i in (0..l1).rev() {
                let Some(j) = (d + i).checked_sub(l1).filter(|&j| j < l2) else {
                    continue;
                };
                let (x, y) = (s1[i], s2[j]);
                let mut t1: Vec<usize> = s1.iter().map(|&v| if v == x { y } else { v }).collect();
                let mut t2: Vec<usize> = s2.iter().map(|&v| if v == y { x } else { v }).collect();
                t1.sort_unstable();
                t2.sort_unstable();
                match self.transpose(&t1, &t2, chosen) {
                    Step::NotFound => {}
                    done => return done,
                }
            }
        }
        if (2..=DOUBLE_EXCHANGE_MAX_S1).contains(&l1)
            && (2..=3 * DOUBLE_EXCHANGE_MAX_S1).contains(&l2)
        {
            let mut exchanges = Vec::new();
            for i1 in 0..l1 {
                for i2 in i1 + 1..l1 {
                    for j1 in 0..l2 {
                        for j2 in j1 + 1..l2 {
                            let diff = 2 * l1 + j1 + j2 - i1 - i2;
                            exchanges.push((diff, Reverse((i2, i1)), (j1, j2)));
                        }
                    }
                }
            }
            exchanges.sort_unstable();
            for (_, Reverse((i2, i1)), (j1, j2)) in exchanges {
                let swap = |v: usize| {
                    if v == s1[i1] {
                        s2[j1]
                    } else if v == s1[i2] {
                        s2[j2]
                    } else if v == s2[j1] {
                        s1[i1]
                    } else if v == s2[j2] {
                        s1[i2]
                    } else {
                        v
                    }
                };
                let mut t1: Vec<usize> = s1.iter().map(|&v| swap(v)).collect();
                let mut t2: Vec<usize> = s2.iter().map(|&v| swap(v)).collect();
                t1.sort_unstable();
                t2.sort_unstable();
                match self.transpose(&t1, &t2, chosen) {
                    Step::NotFound => {}
                    done => return done,
                }
            }
        }
        self.anything(bracket, p, chosen)
    }

    /// S1[i] against the S2 players in lexicographic order of S2's permutations. On `Found`
    /// the pairs are in `chosen` and (except in the last bracket, where the oracle is no longer
    /// needed) taken out of the oracle; otherwise nothing changed.
    /// Besides the oracle, a matching of the remaining S1 into the remaining S2 is kept, so a
    /// choice that leaves some later S1 player without an S2 opponent is cut at once (in the
    /// last bracket, where nothing else is left to pair, this makes the search backtrack-free).
    fn transpose(&mut self, s1: &[usize], s2: &[usize], chosen: &mut Vec<(usize, usize)>) -> Step {
        if self.bracket_exhausted() {
            return Step::OutOfBudget;
        }
        self.m.work += (s1.len() * s2.len()) as u64;
        let mut bip = Bipartite::new(s1.len(), s2.len(), |i, j| self.m.has_edge(s1[i], s2[j]));
        bip.greedy();
        let saturated = (0..s1.len()).all(|i| bip.s1_mate[i] != NONE || bip.augment_from(i));
        self.m.work += std::mem::take(&mut bip.work);
        if !saturated {
            return Step::NotFound;
        }
        self.transpose_from(0, s1, s2, &mut bip, chosen)
    }

    fn transpose_from(
        &mut self,
        i: usize,
        s1: &[usize],
        s2: &[usize],
        bip: &mut Bipartite,
        chosen: &mut Vec<(usize, usize)>,
    ) -> Step {
        let Some(&a) = s1.get(i) else {
            return Step::Found;
        };
        for (j, &b) in s2.iter().enumerate() {
            if bip.s2_gone[j] {
                continue;
            }
            self.m.work += 1;
            if self.bracket_exhausted() {
                return Step::OutOfBudget;
            }
            if !bip.edge(i, j) {
                continue;
            }
            let saved = if bip.s1_mate[i] == j {
                None
            } else {
                self.m.work += (s1.len() + s2.len()) as u64;
                Some(bip.save())
            };
            let fits = bip.take(i, j);
            self.m.work += std::mem::take(&mut bip.work);
            // In the last bracket the bipartite matching alone is exact: nothing else is left
            // to pair, so the oracle is not consulted (and not needed afterwards).
            if !fits || (!self.last && !self.m.try_pair(a, b)) {
                bip.restore(saved, j);
                continue;
            }
            chosen.push((a, b));
            let step = self.transpose_from(i + 1, s1, s2, bip, chosen);
            if let Step::Found = step {
                return step;
            }
            chosen.pop();
            if !self.last {
                self.m.unpair(a, b);
            }
            bip.restore(saved, j);
            if let Step::OutOfBudget = step {
                return step;
            }
        }
        Step::NotFound
    }

    /// Any `pairs_left` pairs among `free` (rank order), the top player first against the head
    /// of the remaining S2, the others floating. Complete, but exponential: budgeted.
    fn anything(
        &mut self,
        free: &[usize],
        pairs_left: usize,
        chosen: &mut Vec<(usize, usize)>,
    ) -> Step {
        if pairs_left == 0 {
            return Step::Found;
        }
        let r = free.len();
        if r < 2 * pairs_left {
            return Step::NotFound;
        }
        let a = free[0];
        let head = pairs_left.clamp(1, r - 1);
        let candidates: Vec<usize> = (head..r).chain((1..head).rev()).collect();
        for idx in candidates {
            let b = free[idx];
            self.m.work += 1;
            if self.bracket_exhausted() {
                return Step::OutOfBudget;
            }
            if !self.m.has_edge(a, b) || !self.m.try_pair(a, b) {
                continue;
            }
            chosen.push((a, b));
            let rest: Vec<usize> = free.iter().copied().filter(|&v| v != a && v != b).collect();
            match self.anything(&rest, pairs_left - 1, chosen) {
                Step::Found => return Step::Found,
                Step::NotFound => {}
                Step::OutOfBudget => {
                    chosen.pop();
                    self.m.unpair(a, b);
                    return Step::OutOfBudget;
                }
            }
            chosen.pop();
            self.m.unpair(a, b);
        }
        if r > 2 * pairs_left {
            return self.anything(&free[1..], pairs_left, chosen);
        }
        Step::NotFound
    }

    /// The budget fallback: in rank order each player takes the first of `tries` candidates
    /// (Dutch order) that the oracle accepts, else floats; in the last bracket it takes its
    /// partner in the oracle's matching, which always works. Once the round's budget is spent
    /// the oracle is not asked any more: only that last step is left.
    fn greedy(
        &mut self,
        bracket: &[usize],
        last: bool,
        tries: usize,
        out: &mut Vec<(usize, usize)>,
    ) -> Vec<usize> {
        let mut free: VecDeque<usize> = bracket.iter().copied().collect();
        let mut floaters = Vec::new();
        while let Some(a) = free.pop_front() {
            let r = free.len();
            let head = r.div_ceil(2);
            let mut found = None;
            let mut asked = 0;
            for idx in (head.saturating_sub(1)..r).chain((0..head.saturating_sub(1)).rev()) {
                if asked >= tries || self.m.work > self.budget.round {
                    break;
                }
                let b = free[idx];
                if !self.m.has_edge(a, b) {
                    continue;
                }
                asked += 1;
                if self.m.try_pair(a, b) {
                    found = Some(idx);
                    break;
                }
            }
            if found.is_none() && last {
                let b = self.m.mate[a];
                if let Some(idx) = free.iter().position(|&v| v == b) {
                    if self.m.try_pair(a, b) {
                        found = Some(idx);
                    }
                }
            }
            match found.and_then(|idx| free.remove(idx)) {
                Some(b) => out.push((a, b)),
                None => floaters.push(a),
            }
        }
        floaters
    }
}

/// A matching of S1 into S2 (Kuhn's augmenting paths), with pairs taken out as the
/// transposition search fixes them.
struct Bipartite {
    l2: usize,
    edge: Vec<bool>,
    s1_mate: Vec<usize>,
    s2_mate: Vec<usize>,
    s2_gone: Vec<bool>,
    seen: Vec<bool>,
    work: u64,
}

impl Bipartite {
    fn new(l1: usize, l2: usize, allowed: impl Fn(usize, usize) -> bool) -> Bipartite {
        let mut edge = vec![false; l1 * l2];
        for i in 0..l1 {
            for j in 0..l2 {
                edge[i * l2 + j] = allowed(i, j);
            }
        }
        Bipartite {
            l2,
            edge,
            s1_mate: vec![NONE; l1],
            s2_mate: vec![NONE; l2],
            s2_gone: vec![false; l2],
            seen: vec![false; l2],
            work: 0,
        }
    }

    fn edge(&self, i: usize, j: usize) -> bool {
        self.edge.get(i * self.l2 + j).copied().unwrap_or(false)
    }

    /// Matches S1 player `i` (unmatched) by an augmenting path; false if there is none.
    fn augment_from(&mut self, i: usize) -> bool {
        self.seen.fill(false);
        self.kuhn(i)
    }

    fn kuhn(&mut self, i: usize) -> bool {
        // Look-ahead: a free S2 player ends the path at once.
        for j in 0..self.l2 {
            self.work += 1;
            if !self.s2_gone[j] && self.s2_mate[j] == NONE && self.edge(i, j) {
                self.s2_mate[j] = i;
                self.s1_mate[i] = j;
                return true;
            }
        }
        for j in 0..self.l2 {
            self.work += 1;
            if self.s2_gone[j] || self.seen[j] || !self.edge(i, j) {
                continue;
            }
            self.seen[j] = true;
            let owner = self.s2_mate[j];
            if owner == NONE || self.kuhn(owner) {
                self.s2_mate[j] = i;
                self.s1_mate[i] = j;
                return true;
            }
        }
        false
    }

    /// Each S1 player takes the first free S2 player it may meet: the Dutch pairing itself
    /// when that is valid.
    fn greedy(&mut self) {
        for i in 0..self.s1_mate.len() {
            for j in 0..self.l2 {
                self.work += 1;
                if self.s2_mate[j] == NONE && self.edge(i, j) {
                    self.s2_mate[j] = i;
                    self.s1_mate[i] = j;
                    break;
                }
            }
        }
    }

    fn save(&self) -> (Vec<usize>, Vec<usize>) {
        (self.s1_mate.clone(), self.s2_mate.clone())
    }

    /// Fixes the pair S1[i]-S2[j] (S1 players before `i` are fixed, `i` is matched): true if
    /// the S1 players after `i` can still all be matched into what is left of S2.
    fn take(&mut self, i: usize, j: usize) -> bool {
        self.s2_gone[j] = true;
        let old = self.s1_mate[i];
        if old == j {
            return true;
        }
        if old != NONE {
            self.s2_mate[old] = NONE;
        }
        let owner = self.s2_mate[j];
        self.s1_mate[i] = j;
        self.s2_mate[j] = i;
        if owner == NONE {
            return true;
        }
        self.s1_mate[owner] = NONE;
        self.augment_from(owner)
    }

    /// Undoes `take(_, j)`; `saved` is the state before it unless it changed no mate.
    fn restore(&mut self, saved: Option<(Vec<usize>, Vec<usize>)>, j: usize) {
        if let Some(saved) = saved {
            (self.s1_mate, self.s2_mate) = saved;
        }
        self.s2_gone[j] = false;
    }
}

/// Maximum matching in a general graph (Edmonds' blossom algorithm, adjacency lists), with
/// vertices that can be switched off. Used as an oracle: with a perfect matching of the active
/// vertices held, [`Matcher::try_pair`] says whether a pair can be taken out with the rest still
/// perfectly matchable.
struct Matcher {
    n: usize,
    adj: Vec<Vec<usize>>,
    edge: Vec<bool>,
    active: Vec<bool>,
    mate: Vec<usize>,
    parent: Vec<usize>,
    base: Vec<usize>,
    used: Vec<bool>,
    blossom: Vec<bool>,
    on_path: Vec<bool>,
    queue: VecDeque<usize>,
    /// Vertices and edges scanned so far: the search's budget meter.
    work: u64,
}

impl Matcher {
    fn new(n: usize, allowed: impl Fn(usize, usize) -> bool) -> Matcher {
        let mut edge = vec![false; n * n];
        let mut adj = vec![Vec::new(); n];
        for a in 0..n {
            for b in a + 1..n {
                if allowed(a, b) {
                    edge[a * n + b] = true;
                    edge[b * n + a] = true;
                    adj[a].push(b);
                    adj[b].push(a);
                }
            }
        }
        Matcher {
            n,
            adj,
            edge,
            active: vec![true; n],
            mate: vec![NONE; n],
            parent: vec![NONE; n],
            base: (0..n).collect(),
            used: vec![false; n],
            blossom: vec![false; n],
            on_path: vec![false; n],
            queue: VecDeque::with_capacity(n),
            work: (n * n) as u64 / 4,
        }
    }

    fn has_edge(&self, a: usize, b: usize) -> bool {
        a < self.n && b < self.n && self.edge[a * self.n + b]
    }

    /// Makes the matching of the active vertices maximum; true when it is perfect.
    fn grow(&mut self) -> bool {
        for v in 0..self.n {
            if !self.active[v] || self.mate[v] != NONE {
                continue;
            }
            for k in 0..self.adj[v].len() {
                let u = self.adj[v][k];
                if self.active[u] && self.mate[u] == NONE {
                    self.mate[v] = u;
                    self.mate[u] = v;
                    break;
                }
            }
        }
        for v in 0..self.n {
            if self.active[v] && self.mate[v] == NONE {
                let end = self.find_path(v);
                if end != NONE {
                    self.augment(end);
                }
            }
        }
        (0..self.n).all(|v| !self.active[v] || self.mate[v] != NONE)
    }

    /// Takes the pair `a`–`b` out if the other active vertices can still be perfectly matched
    /// (the held matching must be perfect on the active vertices). Nothing changes on false.
    fn try_pair(&mut self, a: usize, b: usize) -> bool {
        if a == b || !self.has_edge(a, b) || !self.active[a] || !self.active[b] {
            return false;
        }
        let (ma, mb) = (self.mate[a], self.mate[b]);
        if ma == b {
            self.active[a] = false;
            self.active[b] = false;
            return true;
        }
        if ma == NONE || mb == NONE {
            return false;
        }
        self.active[a] = false;
        self.active[b] = false;
        self.mate[a] = b;
        self.mate[b] = a;
        self.mate[ma] = NONE;
        self.mate[mb] = NONE;
        // Usually the freed partners can simply play each other.
        self.work += 1;
        if self.has_edge(ma, mb) {
            self.mate[ma] = mb;
            self.mate[mb] = ma;
            return true;
        }
        // Or through one matched pair: ma-x, y-mb instead of x-y.
        for k in 0..self.adj[ma].len() {
            let x = self.adj[ma][k];
            self.work += 1;
            let y = self.mate[x];
            if self.active[x] && y != NONE && self.has_edge(y, mb) {
                self.mate[ma] = x;
                self.mate[x] = ma;
                self.mate[y] = mb;
                self.mate[mb] = y;
                return true;
            }
        }
        // The only exposed active vertices are `ma` and `mb`: a path from one ends at the other.
        let end = self.find_path(ma);
        if end != NONE {
            self.augment(end);
            return true;
        }
        self.mate[a] = ma;
        self.mate[ma] = a;
        self.mate[b] = mb;
        self.mate[mb] = b;
        self.active[a] = true;
        self.active[b] = true;
        false
    }

    /// Puts back a pair taken out by `try_pair` (and not touched since).
    fn unpair(&mut self, a: usize, b: usize) {
        self.active[a] = true;
        self.active[b] = true;
        self.mate[a] = b;
        self.mate[b] = a;
    }

    /// Breadth-first search for an augmenting path from the exposed `root`, contracting
    /// blossoms; returns the path's other end or `NONE`.
    fn find_path(&mut self, root: usize) -> usize {
        self.used.fill(false);
        self.parent.fill(NONE);
        for (i, b) in self.base.iter_mut().enumerate() {
            *b = i;
        }
        self.used[root] = true;
        self.queue.clear();
        self.queue.push_back(root);
        while let Some(v) = self.queue.pop_front() {
            self.work += 1;
            // Look-ahead: an exposed neighbour ends the path without contracting anything.
            for k in 0..self.adj[v].len() {
                let to = self.adj[v][k];
                self.work += 1;
                if self.active[to] && to != root && self.mate[to] == NONE {
                    self.parent[to] = v;
                    return to;
                }
            }
            for k in 0..self.adj[v].len() {
                let to = self.adj[v][k];
                self.work += 1;
                if !self.active[to] || self.base[v] == self.base[to] || self.mate[v] == to {
                    continue;
                }
                let to_is_outer =
                    to == root || (self.mate[to] != NONE && self.parent[self.mate[to]] != NONE);
                if to_is_outer {
                    let top = self.lca(v, to);
                    self.blossom.fill(false);
                    self.mark_path(v, top, to);
                    self.mark_path(to, top, v);
                    for i in 0..self.n {
                        if self.blossom[self.base[i]] {
                            self.base[i] = top;
                            if !self.used[i] {
                                self.used[i] = true;
                                self.queue.push_back(i);
                            }
                        }
                    }
                    self.work += self.n as u64;
                } else if self.parent[to] == NONE {
                    self.parent[to] = v;
                    let m = self.mate[to];
                    if m == NONE {
                        return to;
                    }
                    self.used[m] = true;
                    self.queue.push_back(m);
                }
            }
        }
        NONE
    }

    fn lca(&mut self, mut a: usize, mut b: usize) -> usize {
        self.on_path.fill(false);
        loop {
            a = self.base[a];
            self.on_path[a] = true;
            let m = self.mate[a];
            if m == NONE || self.parent[m] == NONE {
                break;
            }
            a = self.parent[m];
        }
        loop {
            b = self.base[b];
            if self.on_path[b] {
                return b;
            }
            let m = self.mate[b];
            if m == NONE || self.parent[m] == NONE {
                return b;
            }
            b = self.parent[m];
        }
    }

    fn mark_path(&mut self, mut v: usize, top: usize, mut child: usize) {
        while self.base[v] != top {
            let m = self.mate[v];
            if m == NONE {
                return;
            }
            self.blossom[self.base[v]] = true;
            self.blossom[self.base[m]] = true;
            self.parent[v] = child;
            child = m;
            if self.parent[m] == NONE {
                return;
            }
            v = self.parent[m];
        }
    }

    fn augment(&mut self, mut v: usize) {
        while v != NONE {
            let pv = self.parent[v];
            if pv == NONE {
                return;
            }
            let next = self.mate[pv];
            self.mate[v] = pv;
            self.mate[pv] = v;
            v = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const W: Side = Side::First;
    const B: Side = Side::Second;

    fn colours(s: &str) -> Vec<Side> {
        s.chars().map(|c| if c == 'W' { W } else { B }).collect()
    }

    fn player(seed: usize, points: u32, opponents: &[usize], cols: &str) -> SwissPlayer {
        SwissPlayer {
            seed,
            points,
            rating: 2000 - 100 * seed as i32,
            opponents: opponents.to_vec(),
            colours: colours(cols),
            had_bye: false,
        }
    }

    fn fresh(n: usize) -> Vec<SwissPlayer> {
        (0..n).map(|s| player(s, 0, &[], "")).collect()
    }

    fn round(pairs: &[(usize, usize)], bye: Option<usize>) -> Option<SwissRound> {
        Some(SwissRound {
            pairs: pairs.to_vec(),
            bye,
        })
    }

    /// Plays a round: `results[i]` for board i is 0 (white wins), 1 (draw) or 2 (black wins).
    fn play(players: &mut [SwissPlayer], r: &SwissRound, results: &[u8]) {
        let at = |players: &[SwissPlayer], seed: usize| {
            players.iter().position(|p| p.seed == seed).unwrap()
        };
        for (i, &(w, b)) in r.pairs.iter().enumerate() {
            let (wi, bi) = (at(players, w), at(players, b));
            let result = results.get(i).copied().unwrap_or(1) % 3;
            players[wi].points += 2 - u32::from(result);
            players[bi].points += u32::from(result);
            players[wi].opponents.push(b);
            players[bi].opponents.push(w);
            players[wi].colours.push(W);
            players[bi].colours.push(B);
        }
        if let Some(b) = r.bye {
            let bi = at(players, b);
            players[bi].points += 2;
            players[bi].had_bye = true;
        }
    }

    #[test]
    fn round_one_small_fields() {
        // S1 against S2, higher seed white on odd boards and black on even ones.
        assert_eq!(pair(&fresh(4)), round(&[(0, 2), (3, 1)], None));
        assert_eq!(pair(&fresh(5)), round(&[(0, 2), (3, 1)], Some(4)));
        assert_eq!(pair(&fresh(6)), round(&[(0, 3), (4, 1), (2, 5)], None));
        assert_eq!(
            pair(&fresh(8)),
            round(&[(0, 4), (5, 1), (2, 6), (7, 3)], None)
        );
        assert_eq!(pair(&fresh(2)), round(&[(0, 1)], None));
        assert_eq!(pair(&fresh(1)), round(&[], Some(0)));
        assert_eq!(pair(&fresh(0)), round(&[], None));
    }

    #[test]
    fn ratings_not_input_order_decide_rank() {
        let mut field = fresh(4);
        field.reverse();
        assert_eq!(pair(&field), round(&[(0, 2), (3, 1)], None));
        // Within a score group the higher rating ranks first, whatever the seed.
        field[0].rating = 2500; // seed 3
        assert_eq!(pair(&field), round(&[(3, 1), (2, 0)], None));
    }

    #[test]
    fn five_players_the_bye_moves_down() {
        let mut field = fresh(5);
        let r1 = pair(&field).unwrap();
        assert_eq!(Some(r1.clone()), round(&[(0, 2), (3, 1)], Some(4)));
        // 0 beats 2, 3 and 1 draw, 4 has the bye.
        play(&mut field, &r1, &[0, 1]);
        // Ranking: 0 (2), 4 (2), 1 (1), 3 (1), 2 (0). Bye to 2, the lowest. 0-4 would leave
        // 1-3, a repeat, so both 2-point players float: 0-1, 4-3.
        let r2 = pair(&field).unwrap();
        assert_eq!(Some(r2.clone()), round(&[(1, 0), (4, 3)], Some(2)));
        // 0 beats 1 (with black), 4 beats 3.
        play(&mut field, &r2, &[2, 0]);
        // Ranking: 0 (4), 4 (4), 2 (2), 1 (1), 3 (1). 2 and 4 had byes: 3 gets it.
        let r3 = pair(&field).unwrap();
        assert_eq!(Some(r3.clone()), round(&[(0, 4), (2, 1)], Some(3)));
    }

    #[test]
    fn repeat_avoided_by_transposition() {
        let mut field = fresh(6);
        let r1 = pair(&field).unwrap();
        assert_eq!(Some(r1.clone()), round(&[(0, 3), (4, 1), (2, 5)], None));
        play(&mut field, &r1, &[1, 1, 1]);
        // One group of six: 0-3 and then 2-5 repeat; S2 [3 4 5] -> [4 3 5] -> [4 5 3].
        // 0 and 4 both want black: the higher-ranked 0 gets it; 1 and 5 both want white.
        assert_eq!(pair(&field), round(&[(4, 0), (1, 5), (3, 2)], None));
    }

    #[test]
    fn exchange_when_no_transposition_works() {
        // One group; 0 has met both S2 players, so S1 = [0 1] against S2 = [2 3] fails in
        // every order; the first exchange (1 for 2) gives S1 = [0 2], S2 = [1 3].
        let mut field = vec![
            player(0, 2, &[2, 3], "WB"),
            player(1, 2, &[], ""),
            player(2, 2, &[0], "B"),
            player(3, 2, &[0], "W"),
        ];
        field[1].had_bye = true;
        assert_eq!(pair(&field), round(&[(0, 1), (2, 3)], None));
    }

    #[test]
    fn odd_group_floats_its_lowest_player() {
        let mut field = fresh(6);
        let r1 = pair(&field).unwrap();
        play(&mut field, &r1, &[0, 0, 0]); // 0, 4 and 2 win
                                           // 2 points: 0, 2, 4 -> 0-2 and 4 floats down to play the top of the 0-point group.
        let r2 = pair(&field).unwrap();
        assert_eq!(Some(r2.clone()), round(&[(2, 0), (3, 4), (1, 5)], None));
    }

    #[test]
    fn third_colour_in_a_row_is_avoided() {
        // Four players on 2 points (their opponents left the event). 0 and 2 both had two
        // blacks in a row, so 0-2 (the S1-S2 pairing) would give one of them a third.
        let field = vec![
            player(0, 2, &[4, 5], "BB"),
            player(1, 2, &[6, 7], "WB"),
            player(2, 2, &[8, 9], "BB"),
            player(3, 2, &[10, 11], "BW"),
        ];
        assert_eq!(pair(&field), round(&[(0, 3), (2, 1)], None));
        // With no way around it the pairing still happens; the higher-ranked keeps white.
        let forced = vec![player(0, 2, &[4, 5], "BB"), player(1, 2, &[6, 7], "BB")];
        assert_eq!(pair(&forced), round(&[(0, 1)], None));
        // A colour difference of +2 forbids a third white even without a repeat in a row.
        let diff = vec![player(0, 4, &[], "WBWW"), player(1, 4, &[], "WBWB")];
        // 0 needs black (diff +2 and two whites in a row); 1 (diff 0, last black) wants white.
        assert_eq!(pair(&diff), round(&[(1, 0)], None));
    }

    #[test]
    fn no_pairing_means_none() {
        // Three players who have all met: whoever gets the bye, the other two met.
        let field = vec![
            player(0, 2, &[1, 2], "WB"),
            player(1, 2, &[0, 2], "BW"),
            player(2, 2, &[0, 1], "WB"),
        ];
        assert_eq!(pair(&field), None);
        // Odd field where everyone has had the bye.
        let mut byes = fresh(3);
        for p in &mut byes {
            p.had_bye = true;
        }
        assert_eq!(pair(&byes), None);
        // Even field where one player has met all the others.
        let mut star = fresh(4);
        star[0].opponents = vec![1, 2, 3];
        assert_eq!(pair(&star), None);
        // A duplicate seed is refused.
        let dup = vec![player(0, 0, &[], ""), player(0, 0, &[], "")];
        assert_eq!(pair(&dup), None);
    }

    #[test]
    fn the_bye_skips_who_had_one_and_who_would_strand_others() {
        // 2 (lowest) had a bye: 1 gets it.
        let mut field = fresh(3);
        field[2].had_bye = true;
        assert_eq!(pair(&field).map(|r| r.bye), Some(Some(1)));
        // 0 and 1 met: the bye must go to one of them, the lowest (1), so 0 plays 2.
        let mut field = fresh(3);
        field[0].opponents = vec![1];
        field[1].opponents = vec![0];
        let r = pair(&field).unwrap();
        assert_eq!(r.bye, Some(1));
        assert_eq!(r.pairs.len(), 1);
    }

    // ---- brute force, for the property tests ----

    /// A pairing by indices into the field: (bye, pairs).
    type Pairing = (Option<usize>, Vec<(usize, usize)>);

    /// Every valid pairing (rule 1) of a small field.
    fn all_pairings(players: &[SwissPlayer]) -> Vec<Pairing> {
        fn rec(
            players: &[SwissPlayer],
            free: &mut Vec<usize>,
            acc: &mut Vec<(usize, usize)>,
            bye: Option<usize>,
            out: &mut Vec<Pairing>,
        ) {
            if free.is_empty() {
                out.push((bye, acc.clone()));
                return;
            }
            let a = free.remove(0);
            for i in 0..free.len() {
                let b = free[i];
                if players[a].opponents.contains(&players[b].seed)
                    || players[b].opponents.contains(&players[a].seed)
                {
                    continue;
                }
                free.remove(i);
                acc.push((a, b));
                rec(players, free, acc, bye, out);
                acc.pop();
                free.insert(i, b);
            }
            free.insert(0, a);
        }
        let n = players.len();
        let mut out = Vec::new();
        if n.is_multiple_of(2) {
            rec(
                players,
                &mut (0..n).collect(),
                &mut Vec::new(),
                None,
                &mut out,
            );
        } else {
            for b in (0..n).filter(|&b| !players[b].had_bye) {
                let mut free: Vec<usize> = (0..n).filter(|&v| v != b).collect();
                rec(players, &mut free, &mut Vec::new(), Some(b), &mut out);
            }
        }
        out
    }

    fn check_round(players: &[SwissPlayer], r: &SwissRound) -> Result<(), TestCaseError> {
        let n = players.len();
        let by_seed: HashMap<usize, &SwissPlayer> = players.iter().map(|p| (p.seed, p)).collect();
        let mut seen = std::collections::HashSet::new();
        for &(w, b) in &r.pairs {
            prop_assert!(seen.insert(w) && seen.insert(b), "player twice in {:?}", r);
            let (pw, pb) = (by_seed[&w], by_seed[&b]);
            prop_assert!(!pw.opponents.contains(&b) && !pb.opponents.contains(&w));
        }
        if let Some(b) = r.bye {
            prop_assert!(seen.insert(b), "bye player also paired");
            prop_assert!(!by_seed[&b].had_bye, "second bye for {}", b);
        }
        prop_assert_eq!(r.bye.is_some(), n % 2 == 1);
        prop_assert_eq!(seen.len(), n, "someone left out");
        Ok(())
    }

    /// For small fields: `pair` finds a pairing iff one exists, its bye is the lowest-ranked
    /// possible one, and it breaks no absolute colour preference when some pairing with that
    /// bye breaks none.
    fn check_against_brute_force(
        players: &[SwissPlayer],
        r: Option<&SwissRound>,
    ) -> Result<(), TestCaseError> {
        let all = all_pairings(players);
        let Some(r) = r else {
            prop_assert!(all.is_empty(), "None although {} pairings exist", all.len());
            return Ok(());
        };
        prop_assert!(!all.is_empty());
        let ranked = ranking(players);
        let rank_of = |i: usize| ranked.iter().position(|p| p.seed == players[i].seed);
        if players.len() % 2 == 1 {
            let lowest = all
                .iter()
                .filter_map(|(b, _)| *b)
                .max_by_key(|&b| rank_of(b));
            prop_assert_eq!(r.bye, lowest.map(|b| players[b].seed));
        }
        let hist: Vec<History> = players.iter().map(|p| History::of(&p.colours)).collect();
        let clean_exists = all.iter().any(|(b, pairs)| {
            b.map(|b| players[b].seed) == r.bye
                && pairs
                    .iter()
                    .all(|&(x, y)| colour_compatible(&hist[x], &hist[y]))
        });
        if clean_exists {
            let at = |s: usize| players.iter().position(|p| p.seed == s).unwrap_or(0);
            for &(w, b) in &r.pairs {
                prop_assert!(
                    !hist[at(w)].forbids(W) && !hist[at(b)].forbids(B),
                    "absolute colour broken on {}-{} in {:?}",
                    w,
                    b,
                    r
                );
            }
        }
        Ok(())
    }

    /// A whole event: `n` players seeded by rating, random results.
    fn simulate(
        n: usize,
        ratings: Vec<i32>,
        results: &[u8],
        brute: bool,
    ) -> Result<usize, TestCaseError> {
        simulate_with(n, ratings, results, brute, Budget::default())
    }

    fn simulate_with(
        n: usize,
        mut ratings: Vec<i32>,
        results: &[u8],
        brute: bool,
        budget: Budget,
    ) -> Result<usize, TestCaseError> {
        ratings.truncate(n);
        ratings.sort_unstable_by(|a, b| b.cmp(a));
        let mut players: Vec<SwissPlayer> = ratings
            .iter()
            .enumerate()
            .map(|(seed, &rating)| SwissPlayer {
                seed,
                points: 0,
                rating,
                opponents: Vec::new(),
                colours: Vec::new(),
                had_bye: false,
            })
            .collect();
        let rounds = (n - 1).min(9);
        let mut played = 0;
        for round_no in 0..rounds {
            let (r, _) = pair_with(&players, budget);
            if brute {
                check_against_brute_force(&players, r.as_ref())?;
            }
            let Some(r) = r else { break };
            check_round(&players, &r)?;
            let from = (round_no * 20) % results.len().max(1);
            play(&mut players, &r, results.get(from..).unwrap_or(&[]));
            played += 1;
        }
        Ok(played)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn whole_tournaments_keep_the_absolute_rules(
            n in 2usize..=40,
            ratings in prop::collection::vec(1000i32..2800, 40),
            results in prop::collection::vec(0u8..3, 200),
        ) {
            simulate(n, ratings, &results, n <= 10)?;
        }

        #[test]
        fn small_tournaments_match_brute_force(
            n in 2usize..=10,
            ratings in prop::collection::vec(1500i32..1600, 10),
            results in prop::collection::vec(0u8..3, 200),
        ) {
            // Narrow ratings and many rounds: lots of ties, repeats and dead ends.
            simulate(n, ratings, &results, true)?;
        }

        #[test]
        fn tiny_budgets_still_keep_the_absolute_rules(
            n in 2usize..=40,
            ratings in prop::collection::vec(1500i32..1600, 40),
            results in prop::collection::vec(0u8..3, 200),
            bracket in 0u64..400,
            round in prop::sample::select(vec![0u64, 50, 500, 5_000, 50_000]),
        ) {
            // The greedy fallback and the straight-from-the-oracle fallback.
            simulate_with(n, ratings, &results, n <= 10, Budget { bracket, round })?;
        }

        #[test]
        fn random_histories_match_brute_force(
            n in 1usize..=10,
            points in prop::collection::vec(0u32..6, 10),
            met in prop::collection::vec(any::<bool>(), 100),
            cols in prop::collection::vec(prop::collection::vec(any::<bool>(), 0..5), 10),
            byes in prop::collection::vec(any::<bool>(), 10),
        ) {
            // Arbitrary (not necessarily reachable) standings.
            let players: Vec<SwissPlayer> = (0..n)
                .map(|s| SwissPlayer {
                    seed: s,
                    points: points[s],
                    rating: 2000 - s as i32,
                    opponents: (0..n).filter(|&o| o != s && met[s.min(o) * 10 + s.max(o)]).collect(),
                    colours: cols[s].iter().map(|&w| if w { W } else { B }).collect(),
                    had_bye: byes[s],
                })
                .collect();
            let r = pair(&players);
            check_against_brute_force(&players, r.as_ref())?;
            if let Some(r) = r {
                check_round(&players, &r)?;
            }
        }
    }

    /// Arbitrary dense histories: each player has met a random `density` share of the field,
    /// points in a few groups, random colours. `cargo test --release timing -- --ignored`
    #[test]
    #[ignore]
    fn timing_256_players_dense_histories() {
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for density in [10u64, 50, 80, 90, 95] {
            for groups in [1u64, 3, 9] {
                let mut worst = std::time::Duration::ZERO;
                let (mut work, mut fallbacks, mut nones) = (0, 0, 0);
                for n in [255usize, 256] {
                    for _ in 0..4 {
                        let mut players: Vec<SwissPlayer> = (0..n)
                            .map(|s| SwissPlayer {
                                seed: s,
                                points: (next() % groups) as u32 * 2,
                                rating: 2800 - 5 * s as i32,
                                opponents: Vec::new(),
                                colours: (0..next() % 9)
                                    .map(|_| if next().is_multiple_of(2) { W } else { B })
                                    .collect(),
                                had_bye: next() % 4 == 0,
                            })
                            .collect();
                        for a in 0..n {
                            for b in a + 1..n {
                                if next() % 100 < density {
                                    players[a].opponents.push(b);
                                    players[b].opponents.push(a);
                                }
                            }
                        }
                        let start = std::time::Instant::now();
                        let (r, spent) = pair_with(&players, Budget::default());
                        worst = worst.max(start.elapsed());
                        work = work.max(spent.work);
                        fallbacks += spent.fallbacks;
                        match r {
                            Some(r) => check_round(&players, &r).expect("valid"),
                            None => nones += 1,
                        }
                    }
                }
                println!(
                    "met {density:>2}% groups {groups}: worst {worst:?}, most work {work}, \
                     fallbacks {fallbacks}, none {nones}/8"
                );
            }
        }
    }

    /// `cargo test --release swiss::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing_256_players_9_rounds() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for model in ["random", "draws", "favourites", "upsets"] {
            for n in [255usize, 256] {
                let mut players: Vec<SwissPlayer> = (0..n)
                    .map(|s| SwissPlayer {
                        seed: s,
                        points: 0,
                        rating: 2800 - 5 * s as i32,
                        opponents: Vec::new(),
                        colours: Vec::new(),
                        had_bye: false,
                    })
                    .collect();
                let mut worst = std::time::Duration::ZERO;
                let mut total = std::time::Duration::ZERO;
                let (mut work, mut fallbacks) = (0, 0);
                for _ in 0..9 {
                    let start = std::time::Instant::now();
                    let (r, spent) = pair_with(&players, Budget::default());
                    let took = start.elapsed();
                    let r = r.expect("a pairing exists");
                    work = work.max(spent.work);
                    fallbacks += spent.fallbacks;
                    worst = worst.max(took);
                    total += took;
                    let results: Vec<u8> = r
                        .pairs
                        .iter()
                        .map(|&(w, b)| match model {
                            "draws" => 1,
                            "favourites" => {
                                if w < b {
                                    0
                                } else {
                                    2
                                }
                            }
                            "upsets" => {
                                if w < b {
                                    2
                                } else {
                                    0
                                }
                            }
                            _ => (next() % 3) as u8,
                        })
                        .collect();
                    check_round(&players, &r).expect("valid");
                    play(&mut players, &r, &results);
                }
                println!(
                    "{model:>10} n={n}: worst {worst:?}, mean {:?}, most work {work}, fallbacks {fallbacks}",
                    total / 9
                );
            }
        }
    }
}
