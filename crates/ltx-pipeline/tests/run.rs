//! The run's policies, through the library (no binary): where the cursor goes after a
//! sync, a backfill and an import, which failures are recorded as failed runs, and what is
//! refused before the warehouse is touched.
#![allow(clippy::unwrap_used, missing_docs)]

use chrono::{DateTime, TimeDelta, Utc};
use ltx_extract::{AuthConfig, Secret};
use ltx_load::{RunStatus, Warehouse};
use ltx_pipeline::{Config, PipelineError, RunReport, SyncOptions, Watch};
use ltx_sim::{SimConfig, SimHandle, SimServer};

struct Setup {
    sim: SimHandle,
    config: Config,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let sim = SimServer::start(SimConfig {
        conversations: 300,
        history_days: 10,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults().unwrap();
    config.name = "policy".to_owned();
    config.source.base_url = sim.base_url();
    config.source.rate_limit_per_s = 0.0;
    config.sync.start_date = (sim.now() - TimeDelta::days(11))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    config.sync.settle = "0s".to_owned();
    config.destination.warehouse = dir.path().join("wh");
    config.validate("test").unwrap();
    Setup {
        sim,
        config,
        _dir: dir,
    }
}

fn token(sim: &SimHandle) -> AuthConfig {
    AuthConfig::Token {
        token: Secret::new(sim.token()),
    }
}

async fn sync(
    config: &Config,
    auth: AuthConfig,
    opts: SyncOptions,
) -> Result<RunReport, PipelineError> {
    ltx_pipeline::sync(config, auth, opts, Watch::default()).await
}

fn state(config: &Config) -> (Option<DateTime<Utc>>, Vec<RunStatus>) {
    let wh = Warehouse::open_readonly(&config.destination.warehouse).unwrap();
    let runs = wh
        .status(100)
        .unwrap()
        .runs
        .into_iter()
        .map(|r| r.status)
        .collect();
    (wh.cursor(&config.account(), &config.name).unwrap(), runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_sync_moves_the_cursor_a_backfill_and_an_import_do_not() {
    let s = setup().await;
    let first = sync(&s.config, token(&s.sim), SyncOptions::default())
        .await
        .unwrap();
    let (first_from, window_end) = first.window.unwrap();
    let (cursor, runs) = state(&s.config);
    assert!(first_from < window_end);
    assert_eq!(cursor, Some(window_end));
    assert_eq!(runs, vec![RunStatus::Success]);
    assert!(first.conversations > 0);

    // A backfill of an explicit window loads, and leaves the cursor where it was.
    let backfill = SyncOptions {
        from: Some(window_end - TimeDelta::days(3)),
        to: Some(window_end - TimeDelta::days(1)),
        ..SyncOptions::default()
    };
    sync(&s.config, token(&s.sim), backfill).await.unwrap();
    assert_eq!(state(&s.config).0, Some(window_end));

    // The next sync goes on from the cursor.
    s.sim.advance(TimeDelta::hours(1));
    let next = sync(&s.config, token(&s.sim), SyncOptions::default())
        .await
        .unwrap();
    let (from, to) = next.window.unwrap();
    assert!(
        from <= window_end && to > window_end,
        "{from} {to} after {window_end}"
    );
    assert_eq!(state(&s.config).0, Some(to));

    // An import loads files and leaves the cursor alone.
    let file = s._dir.path().join("more.jsonl");
    let cfg = SimConfig {
        seed: 77,
        conversations: 20,
        ..SimConfig::default()
    };
    ltx_sim::write_jsonl(&cfg, std::fs::File::create(&file).unwrap(), 20).unwrap();
    let imported = ltx_pipeline::import(&s.config, &[file], Watch::default())
        .await
        .unwrap();
    assert_eq!(imported.conversations, 20);
    assert_eq!(imported.window, None);
    let (cursor, runs) = state(&s.config);
    assert_eq!(cursor, Some(to));
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| *r == RunStatus::Success));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_is_down_is_a_failed_run_a_rejected_token_is_not() {
    let s = setup().await;
    sync(&s.config, token(&s.sim), SyncOptions::default())
        .await
        .unwrap();
    let (cursor, _) = state(&s.config);

    // A rejected token: an authentication error, nothing recorded.
    let wrong = AuthConfig::Token {
        token: Secret::new("not-the-token"),
    };
    let e = sync(&s.config, wrong, SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PipelineError::Extract(ltx_extract::ExtractError::Auth { .. })
        ),
        "{e:?}"
    );
    assert!(!e.is_recorded());
    assert_eq!(state(&s.config).1.len(), 1);

    // The API gone: a failed run, and the cursor stays.
    let mut down = s.config.clone();
    down.source.base_url = "http://127.0.0.1:9".to_owned();
    down.source.max_retries = 0;
    let e = sync(&down, token(&s.sim), SyncOptions::default())
        .await
        .unwrap_err();
    assert!(e.is_recorded(), "{e:?}");
    let (after, runs) = state(&s.config);
    assert_eq!(after, cursor);
    assert_eq!(runs.len(), 2);
    assert!(runs.contains(&RunStatus::Failed), "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_person_must_fix_is_refused_before_the_warehouse_is_touched() {
    let s = setup().await;
    let missing = s._dir.path().join("nope.jsonl");
    let e = ltx_pipeline::import(&s.config, std::slice::from_ref(&missing), Watch::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PipelineError::NoSuchFile(p) if *p == missing),
        "{e:?}"
    );
    assert!(!e.is_recorded());
    let bad = AuthConfig::Token {
        token: Secret::new("sim-token\r"),
    };
    let e = sync(&s.config, bad, SyncOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, PipelineError::Config(_)), "{e:?}");
    assert!(e.to_string().contains("LIVETEX_API_TOKEN"), "{e}");
    assert!(!Warehouse::exists(&s.config.destination.warehouse));
}
