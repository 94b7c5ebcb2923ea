//! The simulator and scratch pipeline the end-to-end test modules share.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use ltx_sim::{Faults, SimConfig, SimHandle, SimServer, WarehouseTruth};

use super::{ltx, ok};

/// A simulator running on its own runtime while the test thread drives the binary.
pub struct Sim {
    pub handle: SimHandle,
    _rt: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(cfg: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.block_on(SimServer::start(cfg)).unwrap();
        Sim { handle, _rt: rt }
    }

    pub fn small(conversations: u64) -> Sim {
        Sim::start(SimConfig {
            conversations,
            seed: 7,
            history_days: 20,
            ..SimConfig::default()
        })
    }

    /// 300 conversations of which one in ten drifts from the reference here and there, as
    /// real accounts do: the models must hold up, and the drift example of `sql/README.md`
    /// has rows to show.
    pub fn drifting() -> Sim {
        Sim::start(SimConfig {
            conversations: 300,
            seed: 7,
            history_days: 20,
            faults: Faults {
                drift_rate: 0.1,
                ..Faults::default()
            },
            ..SimConfig::default()
        })
    }

    pub fn url(&self) -> String {
        self.handle.base_url()
    }

    pub fn truth(&self) -> BTreeMap<i64, i64> {
        self.handle
            .ground_truth(self.handle.now())
            .into_iter()
            .map(|(id, t)| (id, t.timestamp_millis()))
            .collect()
    }

    pub fn advance_hours(&self, h: i64) {
        self.handle.advance(chrono::Duration::hours(h));
    }
}

