//! End-to-end tests: the real `ltx` binary against an in-process `ltx_sim` server on an
//! ephemeral port. Small accounts keep every test to a few seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ltx_sim::{Faults, SimConfig};

use crate::common;
use common::sim::{assert_matches_truth, catalog, stderr, stdout, sync, Scratch, Sim};
use common::{ltx, ok, text, BIN};

/// conversation_id → updated_at (ms) as the warehouse's view shows it; asserts no duplicates.
fn warehouse_truth(wh: &Path) -> BTreeMap<i64, i64> {
    let conn = catalog(wh);
    let mut stmt = conn
        .prepare(
            "SELECT conversation_id, epoch_ms(CAST(updated_at AS TIMESTAMP)) \
             FROM conversations ORDER BY 1",
        )
        .unwrap();
    let rows: Vec<(i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let n = rows.len();
    let map: BTreeMap<i64, i64> = rows.into_iter().collect();
    assert_eq!(
        map.len(),
        n,
        "duplicate conversation ids in the conversations view"
    );
    map
}

/// Rows per table and the key set of every fact table.
fn fingerprint(wh: &Path) -> BTreeMap<String, (i64, BTreeSet<String>)> {
    let conn = catalog(wh);
    let mut out = BTreeMap::new();
    for t in ltx_transform::Table::ALL {
        if t == ltx_transform::Table::Rejected {
            continue;
        }
        let keys = t
            .key_columns()
            .iter()
            .map(|c| format!("CAST(\"{c}\" AS VARCHAR)"))
            .collect::<Vec<_>>()
            .join(" || '/' || ");
        let sql = format!("SELECT CAST({keys} AS VARCHAR) FROM \"{}\"", t.name());
        let mut stmt = conn.prepare(&sql).unwrap();
        let set: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let n = set.len() as i64;
        out.insert(t.name().to_owned(), (n, set.into_iter().collect()));
    }
    out
}

#[test]
fn demo_runs_and_shows_models() {
    let s = Scratch::new();
    let wh = s.wh("demo-wh");
    let o = ok(ltx(
        s.path(),
        &[
            "demo",
            "--warehouse",
            wh.to_str().unwrap(),
            "--conversations",
            "300",
        ],
        &[],
    ));
    let out = stdout(&o);
    for needle in [
        "full sync",
        "incremental sync",
        "Rows per table",
        "conversations/s",
        "Channel mix",
        "Top operators",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(wh.join("warehouse.duckdb").exists());

    // The printed numbers are the warehouse's: every row count of the "Rows per table"
    // block equals count(*) through a separate DuckDB connection on the catalog file...
    let printed = printed_row_counts(&out);
    assert_eq!(printed.len(), ltx_transform::Table::ALL.len(), "{out}");
    let conn = catalog(&wh);
    for (table, rows) in &printed {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, *rows, "{table}: printed {rows}, DuckDB says {n}");
    }
    // ... and the syncs' "N new" add up to the conversations stored; the incremental sync,
    // after two busy simulated hours, found new conversations.
    let new: Vec<i64> = out
        .lines()
        .filter(|l| l.contains("sync") && l.contains(" new, "))
        .map(|l| {
            let before = &l[..l.find(" new, ").unwrap()];
            before[before.rfind('(').unwrap() + 1..].parse().unwrap()
        })
        .collect();
    assert_eq!(new.len(), 2, "{out}");
    assert!(new[1] > 0, "the incremental sync found nothing new:\n{out}");
    assert_eq!(new[0] + new[1], printed["conversations"], "{out}");
}

/// The `| table | rows |` lines of the demo's "Rows per table" block.
fn printed_row_counts(out: &str) -> BTreeMap<String, i64> {
    let block = &out[out.find("Rows per table").unwrap()..];
    block
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty() && (l.starts_with('|') || l.starts_with('+')))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let rows = cells.get(2)?.parse().ok()?;
            Some((cells[1].to_owned(), rows))
        })
        .collect()
}

