//! The `rookery` binary: parse config, set up telemetry, run one node until SIGINT/SIGTERM.

use clap::Parser;
use rookery::{telemetry, Application, Config};

/// glibc's allocator took about a fifth of a node's CPU under load (malloc, free and chunk
/// consolidation in the profiles of BENCHMARKS.md); mimalloc's per-thread free lists cost less.
/// Built without transparent huge pages (`no_thp`): with them an idle socket cost 8 KiB more
/// resident memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    telemetry::init_tracing(config.log_format);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            eprintln!("rookery: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!("listening on port {}", app.port());
    let shutdown = app.shutdown();
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stop signal received");
        shutdown.trigger().await;
    });
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