/// A scratch directory with a pipeline file tuned for tests (no rate limit, settle 0:
/// the simulated clock does not move during a sync).
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("e2e.toml"),
            "name = \"e2e\"\n[source]\nrate_limit_per_s = 0.0\nconcurrency = 4\n\
             [sync]\nstart_date = \"2026-01-01\"\nwindow = \"30d\"\nsettle = \"0s\"\n",
        )
        .unwrap();
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn wh(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn pipeline(&self) -> String {
        self.dir.path().join("e2e.toml").display().to_string()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `ltx sync` (v2 token) against `sim` into `wh`.
pub fn sync(s: &Scratch, sim: &Sim, wh: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    let (pipeline, url, w) = (s.pipeline(), sim.url(), wh.display().to_string());
    let mut args = vec![
        "sync",
        "--pipeline",
        &pipeline,
        "--base-url",
        &url,
        "--warehouse",
        &w,
    ];
    args.extend_from_slice(extra);
    let mut all = vec![("LIVETEX_API_TOKEN", sim.handle.token())];
    all.extend_from_slice(envs);
    ltx(s.path(), &args, &all)
}

pub fn catalog(wh: &Path) -> duckdb::Connection {
    let cfg = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    duckdb::Connection::open_with_flags(wh.join("warehouse.duckdb"), cfg).unwrap()
}

/// Key → `_source_updated_at` (ms) of every row of `table`'s view, keys rendered as the
/// simulator's truth renders them (key columns as text joined by `/`), and the row count
/// (greater than the map's size when a key repeats).
pub fn warehouse_rows(
    conn: &duckdb::Connection,
    table: &str,
    key_columns: &[&str],
) -> (usize, BTreeMap<String, i64>) {
    warehouse_rows_of(conn, table, key_columns, None)
}

/// As [`warehouse_rows`], of the rows of `account` only when given.
pub fn warehouse_rows_of(
    conn: &duckdb::Connection,
    table: &str,
    key_columns: &[&str],
    account: Option<&str>,
) -> (usize, BTreeMap<String, i64>) {
    let key = key_columns
        .iter()
        .map(|c| format!("CAST(\"{c}\" AS VARCHAR)"))
        .collect::<Vec<_>>()
        .join(" || '/' || ");
    let filter = account.map_or(String::new(), |a| format!(" WHERE account = '{a}'"));
    let sql = format!("SELECT {key}, epoch_ms(_source_updated_at) FROM \"{table}\"{filter}");
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (rows.len(), rows.into_iter().collect())
}

/// Every table's view equals the simulator's ground truth now: same row count, same keys,
/// each row stamped with the `updated_at` of the conversation version the simulator serves.
/// (Comparing the (key, `_source_updated_at`) sets exactly is stronger than a checksum over
/// them, and names the rows that differ.)
pub fn assert_matches_truth(sim: &Sim, wh: &Path) {
    assert_account_matches_truth(sim, wh, None);
}

/// As [`assert_matches_truth`], for the rows of `account` only when given (the warehouse
/// holds other accounts too).
pub fn assert_account_matches_truth(sim: &Sim, wh: &Path, account: Option<&str>) {
    let now = sim.handle.now();
    let truth = sim.handle.table_truth(now).unwrap();
    assert!(!truth.tables["conversations"].rows.is_empty());
    // A sync reads `[cursor - lookback, now - settle)`: a conversation changed exactly at
    // `now` belongs to the next sync, so the truth is only comparable when there is none.
    let at_now: Vec<_> = truth.tables["conversations"]
        .rows
        .iter()
        .filter(|(_, t)| **t >= now)
        .map(|(k, _)| k)
        .collect();
    assert!(
        at_now.is_empty(),
        "conversations {at_now:?} changed exactly at {now}, the (exclusive) end of the sync window: compare at another moment"
    );
    assert_account_tables_match(wh, &truth, account);
}

/// Every table's view equals `truth` (keys, row counts and `_source_updated_at`),
/// `_rejected` aside.
pub fn assert_tables_match(wh: &Path, truth: &WarehouseTruth) {
    assert_account_tables_match(wh, truth, None);
}

/// As [`assert_tables_match`], for the rows of `account` only when given. The simulator
/// is one account: its keys are the table's keys after `account`.
pub fn assert_account_tables_match(wh: &Path, truth: &WarehouseTruth, account: Option<&str>) {
    let conn = catalog(wh);
    let mut diffs = Vec::new();
    for t in ltx_transform::Table::ALL {
        // Reference tables come from the configuration, not the API (tests/sla.rs).
        if t == ltx_transform::Table::Rejected || t.kind() == ltx_transform::TableKind::Reference {
            continue;
        }
        let want = truth
            .table(t.name())
            .unwrap_or_else(|| panic!("the simulator's truth does not cover {t}"));
        assert_eq!(t.key_columns()[0], "account", "key columns of {t}");
        let keys = &t.key_columns()[1..];
        assert_eq!(want.key_columns, keys, "key columns of {t}");
        let (n, got) = warehouse_rows_of(&conn, t.name(), keys, account);
        let missing: Vec<_> = want
            .rows
            .keys()
            .filter(|k| !got.contains_key(*k))
            .take(5)
            .collect();
        let extra: Vec<_> = got
            .keys()
            .filter(|k| !want.rows.contains_key(*k))
            .take(5)
            .collect();
        let stale: Vec<_> = want
            .rows
            .iter()
            .filter_map(|(k, v)| {
                let g = *got.get(k)?;
                let got = chrono::DateTime::from_timestamp_millis(g);
                (g != v.timestamp_millis()).then(|| format!("{k} (want {v}, got {got:?})"))
            })
            .take(5)
            .collect();
        if n != want.rows.len() || !missing.is_empty() || !extra.is_empty() || !stale.is_empty() {
            diffs.push(format!(
                "{t}: {n} rows ({} keys), want {}; missing {missing:?}, extra {extra:?}, stale {stale:?}",
                got.len(),
                want.rows.len()
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "warehouse differs from the simulator's ground truth:\n{}",
        diffs.join("\n")
    );
}

/// `ltx import` of `n` generated conversations (seed 42) into a new warehouse `wh`.
pub fn import_generated(s: &Scratch, n: u64) -> (PathBuf, Output) {
    let cfg = SimConfig {
        conversations: n,
        seed: 42,
        ..SimConfig::default()
    };
    let input = s.path().join("in.jsonl");
    std::fs::write(&input, ltx_sim::jsonl_lines(&cfg, n).unwrap().join("\n")).unwrap();
    let wh = s.wh("wh");
    let o = ok(ltx(
        s.path(),
        &[
            "import",
            "--warehouse",
            wh.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        &[],
    ));
    (wh, o)
}
