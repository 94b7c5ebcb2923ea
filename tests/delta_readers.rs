//! Every table of the warehouse read as a Delta Lake table by real Delta readers —
//! `deltalake` (delta-rs), `polars.read_delta` and ClickHouse's `deltaLakeLocal` (chdb) —
//! row for row equal to what DuckDB's views show, while a glob over the table's directory
//! reads the superseded files kept for the grace period too.
//!
//! The warehouse is built by the real binary: `ltx import` of generated conversations, a
//! second import where some are updated (files rewritten and retired), nine more imports
//! (each appends the records rejected again, so `_rejected` passes a checkpoint), then
//! `ltx compact`. After the log's clean-up (its files aged past `retain_history`, and an
//! open) the readers are run once more: the tables open from their newest checkpoint.
//! The checks are in `read_delta.py`, run with the interpreter in `LTX_PY_DELTA`; without
//! it the test is skipped, except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use arrow::datatypes::{DataType, TimeUnit};
use ltx_transform::{Table, TableKind};
use serde_json::{json, Value};

use crate::common;
use common::{ltx, ok, text};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/read_delta.py");

/// The interpreter of `LTX_PY_DELTA` with deltalake, polars, pyarrow and chdb, or `None`
/// outside CI when it is missing.
fn python() -> Option<String> {
    let why = match std::env::var("LTX_PY_DELTA") {
        Ok(py) if !py.is_empty() => {
            let probe = Command::new(&py)
                .args([
                    "-c",
                    "import deltalake, polars, pyarrow, chdb; print('deltalake', deltalake.__version__, 'polars', polars.__version__, 'pyarrow', pyarrow.__version__, 'chdb', chdb.__version__)",
                ])
                .output();
            match probe {
                Ok(o) if o.status.success() => {
                    eprintln!(
                        "delta readers: {}",
                        String::from_utf8_lossy(&o.stdout).trim()
                    );
                    return Some(py);
                }
                Ok(o) => String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_owned(),
                Err(e) => format!("cannot run {py}: {e}"),
            }
        }
        _ => "LTX_PY_DELTA is not set".to_owned(),
    };
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "CI is set but the Delta readers are missing ({why}); .ci/run installs them"
    );
    eprintln!(
        "SKIPPED delta readers: {why}; a venv with deltalake, polars, pyarrow and chdb in \
         LTX_PY_DELTA runs this test (see .ci/run)"
    );
    None
}

fn catalog(wh: &Path) -> duckdb::Connection {
    let cfg = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    duckdb::Connection::open_with_flags(wh.join("warehouse.duckdb"), cfg).unwrap()
}

fn ident(s: &str) -> String {
    format!("\"{s}\"")
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// How the script and DuckDB normalize a column of this type before comparing.
fn type_tag(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 => "int64",
        DataType::Utf8 => "utf8",
        DataType::Boolean => "bool",
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => "ts",
        DataType::Timestamp(TimeUnit::Microsecond, None) => "ts_ntz",
        DataType::Date32 => "date",
        other => panic!("no Delta reader check for {other:?}: extend read_delta.py"),
    }
}

