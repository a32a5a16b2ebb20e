//! Telemetry in one place: the tracing subscriber, and every metric name with its recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global tracing subscriber (once per process; later calls are no-ops).
/// `RUST_LOG` filters, default `info`.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder. Tests start several nodes in one process, so it is
/// installed once and shared; every node renders the same registry.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            )
            .expect("static bucket list");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a test harness); then ours only renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Metric names, so that dashboards and code agree.
pub mod names {
    /// Gauge: websocket sessions connected to this node.
    pub const SESSIONS: &str = "rookery_sessions_connected";
    /// Gauge: game actors live on this node.
    pub const GAMES_LIVE: &str = "rookery_games_live";
    /// Gauge: players waiting, label `queue`.
    pub const QUEUE_WAITING: &str = "rookery_queue_waiting";
    /// Counter: moves accepted, label `kind`.
    pub const MOVES: &str = "rookery_moves_total";
    /// Histogram: from a move's arrival at its game to its acknowledgement (snapshot written).
    pub const MOVE_SECONDS: &str = "rookery_move_handling_seconds";
    /// Counter: games finished, labels `kind`, `reason`.
    pub const GAMES_FINISHED: &str = "rookery_games_finished_total";
    /// Counter: `client/ERROR`s sent, label `code`.
    pub const ERRORS: &str = "rookery_client_errors_total";
    /// Counter: client frames whose `type` no node knows (the counted unknown path).
    pub const UNKNOWN_TYPES: &str = "rookery_unknown_message_types_total";
    /// Counter: client frames received, label `namespace`.
    pub const FRAMES_IN: &str = "rookery_frames_received_total";
    /// Counter: sockets closed because their outbound queue was full.
    pub const SLOW_CONSUMERS: &str = "rookery_slow_consumers_total";
    /// Histogram: time to write a finished game to the store.
    pub const PERSIST_SECONDS: &str = "rookery_persist_seconds";
    /// Counter: messages published on the bus to another node.
    pub const BUS_PUBLISHED: &str = "rookery_bus_published_total";
    /// Counter: actor activations, label `kind` (`game`, `queue`).
    pub const ACTIVATIONS: &str = "rookery_activations_total";
    /// Counter: audit events recorded, label `type`.
    pub const AUDIT_EVENTS: &str = "rookery_audit_events_total";
    /// Counter: audit events dropped because the node's buffer was full (also logged).
    pub const AUDIT_DROPPED: &str = "rookery_audit_dropped_total";
    /// Counter: failed writes of an audit batch (retried until they succeed).
    pub const AUDIT_WRITE_FAILURES: &str = "rookery_audit_write_failures_total";
    /// Counter: jobs put, label `tube`.
    pub const JOBS_PUT: &str = "rookery_jobs_put_total";
    /// Counter: jobs reserved by a worker (each attempt), label `tube`.
    pub const JOBS_RESERVED: &str = "rookery_jobs_reserved_total";
    /// Counter: jobs deleted by their holder (done), label `tube`.
    pub const JOBS_DONE: &str = "rookery_jobs_done_total";
    /// Gauge: seconds the oldest ready job of a tube has waited since it was put, label `tube`.
    pub const JOBS_OLDEST_READY_SECONDS: &str = "rookery_jobs_oldest_ready_seconds";
    /// Counter: job runs that failed (each is retried or buried), label `tube`.
    pub const JOBS_FAILED: &str = "rookery_jobs_failed_total";
    /// Counter: notifications made, label `kind`.
    pub const NOTIFICATIONS: &str = "rookery_notifications_total";
    /// Counter: notification emails, label `outcome` (`sent`, `skipped` when sent already or
    /// the account has no email, `failed`).
    pub const EMAILS: &str = "rookery_emails_total";
    /// Counter: jobs buried by their holder, label `tube`.
    pub const JOBS_BURIED: &str = "rookery_jobs_buried_total";
}
