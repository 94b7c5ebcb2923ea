//! The catalog as BI tools see it (issue #21): other clients' DuckDBs, older than ours, open
//! `warehouse.duckdb` read-only, list and reflect every view, and run every view, BI model
//! and example of `sql/README.md` with the row counts of ltx's own DuckDB
//! (`bi_clients.py`). The catalog is written in storage v1.1.0 by default, and in the
//! version `destination.duckdb_storage_version` names otherwise (then older clients are
//! refused, as DuckDB refuses a newer format).
//!
//! Each client is a Python interpreter named by an environment variable (`.ci/run` makes
//! one venv per client): `LTX_PY_DUCKDB11` (`duckdb==1.1.3`, the oldest client tested),
//! `LTX_PY_DUCKDB14` (`duckdb==1.4.*`, as Evidence and current notebooks), and
//! `LTX_PY_SQLALCHEMY` (SQLAlchemy 2.0 + duckdb-engine, Superset's way in). Node.js is the
//! fourth client: `LTX_NODE_DUCKDB` names a `node_modules` directory holding
//! `@duckdb/node-api` 1.4 (Evidence's connector), run with `bi_clients.mjs`. A client
//! whose variable is unset is skipped with a message, except under CI (`CI` set), where
//! the test fails.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::{json, Value};

use crate::common;
use common::sim::{catalog, sync, Scratch, Sim};
use common::{ltx, ok, text};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/bi_clients.py");
const NODE_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/bi_clients.mjs");

/// A client: the variable naming its interpreter, the script's mode, and how the script's
/// summary line starts (the client's version).
struct Client {
    var: &'static str,
    kind: &'static str,
    version: &'static str,
}

const DUCKDB_11: Client = Client {
    var: "LTX_PY_DUCKDB11",
    kind: "duckdb",
    version: "duckdb 1.1.",
};
const DUCKDB_14: Client = Client {
    var: "LTX_PY_DUCKDB14",
    kind: "duckdb",
    version: "duckdb 1.4.",
};
const SQLALCHEMY: Client = Client {
    var: "LTX_PY_SQLALCHEMY",
    kind: "sqlalchemy",
    version: "sqlalchemy 2.0.",
};
const NODE: Client = Client {
    var: "LTX_NODE_DUCKDB",
    kind: "node",
    version: "node-api v1.4.",
};

/// The catalog's storage version as DuckDB tags it: format 64 (written as v1.1.0) reads
/// "v1.0.0+", format 67 (v1.4.0) "v1.4.0+".
fn storage_tag(wh: &Path) -> String {
    catalog(wh)
        .query_row(
            "SELECT tags['storage_version'] FROM duckdb_databases() \
             WHERE database_name = current_database()",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The client's interpreter, or `None` (with a message) when its variable is unset outside
/// CI. Under CI an unset variable fails: `.ci/run` sets all of them.
fn interpreter(client: &Client) -> Option<String> {
    match std::env::var(client.var) {
        Ok(py) if !py.is_empty() => Some(py),
        _ => {
            assert!(
                !ci(),
                "CI is set but {} is not: .ci/run creates the client venvs and sets it",
                client.var
            );
            eprintln!(
                "SKIPPED bi_clients: {} ({}*) is not set; .ci/run shows the venv it names",
                client.var, client.version
            );
            None
        }
    }
}

/// Runs `bi_clients.py` with the client's interpreter (or, for Node.js, `bi_clients.mjs`
/// with the client's `node_modules`) against the expectations file.
fn run_script(py: &str, client: &Client, expected: &Path) -> Output {
    if client.kind == "node" {
        return Command::new("node")
            .args([NODE_SCRIPT, py])
            .arg(expected)
            .output()
            .unwrap();
    }
    Command::new(py)
        .args(["-W", "ignore", SCRIPT, client.kind])
        .arg(expected)
        .output()
        .unwrap()
}

/// Rows of `sql` in ltx's own DuckDB (the bundled 2.0).
fn row_count(conn: &duckdb::Connection, sql: &str) -> usize {
    let mut stmt = conn.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    n
}

/// What ltx's DuckDB sees in the catalog of `wh`: every view with its row count, every
/// README example with its row count.
fn expectations(wh: &Path) -> Value {
    let conn = catalog(wh);
    let mut stmt = conn
        .prepare("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")
        .unwrap();
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut views = serde_json::Map::new();
    for name in &names {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                r.get(0)
            })
            .unwrap();
        views.insert(name.clone(), json!(n));
    }
    for (model, _) in ltx_load::models::MODELS {
        // Complaints are rare (about 1 in 100 conversations): this account may have none.
        assert!(
            views[model].as_i64().unwrap() > 0 || model == "sla_complaints",
            "{model} is empty"
        );
    }
    let examples: Vec<Value> = common::sql_readme_examples()
        .into_iter()
        .map(|sql| {
            let rows = row_count(&conn, sql.trim_end_matches(';'));
            json!({ "sql": sql, "rows": rows })
        })
        .collect();
    assert!(examples.len() >= 6, "{} examples", examples.len());
    json!({
        "catalog": wh.join("warehouse.duckdb"),
        "views": views,
        "examples": examples,
    })
}

