//! History: syncs against a simulator whose records change between them keep every
//! conversation version in `conversations_history` (intervals that never overlap, one
//! current row per conversation equal to its `conversations` row, nothing added by a
//! re-run), and `ltx query --as-of` answers, for every run and every commit instant, what
//! `ltx query` answered right after that run; asking before the oldest retained state, or
//! for a failed run, is a usage error naming what is available.

use std::path::Path;

use crate::common;
use common::sim::{catalog, stderr, stdout, sync, Scratch, Sim};
use common::{ltx, ok, text};

/// Queries whose output is recorded after each run and asked again with `--as-of`.
const QUERIES: [&str; 7] = [
    // Rows per view, tables and histories.
    "SELECT 'conversations' AS t, count(*) AS n FROM conversations \
     UNION ALL SELECT 'chats', count(*) FROM chats \
     UNION ALL SELECT 'chat_messages', count(*) FROM chat_messages \
     UNION ALL SELECT 'calls', count(*) FROM calls \
     UNION ALL SELECT 'leads', count(*) FROM leads \
     UNION ALL SELECT 'complaints', count(*) FROM complaints \
     UNION ALL SELECT 'conversation_events', count(*) FROM conversation_events \
     UNION ALL SELECT 'employees', count(*) FROM employees \
     UNION ALL SELECT 'visitors', count(*) FROM visitors \
     UNION ALL SELECT 'visitors_history', count(*) FROM visitors_history \
     UNION ALL SELECT 'employees_history', count(*) FROM employees_history \
     UNION ALL SELECT 'conversations_history', count(*) FROM conversations_history \
     UNION ALL SELECT '_quality_issues', count(*) FROM _quality_issues \
     ORDER BY t",
    // A checksum of every column of every conversation.
    "SELECT count(*) AS n, sum(hash(c)) AS checksum FROM conversations c",
    "SELECT count(*) AS n, sum(hash(h)) AS checksum FROM conversations_history h",
    "SELECT count(*) AS n, sum(hash(h)) AS checksum FROM visitors_history h",
    // A BI model.
    "SELECT * FROM daily_conversation_kpis ORDER BY ALL",
    "SELECT * FROM channel_mix ORDER BY ALL",
    // The run log.
    "SELECT run_id, status, generation, conversations_replaced FROM _ltx_runs ORDER BY generation",
];

/// `ltx query --format csv` (with `--as-of` when given), its stdout.
fn query(s: &Scratch, wh: &Path, sql: &str, as_of: Option<&str>) -> String {
    let w = wh.to_str().unwrap();
    let mut args = vec!["query", "--warehouse", w, "--format", "csv"];
    if let Some(a) = as_of {
        args.extend(["--as-of", a]);
    }
    args.push(sql);
    let o = ltx(s.path(), &args, &[]);
    assert!(o.status.success(), "{sql} (as of {as_of:?})\n{}", text(&o));
    stdout(&o)
}

