//! Players on dead nodes: a node killed with `kill -9` closes no socket, so no session tells
//! its games that their players left. Each node watches the cluster's membership instead and
//! tells the games it hosts which nodes are alive: when a node stops heartbeating (missing
//! from two polls in a row) every hosted game hears it, and every game this node starts
//! hosting (a rebuild after its owner died) hears it once. A game marks away the players whose
//! socket was last on a node that is not alive, and their abandonment grace starts.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use crate::cluster::membership::{Membership, HEARTBEAT_EVERY};
use crate::cluster::Router;
use crate::domain::GameId;
use crate::messages::{ActorKind, Address, Envelope, GameAction, GameCommand};

/// Polls membership once per heartbeat and tells the hosted games.
pub async fn watch_nodes(router: Router, membership: Arc<dyn Membership>) {
    let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watch = NodeWatch::default();
    loop {
        ticks.tick().await;
        let Ok(peers) = membership.peers().await else {
            continue; // membership out of reach: nobody is declared dead for it
        };
        let hosted = router.hosted_addresses(ActorKind::Game);
        let Some((alive, tell)) = watch.poll(router.node_id(), peers, hosted) else {
            continue;
        };
        for address in tell {
            let Some(id) = GameId::parse(address.id()) else {
                continue;
            };
            let action = GameAction::NodesAlive {
                alive: alive.clone(),
            };
            router.send(Envelope::game(&id, GameCommand { from: None, action }));
        }
    }
}

/// What one node knows between polls: the nodes alive (a node counts as gone once missing
/// from two polls in a row) and the games already told.
#[derive(Default)]
struct NodeWatch {
    alive: BTreeSet<String>,
    missing_once: BTreeSet<String>,
    told: HashSet<Address>,
}

impl NodeWatch {
    /// The alive list to tell, and whom: every hosted game when a node is newly gone, else the
    /// games not told yet. None when this node is missing from its own view (its heartbeat or
    /// Redis is in trouble: it declares nobody dead).
    fn poll(
        &mut self,
        me: &str,
        peers: Vec<String>,
        hosted: Vec<Address>,
    ) -> Option<(Vec<String>, Vec<Address>)> {
        let peers: BTreeSet<String> = peers.into_iter().collect();
        if !peers.contains(me) {
            return None;
        }
        let missing: BTreeSet<String> = self.alive.difference(&peers).cloned().collect();
        let gone = missing.intersection(&self.missing_once).next().is_some();
        // A node missing once stays alive until the next poll confirms it.
        let mut alive = peers.clone();
        alive.extend(missing.difference(&self.missing_once).cloned());
        self.missing_once = missing
            .difference(&self.missing_once)
            .cloned()
            .collect::<BTreeSet<_>>();
        self.alive = alive;
        self.told.retain(|a| hosted.contains(a));
        let tell: Vec<Address> = hosted
            .into_iter()
            .filter(|a| gone || !self.told.contains(a))
            .collect();
        self.told.extend(tell.iter().cloned());
        Some((self.alive.iter().cloned().collect(), tell))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_node_is_gone_once_missing_twice_and_then_every_hosted_game_hears_it() {
        let game = Address::game(&GameId::generate());
        let mut watch = NodeWatch::default();
        let (alive, tell) = watch
            .poll("a", nodes(&["a", "b"]), vec![game.clone()])
            .unwrap();
        assert_eq!(
            (alive, tell.len()),
            (nodes(&["a", "b"]), 1),
            "a new game hears"
        );
        let (_, tell) = watch
            .poll("a", nodes(&["a", "b"]), vec![game.clone()])
            .unwrap();
        assert!(tell.is_empty(), "told once");
        let (alive, tell) = watch.poll("a", nodes(&["a"]), vec![game.clone()]).unwrap();
        assert_eq!(
            (alive, tell.len()),
            (nodes(&["a", "b"]), 0),
            "missing once: alive"
        );
        let (alive, tell) = watch.poll("a", nodes(&["a"]), vec![game.clone()]).unwrap();
        assert_eq!(
            (alive, tell.len()),
            (nodes(&["a"]), 1),
            "missing twice: gone"
        );
        let (alive, tell) = watch.poll("a", nodes(&["a"]), vec![game]).unwrap();
        assert_eq!((alive, tell.len()), (nodes(&["a"]), 0));
        assert!(
            watch.poll("a", nodes(&["b"]), Vec::new()).is_none(),
            "not in its own view"
        );
    }

    #[test]
    fn a_node_back_after_one_missed_poll_was_never_gone() {
        let game = Address::game(&GameId::generate());
        let mut watch = NodeWatch::default();
        watch.poll("a", nodes(&["a", "b"]), vec![game.clone()]);
        watch.poll("a", nodes(&["a"]), vec![game.clone()]);
        let (alive, tell) = watch
            .poll("a", nodes(&["a", "b"]), vec![game.clone()])
            .unwrap();
        assert_eq!((alive, tell.len()), (nodes(&["a", "b"]), 0));
        watch.poll("a", nodes(&["a"]), vec![game.clone()]);
        let (_, tell) = watch.poll("a", nodes(&["a"]), vec![game]).unwrap();
        assert_eq!(tell.len(), 1);
    }
}
