//! rookery: an actor-based real-time game server node. See ARCHITECTURE.md for the map.

pub mod actors;
pub mod analysis;
pub mod audit;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod events;
pub mod games;
pub mod http;
pub mod jobs;
pub mod listeners;
pub mod messages;
pub mod node;
pub mod notify;
pub mod rooms;
pub mod session;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use config::Config;
pub use startup::Application;
