//! The warehouse's Parquet files read by other engines (issue #5): pyarrow and polars read
//! the live files of every table, as the README tells users to (the files listed in
//! `_ltx/manifest.json`), with the types of `ltx_transform`'s schemas (timestamps
//! `timestamp[us, tz=UTC]` / `Datetime("us", "UTC")`, strings UTF-8) and the rows and values
//! DuckDB's views show. DuckDB and the `parquet` crate are covered by ltx-load's tests.
//!
//! The warehouse is the one a user gets: `ltx import` of generated conversations (some
//! rejected), a second import in which some are updated (files rewritten by the merge,
//! superseded files kept for the grace period), then `ltx compact` (files written by the
//! compaction). The checks are in `read_with_pyarrow_polars.py`, fed a JSON file of what
//! DuckDB returns. Without pyarrow or polars the test is skipped, except under CI (`CI` set),
//! where it fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use arrow::datatypes::{DataType, TimeUnit};
use ltx_transform::{Table, TableKind};
use serde_json::{json, Value};

use crate::common;
use common::{ltx, ok, text};
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/read_with_pyarrow_polars.py"
);

/// The Python interpreter (`PYTHON`, else `python3`), or `None` when it or pyarrow/polars
/// is missing outside CI. Under CI a missing reader fails the test: CI installs them.
fn python() -> Option<String> {
    let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&py)
        .args([
            "-c",
            "import pyarrow, polars; print(pyarrow.__version__, polars.__version__)",
        ])
        .output();
    let why = match probe {
        Ok(o) if o.status.success() => {
            eprintln!(
                "readers: {py}: pyarrow, polars {}",
                String::from_utf8_lossy(&o.stdout).trim()
            );
            return Some(py);
        }
        // The last line of the traceback: "ModuleNotFoundError: No module named 'polars'".
        Ok(o) => String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned(),
        Err(e) => format!("cannot run {py}: {e}"),
    };
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "CI is set but pyarrow/polars cannot be imported ({why}); .ci/run installs them with pip"
    );
    eprintln!(
        "SKIPPED readers: pyarrow/polars not available ({why}); \
         `python3 -m pip install pyarrow polars` to run this test"
    );
    None
}

/// The conversations of an account of `n` (at its start clock) visible `days` later, as JSON
/// Lines, each at its latest version then. Every table gets rows: 5% of the conversations have an
/// unparsable child timestamp (`_rejected`), and seed 9 gives 4 of the first 300 a counter
/// that disagrees with their arrays (`_quality_issues`; 0.5% of conversations, none with
/// some seeds).
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

fn catalog(wh: &Path) -> duckdb::Connection {
    let cfg = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    duckdb::Connection::open_with_flags(wh.join("warehouse.duckdb"), cfg).unwrap()
}

fn ident(s: &str) -> String {
    format!("\"{s}\"")
}

/// The type tag the script checks a column against.
fn type_tag(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 => "int64",
        DataType::Utf8 => "utf8",
        DataType::Boolean => "bool",
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => "ts_utc",
        DataType::Timestamp(TimeUnit::Microsecond, None) => "ts_naive",
        DataType::Date32 => "date",
        other => panic!("no reader check for {other:?}: extend read_with_pyarrow_polars.py"),
    }
}

