//! Telemetry in one place: the tracing subscriber, and every metric name with its recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// `info`, but only errors from redis-rs's cluster client: while a shard is down it logs every
/// reconnect attempt as a warning, many per second; the node says what that costs it
/// (`lease renewal failed`, `unavailable`) in its own lines.
pub const DEFAULT_FILTER: &str = "info,redis::cluster_handling=error";

/// Installs the global tracing subscriber (once per process; later calls are no-ops).
/// `RUST_LOG` filters, default [`DEFAULT_FILTER`].
pub fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .finish()
            .with(RejectedRequests)
            .try_init(),
        LogFormat::Pretty => builder.finish().with(RejectedRequests).try_init(),
    };
}

/// actix-http answers a request it cannot parse (a bad request line, too many headers: 400 or
/// 431) before any handler runs, and then logs it at ERROR: any client could fill the error
/// log at will. This layer counts those events (`rookery_http_rejected_total{reason="parse"}`)
/// and drops them; actix-http logs the same parse error at trace level (`RUST_LOG=actix_http=trace`).
struct RejectedRequests;

/// The start of actix-http's ERROR line for a request it could not parse.
const PARSE_ERROR: &str = "stream error: request parse error";

impl<S: tracing::Subscriber> Layer<S> for RejectedRequests {
    fn event_enabled(&self, event: &tracing::Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != tracing::Level::ERROR || !meta.target().starts_with("actix_http::h1") {
            return true;
        }
        let mut message = MessageStart(false);
        event.record(&mut message);
        if message.0 {
            metrics::counter!(names::HTTP_REJECTED, "reason" => "parse").increment(1);
        }
        !message.0
    }
}

/// Whether an event's message starts with [`PARSE_ERROR`].
struct MessageStart(bool);

impl tracing::field::Visit for MessageStart {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}").starts_with(PARSE_ERROR);
        }
    }
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
        describe();
        handle
    })
}

/// The commit the binary was built from (`build.rs`: `git rev-parse`, else `$ROOKERY_COMMIT`,
/// else "unknown").
pub const COMMIT: &str = env!("ROOKERY_COMMIT");

