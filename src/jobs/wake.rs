//! How a blocked `reserve` waits without polling (embedded and Redis backends): one `Notify`
//! per tube, poked when a job becomes ready there, plus a timer for the next instant the
//! backend knows something will change by itself (a delayed job's time, a TTR running out).
//!
//! A put wakes one waiter (`notify_one`), not all of them, so N idle workers cost one backend
//! call per job, not N. A woken waiter that takes a job and sees more ready passes the wakeup
//! on; a waiter dropped after being chosen hands its wakeup to the next (tokio's `Notified`
//! does that on drop). A wakeup that arrives while every waiter is busy is kept as one permit.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{JobsError, Reserved, Tube};

/// What one non-blocking try at reserving found.
pub(crate) enum Attempt {
    /// A job, and whether the watched tubes have more ready.
    Got { job: Reserved, more: bool },
    /// Nothing ready; `next_in` is when a delayed job or a reservation's TTR comes due, if any.
    Empty { next_in: Option<Duration> },
}

#[derive(Default)]
pub(crate) struct Wakeups {
    tubes: Mutex<HashMap<Tube, Arc<Notify>>>,
}

impl Wakeups {
    fn of(&self, tube: &Tube) -> Arc<Notify> {
        self.tubes
            .lock()
            .expect("poisoned")
            .entry(tube.clone())
            .or_default()
            .clone()
    }

    /// A job became ready in `tube`: wake one waiter there.
    pub(crate) fn notify(&self, tube: &Tube) {
        self.of(tube).notify_one();
    }

    /// Wakeups may have been missed (the Redis subscription was down): every waiter retries.
    pub(crate) fn notify_all(&self) {
        for notify in self.tubes.lock().expect("poisoned").values() {
            notify.notify_waiters();
        }
    }

    /// Tries `attempt` until it finds a job or `timeout` has passed, sleeping in between until
    /// a watched tube is poked or the backend's next due instant.
    pub(crate) async fn reserve<F, Fut>(
        &self,
        tubes: &[Tube],
        timeout: Duration,
        mut attempt: F,
    ) -> Result<Option<Reserved>, JobsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Attempt, JobsError>>,
    {
        if tubes.is_empty() {
            return Err(JobsError::NoTubes);
        }
        let until = Instant::now() + timeout;
        let notifies: Vec<Arc<Notify>> = tubes.iter().map(|t| self.of(t)).collect();
        loop {
            // Registered before the try, so a job put while it runs still wakes us.
            let mut woken: Vec<Pin<Box<Notified<'_>>>> =
                notifies.iter().map(|n| Box::pin(n.notified())).collect();
            for w in &mut woken {
                w.as_mut().enable();
            }
            match attempt().await? {
                Attempt::Got { job, more } => {
                    drop(woken);
                    if more {
                        for n in &notifies {
                            n.notify_one();
                        }
                    }
                    return Ok(Some(job));
                }
                Attempt::Empty { next_in } => {
                    let now = Instant::now();
                    if now >= until {
                        return Ok(None);
                    }
                    let wake_at = match next_in {
                        Some(next) => until.min(now + next),
                        None => until,
                    };
                    tokio::select! {
                        _ = futures_util::future::select_all(woken) => {}
                        _ = tokio::time::sleep_until(wake_at) => {}
                    }
                }
            }
        }
    }
}