/// Aggregates of every column of `view`, as DuckDB computes them, each rendered as text
/// (`null` for SQL NULL) in the order the script computes them:
/// int64 `[non-null, sum]`; timestamps `[non-null, sum, min, max]` of epoch microseconds
/// (dates: of days since 1970-01-01)
/// (UTC instants; the wall clock of a naive column); bool `[non-null, true]`; utf8
/// `[non-null, characters, bytes, min, max]`.
fn fingerprints(conn: &duckdb::Connection, table: Table, view: &str) -> Value {
    let schema = table.schema();
    let mut exprs = Vec::new();
    for f in schema.fields() {
        let c = ident(f.name());
        let e: Vec<String> = match type_tag(f.data_type()) {
            "int64" => vec![format!("count({c})"), format!("sum({c})")],
            "ts_utc" | "ts_naive" => vec![
                format!("count({c})"),
                format!("sum(epoch_us({c}))"),
                format!("min(epoch_us({c}))"),
                format!("max(epoch_us({c}))"),
            ],
            "date" => vec![
                format!("count({c})"),
                format!("sum({c} - DATE '1970-01-01')"),
                format!("min({c} - DATE '1970-01-01')"),
                format!("max({c} - DATE '1970-01-01')"),
            ],
            "bool" => vec![format!("count({c})"), format!("count_if({c})")],
            _ => vec![
                format!("count({c})"),
                format!("sum(length({c}))"),
                format!("sum(strlen({c}))"),
                format!("min({c})"),
                format!("max({c})"),
            ],
        };
        exprs.push(e);
    }
    let flat: Vec<String> = exprs
        .iter()
        .flatten()
        .map(|e| format!("CAST({e} AS VARCHAR)"))
        .collect();
    let sql = format!("SELECT {} FROM {}", flat.join(", "), ident(view));
    let values: Vec<Option<String>> = conn
        .query_row(&sql, [], |r| {
            (0..flat.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        })
        .unwrap();
    let mut out = serde_json::Map::new();
    let mut it = values.into_iter();
    for (f, e) in schema.fields().iter().zip(&exprs) {
        let v: Vec<Option<String>> = it.by_ref().take(e.len()).collect();
        out.insert(f.name().clone(), json!(v));
    }
    Value::Object(out)
}

fn count(conn: &duckdb::Connection, view: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {}", ident(view)), [], |r| {
        r.get(0)
    })
    .unwrap()
}

/// The table's keys in `view`, rendered as the script renders them (text joined by `/`).
fn keys(conn: &duckdb::Connection, table: Table, view: &str) -> Vec<String> {
    let k: Vec<String> = table
        .key_columns()
        .iter()
        .map(|c| format!("CAST({} AS VARCHAR)", ident(c)))
        .collect();
    let sql = format!("SELECT {} FROM {}", k.join(" || '/' || "), ident(view));
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut v: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    v.sort();
    v
}

/// The Parquet files `view`'s definition reads (absolute paths, as DuckDB was given them).
fn view_files(conn: &duckdb::Connection, view: &str) -> BTreeSet<String> {
    let sql: String = conn
        .query_row(
            "SELECT sql FROM duckdb_views() WHERE view_name = ?",
            [view],
            |r| r.get(0),
        )
        .unwrap();
    sql.split('\'')
        .filter(|s| s.ends_with(".parquet"))
        .map(str::to_owned)
        .collect()
}