#[test]
fn bi_clients_open_the_catalog_read_only_and_run_every_view_model_and_example() {
    let clients: Vec<(&Client, String)> = [&DUCKDB_11, &DUCKDB_14, &SQLALCHEMY, &NODE]
        .into_iter()
        .filter_map(|c| interpreter(c).map(|py| (c, py)))
        .collect();
    if clients.is_empty() {
        return;
    }
    // As in the `query` test: the drift example of sql/README.md has rows too.
    let sim = Sim::drifting();
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_eq!(
        storage_tag(&wh),
        "v1.0.0+",
        "the catalog is not in storage v1.1.0"
    );
    let expected = s.path().join("expected.json");
    std::fs::write(
        &expected,
        serde_json::to_vec_pretty(&expectations(&wh)).unwrap(),
    )
    .unwrap();
    for (client, py) in clients {
        let t = Instant::now();
        let o = run_script(&py, client, &expected);
        eprintln!(
            "bi_clients: {}s: {}",
            format_args!("{:.2}", t.elapsed().as_secs_f64()),
            String::from_utf8_lossy(&o.stdout).trim()
        );
        assert!(o.status.success(), "{}:\n{}", client.var, text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).starts_with(client.version),
            "{} is not {}*:\n{}",
            client.var,
            client.version,
            text(&o)
        );
    }
}

#[test]
fn a_newer_storage_version_is_honoured_and_shuts_out_older_clients() {
    let (Some(old), Some(new)) = (interpreter(&DUCKDB_11), interpreter(&DUCKDB_14)) else {
        return;
    };
    let sim = Sim::small(40);
    let s = Scratch::new();
    let pipeline = s.path().join("v14.toml");
    let base = std::fs::read_to_string(s.pipeline()).unwrap();
    std::fs::write(
        &pipeline,
        format!("{base}[destination]\nduckdb_storage_version = \"v1.4.0\"\n"),
    )
    .unwrap();
    let (wh, url) = (s.wh("wh"), sim.url());
    let args = [
        "sync",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--base-url",
        &url,
        "--warehouse",
        wh.to_str().unwrap(),
    ];
    ok(ltx(
        s.path(),
        &args,
        &[("LIVETEX_API_TOKEN", sim.handle.token())],
    ));
    assert_eq!(storage_tag(&wh), "v1.4.0+");
    let expected = s.path().join("expected.json");
    std::fs::write(
        &expected,
        serde_json::to_vec_pretty(&expectations(&wh)).unwrap(),
    )
    .unwrap();
    let o = run_script(&new, &DUCKDB_14, &expected);
    assert!(
        o.status.success(),
        "1.4 refused a v1.4.0 catalog:\n{}",
        text(&o)
    );
    let o = run_script(&old, &DUCKDB_11, &expected);
    assert!(
        !o.status.success(),
        "1.1 opened a v1.4.0 catalog:\n{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("we can only read version 64"),
        "{}",
        text(&o)
    );
}