/// The SQL that DuckDB's side of a stored table is read with: the view of its rows (the
/// snapshot views of dimensions and `_rejected`) or, for the superseded conversation
/// versions that no view shows alone, the manifest's files.
fn source(wh: &Path, stored: &str, table: Table, manifest: &Value) -> String {
    if stored == "_conversations_superseded" {
        let files: Vec<String> = manifest["tables"][stored]["files"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| lit(&wh.join(f["path"].as_str().unwrap()).display().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert!(!files.is_empty(), "no superseded conversation versions");
        return format!("read_parquet([{}])", files.join(", "));
    }
    match table.kind() {
        TableKind::Dimension => ident(&format!("{}_snapshots", table.name())),
        TableKind::Rejected => ident(&format!("{}_history", table.name())),
        _ => ident(table.name()),
    }
}

/// Writes what DuckDB returns for every stored table (each row's columns normalized:
/// instants as µs since the epoch, dates as days) to `<scratch>/<label>-<table>.jsonl`, and
/// the description the script reads.
fn expectations(wh: &Path, scratch: &Path, label: &str) -> Value {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(wh.join("_ltx/manifest.json")).unwrap())
            .unwrap();
    let retired = manifest["retired"].as_array().map_or(0, Vec::len);
    let conn = catalog(wh);
    let mut tables = serde_json::Map::new();
    let mut stored: Vec<(String, Table)> = Table::ALL
        .iter()
        .map(|t| (t.name().to_owned(), *t))
        .collect();
    // Replaced versions are stored once a compaction folded the rows a run marked deleted.
    if manifest["tables"]["_conversations_superseded"]["files"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        stored.push(("_conversations_superseded".to_owned(), Table::Conversations));
    }
    for (name, table) in stored {
        let mut columns = Vec::new();
        let mut exprs = Vec::new();
        for f in table.schema().fields() {
            let tag = type_tag(f.data_type());
            let c = ident(f.name());
            exprs.push(match tag {
                "ts" | "ts_ntz" => format!("epoch_us({c}) AS {c}"),
                "date" => format!("({c} - DATE '1970-01-01') AS {c}"),
                _ => c,
            });
            columns.push(json!([f.name(), tag]));
        }
        let rows_file = scratch.join(format!("{label}-{name}.jsonl"));
        let src = source(wh, &name, table, &manifest);
        conn.execute_batch(&format!(
            "COPY (SELECT {} FROM {src}) TO {} (FORMAT JSON)",
            exprs.join(", "),
            lit(&rows_file.display().to_string())
        ))
        .unwrap();
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {src}"), [], |r| r.get(0))
            .unwrap();
        tables.insert(
            name.clone(),
            json!({ "columns": columns, "rows": rows, "rows_file": rows_file }),
        );
    }
    json!({ "warehouse": wh, "tables": tables, "retired_files": retired })
}

/// Runs the script on `wh`'s state; panics with its report when a reader disagrees.
fn check_with_python(py: &str, wh: &Path, scratch: &Path, label: &str, glob_more: bool) {
    let exp = scratch.join(format!("expected-{label}.json"));
    let mut e = expectations(wh, scratch, label);
    e["glob_reads_more"] = json!(glob_more);
    std::fs::write(&exp, serde_json::to_vec_pretty(&e).unwrap()).unwrap();
    let t = Instant::now();
    let o = Command::new(py).arg(SCRIPT).arg(&exp).output().unwrap();
    eprintln!(
        "delta readers ({label}): script took {:.2}s\n{}",
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        o.status.success(),
        "Delta readers disagree with DuckDB ({label}):\n{}",
        text(&o)
    );
}

/// The conversations of an account of `n` visible `days` after its start, as JSON Lines
/// (5% with an unparsable child timestamp, so `_rejected` has rows).
fn generated(path: &Path, n: u64, days: i64) {
    let cfg = ltx_sim::SimConfig {
        conversations: n,
        seed: 9,
        history_days: 3,
        faults: ltx_sim::Faults {
            bad_record_rate: 0.05,
            ..ltx_sim::Faults::default()
        },
        ..ltx_sim::SimConfig::default()
    };
    let account = ltx_sim::Account::new(&cfg);
    let at = cfg.start_clock + chrono::Duration::days(days);
    let mut out = String::new();
    for (id, _) in account.visible(at) {
        let v = account.conversation_json(id, at).unwrap();
        out.push_str(&serde_json::to_string(&v).unwrap());
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

/// Sets the modification time of every file of every `_delta_log` back by `age`, as if the
/// log had been written that long ago.
fn age_logs(wh: &Path, age: Duration) {
    let then = SystemTime::now() - age;
    for e in std::fs::read_dir(wh.join("data")).unwrap() {
        let log = e.unwrap().path().join("_delta_log");
        let Ok(files) = std::fs::read_dir(&log) else {
            continue;
        };
        for f in files {
            let p = f.unwrap().path();
            let file = std::fs::File::options().write(true).open(&p).unwrap();
            file.set_modified(then).unwrap();
        }
    }
}

fn log_files(wh: &Path, table: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(wh.join("data").join(table).join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn delta_readers_read_every_table_as_duckdb_does() {
    let Some(py) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let wh: PathBuf = s.join("wh");
    let w = wh.to_str().unwrap();
    let (first, second) = (s.join("first.jsonl"), s.join("second.jsonl"));
    generated(&first, 300, 0);
    // A day later: new conversations, and versions of open ones that replace them.
    generated(&second, 300, 1);
    let import = |file: &Path| {
        ok(ltx(
            s,
            &["import", "--warehouse", w, file.to_str().unwrap()],
            &[],
        ))
    };
    import(&first);
    import(&second);
    // The update marked the replaced rows deleted (deletion vectors in the Delta logs):
    // a glob reads them, Delta readers do not.
    let manifest = std::fs::read_to_string(wh.join("_ltx/manifest.json")).unwrap();
    assert!(
        manifest.contains("\"deleted\""),
        "no file with deleted rows after the update"
    );
    check_with_python(&py, &wh, s, "after-update", true);

    // Nine more imports of the same file: nothing new but the rejections, which `_rejected`
    // keeps each time (a version of its log each); then a compaction.
    for _ in 0..9 {
        import(&second);
    }
    ok(ltx(s, &["compact", "--warehouse", w], &[]));
    let rejected = log_files(&wh, "_rejected");
    assert!(
        rejected.contains(&"00000000000000000010.checkpoint.parquet".to_owned())
            && rejected.contains(&"_last_checkpoint".to_owned()),
        "no checkpoint: {rejected:?}"
    );
    let newest_json = rejected.iter().rfind(|n| n.ends_with(".json")).unwrap();
    assert!(
        newest_json.as_str() > "00000000000000000010.json",
        "the check must read commits after the checkpoint: {rejected:?}"
    );
    check_with_python(&py, &wh, s, "after-checkpoint", true);

    // Past retention (30 days by default) the commits before the newest checkpoint go at
    // the next open; the tables still open, from the checkpoint.
    age_logs(&wh, Duration::from_secs(40 * 86_400));
    ok(ltx(s, &["compact", "--warehouse", w], &[]));
    let rejected = log_files(&wh, "_rejected");
    assert!(
        !rejected.contains(&"00000000000000000000.json".to_owned())
            && rejected.contains(&"00000000000000000010.checkpoint.parquet".to_owned()),
        "log not cleaned up: {rejected:?}"
    );
    check_with_python(&py, &wh, s, "after-cleanup", true);
}