/// Says what every metric is (HELP and TYPE) and registers each counter and gauge at zero, for
/// every label value known in advance: a fresh node's `/metrics` lists everything a dashboard
/// or an alert may query, instead of nothing until the first event. Labels are wire names
/// (`reason="checkmate"`, `code="bad_frame"`). Increments by 0, so a second node in the same
/// process (tests) resets nothing.
fn describe() {
    use client_protocol::admin::AuditType;
    use client_protocol::{ClientMessage, EndReason, ErrorCode, GameKind};
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    use names::*;

    describe_gauge!(
        BUILD_INFO,
        "The running build: labels version and commit; always 1."
    );
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "commit" => COMMIT)
        .set(1.0);

    describe_gauge!(SESSIONS, "Websocket sessions connected to this node.");
    describe_gauge!(GAMES_LIVE, "Games in play (not over) hosted on this node.");
    describe_gauge!(QUEUE_WAITING, "Players waiting, by queue.");
    for gauge in [SESSIONS, GAMES_LIVE] {
        metrics::gauge!(gauge).increment(0.0);
    }
    describe_counter!(MOVES, "Moves accepted, by game kind.");
    describe_counter!(
        GAMES_FINISHED,
        "Games finished, by game kind and end reason."
    );
    for kind in GameKind::ALL {
        metrics::counter!(MOVES, "kind" => kind.as_str()).increment(0);
        for reason in EndReason::ALL {
            metrics::counter!(GAMES_FINISHED, "kind" => kind.as_str(), "reason" => reason.as_str())
                .increment(0);
        }
    }
    describe_histogram!(
        MOVE_SECONDS,
        Unit::Seconds,
        "From a move's arrival at its game to its acknowledgement (snapshot written)."
    );
    describe_histogram!(
        PERSIST_SECONDS,
        Unit::Seconds,
        "Time to write a finished game to the store."
    );
    describe_counter!(ERRORS, "client/ERROR frames sent, by code.");
    for code in ErrorCode::ALL {
        metrics::counter!(ERRORS, "code" => code.as_str()).increment(0);
    }
    describe_counter!(UNKNOWN_TYPES, "Client frames whose type no node knows.");
    describe_counter!(FRAMES_IN, "Client frames received, by namespace.");
    let mut namespaces: Vec<&str> = ClientMessage::TYPES
        .iter()
        .filter_map(|t| t.split('/').next())
        .collect();
    namespaces.dedup();
    for namespace in namespaces {
        metrics::counter!(FRAMES_IN, "namespace" => namespace).increment(0);
    }
    describe_counter!(
        SLOW_CONSUMERS,
        "Sockets closed because their outbound queue was full."
    );
    describe_counter!(
        BAD_TRANSPORT_FRAMES,
        "Websocket frames refused by the transport, by reason."
    );
    for reason in ["too_big", "invalid_utf8", "protocol"] {
        metrics::counter!(BAD_TRANSPORT_FRAMES, "reason" => reason).increment(0);
    }
    describe_counter!(
        BUS_PUBLISHED,
        "Messages published on the bus to another node."
    );
    describe_counter!(
        BUS_RECEIVED,
        "Messages received from the bus, by the kind of address (a group's once per node)."
    );
    // The kinds that cross nodes most: games, sessions, groups (watchers and chat rooms).
    for kind in ["game", "session", "watch"] {
        metrics::counter!(BUS_RECEIVED, "kind" => kind).increment(0);
    }
    describe_counter!(
        REDIS_WAIT_SHORT,
        "Snapshot writes not acknowledged: fewer replicas than asked had them in time."
    );
    describe_counter!(
        REDIS_PRIMARY_CHANGES,
        "Times the sentinels named a new Redis primary and this node followed."
    );
    describe_counter!(CHAT_MESSAGES, "Chat messages accepted.");
    describe_counter!(ACTIVATIONS, "Virtual actor activations, by kind.");
    for kind in ["game", "queue"] {
        metrics::counter!(ACTIVATIONS, "kind" => kind).increment(0);
    }
    describe_counter!(AUDIT_EVENTS, "Audit events recorded, by type.");
    for kind in AuditType::ALL {
        metrics::counter!(AUDIT_EVENTS, "type" => kind.as_str()).increment(0);
    }
    describe_counter!(
        AUDIT_DROPPED,
        "Audit events dropped because the buffer was full (still logged)."
    );
    describe_counter!(
        AUDIT_WRITE_FAILURES,
        "Failed writes of an audit batch (retried)."
    );
    describe_counter!(
        HTTP_REJECTED,
        "HTTP requests refused before a handler ran, by reason."
    );
    for reason in HTTP_REJECTED_REASONS {
        metrics::counter!(HTTP_REJECTED, "reason" => *reason).increment(0);
    }
    for counter in [
        UNKNOWN_TYPES,
        SLOW_CONSUMERS,
        BUS_PUBLISHED,
        REDIS_WAIT_SHORT,
        REDIS_PRIMARY_CHANGES,
        CHAT_MESSAGES,
        AUDIT_DROPPED,
        AUDIT_WRITE_FAILURES,
    ] {
        metrics::counter!(counter).increment(0);
    }
    describe_counter!(JOBS_PUT, "Jobs put, by tube.");
    describe_counter!(
        JOBS_RESERVED,
        "Jobs reserved by a worker (each attempt), by tube."
    );
    describe_counter!(JOBS_DONE, "Jobs deleted by their holder (done), by tube.");
    describe_counter!(JOBS_BURIED, "Jobs buried by their holder, by tube.");
    describe_counter!(
        JOBS_FAILED,
        "Job runs that failed (then retried or buried), by tube."
    );
    describe_gauge!(
        JOBS_OLDEST_READY_SECONDS,
        "Seconds the oldest ready job of a tube has waited since it was put."
    );
    describe_counter!(NOTIFICATIONS, "Notifications made, by kind.");
    for kind in client_protocol::NotificationKind::ALL {
        metrics::counter!(NOTIFICATIONS, "kind" => kind.as_str()).increment(0);
    }
    describe_counter!(
        EMAILS,
        "Notification emails: sent, skipped (sent already, or no address), failed."
    );
    for outcome in ["sent", "skipped", "failed"] {
        metrics::counter!(EMAILS, "outcome" => outcome).increment(0);
    }
    describe_counter!(EVENTS_APPENDED, "Game events appended to the log, by type.");
    for kind in ["game_started", "move", "draw_offered", "game_over"] {
        metrics::counter!(EVENTS_APPENDED, "type" => kind).increment(0);
    }
    describe_counter!(
        EVENTS_HANDLED,
        "Game events a listener handled (or skipped as not its own), by listener."
    );
    describe_counter!(
        EVENTS_FAILED,
        "Failed tries of a listener on a game event, by listener."
    );
    describe_counter!(
        EVENTS_DEAD,
        "Game events set aside in a listener's dead-letter log, by listener."
    );
    describe_gauge!(
        LISTENER_LAG,
        "Game events appended that a listener has not been handed yet, by listener."
    );
}