/// One value of a one-row, one-column query on the catalog.
fn scalar(wh: &Path, sql: &str) -> i64 {
    catalog(wh).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// What the run that committed last left: its id and commit instant (RFC 3339, µs; a
/// successful run's `finished_at` is its generation's commit instant).
fn last_run(wh: &Path) -> (String, String) {
    let (run, us): (String, i64) = catalog(wh)
        .query_row(
            "SELECT run_id, epoch_us(finished_at) FROM _ltx_runs WHERE status = 'success' \
             ORDER BY generation DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let at = chrono::DateTime::from_timestamp_micros(us).unwrap();
    (run, at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// `conversations_history`'s guarantees, checked in SQL: half-open intervals of a
/// conversation never overlap, each conversation has exactly one current row, that row
/// equals its `conversations` row in every column, `valid_to` is NULL exactly for it.
fn assert_history_invariants(wh: &Path) {
    let checks = [
        (
            "overlapping intervals",
            "SELECT count(*) FROM conversations_history a JOIN conversations_history b \
             ON a.conversation_id = b.conversation_id AND a.valid_from < b.valid_from \
             AND (a.valid_to IS NULL OR a.valid_to > b.valid_from)",
        ),
        (
            "conversations without exactly one current row",
            "SELECT count(*) FROM (SELECT conversation_id FROM conversations_history \
             GROUP BY 1 HAVING count(*) FILTER (is_current) <> 1)",
        ),
        (
            "current rows that differ from conversations",
            "SELECT count(*) FROM (\
               (SELECT * EXCLUDE (valid_from, valid_to, is_current) FROM conversations_history \
                WHERE is_current EXCEPT ALL SELECT * FROM conversations) \
               UNION ALL (SELECT * FROM conversations EXCEPT ALL \
                SELECT * EXCLUDE (valid_from, valid_to, is_current) FROM conversations_history \
                WHERE is_current))",
        ),
        (
            "an interval that does not end where the next version starts",
            "SELECT count(*) FROM (SELECT valid_to, lead(valid_from) OVER \
               (PARTITION BY conversation_id ORDER BY valid_from) AS next, is_current \
               FROM conversations_history) \
             WHERE valid_to IS DISTINCT FROM next OR (valid_to IS NULL) <> is_current",
        ),
        (
            "dimension versions that overlap or have no single current row",
            "SELECT (SELECT count(*) FROM (SELECT employee_id FROM employees_history GROUP BY 1 \
               HAVING count(*) FILTER (is_current) <> 1)) \
             + (SELECT count(*) FROM employees_history a JOIN employees_history b \
               ON a.employee_id = b.employee_id AND a.valid_from < b.valid_from \
               AND (a.valid_to IS NULL OR a.valid_to > b.valid_from))",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(scalar(wh, sql), 0, "{what}");
    }
    assert_eq!(
        scalar(
            wh,
            "SELECT count(DISTINCT conversation_id) FROM conversations_history"
        ),
        scalar(wh, "SELECT count(*) FROM conversations")
    );
}

#[test]
fn syncs_keep_every_version_and_as_of_answers_as_each_run_did() {
    let sim = Sim::small(300);
    let s = Scratch::new();
    let wh = s.wh("wh");
    // (run id, commit instant, output of every query right after the run)
    let mut seen: Vec<(String, String, Vec<String>)> = Vec::new();
    let record = |seen: &mut Vec<(String, String, Vec<String>)>| {
        let (run, at) = last_run(&wh);
        let outputs = QUERIES.iter().map(|q| query(&s, &wh, q, None)).collect();
        seen.push((run, at, outputs));
    };
    let mut replaced_total = 0;
    for step in 0..4 {
        if step > 0 {
            sim.advance_hours(12);
        }
        ok(sync(&s, &sim, &wh, &[], &[]));
        assert_history_invariants(&wh);
        record(&mut seen);
        let versions = scalar(&wh, "SELECT count(*) FROM conversations_history");
        let superseded = scalar(
            &wh,
            "SELECT count(*) FROM conversations_history WHERE NOT is_current",
        );
        replaced_total = scalar(&wh, "SELECT sum(conversations_replaced) FROM _ltx_runs");
        assert_eq!(
            superseded, replaced_total,
            "every replaced version kept once"
        );
        // The same sync again: the same versions, nothing added.
        ok(sync(&s, &sim, &wh, &[], &[]));
        assert_eq!(
            scalar(&wh, "SELECT count(*) FROM conversations_history"),
            versions
        );
        assert_history_invariants(&wh);
        record(&mut seen);
    }
    assert!(
        replaced_total > 0,
        "the simulator changed no conversation between syncs"
    );
    // Some conversation went through more than two versions? Not required; one with two is.
    assert!(
        scalar(
            &wh,
            "SELECT count(*) FROM (SELECT conversation_id FROM conversations_history GROUP BY 1 HAVING count(*) > 1)"
        ) > 0
    );

    // A compaction later changes files, not answers.
    ok(ltx(
        s.path(),
        &["compact", "--warehouse", wh.to_str().unwrap()],
        &[],
    ));
    for (run, at, want) in &seen {
        for (q, want) in QUERIES.iter().zip(want) {
            assert_eq!(&query(&s, &wh, q, Some(run)), want, "--as-of {run}: {q}");
            assert_eq!(
                &query(&s, &wh, q, Some(at)),
                want,
                "--as-of {at} ({run}): {q}"
            );
        }
    }

    // `status` says what is kept.
    let o = ok(ltx(
        s.path(),
        &["status", "--warehouse", wh.to_str().unwrap()],
        &[],
    ));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("history"))
        .unwrap_or_default();
    assert!(line.contains("generations readable with --as-of"), "{out}");
    assert!(
        line.contains(&format!("{replaced_total} replaced conversation versions")),
        "{out}"
    );
    let o = ok(ltx(
        s.path(),
        &[
            "status",
            "--warehouse",
            wh.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    ));
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(st["history"]["generations"].as_u64().unwrap() >= 8, "{st}");
    assert!(st["history"]["retired_bytes"].as_u64().unwrap() > 0, "{st}");
}

#[test]
fn as_of_before_retention_or_a_failed_run_is_a_usage_error_naming_what_is_kept() {
    let sim = Sim::small(40);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let w = wh.to_str().unwrap();
    ok(sync(&s, &sim, &wh, &[], &[]));
    let (first_run, first_at) = last_run(&wh);
    let as_of = |a: &str| {
        ltx(
            s.path(),
            &["query", "--warehouse", w, "--as-of", a, "SELECT 1"],
            &[],
        )
    };

    // Before the first commit: nothing is retained then.
    for before in ["2020-01-01", "2020-01-01T00:00:00Z"] {
        let o = as_of(before);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = stderr(&o);
        assert!(err.contains("no retained generation"), "{err}");
        assert!(
            err.contains(&first_at[..19]),
            "names the oldest instant: {err}"
        );
        assert!(
            err.contains(&format!("oldest run available is {first_run}")),
            "{err}"
        );
    }
    // Neither a run of this warehouse nor an instant.
    let o = as_of("20990101T000000Z-deadbeef");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("not an instant either"), "{}", text(&o));

    // A failed run committed nothing: no state is its.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let pipeline = s.path().join("dead.toml").display().to_string();
    std::fs::write(
        &pipeline,
        "name = \"e2e\"\n[source]\nmax_retries = 0\n[sync]\nstart_date = \"2026-01-01\"\n",
    )
    .unwrap();
    let o = ltx(
        s.path(),
        &[
            "sync",
            "--pipeline",
            &pipeline,
            "--base-url",
            &dead,
            "--warehouse",
            w,
        ],
        &[("LIVETEX_API_TOKEN", sim.handle.token())],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let failed: String = catalog(&wh)
        .query_row(
            "SELECT run_id FROM _ltx_runs WHERE status = 'failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o = as_of(&failed);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains(&format!("run {failed} failed")),
        "{}",
        text(&o)
    );
    // The run before it, and a date after it (its Moscow midnight), still answer.
    ok(as_of(&first_run));
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    ok(as_of(&later.format("%Y-%m-%d").to_string()));
}
