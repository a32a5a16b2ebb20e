//! The cluster seams: the bus, snapshots and leases as traits, with in-process and Redis
//! implementations; the lease keeper; and the router that delivers a message to an actor
//! wherever it lives (or activates it here).
//!
//! Actor code talks only to these traits; which implementation backs them (in-process for a
//! single node, Redis for a cluster) is chosen once, in `startup`.

pub mod bus;
pub mod lease_keeper;
pub mod mailbox;
pub mod membership;
pub mod memory;
pub mod redis;
pub mod router;
pub mod sentinel;
pub mod snapshot;

pub use bus::{Bus, BusError, Incoming};
pub use lease_keeper::{keep_lease, LeaseKeeper, LeaseLost};
pub use mailbox::{Mailbox, Passivate};
pub use membership::Membership;
pub use router::{Activator, Offline, Registry, Router};
pub use snapshot::{Lease, Leases, SaveError, SnapshotStore, Stored};
