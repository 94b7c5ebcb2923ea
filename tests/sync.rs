//! `ltx sync` against the simulator: after full and incremental syncs (updates, late
//! arrivals, deleted child rows) every table equals the simulator's truth, in both API
//! profiles and both modes; `status` and `query` on the result; a bad record is one
//! `_rejected` row however often it is read; an unreachable API is a failed run in the
//! run log.

use std::path::Path;

use ltx_sim::{Faults, SimConfig};

use crate::common;
use common::sim::{assert_matches_truth, catalog, stdout, sync, Scratch, Sim};
use common::{ltx, ok, text};

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
        stdout(&o).starts_with("account,day_utc,site_id,department_id,conversations"),
        "{}",
        text(&o)
    );
    // every BI model answers
    for (name, _) in ltx_load::models::MODELS {
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
