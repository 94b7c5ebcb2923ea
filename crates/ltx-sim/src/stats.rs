//! Request counters, shared by the middleware and exposed through `SimHandle::stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

/// A snapshot of what the server has seen since it started.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SimStats {
    /// All API requests (control endpoints under `/_sim/` excluded).
    pub requests: u64,
    /// Responses per HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests per route pattern (e.g. `/v2/conversations/{id}`).
    pub by_path: BTreeMap<String, u64>,
    /// Successful `POST /oauth2/token` calls.
    pub logins: u64,
    /// Requests carrying an expired web-api token (answered 401).
    pub stale_token_requests: u64,
    /// Requests with a missing or unknown token (answered 401).
    pub unauthorized_requests: u64,
    /// Arrival time of each API request, milliseconds since the server started.
    pub request_times_ms: Vec<u64>,
    /// Maximum number of API requests in flight at once.
    pub max_in_flight: u64,
    /// Conversation versions created by the `mutate_rate` fault.
    pub mutations: u64,
}

/// Live counters behind the snapshot.
#[derive(Debug)]
pub(crate) struct StatsCollector {
    started: Instant,
    in_flight: AtomicU64,
    inner: Mutex<SimStats>,
}

impl StatsCollector {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            in_flight: AtomicU64::new(0),
            inner: Mutex::new(SimStats::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut SimStats) -> R) -> R {
        // A poisoned lock only means a panicking handler; the counters are still usable.
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Records the arrival of a request; returns a guard that decrements in-flight on drop.
    pub(crate) fn begin(&self, path: &str) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let ms = self.started.elapsed().as_millis() as u64;
        self.with(|s| {
            s.requests += 1;
            *s.by_path.entry(path.to_owned()).or_default() += 1;
            s.request_times_ms.push(ms);
            s.max_in_flight = s.max_in_flight.max(now);
        });
        InFlight { stats: self }
    }

    pub(crate) fn status(&self, status: u16) {
        self.with(|s| *s.by_status.entry(status).or_default() += 1);
    }

    pub(crate) fn login(&self) {
        self.with(|s| s.logins += 1);
    }

    pub(crate) fn stale(&self) {
        self.with(|s| s.stale_token_requests += 1);
    }

    pub(crate) fn unauthorized(&self) {
        self.with(|s| s.unauthorized_requests += 1);
    }

    pub(crate) fn mutation(&self, n: u64) {
        self.with(|s| s.mutations += n);
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        self.with(|s| s.clone())
    }
}

/// Decrements the in-flight gauge when the request is done.
pub(crate) struct InFlight<'a> {
    stats: &'a StatsCollector,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