/// The standard process metrics (`process_*`, as Prometheus client libraries name them), read
/// from `/proc` at each scrape: CPU seconds, resident and virtual memory, open and maximum file
/// descriptors, threads, start time. Empty where there is no `/proc`.
pub fn process_metrics() -> String {
    let mut out = String::new();
    let Some(process) = ProcessStats::read() else {
        return out;
    };
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        process.cpu_seconds,
    );
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        process.rss_bytes,
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        process.virtual_bytes,
    );
    metric(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        process.open_fds,
    );
    if let Some(max) = process.max_fds {
        metric(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max,
        );
    }
    metric(
        "process_threads",
        "gauge",
        "Number of OS threads in the process.",
        process.threads,
    );
    metric(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        process.start_time_seconds,
    );
    out
}

/// One reading of `/proc/self`.
struct ProcessStats {
    cpu_seconds: f64,
    rss_bytes: f64,
    virtual_bytes: f64,
    open_fds: f64,
    max_fds: Option<f64>,
    threads: f64,
    start_time_seconds: f64,
}

/// `/proc` counts CPU time and start times in clock ticks of USER_HZ, which Linux fixes at
/// 100 for every architecture's user-space ABI.
const USER_HZ: f64 = 100.0;

impl ProcessStats {
    fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: split after it.
        let after_name = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 3.. of proc(5) from index 0: utime is field 14, stime 15, starttime 22.
        let field = |n: usize| -> Option<f64> { fields.get(n - 3)?.parse().ok() };
        let cpu_seconds = (field(14)? + field(15)?) / USER_HZ;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let kib = |key: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            line[key.len()..].split_whitespace().next()?.parse().ok()
        };
        let boot_time: f64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|limits| {
                let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
                line["Max open files".len()..]
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            });
        Some(ProcessStats {
            cpu_seconds,
            rss_bytes: kib("VmRSS:")? * 1024.0,
            virtual_bytes: kib("VmSize:")? * 1024.0,
            open_fds: std::fs::read_dir("/proc/self/fd").ok()?.count() as f64,
            max_fds,
            threads: kib("Threads:")?,
            start_time_seconds: boot_time + field(22)? / USER_HZ,
        })
    }
}

