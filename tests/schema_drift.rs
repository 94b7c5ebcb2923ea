//! Schema drift through the binary: a sync against a simulator that serves values of
//! JSON types our reference does not document keeps every conversation with all its child
//! rows, reports each drifted value, and says so in the summary and in `ltx status`.

use crate::common;

use common::sim::{assert_matches_truth, catalog, stdout, sync, Scratch, Sim};
use common::{ltx, ok};
use ltx_sim::{Faults, SimConfig};

#[test]
fn schema_drift_loses_no_conversation_and_is_counted_per_field() {
    let sim = Sim::start(SimConfig {
        conversations: 150,
        seed: 7,
        history_days: 20,
        faults: Faults {
            drift_rate: 0.4,
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let wh = s.wh("wh");
    let out = stdout(&ok(sync(&s, &sim, &wh, &[], &[])));
    // Every conversation with all its child rows, and one `_quality_issues` row per value
    // the simulator drifted (its truth finds them in the JSON it served).
    assert_matches_truth(&sim, &wh);
    let conn = catalog(&wh);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let drifted = count("SELECT count(*) FROM _quality_issues WHERE \"check\" = 'schema_drift'");
    assert!(drifted > 30, "{drifted} drift rows");
    assert_eq!(count("SELECT count(*) FROM _rejected"), 0);
    // The summary counts drift per field, as the run log does.
    assert!(out.contains("schema drift ("), "{out}");
    assert!(out.contains(" expected, "), "{out}");
    let logged = count(
        "SELECT count(*) FROM _ltx_runs WHERE status = 'success' AND json_array_length(json_keys(drift_by_field)) > 0",
    );
    assert_eq!(logged, 1);
    // A drifted value of the conversation itself: kept as sent in its row's `_extra`.
    let (path, extra): (String, String) = conn
        .query_row(
            "SELECT q.path, c._extra FROM _quality_issues q \
             JOIN conversations c USING (conversation_id) \
             WHERE q.\"check\" = 'schema_drift' AND q.path NOT LIKE '%.%' \
             AND q.path NOT LIKE '%[%' ORDER BY 1 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a drifted top-level value");
    let extra: serde_json::Value = serde_json::from_str(&extra).unwrap();
    let kept = &extra[path.as_str()];
    assert!(
        kept == "ltx-sim-drift" || kept.get("ltx-sim-drift").is_some(),
        "{path}: {extra}"
    );
    drop(conn);
    // `ltx status` shows the same counts per field.
    let w = wh.display().to_string();
    let status = stdout(&ok(ltx(s.path(), &["status", "--warehouse", &w], &[])));
    assert!(status.contains("schema drift ("), "{status}");
    // The next sync succeeds and the warehouse still matches.
    sim.advance_hours(2);
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_matches_truth(&sim, &wh);
}