/// What the views of `wh` show, for the script to compare its readers against; also checks
/// that the views read exactly the files the manifest lists (the files the script reads).
fn expectations(wh: &Path) -> Value {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(wh.join("_ltx/manifest.json")).unwrap())
            .unwrap();
    let conn = catalog(wh);
    let mut tables = serde_json::Map::new();
    for table in Table::ALL {
        let name = table.name();
        let (files_view, dedup) = match table.kind() {
            TableKind::Dimension => (
                format!("{name}_snapshots"),
                Some((
                    table.key_columns().to_vec(),
                    ["_source_updated_at", "_seen_in_conversation_id"],
                )),
            ),
            TableKind::Rejected => (
                format!("{name}_history"),
                Some((vec!["raw_json", "error"], ["_synced_at", "_run_id"])),
            ),
            _ => (name.to_owned(), None),
        };
        let listed: BTreeSet<String> = manifest["tables"][name]["files"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no live files in the manifest"))
            .iter()
            .map(|f| wh.join(f["path"].as_str().unwrap()).display().to_string())
            .collect();
        assert!(!listed.is_empty(), "{name}: no live files in the manifest");
        // The view also reads the delete records (rows of its files that no longer count).
        let read: BTreeSet<String> = view_files(&conn, &files_view)
            .into_iter()
            .filter(|f| !f.contains("/_deleted_versions/"))
            .collect();
        assert_eq!(
            read, listed,
            "{files_view}: the view does not read the manifest's files"
        );
        let columns: Vec<Value> = table
            .schema()
            .fields()
            .iter()
            .map(|f| json!([f.name(), type_tag(f.data_type()), f.is_nullable()]))
            .collect();
        // Instants are UTC (issue #5); the one wall-clock column is documented as such.
        for f in table.schema().fields() {
            if let DataType::Timestamp(_, None) = f.data_type() {
                assert_eq!(
                    (name, f.name().as_str()),
                    ("conversations", "created_at_msk"),
                    "a timestamp without the UTC zone"
                );
            }
        }
        let mut t = json!({
            "columns": columns,
            "rows": count(&conn, &files_view),
            "fingerprints": fingerprints(&conn, table, &files_view),
        });
        // Keys are compared as text; a reference table's key holds an instant, which each
        // reader renders its own way (its columns are compared by value all the same).
        if !table.key_columns().is_empty() && table.kind() != TableKind::Reference {
            t["key_columns"] = json!(table.key_columns());
            t["keys"] = json!(keys(&conn, table, &files_view));
        }
        if let Some((k, order)) = dedup {
            t["dedup"] = json!({
                "keys": k,
                "order_desc": order,
                "rows": count(&conn, name),
                "fingerprints": fingerprints(&conn, table, name),
            });
        }
        tables.insert(name.to_owned(), t);
    }
    json!({ "warehouse": wh, "tables": tables })
}

/// Runs the script on `wh`'s state; panics with its report when a check fails.
fn check_with_python(py: &str, wh: &Path, scratch: &Path, label: &str) {
    let exp = scratch.join(format!("expected-{label}.json"));
    std::fs::write(&exp, serde_json::to_vec_pretty(&expectations(wh)).unwrap()).unwrap();
    let t = Instant::now();
    let o = Command::new(py).arg(SCRIPT).arg(&exp).output().unwrap();
    eprintln!(
        "readers ({label}): script took {:.2}s\n{}",
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        o.status.success(),
        "pyarrow/polars disagree with DuckDB ({label}):\n{}",
        text(&o)
    );
}

#[test]
fn pyarrow_and_polars_read_the_live_files_as_duckdb_does() {
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
    ok(ltx(
        s,
        &["import", "--warehouse", w, first.to_str().unwrap()],
        &[],
    ));
    ok(ltx(
        s,
        &["import", "--warehouse", w, second.to_str().unwrap()],
        &[],
    ));
    let replaced: i64 = catalog(&wh)
        .query_row(
            "SELECT conversations_replaced FROM _ltx_runs ORDER BY generation DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(replaced > 0, "the second import updated no conversation");
    let manifest = || -> Value {
        serde_json::from_str(&std::fs::read_to_string(wh.join("_ltx/manifest.json")).unwrap())
            .unwrap()
    };
    // The update marked the replaced rows deleted (still in their files) and the compaction
    // after it may have retired files (kept for the grace period): a reader must take the
    // manifest's list without the marked rows, not a glob, and so does the script.
    let m = manifest();
    let marked = m["tables"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|t| t["files"].as_array().unwrap())
        .filter(|f| f.get("deleted").is_some())
        .count();
    let retired = m["retired"].as_array().unwrap().len();
    assert!(
        marked + retired > 0,
        "the update left no superseded row on disk"
    );
    check_with_python(&py, &wh, s, "after-update");

    ok(ltx(s, &["compact", "--warehouse", w], &[]));
    let written_by_compaction = manifest()["tables"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|t| t["files"].as_array().unwrap())
        .filter(|f| f["written_by"].as_str().unwrap().starts_with("compact-"))
        .count();
    assert!(written_by_compaction > 0, "ltx compact merged no file");
    check_with_python(&py, &wh, s, "after-compact");
}
