//! The state every layer and handler shares: the account, the simulated clock, the fault
//! knobs and their random draws, the rate-limit bucket, the issued web-api tokens and the
//! counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::account::Account;
use crate::config::{Faults, SimConfig};
use crate::stats::StatsCollector;

/// The simulated clock: manual offsets, plus wall time when `realtime` is set.
#[derive(Debug)]
pub(super) struct Clock {
    pub(super) start: DateTime<Utc>,
    pub(super) offset_ms: AtomicI64,
    pub(super) realtime: bool,
    pub(super) wall_start: Instant,
}

impl Clock {
    pub(super) fn now(&self) -> DateTime<Utc> {
        let mut ms = self.offset_ms.load(Ordering::SeqCst);
        if self.realtime {
            ms += self.wall_start.elapsed().as_millis() as i64;
        }
        self.start + chrono::Duration::milliseconds(ms)
    }
}

/// Token bucket for the `rate_limit_per_s` fault.
#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) tokens: f64,
    pub(super) last: Instant,
}

/// State shared by every handler and the handle.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) cfg: SimConfig,
    pub(super) account: Arc<Account>,
    pub(super) clock: Clock,
    pub(super) faults: RwLock<Faults>,
    pub(super) fault_rng: Mutex<ChaCha8Rng>,
    pub(super) bucket: Mutex<Bucket>,
    pub(super) tokens: Mutex<HashMap<String, Instant>>,
    pub(super) token_seq: AtomicI64,
    pub(super) stats: StatsCollector,
    /// List requests served (the `total_growing` fault).
    pub(super) list_requests: AtomicI64,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a handler panicked; the data is still coherent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(super) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn draw(&self) -> f64 {
        lock(&self.fault_rng).gen()
    }

    pub(super) fn now_secs(&self) -> i64 {
        self.clock.now().timestamp()
    }
}
