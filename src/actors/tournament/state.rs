//! A tournament's state, its snapshot: the spec, the registered players, every game it
//! started and every bye; the pure decisions over it (registrations, start, pairing, results,
//! the end), and its projections (the view, the registrations list). Pure: times come in as
//! arguments, and what must happen outside (games to create, frames, notifications) comes
//! back as [`Effects`].

use client_protocol::tournament::{Registration, TournamentCreate, TournamentPairing};
use client_protocol::*;
use serde::{Deserialize, Serialize};

use super::{arena, standings, swiss};
use crate::domain::{GameId, TournamentId, UserId};
use crate::messages::{Answer, Caller, Entrant, TournamentAction};

/// How long before the start players are reminded.
pub const REMINDER_MS: u64 = 5 * 60 * 1000;

/// A registered player. Once the tournament starts, `players` is sorted by rating (the
/// seeding) and a player's index is their seed; arena latecomers are appended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Player {
    pub user_id: UserId,
    pub name: String,
    pub rating: i32,
    pub guest: bool,
    pub registered_at: u64,
    /// Who registered them: their own name, or the admin's.
    pub by: String,
    /// Withdrawn from a running tournament: not paired again; played games stay.
    pub withdrawn: bool,
    /// Arena: lost a game by not being ready; not paired again until they join again.
    #[serde(default)]
    pub paused: bool,
    /// Rounds in which this player had a bye (swiss).
    #[serde(default)]
    pub byes: Vec<u32>,
}

/// A game the tournament started: `players` are indices into `players`, first side first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pairing {
    pub game: GameId,
    pub round: u32,
    pub players: [usize; 2],
    /// None while it is played.
    pub result: Option<GameResult>,
}

/// Everything a tournament is: its snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TournamentState {
    pub id: TournamentId,
    pub spec: TournamentCreate,
    pub created_by: String,
    pub created_at: u64,
    pub status: TournamentStatus,
    pub round: u32,
    pub players: Vec<Player>,
    pub games: Vec<Pairing>,
    /// The 5-minute reminder went out.
    pub reminded: bool,
    pub ended_at: Option<u64>,
    pub rev: u64,
}

/// What a decision asks the actor to do once the new state is written.
#[derive(Debug, Default)]
pub struct Effects {
    /// Answers to callers (a socket frame or a request's answer).
    pub replies: Vec<(Caller, Reply)>,
    /// Indices into `games` of games to create (before the state is written) and start.
    pub new_games: Vec<usize>,
    /// Notifications: who, what kind, the text.
    pub notices: Vec<(UserId, NotificationKind, String)>,
    /// Frames for one user's sockets (`client/TOURNAMENT_LEFT` after an admin's removal).
    pub pushes: Vec<(UserId, ServerMessage)>,
    /// The decision changed the state.
    pub changed: bool,
}

/// See [`TournamentState::fingerprint`].
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    status: TournamentStatus,
    round: u32,
    reminded: bool,
    ended_at: Option<u64>,
    players: usize,
    withdrawn: usize,
    paused: usize,
    byes: usize,
    games: usize,
    results: usize,
}

/// One answer: what a request gets, and what a socket gets.
#[derive(Debug)]
pub enum Reply {
    /// The view (request), and the socket's frame.
    Ok(ServerMessage),
    /// Done, nothing to show (a result counted, a nudge).
    Done,
    Registrations,
    Refused(ErrorCode, String),
}

impl TournamentState {
    /// A new tournament from a checked spec (see [`check`]).
    pub fn new(id: TournamentId, spec: TournamentCreate, created_by: String, now: u64) -> Self {
        TournamentState {
            id,
            spec,
            created_by,
            created_at: now,
            status: TournamentStatus::Created,
            round: 0,
            players: Vec::new(),
            games: Vec::new(),
            reminded: false,
            ended_at: None,
            rev: 0,
        }
    }

    pub fn snapshot_key(id: &TournamentId) -> String {
        crate::messages::Address::tournament(id).key().to_owned()
    }

    pub fn is_over(&self) -> bool {
        matches!(
            self.status,
            TournamentStatus::Finished | TournamentStatus::Cancelled
        )
    }

    /// When an arena stops pairing (and ends once its last game has).
    pub fn ends_at(&self) -> Option<u64> {
        self.spec.duration_ms.map(|d| self.spec.starts_at + d)
    }

    fn index_of(&self, user: &UserId) -> Option<usize> {
        self.players.iter().position(|p| &p.user_id == user)
    }

