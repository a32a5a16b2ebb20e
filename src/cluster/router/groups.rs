//! The router's groups: fan-out addresses (an account's sockets, a room's members) with one bus
//! subscription per node and local delivery to every member here.

use super::{Router, Slot};
use crate::cluster::Mailbox;
use crate::messages::{Address, Envelope};

impl Router {
    pub(super) fn is_group(&self, address: &Address) -> bool {
        self.inner.registry.groups.contains(&address.kind())
    }

    /// Makes `mailbox` (member `member`) receive every message for the group `group`, from any
    /// node. The first member here subscribes this node to the group's channel.
    pub async fn join(&self, group: &Address, member: u64, mailbox: Mailbox) {
        let first = {
            let mut local = self.inner.local.lock().expect("poisoned");
            match local.get_mut(group) {
                Some(Slot::Group(members)) => {
                    members.retain(|(m, _)| *m != member);
                    members.push((member, mailbox));
                    false
                }
                _ => {
                    local.insert(group.clone(), Slot::Group(vec![(member, mailbox)]));
                    true
                }
            }
        };
        if first {
            if let Err(e) = self.inner.bus.subscribe(group.key()).await {
                tracing::warn!(error = %e, channel = %group, "could not subscribe group channel");
            }
        }
    }

    /// Removes member `member` from `group`; the last member here unsubscribes the node.
    pub fn leave(&self, group: &Address, member: u64) {
        let empty = {
            let mut local = self.inner.local.lock().expect("poisoned");
            match local.get_mut(group) {
                Some(Slot::Group(members)) => {
                    members.retain(|(m, _)| *m != member);
                    members.is_empty() && local.remove(group).is_some()
                }
                _ => false,
            }
        };
        if empty {
            let router = self.clone();
            let group = group.clone();
            self.spawn(async move {
                // Someone may have joined again meanwhile: then the subscription stays.
                let rejoined = router
                    .inner
                    .local
                    .lock()
                    .expect("poisoned")
                    .contains_key(&group);
                if !rejoined {
                    let _ = router.inner.bus.unsubscribe(group.key()).await;
                }
            });
        }
    }

    /// Delivers a group message received from the bus to this node's members of the group.
    pub(super) fn deliver_group(&self, envelope: Envelope) {
        let members = match self.inner.local.lock().expect("poisoned").get(&envelope.to) {
            Some(Slot::Group(members)) => members.clone(),
            _ => return,
        };
        for (member, mailbox) in members {
            if mailbox.deliver(envelope.body.clone()).is_err() {
                self.leave(&envelope.to, member);
            }
        }
    }

    /// The groups this node has members in whose key starts with `prefix`
    /// (`watch:game:`), with how many members each has here.
    pub fn group_sizes(&self, prefix: &str) -> Vec<(Address, usize)> {
        let local = self.inner.local.lock().expect("poisoned");
        local
            .iter()
            .filter(|(address, _)| address.key().starts_with(prefix))
            .filter_map(|(address, slot)| match slot {
                Slot::Group(members) => Some((address.clone(), members.len())),
                _ => None,
            })
            .collect()
    }
}