#[test]
fn sync_twice_matches_ground_truth_and_status_and_query_work() {
    let sim = Sim::small(400);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_matches_truth(&sim, &wh);

    sim.advance_hours(2);
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_matches_truth(&sim, &wh);

    // status: runs, cursor, tables
    let w = wh.to_str().unwrap();
    let o = ok(ltx(s.path(), &["status", "--warehouse", w], &[]));
    assert!(stdout(&o).contains("conversations"), "{}", text(&o));
    let o = ok(ltx(
        s.path(),
        &["status", "--warehouse", w, "--format", "json"],
        &[],
    ));
    let _: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status json");

    // query in every format
    let n = sim.truth().len();
    let sql = "SELECT count(*) AS n FROM conversations";
    let o = ok(ltx(s.path(), &["query", "--warehouse", w, sql], &[]));
    assert!(stdout(&o).contains(&format!("| {n}")), "{}", text(&o));
    let o = ltx(
        s.path(),
        &["query", "--warehouse", w, "--format", "csv", sql],
        &[],
    );
    assert_eq!(stdout(&o), format!("n\n{n}\n"), "{}", text(&o));
    let o = ltx(
        s.path(),
        &["query", "--warehouse", w, "--format", "json", sql],
        &[],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["n"], n as i64, "{}", text(&o));
    std::fs::write(
        s.path().join("q.sql"),
        "SELECT * FROM daily_conversation_kpis",
    )
    .unwrap();
    let o = ok(ltx(
        s.path(),
        &["query", "--warehouse", w, "-f", "q.sql", "--format", "csv"],
        &[],
    ));
    assert!(
        stdout(&o).starts_with("day_utc,site_id,department_id,conversations"),
        "{}",
        text(&o)
    );
    // every BI model answers
    for (name, _) in ltx_cli::models::MODELS {
        let o = ltx(
            s.path(),
            &["query", "--warehouse", w, &format!("SELECT * FROM {name}")],
            &[],
        );
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
    // bad SQL is a failure, not a crash
    let o = ltx(s.path(), &["query", "--warehouse", w, "SELEC 1"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// Keys of `table` in `a` that `b` no longer has.
fn gone(a: &ltx_sim::WarehouseTruth, b: &ltx_sim::WarehouseTruth, table: &str) -> Vec<String> {
    let later = &b.tables[table].rows;
    a.tables[table]
        .rows
        .keys()
        .filter(|k| !later.contains_key(*k))
        .cloned()
        .collect()
}

/// A moment after `from` when some conversation has closed but is not visible yet (it
/// shows up within 45 minutes with an `updated_at` before that moment): a late arrival.
fn late_arrival(
    sim: &Sim,
    from: chrono::DateTime<chrono::Utc>,
) -> (chrono::DateTime<chrono::Utc>, i64) {
    let account = sim.handle.account();
    let step = chrono::Duration::minutes(5);
    let mut t = from;
    while t < from + chrono::Duration::days(20) {
        let now = account.ground_truth(t);
        let soon = account.ground_truth(t + chrono::Duration::minutes(45));
        if let Some((id, _)) = soon.iter().find(|(id, u)| **u < t && !now.contains_key(id)) {
            return (t, *id);
        }
        t += step;
    }
    panic!("no late arrival within 20 simulated days after {from}");
}

#[test]
fn updates_late_arrivals_and_deleted_child_rows_match_the_truth_of_every_table() {
    // A busy account (240 conversations a day) so that days bring deletions of both kinds.
    let sim = Sim::start(SimConfig {
        conversations: 1_200,
        seed: 7,
        history_days: 5,
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let wh = s.wh("wh");
    let truth = || sim.handle.table_truth(sim.handle.now()).unwrap();
    // Past the start clock, where the conversations still open then were cut off.
    sim.handle.advance(chrono::Duration::seconds(1));
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_matches_truth(&sim, &wh);
    let first = truth();

    // Days later, just before a late arrival: versions have appended, voted, completed
    // leads and deleted messages and whole chats since the first sync.
    let (at, late) = late_arrival(&sim, sim.handle.now() + chrono::Duration::days(3));
    sim.handle.advance(at - sim.handle.now());
    let second = truth();
    let deleted = [
        gone(&first, &second, "chats"),
        gone(&first, &second, "chat_messages"),
    ];
    assert!(
        deleted.iter().all(|d| !d.is_empty()),
        "the scenario deletes no chat or no message: {deleted:?}"
    );
    let updated = first.tables["conversations"]
        .rows
        .iter()
        .filter(|(k, v)| second.tables["conversations"].rows.get(*k) != Some(v))
        .count();
    assert!(updated > 0, "no conversation changed");
    assert!(!second.tables["conversations"]
        .rows
        .contains_key(&late.to_string()));
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_matches_truth(&sim, &wh);

    // The late conversation appears with an updated_at before the last sync's cursor.
    sim.handle.advance(chrono::Duration::minutes(45));
    let third = truth();
    let stamp = third.tables["conversations"].rows[&late.to_string()];
    assert!(stamp < at, "{late} is not late: {stamp} >= {at}");
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_matches_truth(&sim, &wh);
    eprintln!(
        "rows per table: first {:?}, second {:?}, third {:?}; deleted chats {}, messages {}",
        first.counts(),
        second.counts(),
        third.counts(),
        deleted[0].len(),
        deleted[1].len()
    );
}

#[test]
fn both_profiles_and_both_modes_match_ground_truth() {
    let sim = Sim::small(300);
    let s = Scratch::new();
    for profile in ["v2", "web-api"] {
        for mode in ["list", "discover"] {
            let wh = s.wh(&format!("wh-{profile}-{mode}"));
            let o = sync(
                &s,
                &sim,
                &wh,
                &["--profile", profile, "--mode", mode, "--page-size", "50"],
                &[
                    ("LIVETEX_LOGIN", sim.handle.login()),
                    ("LIVETEX_PASSWORD", sim.handle.password()),
                ],
            );
            assert!(o.status.success(), "{profile}/{mode}: {}", text(&o));
            assert_matches_truth(&sim, &wh);
        }
    }
}

#[test]
fn bad_config_exits_2_and_names_the_key() {
    let s = Scratch::new();
    std::fs::write(s.path().join("bad.toml"), "[source]\nmode = \"lst\"\n").unwrap();
    let o = ltx(
        s.path(),
        &["sync", "--pipeline", "bad.toml"],
        &[("LIVETEX_API_TOKEN", "x")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml") && e.contains("source.mode") && e.contains("discover"),
        "{e}"
    );

    std::fs::write(s.path().join("bad2.toml"), "[source]\npage_sise = 10\n").unwrap();
    let o = ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", "bad2.toml"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("page_sise"), "{}", text(&o));

    // a named pipeline that does not exist
    let o = ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", "nope.toml"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // clap usage errors
    let o = ltx(s.path(), &["sync", "--no-such-flag"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = ltx(s.path(), &["sync", "--mode", "sideways"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // env values are validated too (and never echoed in --help)
    let o = ltx(
        s.path(),
        &["validate", "--offline"],
        &[("LTX_CONCURRENCY", "1000")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("source.concurrency"), "{}", text(&o));
    // missing token
    let o = ltx(s.path(), &["sync", "--pipeline", &s.pipeline()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("LIVETEX_API_TOKEN"), "{}", text(&o));
    // the shipped pipelines validate offline (given the salt their hashing needs)
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for p in ["pipelines/livetex.toml", "pipelines/livetex-webapi.toml"] {
        let o = ltx(
            &root,
            &["validate", "--offline", "--pipeline", p],
            &[("LTX_PII_SALT", "s3cret")],
        );
        assert!(o.status.success(), "{p}: {}", text(&o));
    }
}

#[test]
fn bad_token_exits_3() {
    let sim = Sim::small(50);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let o = ltx(
        s.path(),
        &[
            "sync",
            "--pipeline",
            &s.pipeline(),
            "--base-url",
            &sim.url(),
            "--warehouse",
            wh.to_str().unwrap(),
        ],
        &[("LIVETEX_API_TOKEN", "not-the-token")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!stderr(&o).contains("not-the-token"), "{}", text(&o));
    // an auth error is not retried: a handful of requests at most
    assert!(sim.handle.stats().requests <= 3, "{:?}", sim.handle.stats());
}

/// sha256-free checksum of every file under `dir` (path → bytes).
fn snapshot_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn wrong_password_exits_3_and_leaves_the_warehouse_untouched() {
    let sim = Sim::small(100);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let login = [("LIVETEX_LOGIN", sim.handle.login())];
    ok(sync(
        &s,
        &sim,
        &wh,
        &["--profile", "web-api"],
        &[login[0], ("LIVETEX_PASSWORD", sim.handle.password())],
    ));
    let before = snapshot_files(&wh);
    let o = sync(
        &s,
        &sim,
        &wh,
        &["--profile", "web-api"],
        &[login[0], ("LIVETEX_PASSWORD", "wrong-password")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!stderr(&o).contains("wrong-password"), "{}", text(&o));
    let after = snapshot_files(&wh);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files appeared or disappeared"
    );
    assert!(before == after, "file contents changed");
}

#[test]
fn locked_warehouse_exits_4() {
    let sim = Sim::small(50);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    // This test process takes the writer lock, as a concurrent sync would.
    let held = ltx_load::Warehouse::open(&wh, ltx_load::LoadOptions::default()).unwrap();
    let o = sync(&s, &sim, &wh, &[], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let o = ltx(
        s.path(),
        &["compact", "--warehouse", wh.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // readers do not need the lock
    ok(ltx(
        s.path(),
        &["query", "--warehouse", wh.to_str().unwrap(), "SELECT 1"],
        &[],
    ));
    drop(held);
    ok(sync(&s, &sim, &wh, &[], &[]));
}

#[test]
fn sync_succeeds_while_the_catalog_is_open() {
    // DuckDB lets one process hold a file read-write, or many read-only, not both at once:
    // so the two holders take turns, each across a whole sync. The loader builds the new
    // catalog aside and renames it, so neither holder blocks (or sees a torn) catalog.
    let sim = Sim::small(200);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));

    let ro = catalog(&wh);
    let before: i64 = ro
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    sim.advance_hours(2);
    let o = sync(&s, &sim, &wh, &[], &[]);
    assert!(o.status.success(), "while open read-only: {}", text(&o));
    // the reader still answers (from the catalog it opened)
    let again: i64 = ro
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    assert!(again >= before);
    drop(ro);

    let rw = duckdb::Connection::open(wh.join("warehouse.duckdb")).unwrap();
    let _: i64 = rw
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    sim.advance_hours(2);
    let o = sync(&s, &sim, &wh, &[], &[]);
    assert!(o.status.success(), "while open read-write: {}", text(&o));
    drop(rw);
    assert_matches_truth(&sim, &wh);
}

/// Files under data/ that the manifest does not account for, and leftovers in _ltx/tmp.
fn orphans(wh: &Path) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("_ltx/manifest.json")).unwrap()).unwrap();
    let mut referenced = BTreeSet::new();
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::String(s) if s.starts_with("data/") => {
                out.insert(s.clone());
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    // Live files, and superseded ones kept for readers of older catalogs until the
    // retire grace has passed: both are accounted for by the manifest.
    walk(&manifest["tables"], &mut referenced);
    walk(&manifest["retired"], &mut referenced);
    let mut found = Vec::new();
    for (p, _) in snapshot_files(&wh.join("data")) {
        let rel = p
            .strip_prefix(wh)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !referenced.contains(&rel) {
            found.push(rel);
        }
    }
    let tmp = wh.join("_ltx/tmp");
    if tmp.exists() {
        for (p, _) in snapshot_files(&tmp) {
            found.push(p.display().to_string());
        }
    }
    found
}

/// One step of the crash scenario.
#[derive(Clone, Copy, Debug)]
enum Step {
    Sync,
    Advance,
    Compact,
}

/// Full sync, two simulated days, incremental sync (replaces and adds), compaction.
const PLAN: [Step; 4] = [Step::Sync, Step::Advance, Step::Sync, Step::Compact];

fn run_step(
    s: &Scratch,
    sim: &Sim,
    wh: &Path,
    step: Step,
    envs: &[(&str, &str)],
) -> Option<Output> {
    match step {
        Step::Advance => {
            sim.advance_hours(48);
            None
        }
        Step::Sync => Some(sync(s, sim, wh, &["--keep-raw"], envs)),
        Step::Compact => Some(ltx(
            s.path(),
            &["compact", "--warehouse", wh.to_str().unwrap()],
            envs,
        )),
    }
}

fn aborted(o: &Output) -> bool {
    // std::process::abort(): killed by SIGABRT (no exit code).
    !o.status.success() && (o.status.code().is_none() || o.status.code() == Some(134))
}

#[test]
fn crash_at_every_point_then_rerun_equals_uninterrupted() {
    let cfg = SimConfig {
        conversations: 150,
        seed: 11,
        history_days: 10,
        ..SimConfig::default()
    };
    let s = Scratch::new();
    let reference = {
        let sim = Sim::start(cfg.clone());
        let wh = s.wh("reference");
        for step in PLAN {
            if let Some(o) = run_step(&s, &sim, &wh, step, &[]) {
                assert!(o.status.success(), "reference {step:?}: {}", text(&o));
            }
        }
        fingerprint(&wh)
    };
    let mut never_fired = Vec::new();
    for point in ltx_load::CRASH_POINTS {
        // Every point gets an identical simulator, so all runs see the same data.
        let sim = Sim::start(cfg.clone());
        let wh = s.wh(&format!("crash-{point}"));
        let crash = [("LTX_CRASH_AT", *point)];
        if point.starts_with("cleanup.") {
            // Orphan cleanup runs on open after a crash: leave orphans behind first.
            let o = sync(
                &s,
                &sim,
                &wh,
                &["--keep-raw"],
                &[("LTX_CRASH_AT", "commit.after_renames")],
            );
            assert!(
                aborted(&o),
                "{point}: setup crash did not happen: {}",
                text(&o)
            );
        }
        // The crash is armed for every step until one meets the point; that step is then
        // re-run without it (recovery), and the plan goes on.
        let mut armed = true;
        for step in PLAN {
            let envs: &[(&str, &str)] = if armed { &crash } else { &[] };
            let Some(o) = run_step(&s, &sim, &wh, step, envs) else {
                continue;
            };
            if o.status.success() {
                continue;
            }
            assert!(armed && aborted(&o), "{point} {step:?}: {}", text(&o));
            armed = false;
            let o = run_step(&s, &sim, &wh, step, &[]).unwrap();
            assert!(
                o.status.success(),
                "{point}: re-run of {step:?} failed: {}",
                text(&o)
            );
        }
        if armed {
            never_fired.push(*point);
        }
        let got = fingerprint(&wh);
        for (table, (n, keys)) in &reference {
            let (gn, gkeys) = &got[table];
            assert_eq!(gn, n, "{point}: rows of {table}");
            assert!(gkeys == keys, "{point}: keys of {table} differ");
        }
        assert_eq!(orphans(&wh), Vec::<String>::new(), "{point}: orphan files");
    }
    eprintln!("crash points not met by sync/compact: {never_fired:?}");
    // Points on the failed-run path need a run that fails after the warehouse is open;
    // retire.during_delete needs the retire grace (1 h of wall time) to pass;
    // merge.after_dedupe_file needs one run to carry two versions of a conversation.
    // ltx-load's own crash test drives those in-process.
    let allowed = [
        "merge.after_dedupe_file",
        "failed_run.after_run_record",
        "failed_run.after_manifest_rename",
        "retire.during_delete",
    ];
    let unexpected: Vec<_> = never_fired
        .iter()
        .filter(|p| !allowed.contains(p))
        .collect();
    assert!(
        unexpected.is_empty(),
        "crash points never met: {unexpected:?}"
    );
}

fn contains_issued_token(s: &str) -> Option<String> {
    // The simulator issues web-api tokens as `wa-<n>-<16 hex>`.
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(pos) = s[i..].find("wa-") {
        let start = i + pos + 3;
        let digits = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let rest = start + digits;
        if digits > 0 && bytes.get(rest) == Some(&b'-') {
            let hex = bytes[rest + 1..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if hex >= 16 {
                return Some(s[i + pos..rest + 1 + hex].to_owned());
            }
        }
        i = start;
    }
    None
}

#[test]
fn secrets_never_reach_logs() {
    // Tokens expire after 1 s and every response takes 40 ms, so the sync re-logs in.
    let sim = Sim::start(SimConfig {
        conversations: 300,
        seed: 3,
        history_days: 10,
        token_ttl: Duration::from_secs(1),
        faults: Faults {
            latency: Duration::from_millis(40),
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let s = Scratch::new();
    for format in ["text", "json"] {
        let wh = s.wh(&format!("wh-{format}"));
        let o = sync(
            &s,
            &sim,
            &wh,
            &[
                "--profile",
                "web-api",
                "--concurrency",
                "1",
                "--page-size",
                "10",
                "-v",
                "--log-format",
                format,
            ],
            &[
                ("LIVETEX_LOGIN", sim.handle.login()),
                ("LIVETEX_PASSWORD", sim.handle.password()),
            ],
        );
        assert!(o.status.success(), "{format}: {}", text(&o));
        let err = stderr(&o);
        assert!(
            !err.contains(sim.handle.password()),
            "{format}: password in logs"
        );
        assert_eq!(contains_issued_token(&err), None, "{format}: token in logs");
        assert!(
            !err.contains(sim.handle.token()),
            "{format}: v2 token in logs"
        );
        // the run record holds no secret either
        for (p, bytes) in snapshot_files(&wh.join("_ltx")) {
            let t = String::from_utf8_lossy(&bytes);
            assert!(
                !t.contains(sim.handle.password()),
                "password in {}",
                p.display()
            );
            assert_eq!(contains_issued_token(&t), None, "token in {}", p.display());
        }
    }
    assert!(
        sim.handle.stats().logins >= 2,
        "the short TTL must force a re-login: {:?}",
        sim.handle.stats()
    );
}

#[test]
fn import_files_through_the_same_path() {
    let sim = Sim::small(120);
    let s = Scratch::new();
    // A JSON array file and a gzip'd JSONL file, split between them.
    let all: Vec<serde_json::Value> = sim
        .handle
        .ground_truth_conversations(sim.handle.now())
        .collect();
    let (a, b) = all.split_at(all.len() / 2);
    std::fs::write(s.path().join("a.json"), serde_json::to_vec(a).unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for v in b {
        use std::io::Write;
        serde_json::to_writer(&mut gz, v).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    std::fs::write(s.path().join("b.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let wh = s.wh("wh");
    ok(ltx(
        s.path(),
        &[
            "import",
            "--pipeline",
            &s.pipeline(),
            "--warehouse",
            wh.to_str().unwrap(),
            "a.json",
            "b.jsonl.gz",
        ],
        &[],
    ));
    assert_matches_truth(&sim, &wh);
    // A conversation of an array file that cannot be versioned (its `updated_at` does not
    // read): a `_rejected` row whose error says where it was read.
    let mut bad = all[0].clone();
    bad["updated_at"] = "yesterday".into();
    let c = [all[1].clone(), bad, all[2].clone()];
    std::fs::write(s.path().join("c.json"), serde_json::to_vec(&c).unwrap()).unwrap();
    let w = wh.to_str().unwrap();
    ok(ltx(s.path(), &["import", "--warehouse", w, "c.json"], &[]));
    let error: String = catalog(&wh)
        .query_row("SELECT error FROM _rejected", [], |r| r.get(0))
        .unwrap();
    assert!(error.ends_with("(c.json record 2)"), "{error}");
    let o = ltx(s.path(), &["import", "--warehouse", w, "missing.json"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_truncated_or_corrupt_jsonl_import_fails_naming_the_record_and_commits_nothing() {
    let sim = Sim::small(120);
    let s = Scratch::new();
    let lines: Vec<String> = sim
        .handle
        .ground_truth_conversations(sim.handle.now())
        .map(|v| v.to_string())
        .collect();
    let (first, rest) = lines.split_at(lines.len() / 2);
    assert!(rest.len() > 50);
    let wh = s.wh("wh");
    let import = |file: &str| {
        ltx(
            s.path(),
            &["import", "--warehouse", wh.to_str().unwrap(), file],
            &[],
        )
    };
    std::fs::write(s.path().join("first.jsonl"), first.join("\n")).unwrap();
    ok(import("first.jsonl"));
    let before = warehouse_truth(&wh);
    assert_eq!(before.len(), first.len());
    // An export cut short in its 50th record (blank lines do not count as records).
    let cut = &rest[49][..rest[49].len() / 2];
    let text_cut = format!("\n{}\n\n{cut}", rest[..49].join("\n"));
    std::fs::write(s.path().join("cut.jsonl"), text_cut).unwrap();
    // A byte that is not UTF-8 in the 3rd record.
    let mut bytes = rest.join("\n").into_bytes();
    let at = rest[0].len() + rest[1].len() + 2 + 20;
    bytes[at] = 0xff;
    std::fs::write(s.path().join("bad.jsonl"), bytes).unwrap();
    for (file, expected) in [("cut.jsonl", "record 50: "), ("bad.jsonl", "record 3: ")] {
        let o = import(file);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = stderr(&o);
        assert!(err.contains(file) && err.contains(expected), "{err}");
        assert_eq!(
            warehouse_truth(&wh),
            before,
            "{file}: nothing may be committed"
        );
    }
}

#[test]
fn register_rebuilds_views_after_a_move() {
    let sim = Sim::small(60);
    let s = Scratch::new();
    let wh = s.wh("wh");
    assert!(sync(&s, &sim, &wh, &[], &[]).status.success());
    let moved = s.wh("moved");
    std::fs::rename(&wh, &moved).unwrap();
    let m = moved.to_str().unwrap();
    let count = |dir: &str| {
        ltx(
            s.path(),
            &["query", "--warehouse", dir, "SELECT count(*) FROM chats"],
            &[],
        )
    };
    // Before `register`, a query names the fix instead of DuckDB's "No files found",
    // and so does `status` (whose figures then come from the manifest).
    let o = count(m);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let st = ltx(s.path(), &["status", "--warehouse", m], &[]);
    assert!(st.status.success(), "{}", text(&st));
    assert!(
        stdout(&st).contains("ltx register --warehouse"),
        "{}",
        text(&st)
    );
    assert!(
        stderr(&o).contains("ltx register --warehouse"),
        "{}",
        text(&o)
    );
    ok(ltx(s.path(), &["register", "--warehouse", m], &[]));
    ok(ltx(
        s.path(),
        &[
            "query",
            "--warehouse",
            m,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM chats",
        ],
        &[],
    ));
    ok(ltx(s.path(), &["compact", "--warehouse", m], &[]));
    assert_matches_truth(&sim, &moved);
    // A copy's views would read the original's files: refused the same way.
    let copy = s.wh("copy");
    let o = Command::new("cp")
        .arg("-r")
        .arg(&moved)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = count(copy.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains(m), "{}", text(&o));
    // The same directory through a symlink is not a move.
    let link = s.wh("link");
    std::os::unix::fs::symlink(&moved, &link).unwrap();
    ok(count(link.to_str().unwrap()));
}

#[test]
fn help_of_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let o = ltx(dir.path(), &["--help"], &[]);
    assert!(o.status.success());
    insta::assert_snapshot!("help", stdout(&o));
    for cmd in [
        "demo", "sync", "status", "query", "import", "compact", "register", "sim", "validate",
    ] {
        // Set env values to prove they are not shown.
        let o = ltx(
            dir.path(),
            &[cmd, "--help"],
            &[
                ("LTX_BASE_URL", "http://secret.example"),
                ("LTX_WAREHOUSE", "/secret/wh"),
            ],
        );
        assert!(o.status.success(), "{cmd}: {}", text(&o));
        let out = stdout(&o);
        assert!(!out.contains("secret"), "{cmd} --help shows an env value");
        insta::assert_snapshot!(format!("help_{cmd}"), out);
    }
    let o = ltx(dir.path(), &["--version"], &[]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("ltx "));
}

/// `GET path` on `base` (http://127.0.0.1:PORT) with plain HTTP/1.0; returns the body.
fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    body.to_owned()
}

#[test]
fn sim_serves_what_it_prints_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let s = Scratch::new();
    let mut child = Command::new(BIN)
        .current_dir(s.path())
        .args(["sim", "--port", "0", "--conversations", "300"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("Ctrl-C stops");
        printed.push(line);
        if last {
            break;
        }
    }
    let banner = printed.join("\n");
    // The suggested sync command, run as printed (from the scratch directory).
    let suggested = printed
        .iter()
        .find(|l| l.contains("ltx sync"))
        .unwrap_or_else(|| panic!("no sync command in\n{banner}"));
    let words: Vec<&str> = suggested.split_whitespace().collect();
    let (token_var, rest) = (words[0], &words[2..]);
    let (k, v) = token_var.split_once('=').unwrap();
    assert_eq!(words[1], "ltx", "{banner}");
    let o = ltx(s.path(), rest, &[(k, v)]);
    assert!(o.status.success(), "{banner}\n{}", text(&o));
    // Everything the simulator holds before the sync's window end is in the warehouse.
    let summary = stdout(&o);
    let to = summary
        .split("window [")
        .nth(1)
        .and_then(|w| w.split(", ").nth(1))
        .map(|t| t.trim_end_matches([')', '\n']).to_owned())
        .unwrap_or_else(|| panic!("no window in {summary}"));
    let base = words[words.iter().position(|w| *w == "--base-url").unwrap() + 1];
    let truth = http_get(base, "/_sim/truth");
    let expected = truth
        .split("\"updated_at\":\"")
        .skip(1)
        .filter(|t| t[..20] < *to.as_str())
        .count() as i64;
    assert!(expected > 250, "{expected} of 300 before {to}");
    let wh = s
        .path()
        .join(rest[rest.iter().position(|w| *w == "--warehouse").unwrap() + 1]);
    let n: i64 = catalog(&wh)
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, expected, "{summary}");
    // Ctrl-C (SIGINT) stops it cleanly.
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "ltx sim exited with {status:?}");
}

/// Splits a shell command line into words (double and single quotes, `#` comments).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if !in_word => break,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[test]
fn the_readme_quickstart_commands_work() {
    // Every `cargo run --release -p ltx-cli -- …` line of the README's Quickstart, in order,
    // run as the built binary in a fresh directory (as a new user would, from a clone).
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let quickstart = readme
        .split("## Quickstart")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let prefix = "cargo run --release -p ltx-cli -- ";
    let commands: Vec<Vec<String>> = quickstart
        .lines()
        .filter_map(|l| l.trim().strip_prefix(prefix))
        .map(shell_words)
        .collect();
    assert!(commands.len() >= 3, "{quickstart}");
    assert_eq!(commands[0][0], "demo");
    let s = Scratch::new();
    for words in &commands {
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let o = ltx(s.path(), &args, &[]);
        assert!(o.status.success(), "ltx {}\n{}", words.join(" "), text(&o));
        assert!(
            !stdout(&o).trim().is_empty(),
            "ltx {}: no output",
            words.join(" ")
        );
    }
}

#[test]
fn every_model_and_every_sql_readme_example_runs_in_ltx_query() {
    // The models are views over a synced warehouse; each must return rows, and each example
    // query of sql/README.md must run as printed, inside the binary's own DuckDB (no
    // extension downloaded: the test machine is offline). The account drifts from the
    // reference here and there, as real ones do: the models must hold up, and the drift
    // example has rows to show.
    let sim = Sim::start(SimConfig {
        conversations: 300,
        seed: 7,
        history_days: 20,
        faults: Faults {
            drift_rate: 0.1,
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    let w = wh.to_str().unwrap();
    let csv = |sql: &str| {
        let o = ltx(
            s.path(),
            &["query", "--warehouse", w, "--format", "csv", sql],
            &[],
        );
        assert!(o.status.success(), "{sql}\n{}", text(&o));
        stdout(&o)
    };
    for model in [
        "daily_conversation_kpis",
        "operator_performance",
        "channel_mix",
        "lead_funnel",
        "geography",
        "hourly_load_heatmap",
    ] {
        let n: i64 = csv(&format!("SELECT count(*) AS n FROM {model}"))
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(n > 0, "{model} is empty");
    }
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql/README.md"))
            .unwrap();
    let examples: Vec<&str> = readme
        .split("```sql\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim())
        .collect();
    assert!(examples.len() >= 6, "{} examples", examples.len());
    for sql in examples {
        let out = csv(sql);
        assert!(out.lines().count() > 1, "no rows from\n{sql}\n{out}");
    }
    // Both clocks of the heatmap count every conversation once.
    let per_clock =
        csv("SELECT clock, sum(conversations) AS n FROM hourly_load_heatmap GROUP BY 1 ORDER BY 1");
    let total = csv("SELECT count(*) AS n FROM conversations");
    let n = total.lines().nth(1).unwrap();
    assert_eq!(per_clock, format!("clock,n\nMSK,{n}\nUTC,{n}\n"));
}

#[test]
fn validate_checks_the_credentials_against_the_api() {
    let sim = Sim::small(10);
    let s = Scratch::new();
    let (p, url) = (s.pipeline(), sim.url());
    let args = [
        "validate",
        "--pipeline",
        p.as_str(),
        "--base-url",
        url.as_str(),
    ];
    let o = ok(ltx(
        s.path(),
        &args,
        &[("LIVETEX_API_TOKEN", sim.handle.token())],
    ));
    assert!(
        stdout(&o).contains("accepted the credentials"),
        "{}",
        text(&o)
    );
    let o = ltx(s.path(), &args, &[("LIVETEX_API_TOKEN", "wrong-token")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = ltx(s.path(), &args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("LIVETEX_API_TOKEN"), "{}", text(&o));
    // The shipped production pipeline hashes personal data: no salt, no run.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/livetex.toml");
    let shipped = shipped.to_str().unwrap();
    let o = ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", shipped],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("LTX_PII_SALT"), "{}", text(&o));
    ok(ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", shipped],
        &[("LTX_PII_SALT", "s3cret")],
    ));
}

#[test]
fn a_bad_record_seen_by_every_sync_is_one_rejected_row() {
    let sim = Sim::start(SimConfig {
        conversations: 200,
        seed: 11,
        history_days: 20,
        faults: Faults {
            bad_record_rate: 0.05,
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    let count = |sql: &str| -> i64 { catalog(&wh).query_row(sql, [], |r| r.get(0)).unwrap() };
    let first = count("SELECT count(*) FROM _rejected");
    assert!(first > 0, "the simulator sent no bad record");
    // A full refresh reads every bad record again.
    ok(sync(&s, &sim, &wh, &["--full-refresh"], &[]));
    assert_eq!(count("SELECT count(*) FROM _rejected"), first);
    assert_eq!(count("SELECT count(*) FROM _rejected_history"), 2 * first);
    // Nothing is lost: every rejected conversation is named, with the field that failed.
    assert_eq!(
        count("SELECT count(*) FROM _rejected WHERE conversation_id IS NULL OR field_path IS NULL"),
        0
    );
}

#[test]
fn an_unreachable_api_is_a_failed_run_in_the_run_log() {
    // The API down is the commonest failure of a scheduled sync. It used to fail in the
    // clock probe, before the warehouse was opened, and left no row in `_ltx_runs`.
    let sim = Sim::small(30);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    // The same pipeline name (same cursor), without retries: the test need not wait.
    let pipeline = s.path().join("dead.toml").display().to_string();
    std::fs::write(
        &pipeline,
        "name = \"e2e\"\n[source]\nmax_retries = 0\n[sync]\nstart_date = \"2026-01-01\"\n",
    )
    .unwrap();
    let sync_dead = |dir: &Path| {
        let d = dir.display().to_string();
        let args = [
            "sync",
            "--pipeline",
            &pipeline,
            "--base-url",
            &dead,
            "--warehouse",
            &d,
        ];
        ltx(
            s.path(),
            &args,
            &[("LIVETEX_API_TOKEN", sim.handle.token())],
        )
    };
    let o = sync_dead(&wh);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let runs: Vec<(String, Option<String>)> = catalog(&wh)
        .prepare("SELECT status, error FROM _ltx_runs ORDER BY started_at")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].0, "success");
    assert_eq!(runs[1].0, "failed");
    let error = runs[1].1.clone().unwrap_or_default();
    assert!(error.contains(&port.to_string()), "{error}");
    // A sync into a directory that holds no warehouse creates nothing when it fails.
    let none = s.wh("none");
    let o = sync_dead(&none);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!none.exists());
}

/// `ltx import` of `n` generated conversations (seed 42) into a new warehouse `wh`.
fn import_generated(s: &Scratch, n: u64) -> (PathBuf, Output) {
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

#[test]
fn quality_findings_per_check_reach_the_summary_and_the_run_log() {
    // The summary printed no quality figure and `_ltx_runs` had only a total.
    let s = Scratch::new();
    let (wh, o) = import_generated(&s, 2000);
    // A first run: every conversation is new, so the findings equal the table's rows.
    let (issues, by_check): (i64, String) = catalog(&wh)
        .query_row(
            "SELECT (SELECT count(*) FROM _quality_issues), quality_by_check::VARCHAR FROM _ltx_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        issues > 0,
        "the generator should produce counter mismatches"
    );
    let by_check: BTreeMap<String, i64> = serde_json::from_str(&by_check).unwrap();
    assert_eq!(by_check.values().sum::<i64>(), issues, "{by_check:?}");
    let summary = stdout(&o);
    assert!(
        summary.contains(&format!("{issues} quality issues (")),
        "{summary}"
    );
    for (check, n) in &by_check {
        assert!(*n > 0, "{by_check:?}");
        assert!(summary.contains(&format!("{check} {n}")), "{summary}");
    }
    // Checks that found nothing are not listed.
    assert!(
        !summary.contains(" 0,") && !summary.contains(" 0)"),
        "{summary}"
    );
}

#[test]
fn a_query_warns_when_the_views_are_behind_the_last_commit() {
    // A commit whose catalog rebuild failed exits 0 (its data is safe) and leaves the
    // views showing the previous state: `ltx query` says so instead of answering silently.
    let s = Scratch::new();
    let (wh, _) = import_generated(&s, 20);
    let w = wh.to_str().unwrap();
    let query = || ltx(s.path(), &["query", "--warehouse", w, "SELECT 1 AS n"], &[]);
    let o = ok(query());
    assert!(!stderr(&o).contains("older state"), "{}", text(&o));
    // The manifest one generation ahead of the catalog, as after a failed rebuild.
    let manifest = wh.join("_ltx/manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let g = m["generation"].as_u64().unwrap();
    m["generation"] = (g + 1).into();
    std::fs::write(&manifest, serde_json::to_string(&m).unwrap()).unwrap();
    let o = ok(query());
    assert!(stderr(&o).contains("older state"), "{}", text(&o));
    assert!(
        stderr(&o).contains("ltx register --warehouse"),
        "{}",
        text(&o)
    );
}