    fn active_players(&self) -> usize {
        self.players.iter().filter(|p| !p.withdrawn).count()
    }

    /// The view of every route and of `client/TOURNAMENT_UPDATE`.
    pub fn view(&self) -> TournamentView {
        let spec = &self.spec;
        let pairings = self
            .games
            .iter()
            .filter(|g| match spec.format {
                TournamentFormat::Swiss => g.round == self.round,
                TournamentFormat::Arena => g.result.is_none(),
            })
            .map(|g| TournamentPairing {
                game: g.game.to_string(),
                round: g.round,
                first: self.players[g.players[0]].name.clone(),
                second: self.players[g.players[1]].name.clone(),
                result: g.result,
            })
            .collect();
        TournamentView {
            id: self.id.to_string(),
            name: spec.name.clone(),
            format: spec.format,
            game: spec.game,
            clock: spec.clock,
            rated: spec.rated,
            status: self.status,
            starts_at: spec.starts_at,
            duration_ms: spec.duration_ms,
            rounds: spec.rounds,
            round: self.round,
            players: self.active_players() as u32,
            max_players: spec.max_players,
            created_by: self.created_by.clone(),
            standings: standings::of(self),
            pairings,
            ended_at: self.ended_at,
        }
    }

    /// The registrations, oldest first, with who registered whom.
    pub fn registrations(&self) -> Vec<Registration> {
        let mut list: Vec<&Player> = self.players.iter().filter(|p| !p.withdrawn).collect();
        list.sort_by_key(|p| p.registered_at);
        list.into_iter()
            .map(|p| Registration {
                name: p.name.clone(),
                rating: p.rating,
                registered_at: p.registered_at,
                by: Some(p.by.clone()),
            })
            .collect()
    }

    /// Decides one command at `now`, in place: what to do about it, and whether the state
    /// changed (the actor writes it then). In place, so that a big tournament is not copied
    /// per command.
    pub fn apply(&mut self, from: &Caller, action: TournamentAction, now: u64) -> Effects {
        let before = self.fingerprint();
        let mut effects = Effects::default();
        let reply = match action {
            TournamentAction::Create { .. } => Reply::Refused(
                ErrorCode::Conflict,
                format!("tournament {} exists", self.id),
            ),
            TournamentAction::Join { entrant, by } => {
                let user = entrant.user_id.clone();
                let reply = self.join(entrant, by, now, &mut effects);
                Self::tell_sockets(from, user, &reply, &mut effects);
                reply
            }
            TournamentAction::Withdraw { user, by } => {
                let reply = self.withdraw(&user, by, &mut effects);
                Self::tell_sockets(from, user, &reply, &mut effects);
                reply
            }
            TournamentAction::Cancel { .. } => self.cancel(now, &mut effects),
            TournamentAction::View => Reply::Ok(self.update()),
            TournamentAction::Registrations => Reply::Registrations,
            TournamentAction::GameEnded {
                game,
                result,
                reason,
                moves,
            } => {
                let counted = self.result(&game, result);
                self.pause_absent(&game, reason, moves);
                counted
            }
            TournamentAction::Wake => Reply::Done,
        };
        self.advance(now, &mut effects);
        effects.replies.push((from.clone(), reply));
        effects.changed = self.fingerprint() != before;
        effects
    }

    /// [`TournamentState::apply`] on a copy: the next state and what to do about it.
    pub fn decide(&self, from: &Caller, action: TournamentAction, now: u64) -> (Self, Effects) {
        let mut next = self.clone();
        let effects = next.apply(from, action, now);
        (next, effects)
    }

    /// Changes whenever a decision changes anything (every decision adds or removes a player,
    /// flips a flag, adds a game, a result or a bye, or moves the status, round, reminder or
    /// end): cheap to compare, where comparing the states would cost a copy.
    fn fingerprint(&self) -> Fingerprint {
        let flags = |f: fn(&Player) -> bool| self.players.iter().filter(|p| f(p)).count();
        Fingerprint {
            status: self.status,
            round: self.round,
            reminded: self.reminded,
            ended_at: self.ended_at,
            players: self.players.len(),
            withdrawn: flags(|p| p.withdrawn),
            paused: flags(|p| p.paused),
            byes: self.players.iter().map(|p| p.byes.len()).sum(),
            games: self.games.len(),
            results: self.games.iter().filter(|g| g.result.is_some()).count(),
        }
    }