/// Metric names, so that dashboards and code agree.
pub mod names {
    /// Gauge: websocket sessions connected to this node.
    pub const SESSIONS: &str = "rookery_sessions_connected";
    /// Gauge: games in play (not over) hosted on this node.
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
    /// Counter: snapshot writes refused because too few replicas had them within the wait
    /// (Sentinel mode, `WAIT`).
    pub const REDIS_WAIT_SHORT: &str = "rookery_redis_wait_short_total";
    /// Counter: times the sentinels named a new Redis primary and this node moved to it.
    pub const REDIS_PRIMARY_CHANGES: &str = "rookery_redis_primary_changes_total";
    /// Counter: messages this node received from the bus, label `kind` (the address's kind:
    /// `watch` for a group of watchers or a chat room, received once per node).
    pub const BUS_RECEIVED: &str = "rookery_bus_received_total";
    /// Counter: chat messages accepted.
    pub const CHAT_MESSAGES: &str = "rookery_chat_messages_total";
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
    /// Counter: game events appended to the log, label `type`.
    pub const EVENTS_APPENDED: &str = "rookery_events_appended_total";
    /// Counter: events a listener handled (or skipped as not its own), label `listener`.
    pub const EVENTS_HANDLED: &str = "rookery_events_handled_total";
    /// Counter: failed tries of a listener on an event, label `listener`.
    pub const EVENTS_FAILED: &str = "rookery_events_failed_total";
    /// Counter: events set aside in a listener's dead-letter log, label `listener`.
    pub const EVENTS_DEAD: &str = "rookery_events_dead_lettered_total";
    /// Gauge: events appended that a listener has not been handed yet, label `listener`.
    pub const LISTENER_LAG: &str = "rookery_listener_lag";
    /// Counter: job runs that failed (each is retried or buried), label `tube`.
    pub const JOBS_FAILED: &str = "rookery_jobs_failed_total";
    /// Counter: notifications made, label `kind`.
    pub const NOTIFICATIONS: &str = "rookery_notifications_total";
    /// Counter: notification emails, label `outcome` (`sent`, `skipped` when sent already or
    /// the account has no email, `failed`).
    pub const EMAILS: &str = "rookery_emails_total";
    /// Counter: jobs buried by their holder, label `tube`.
    pub const JOBS_BURIED: &str = "rookery_jobs_buried_total";
    /// Gauge: 1, labels `version` and `commit` (the build this node runs).
    pub const BUILD_INFO: &str = "rookery_build_info";
    /// Counter: HTTP requests refused before a handler ran, label `reason`: `parse` (the HTTP
    /// head itself, answered 400/431 by actix-http), `body`, `query`, `path` (do not parse),
    /// `method` (405), `other` (any other 4xx written by actix-web).
    pub const HTTP_REJECTED: &str = "rookery_http_rejected_total";
    /// The `reason`s of `HTTP_REJECTED`.
    pub const HTTP_REJECTED_REASONS: &[&str] =
        &["parse", "body", "query", "path", "method", "other"];
    /// Counter: websocket frames the transport refused, label `reason` (`too_big`: closed
    /// 1009; `invalid_utf8`: closed 1007; `protocol`: closed 1002).
    pub const BAD_TRANSPORT_FRAMES: &str = "rookery_ws_bad_frames_total";
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// Counts the events that reach it.
    struct Seen(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> Layer<S> for Seen {
        fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn actix_parse_errors_are_kept_out_of_the_log_and_other_errors_are_not() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(RejectedRequests)
            .with(Seen(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: request parse error: message head is too large");
            assert_eq!(seen.load(Ordering::SeqCst), 0, "a parse error is dropped");
            tracing::error!(target: "actix_http::h1::dispatcher", "write zero; closing");
            tracing::error!("stream error: request parse error, but from rookery");
            tracing::info!(target: "actix_http::h1::dispatcher", "stream error: request parse error");
            assert_eq!(seen.load(Ordering::SeqCst), 3, "everything else is logged");
        });
    }

    #[test]
    fn process_metrics_are_read_from_proc() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return assert!(process_metrics().is_empty());
        }
        let page = process_metrics();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_threads",
            "process_start_time_seconds",
        ] {
            let value: f64 = page
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} in {page}"))
                .parse()
                .unwrap();
            assert!(value >= 0.0, "{name} {value}");
        }
        let start: f64 = page
            .lines()
            .find_map(|l| l.strip_prefix("process_start_time_seconds "))
            .unwrap()
            .parse()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(start > 1.0e9 && start <= now + 1.0, "{start} vs {now}");
    }
}
