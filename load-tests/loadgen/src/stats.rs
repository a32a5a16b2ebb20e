//! Latency samples in microseconds and their percentiles, and the JSON report a run writes.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// Every sample kept (a few million at most), so percentiles are exact.
#[derive(Default)]
pub struct Latencies {
    micros: Vec<u32>,
}

/// Percentiles in milliseconds.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.micros.push(d.as_micros().min(u32::MAX as u128) as u32);
    }

    pub fn count(&self) -> usize {
        self.micros.len()
    }

    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }

    pub fn summary(&mut self) -> Summary {
        self.micros.sort_unstable();
        let n = self.micros.len();
        let at = |q: f64| -> f64 {
            if n == 0 {
                return 0.0;
            }
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            self.micros[i] as f64 / 1000.0
        };
        let mean = if n == 0 {
            0.0
        } else {
            self.micros.iter().map(|&v| v as f64).sum::<f64>() / n as f64 / 1000.0
        };
        Summary {
            count: n,
            mean_ms: mean,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
        }
    }
}

/// Writes a report as pretty JSON to `path` (if any) and as one line to stdout.
pub fn report<T: Serialize>(report: &T, path: Option<&Path>) -> Result<(), String> {
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    if let Some(path) = path {
        std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "{}",
        serde_json::to_string(report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// CPU seconds (user + system) this process has used so far, from /proc/self/stat.
pub fn own_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