    /// A registration changed by HTTP (the player's own request or an admin's) reaches the
    /// player's open sockets too, so that they follow the tournament (or stop); a socket that
    /// asked gets its own answer.
    fn tell_sockets(from: &Caller, user: UserId, reply: &Reply, effects: &mut Effects) {
        if let (
            Reply::Ok(
                message @ (ServerMessage::TournamentJoined { .. }
                | ServerMessage::TournamentLeft { .. }),
            ),
            false,
        ) = (reply, matches!(from, Caller::Socket(_)))
        {
            effects.pushes.push((user, message.clone()));
        }
    }

    /// `client/TOURNAMENT_UPDATE` with the current view.
    pub fn update(&self) -> ServerMessage {
        ServerMessage::TournamentUpdate {
            tournament: Box::new(self.view()),
        }
    }

    fn joined(&self) -> Reply {
        Reply::Ok(ServerMessage::TournamentJoined {
            tournament: self.id.to_string(),
        })
    }

    fn join(
        &mut self,
        entrant: Entrant,
        by: Option<String>,
        now: u64,
        effects: &mut Effects,
    ) -> Reply {
        if self.is_over()
            || (self.status == TournamentStatus::Started
                && self.spec.format == TournamentFormat::Swiss)
        {
            return Reply::Refused(
                ErrorCode::TournamentClosed,
                format!("tournament {} takes no more registrations", self.id),
            );
        }
        if entrant.guest && self.spec.rated {
            return Reply::Refused(
                ErrorCode::Forbidden,
                "guests may join unrated tournaments only: register to play rated".into(),
            );
        }
        if let Some(i) = self.index_of(&entrant.user_id) {
            let player = &mut self.players[i];
            if player.withdrawn || player.paused {
                // An arena player coming back.
                player.withdrawn = false;
                player.paused = false;
            }
            return self.joined(); // already registered: joining again changes nothing
        }
        if let Some(max) = self.spec.max_players {
            if self.active_players() >= max as usize {
                return Reply::Refused(
                    ErrorCode::TournamentFull,
                    format!("tournament {} has its {max} players", self.id),
                );
            }
        }
        if let Some(admin) = &by {
            effects.notices.push((
                entrant.user_id.clone(),
                NotificationKind::RegistrationChanged,
                format!("{admin} registered you for {}", self.spec.name),
            ));
        }
        self.players.push(Player {
            by: by.unwrap_or_else(|| entrant.name.clone()),
            user_id: entrant.user_id,
            name: entrant.name,
            rating: entrant.rating,
            guest: entrant.guest,
            registered_at: now,
            withdrawn: false,
            paused: false,
            byes: Vec::new(),
        });
        self.joined()
    }

    fn withdraw(&mut self, user: &UserId, by: Option<String>, effects: &mut Effects) -> Reply {
        let reason = if by.is_some() {
            TournamentLeftReason::Removed
        } else {
            TournamentLeftReason::Withdrawn
        };
        let left = ServerMessage::TournamentLeft {
            tournament: self.id.to_string(),
            reason,
        };
        let Some(i) = self.index_of(user).filter(|i| !self.players[*i].withdrawn) else {
            return match by {
                Some(_) => Reply::Refused(ErrorCode::NotFound, "not registered".into()),
                None => Reply::Ok(left), // not registered: withdrawing again changes nothing
            };
        };
        if self.is_over() {
            return Reply::Refused(
                ErrorCode::TournamentClosed,
                format!("tournament {} is over", self.id),
            );
        }
        if let Some(admin) = &by {
            effects.notices.push((
                user.clone(),
                NotificationKind::RegistrationChanged,
                format!("{admin} removed you from {}", self.spec.name),
            ));
        }
        if self.status == TournamentStatus::Created {
            self.players.remove(i);
        } else {
            self.players[i].withdrawn = true;
        }
        Reply::Ok(left)
    }

    fn cancel(&mut self, now: u64, effects: &mut Effects) -> Reply {
        if self.is_over() {
            return Reply::Refused(
                ErrorCode::TournamentClosed,
                format!("tournament {} is already over", self.id),
            );
        }
        self.status = TournamentStatus::Cancelled;
        self.ended_at = Some(now);
        for player in self.players.iter().filter(|p| !p.withdrawn) {
            let left = ServerMessage::TournamentLeft {
                tournament: self.id.to_string(),
                reason: TournamentLeftReason::Cancelled,
            };
            effects.pushes.push((player.user_id.clone(), left));
        }
        Reply::Ok(self.update())
    }

