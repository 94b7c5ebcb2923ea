//! `sync.max_duration`: the whole run's deadline, so that a stalled or throttling API
//! cannot hold the warehouse lock for ever. It bounds the clock probe and the extraction;
//! the commit (local work, crash-safe) is never cut short.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{DeadlineExceeded, PipelineError};

/// The deadline of one run.
pub(crate) struct Deadline {
    at: Option<tokio::time::Instant>,
    /// The limit as configured (`2h`).
    limit: String,
    metrics: Arc<ltx_extract::Metrics>,
}

impl Deadline {
    /// Starts the clock: `limit` from now (`None`: no deadline).
    pub(crate) fn start(
        limit: Option<Duration>,
        label: &str,
        metrics: Arc<ltx_extract::Metrics>,
    ) -> Self {
        Self {
            at: limit.and_then(|d| tokio::time::Instant::now().checked_add(d)),
            limit: label.trim().to_owned(),
            metrics,
        }
    }

    /// `fut`, or `DeadlineExceeded` once the deadline passes (`fut` is then dropped).
    pub(crate) async fn bound<T, E>(
        &self,
        what: &'static str,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, PipelineError>
    where
        PipelineError: From<E>,
    {
        let Some(at) = self.at else {
            return Ok(fut.await?);
        };
        match tokio::time::timeout_at(at, fut).await {
            Ok(result) => Ok(result?),
            Err(_) => {
                let m = &self.metrics;
                let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
                let e = DeadlineExceeded {
                    limit: self.limit.clone(),
                    what,
                    requests: get(&m.requests),
                    retries: get(&m.retries),
                    rate_limited: get(&m.rate_limited),
                    conversations: get(&m.conversations),
                };
                tracing::error!("{e}");
                Err(e.into())
            }
        }
    }
}
