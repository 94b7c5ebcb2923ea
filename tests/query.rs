//! Reading the warehouse: every BI model and every example of `sql/README.md` runs in
//! `ltx query`; a query warns when the views are behind the last commit; after a move
//! `ltx register` rebuilds the views, and until then queries and `status` name the fix.

use std::process::Command;

use crate::common;
use common::sim::{assert_matches_truth, import_generated, stderr, stdout, sync, Scratch, Sim};
use common::{ltx, ok, text};

#[test]
fn every_model_and_every_sql_readme_example_runs_in_ltx_query() {
    // The models are views over a synced warehouse; each must return rows, and each example
    // query of sql/README.md must run as printed, inside the binary's own DuckDB (no
    // extension downloaded: the test machine is offline). The account drifts from the
    // reference here and there, as real ones do: the models must hold up, and the drift
    // example has rows to show.
    let sim = Sim::drifting();
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
        "daily_channel_mix",
        "hourly_conversations",
        "daily_operator_performance",
        "first_answer_times",
        "sla_chats",
        "sla_leads",
        "sla_complaints",
        "sla_daily",
        "sla_operators",
    ] {
        let n: i64 = csv(&format!("SELECT count(*) AS n FROM {model}"))
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        // Complaints are rare (about 1 in 100 conversations): this account may have none.
        assert!(n > 0 || model == "sla_complaints", "{model} is empty");
    }
    let examples = common::sql_readme_examples();
    assert!(examples.len() >= 6, "{} examples", examples.len());
    for sql in &examples {
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
