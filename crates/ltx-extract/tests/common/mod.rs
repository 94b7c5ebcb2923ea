//! Helpers shared by the integration tests: a simulator, configs for both profiles,
//! and a runner that collects what the extractor sends.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ltx_extract::{
    extract_with, plan, AuthConfig, Client, ExtractConfig, ExtractSummary, Extracted, Item,
    Metrics, Mode, PlanParams, Profile, Secret, SyncRange, Unreadable,
};
use ltx_sim::{Faults, SimConfig, SimHandle, SimServer};
use tokio::sync::mpsc;

/// Starts a simulator with `n` conversations and the given faults.
pub async fn sim(n: u64, faults: Faults) -> SimHandle {
    sim_with(SimConfig {
        conversations: n,
        faults,
        ..SimConfig::default()
    })
    .await
}

pub async fn sim_with(cfg: SimConfig) -> SimHandle {
    SimServer::start(cfg).await.unwrap()
}

/// A fast test config for `profile`/`mode` against `sim` (small backoff, no settle).
pub fn config(sim: &SimHandle, profile: Profile, mode: Mode) -> ExtractConfig {
    let auth = match profile {
        Profile::V2 => AuthConfig::Token {
            token: Secret::new(sim.token()),
        },
        Profile::WebApi => AuthConfig::Password {
            login: sim.login().to_owned(),
            password: Secret::new(sim.password()),
        },
    };
    let mut cfg = ExtractConfig::new(profile, auth);
    cfg.base_url = Some(sim.base_url());
    cfg.mode = mode;
    cfg.concurrency = 8;
    cfg.max_attempts = 12;
    cfg.backoff_base = Duration::from_millis(2);
    cfg.backoff_max = Duration::from_millis(40);
    cfg.request_timeout = Duration::from_secs(10);
    cfg.settle = Duration::ZERO;
    cfg.start_date =
        Some(sim.now() - chrono::Duration::days(i64::from(sim.config().history_days) + 2));
    cfg
}

/// Plans a sync from the source's clock.
pub async fn plan_sync(client: &Client, cursor: Option<DateTime<Utc>>) -> SyncRange {
    let cfg = client.config();
    let now = client.server_now().await.unwrap();
    plan(&PlanParams {
        cursor,
        lookback: cfg.lookback,
        start_date: cfg.start_date,
        now,
        settle: cfg.settle,
        full_refresh: false,
        from: None,
        to: None,
        window_size: cfg.window,
    })
    .unwrap()
}

/// What one extraction produced.
pub struct Run {
    pub conversations: Vec<Extracted>,
    pub unreadable: Vec<Unreadable>,
    pub summary: ExtractSummary,
}

impl Run {
    /// id → updated_at; panics on a duplicate id.
    pub fn by_id(&self) -> BTreeMap<i64, DateTime<Utc>> {
        let mut m = BTreeMap::new();
        for c in &self.conversations {
            assert!(
                m.insert(c.id, c.updated_at).is_none(),
                "conversation {} emitted twice",
                c.id
            );
        }
        m
    }
}

/// Runs one extraction with a small channel (exercises backpressure).
pub async fn run(client: &Client, range: &SyncRange) -> Result<Run, ltx_extract::ExtractError> {
    let (tx, mut rx) = mpsc::channel(64);
    let collect = tokio::spawn(async move {
        let mut conversations = Vec::new();
        let mut unreadable = Vec::new();
        while let Some(item) = rx.recv().await {
            match item {
                Item::Conversation(c) => conversations.push(c),
                Item::Unreadable(u) => unreadable.push(u),
            }
        }
        (conversations, unreadable)
    });
    let summary = extract_with(client, range, tx).await;
    let (conversations, unreadable) = collect.await.unwrap();
    Ok(Run {
        conversations,
        unreadable,
        summary: summary?,
    })
}

pub fn client(cfg: &ExtractConfig) -> Client {
    Client::new(cfg, Arc::new(Metrics::default())).unwrap()
}

/// Checks a sync over `range` against the ground truth now: every conversation whose
/// current version lies in the range arrived exactly once at that version; one changed
/// mid-sync (now past the range end) arrived at most once at an older version or, in
/// discover mode, at its new one; nothing arrived that the source does not have.
/// Returns the ids changed mid-sync (to be caught by the next sync).
pub fn check_against_truth(
    sim: &SimHandle,
    range: &SyncRange,
    got: &BTreeMap<i64, DateTime<Utc>>,
) -> Vec<i64> {
    let truth = sim.ground_truth(sim.now());
    let mut moved = Vec::new();
    let mut missing = Vec::new();
    for (id, t) in &truth {
        if *t >= range.from && *t < range.to {
            match got.get(id) {
                Some(g) => assert_eq!(g, t, "conversation {id} at a wrong version"),
                None => missing.push(*id),
            }
        } else if *t >= range.to {
            if let Some(g) = got.get(id) {
                assert!(g <= t, "conversation {id} newer than the source");
            }
            moved.push(*id);
        }
    }
    assert!(
        missing.is_empty(),
        "{} conversations missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    for (id, g) in got {
        let t = truth
            .get(id)
            .unwrap_or_else(|| panic!("conversation {id} is not in the source"));
        assert!(g <= t);
        assert!(
            *g >= range.from,
            "conversation {id} at {g} is before the range"
        );
    }
    moved
}

pub fn faulty() -> Faults {
    Faults {
        latency: Duration::from_millis(1),
        error_rate: 0.10,
        rate_limited_rate: 0.05,
        malformed_rate: 0.02,
        // High enough that even the small debug-build runs mutate mid-paging.
        mutate_rate: 0.10,
        ..Faults::default()
    }
}

/// Counts per id in the extracted output (for duplicate checks with a reason).
pub fn counts(run: &Run) -> HashMap<i64, usize> {
    let mut m = HashMap::new();
    for c in &run.conversations {
        *m.entry(c.id).or_insert(0) += 1;
    }
    m
}
