//! The HTTP server: both API profiles, the fault middleware and the `/_sim/` control routes.
//!
//! One job per file: [`state`] what every layer and handler shares, [`faults`] the faults
//! middleware (hostile answers, `Retry-After`, redirects, the `Date` header), [`auth`] the
//! login and the per-profile credential layers, [`pages`] list and one-conversation
//! paging and rendering, [`routes`] the router and handlers, [`reply`] the error body.
//! This file holds [`SimServer`] (start, config validation) and [`SimHandle`].

mod auth;
mod faults;
mod pages;
mod reply;
mod routes;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::account::Account;
use crate::config::{Faults, SimConfig};
use crate::error::SimError;
use crate::sla::SlaTruth;
use crate::stats::{SimStats, StatsCollector};
use crate::truth::WarehouseTruth;
use routes::router;
use state::{Bucket, Clock, Shared};

/// Starts simulated LiveTex servers.
#[derive(Debug)]
pub struct SimServer;

impl SimServer {
    /// Builds the account and serves it on `127.0.0.1:0` (an ephemeral port).
    pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        Self::start_on(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Builds the account and serves it on `addr` (for `ltx sim --port`).
    pub async fn start_on(cfg: SimConfig, addr: SocketAddr) -> Result<SimHandle, SimError> {
        validate(&cfg)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        // Building the index of a large account takes a moment: keep it off the reactor.
        let cfg2 = cfg.clone();
        let account = tokio::task::spawn_blocking(move || Account::new(&cfg2))
            .await
            .map_err(|e| SimError::Internal(format!("account generation failed: {e}")))?;
        let shared = Arc::new(Shared {
            account: Arc::new(account),
            clock: Clock {
                start: cfg.start_clock,
                offset_ms: AtomicI64::new(0),
                realtime: cfg.realtime,
                wall_start: Instant::now(),
            },
            faults: RwLock::new(cfg.faults.clone()),
            fault_rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5EED_FA17)),
            bucket: Mutex::new(Bucket {
                tokens: cfg.faults.rate_limit_per_s.unwrap_or(1.0).max(1.0),
                last: Instant::now(),
            }),
            tokens: Mutex::new(HashMap::new()),
            token_seq: AtomicI64::new(1),
            stats: StatsCollector::new(),
            list_requests: AtomicI64::new(0),
            cfg,
        });
        let app = router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        tracing::info!(addr = %local, "ltx-sim listening");
        Ok(SimHandle {
            shared,
            addr: local,
            task,
        })
    }
}

fn validate(cfg: &SimConfig) -> Result<(), SimError> {
    let f = &cfg.faults;
    for (name, v) in [
        ("faults.error_rate", f.error_rate),
        ("faults.rate_limited_rate", f.rate_limited_rate),
        ("faults.stall_rate", f.stall_rate),
        ("faults.malformed_rate", f.malformed_rate),
        ("faults.mutate_rate", f.mutate_rate),
        ("faults.bad_record_rate", f.bad_record_rate),
        ("faults.drift_rate", f.drift_rate),
        ("faults.repeat_page_rate", f.repeat_page_rate),
        ("faults.show_404_rate", f.show_404_rate),
        ("faults.non_json_rate", f.non_json_rate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(SimError::InvalidConfig {
                key: name,
                reason: format!("must be within 0..=1, got {v}"),
            });
        }
    }
    if cfg.history_days == 0 {
        return Err(SimError::InvalidConfig {
            key: "history_days",
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(())
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (v2 under `/v2`, web-api paths at the root).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The static v2 Bearer token.
    pub fn token(&self) -> &str {
        &self.shared.cfg.token
    }

    /// The web-api login.
    pub fn login(&self) -> &str {
        &self.shared.cfg.login
    }

    /// The web-api password.
    pub fn password(&self) -> &str {
        &self.shared.cfg.password
    }

    /// The configuration the server runs with (faults as at start).
    pub fn config(&self) -> &SimConfig {
        &self.shared.cfg
    }

    /// The simulated clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves the simulated clock by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        self.shared
            .clock
            .offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Replaces the fault knobs (takes effect on the next request).
    pub fn set_faults(&self, faults: Faults) {
        self.shared
            .account
            .set_bad_record_rate(faults.bad_record_rate);
        self.shared.account.set_drift_rate(faults.drift_rate);
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Gives the first `n` visible conversations (by id) a new version at the current
    /// clock, so that they share one second: a crowded second, which clients page by
    /// offset. Returns how many got one.
    pub fn touch(&self, n: usize) -> usize {
        let now = self.shared.now_secs();
        let ids = self.shared.account.ground_truth(self.now());
        ids.keys()
            .take(n)
            .filter(|&&id| self.shared.account.mutate(id, now))
            .count()
    }

    /// Gives up to `n` visible conversations a new version at the current clock that
    /// deletes child rows, as operators and spam removal do: one or two messages of each
    /// chat (never a chat's first message or its answer), and for some a whole chat, a
    /// lead or an uploaded file's event, always leaving a chat, call or lead that carries
    /// the new version. Which conversations, and what goes, is drawn from the seed and the
    /// clock; those with nothing to delete, or a version at the current clock already, are
    /// passed over. Returns how many got one.
    pub fn prune(&self, n: usize) -> usize {
        self.shared.account.prune_some(n, self.shared.now_secs())
    }

    /// The current fault knobs.
    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// How conversation `id` is broken in list pages by the `non_json_rate` fault now, if
    /// it is (the same every time; see [`crate::hostile::non_json_kind`]).
    pub fn non_json_kind(&self, id: i64) -> Option<crate::hostile::NonJson> {
        crate::hostile::non_json_kind(self.shared.cfg.seed, self.faults().non_json_rate, id)
    }

    /// id → `updated_at` of every conversation visible at `at` (latest version as of `at`,
    /// mid-paging mutations included).
    pub fn ground_truth(&self, at: DateTime<Utc>) -> BTreeMap<i64, DateTime<Utc>> {
        self.shared.account.ground_truth(at)
    }

    /// Ground truth per warehouse table at `at` (keys and `_source_updated_at` of every
    /// row a correct warehouse shows after syncing everything visible then).
    pub fn table_truth(&self, at: DateTime<Utc>) -> Result<WarehouseTruth, SimError> {
        self.shared.account.table_truth(at)
    }

    /// SLA ground truth at `at` (first answers of chats, lead completions, first actions
    /// after complaints), of the versions visible then, like [`SimHandle::ground_truth`].
    pub fn sla_truth(&self, at: DateTime<Utc>) -> SlaTruth {
        self.shared.account.sla_truth(at)
    }

    /// Full JSON of every conversation visible at `at`, in id order, generated lazily.
    pub fn ground_truth_conversations(
        &self,
        at: DateTime<Utc>,
    ) -> impl Iterator<Item = Value> + Send + 'static {
        let account = Arc::clone(&self.shared.account);
        let ids = account.visible(at);
        ids.into_iter()
            .filter_map(move |(id, _)| account.conversation_json(id, at))
    }

    /// The generator behind the server.
    pub fn account(&self) -> Arc<Account> {
        Arc::clone(&self.shared.account)
    }

    /// Counters since start.
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }

    /// Stops the server (in-flight requests, stalled ones included, are dropped).
    pub async fn shutdown(mut self) {
        self.task.abort();
        // Wait until the listener is really closed; the cancellation error is expected.
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