    /// Counts a game's result once; a result for a game already counted changes nothing.
    fn result(&mut self, game: &GameId, result: GameResult) -> Reply {
        match self.games.iter_mut().find(|g| &g.game == game) {
            Some(pairing) if pairing.result.is_none() => pairing.result = Some(result),
            Some(_) => {}
            None => {
                return Reply::Refused(
                    ErrorCode::NotFound,
                    format!("game {game} is not in this tournament"),
                )
            }
        }
        Reply::Done
    }

    /// What time and results make happen: the reminder, the start, pairings, the end.
    fn advance(&mut self, now: u64, effects: &mut Effects) {
        if self.is_over() {
            return;
        }
        let starts_at = self.spec.starts_at;
        if self.status == TournamentStatus::Created {
            if !self.reminded && now + REMINDER_MS >= starts_at && now < starts_at {
                self.reminded = true;
                self.notify_all(effects, format!("{} starts in 5 minutes", self.spec.name));
            }
            if now < starts_at {
                return;
            }
            self.start(now, effects);
            if self.is_over() {
                return; // too few players to start
            }
        }
        match self.spec.format {
            TournamentFormat::Swiss => self.advance_swiss(now, effects),
            TournamentFormat::Arena => self.advance_arena(now, effects),
        }
    }

    fn notify_all(&self, effects: &mut Effects, text: String) {
        for player in self.players.iter().filter(|p| !p.withdrawn) {
            effects.notices.push((
                player.user_id.clone(),
                NotificationKind::TournamentStarting,
                text.clone(),
            ));
        }
    }

    fn start(&mut self, now: u64, effects: &mut Effects) {
        if self.active_players() < 2 {
            self.status = TournamentStatus::Cancelled;
            self.ended_at = Some(now);
            return;
        }
        self.status = TournamentStatus::Started;
        self.reminded = true;
        // Seeding: by rating, then by who registered first.
        self.players.sort_by(|a, b| {
            b.rating
                .cmp(&a.rating)
                .then(a.registered_at.cmp(&b.registered_at))
        });
        self.notify_all(effects, format!("{} is starting now", self.spec.name));
    }

    fn finish(&mut self, now: u64) {
        self.status = TournamentStatus::Finished;
        self.ended_at = Some(now);
    }

    fn add_game(&mut self, round: u32, players: [usize; 2], effects: &mut Effects) {
        effects.new_games.push(self.games.len());
        self.games.push(Pairing {
            game: GameId::generate(),
            round,
            players,
            result: None,
        });
    }

    fn advance_swiss(&mut self, now: u64, effects: &mut Effects) {
        let round_over = self
            .games
            .iter()
            .all(|g| g.round < self.round || g.result.is_some());
        if !round_over {
            return;
        }
        let rounds = self.spec.rounds.unwrap_or(1);
        if self.round >= rounds {
            return self.finish(now);
        }
        let histories = standings::histories(self);
        let field: Vec<swiss::SwissPlayer> = (0..self.players.len())
            .filter(|i| !self.players[*i].withdrawn)
            .map(|i| self.swiss_player(i, &histories[i]))
            .collect();
        let paired = if field.len() >= 2 {
            swiss::pair(&field)
        } else {
            None
        };
        let Some(round) = paired else {
            return self.finish(now); // nobody left to pair without a repeat
        };
        self.round += 1;
        for (first, second) in round.pairs {
            self.add_game(self.round, [first, second], effects);
        }
        if let Some(bye) = round.bye {
            self.players[bye].byes.push(self.round);
        }
    }

    fn swiss_player(&self, index: usize, games: &[standings::Played]) -> swiss::SwissPlayer {
        let player = &self.players[index];
        swiss::SwissPlayer {
            seed: index,
            points: 2 * player.byes.len() as u32
                + games.iter().map(standings::Played::points2).sum::<u32>(),
            rating: player.rating,
            opponents: games.iter().map(|g| g.opponent).collect(),
            colours: games.iter().map(|g| g.side).collect(),
            had_bye: !player.byes.is_empty(),
        }
    }

    fn advance_arena(&mut self, now: u64, effects: &mut Effects) {
        let ends_at = self.ends_at().unwrap_or(self.spec.starts_at);
        let running = self.games.iter().any(|g| g.result.is_none());
        if now >= ends_at {
            if !running {
                self.finish(now);
            }
            return;
        }
        // Lichess's closing window, but never more than the last quarter of a short arena.
        let initial = self.spec.clock.map(|c| c.initial_ms);
        let quarter = self.spec.duration_ms.unwrap_or(0) / 4;
        if arena::pairings_closed(now, ends_at, initial) && now + quarter >= ends_at {
            return;
        }
        let histories = standings::histories(self);
        let scores = standings::arena_scores(&histories);
        let idle: Vec<arena::ArenaPlayer> = (0..self.players.len())
            .filter(|i| {
                let p = &self.players[*i];
                !p.withdrawn && !p.paused && histories[*i].iter().all(|g| g.result.is_some())
            })
            .map(|i| Self::arena_player(i, self.players[i].rating, scores[i].0, &histories[i]))
            .collect();
        if idle.len() < 2 {
            return;
        }
        let pairs = arena::pair(&idle);
        if !pairs.is_empty() {
            self.round += 1;
        }
        for (first, second) in pairs {
            self.add_game(self.round, [first, second], effects);
        }
    }

