//! Who may join and speak in which chat room, decided purely from what one socket knows: its
//! session state (its game, its tournaments, the games it watches), the rooms it joined, and
//! the tournaments it follows. Refusals are `forbidden` with a reason in words.

use std::collections::{BTreeSet, HashMap};

use crate::domain::TournamentId;
use crate::messages::Address;
use crate::rooms::Room;

use super::state::SessionState;

/// A game this socket watches, as its `client/WATCH_GAME` view showed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    /// The last move count the socket was sent: older updates are dropped.
    pub seq: u32,
    /// Its players' names (a player watching their own game from elsewhere is still a player).
    pub players: Vec<String>,
}

/// What one socket knows that chat rules depend on.
pub struct Member<'a> {
    pub state: &'a SessionState,
    /// The rooms this socket joined (`server/CHAT_JOIN`).
    pub joined: &'a BTreeSet<String>,
    /// The games it watches, once their view arrived.
    pub watched: &'a HashMap<String, Watched>,
    /// The groups it follows (`watch:tournament:<id>`).
    pub following: &'a BTreeSet<String>,
}

impl Member<'_> {
    fn plays(&self, game: &crate::domain::GameId) -> bool {
        self.state.game.as_ref() == Some(game)
    }

    fn in_tournament(&self, id: &TournamentId) -> bool {
        self.state.tournaments.contains(id.as_str())
            || self
                .following
                .contains(Address::tournament_watchers(id).key())
    }

    /// Whether the socket may join `room` (and so read it).
    pub fn may_join(&self, room: &Room) -> Result<(), String> {
        match room {
            Room::Game(game) if self.plays(game) => Ok(()),
            Room::Game(_) => Err(format!("only its two players are in {room}")),
            Room::Watchers(game) => {
                let name = &self.state.user.name;
                match self.watched.get(game.as_str()) {
                    _ if self.plays(game) => {
                        Err(format!("players cannot read {room} while they play"))
                    }
                    Some(watched) if watched.players.contains(name) => {
                        Err(format!("players cannot read {room} while they play"))
                    }
                    Some(_) => Ok(()),
                    None => Err(format!(
                        "{room} is for the game's watchers: send server/WATCH_GAME first"
                    )),
                }
            }
            Room::Tournament(id) if self.in_tournament(id) => Ok(()),
            Room::Tournament(_) => Err(format!(
                "{room} is for its players and watchers: join or watch the tournament first"
            )),
            Room::Lobby => Ok(()),
        }
    }

    /// Whether the socket may say something in `room`: a player in their game's room; anyone
    /// else in a room they joined and may still be in.
    pub fn may_send(&self, room: &Room) -> Result<(), String> {
        if let Room::Game(_) = room {
            return self.may_join(room);
        }
        self.may_join(room)?;
        if self.joined.contains(&room.to_string()) {
            Ok(())
        } else {
            Err(format!("join {room} first (server/CHAT_JOIN)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use client_protocol::UserView;

    use super::*;
    use crate::domain::{GameId, SessionId, UserId};

    fn state() -> SessionState {
        let user = UserView {
            id: "u".into(),
            name: "ada".into(),
            rating: 1500,
            guest: false,
            roles: Vec::new(),
        };
        SessionState::new(SessionId::generate(), UserId::generate(), user)
    }

    struct Socket {
        state: SessionState,
        joined: BTreeSet<String>,
        watched: HashMap<String, Watched>,
        following: BTreeSet<String>,
    }

    impl Socket {
        fn new() -> Socket {
            Socket {
                state: state(),
                joined: BTreeSet::new(),
                watched: HashMap::new(),
                following: BTreeSet::new(),
            }
        }

        fn member(&self) -> Member<'_> {
            Member {
                state: &self.state,
                joined: &self.joined,
                watched: &self.watched,
                following: &self.following,
            }
        }
    }

    #[test]
    fn a_games_room_is_its_players_only() {
        let mut socket = Socket::new();
        let game = GameId::generate();
        let room = Room::Game(game.clone());
        assert!(socket.member().may_join(&room).is_err());
        assert!(socket.member().may_send(&room).is_err());
        socket.state.game = Some(game);
        assert!(socket.member().may_join(&room).is_ok());
        assert!(socket.member().may_send(&room).is_ok(), "without joining");
    }

    #[test]
    fn the_watchers_room_is_for_watchers_never_for_players_in_play() {
        let mut socket = Socket::new();
        let game = GameId::generate();
        let room = Room::Watchers(game.clone());
        assert!(socket.member().may_join(&room).is_err(), "not watching");
        let watched = Watched {
            seq: 0,
            players: vec!["bob".into(), "cy".into()],
        };
        socket.watched.insert(game.to_string(), watched);
        assert!(socket.member().may_join(&room).is_ok());
        assert!(socket.member().may_send(&room).is_err(), "not joined");
        socket.joined.insert(room.to_string());
        assert!(socket.member().may_send(&room).is_ok());
        socket.state.game = Some(game.clone());
        assert!(socket.member().may_join(&room).is_err(), "playing it");
        socket.state.game = None;
        socket.watched.get_mut(game.as_str()).unwrap().players[0] = "ada".into();
        assert!(
            socket.member().may_join(&room).is_err(),
            "a player watching from another socket"
        );
    }

    #[test]
    fn a_tournaments_room_takes_its_players_and_watchers() {
        let mut socket = Socket::new();
        let id = TournamentId::generate();
        let room = Room::Tournament(id.clone());
        assert!(socket.member().may_join(&room).is_err());
        socket.state.tournaments.insert(id.to_string());
        assert!(socket.member().may_join(&room).is_ok());
        socket.state.tournaments.clear();
        socket
            .following
            .insert(Address::tournament_watchers(&id).key().to_owned());
        assert!(socket.member().may_join(&room).is_ok());
    }

    #[test]
    fn the_lobby_is_open_but_speaking_needs_joining() {
        let mut socket = Socket::new();
        assert!(socket.member().may_join(&Room::Lobby).is_ok());
        assert!(socket.member().may_send(&Room::Lobby).is_err());
        socket.joined.insert("lobby".into());
        assert!(socket.member().may_send(&Room::Lobby).is_ok());
    }
}