    fn arena_player(
        index: usize,
        rating: i32,
        score: u32,
        games: &[standings::Played],
    ) -> arena::ArenaPlayer {
        let last = games.last();
        let count = |side| games.iter().filter(|g| g.side == side).count() as u32;
        arena::ArenaPlayer {
            seed: index,
            score,
            rating,
            last_opponent: last.map(|g| g.opponent),
            last_colour: last.map(|g| g.side),
            whites: count(Side::First),
            blacks: count(Side::Second),
        }
    }

    /// An arena game lost by not being ready pauses the player who was absent (both, when
    /// neither was ready) until they join again: nobody is paired over and over in absentia.
    pub fn pause_absent(&mut self, game: &GameId, reason: EndReason, moves: u32) {
        if self.spec.format != TournamentFormat::Arena
            || reason != EndReason::Abandoned
            || moves > 0
        {
            return;
        }
        let Some(pairing) = self.games.iter().find(|g| &g.game == game) else {
            return;
        };
        let absent: Vec<usize> = match pairing.result {
            Some(GameResult::First) => vec![pairing.players[1]],
            Some(GameResult::Second) => vec![pairing.players[0]],
            Some(GameResult::Aborted) => pairing.players.to_vec(),
            _ => Vec::new(),
        };
        for i in absent {
            self.players[i].paused = true;
        }
    }
}

/// Checks a create body against the contract: the error message says what is expected.
pub fn check(spec: &TournamentCreate, now: u64) -> Result<TournamentCreate, String> {
    let mut spec = spec.clone();
    spec.name = spec.name.trim().to_owned();
    let chars = spec.name.chars().count();
    if chars == 0 || chars > 80 || spec.name.chars().any(char::is_control) {
        return Err("name: 1 to 80 characters, no control characters".into());
    }
    if let Some(clock) = spec.clock {
        let queue = QueueSpec {
            game: spec.game,
            clock: Some(clock),
            rated: spec.rated,
        };
        crate::domain::QueueKey::from_spec(&queue).map_err(|e| format!("clock: {e}"))?;
    }
    match spec.format {
        TournamentFormat::Arena => {
            match spec.duration_ms {
                Some(d) if (1_000..=24 * 3_600_000).contains(&d) => {}
                _ => return Err("durationMs: required for an arena, 1 s to 24 h".into()),
            }
            if spec.rounds.is_some() {
                return Err("rounds: an arena has none (null or absent)".into());
            }
        }
        TournamentFormat::Swiss => {
            match spec.rounds {
                Some(r) if (1..=20).contains(&r) => {}
                _ => return Err("rounds: required for a swiss, 1 to 20".into()),
            }
            if spec.duration_ms.is_some() {
                return Err("durationMs: a swiss has none (null or absent)".into());
            }
        }
    }
    if let Some(max) = spec.max_players {
        if !(2..=10_000).contains(&max) {
            return Err("maxPlayers: 2 to 10000, or absent".into());
        }
    }
    // A start in the past starts at once.
    spec.starts_at = spec.starts_at.max(now);
    Ok(spec)
}

impl Reply {
    /// What a request waiting at a reply address gets.
    pub fn answer(&self, state: &TournamentState) -> Answer {
        match self {
            Reply::Ok(_) => Answer::Tournament(Box::new(state.view())),
            Reply::Done => Answer::Done,
            Reply::Registrations => Answer::Registrations(state.registrations()),
            Reply::Refused(code, message) => Answer::refused(*code, message.clone()),
        }
    }

    /// What a socket gets (None: nothing to say).
    pub fn frame(&self, state: &TournamentState) -> Option<ServerMessage> {
        match self {
            Reply::Ok(message) => Some(message.clone()),
            Reply::Done => None,
            Reply::Registrations => Some(state.update()),
            Reply::Refused(code, message) => Some(ServerMessage::error(*code, message.clone())),
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
