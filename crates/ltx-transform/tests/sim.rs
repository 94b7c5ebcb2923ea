//! Simulator conversations transform with zero rejected rows, every invariant holds,
//! the simulator's deliberate counter mismatches show up as quality issues, and its
//! deliberately bad records become `_rejected` rows without stopping the run, and its
//! schema drift keeps every conversation and is reported value by value.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use ltx_transform::Table;

const N: u64 = 300;

fn generate(cfg: &ltx_sim::SimConfig) -> Vec<String> {
    ltx_sim::jsonl_lines(cfg, N).unwrap()
}

/// A seed whose first `N` conversations include at least one deliberate counter mismatch
/// (0.5% of conversations carry one), so the reconciliation check is really exercised.
fn seed_with_mismatch() -> u64 {
    (0..200u64)
        .find(|&seed| {
            let account = ltx_sim::Account::new(&ltx_sim::SimConfig {
                seed,
                conversations: N,
                ..Default::default()
            });
            (0..N as i64).any(|i| account.count_mismatch(ltx_sim::FIRST_CONVERSATION_ID + i))
        })
        .unwrap()
}

#[test]
fn simulator_conversations_transform_without_rejects() {
    let cfg = ltx_sim::SimConfig {
        seed: seed_with_mismatch(),
        ..Default::default()
    };
    let lines = generate(&cfg);
    assert_eq!(lines.len() as u64, N);

    let (batches, stats) = common::run(common::config(1000), lines.iter().map(String::as_str));
    assert_eq!(
        stats.rejected,
        0,
        "{:?}",
        common::col(&common::table(&batches, Table::Rejected), "error")
    );
    assert_eq!(stats.conversations, N);

    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    common::check_invariants(&batches, &values);

    let account = ltx_sim::Account::new(&ltx_sim::SimConfig {
        conversations: N,
        ..cfg
    });
    let mismatched: BTreeSet<String> = values
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .filter(|&id| account.count_mismatch(id))
        .map(|id| id.to_string())
        .collect();
    let q = common::table(&batches, Table::QualityIssues);
    let flagged: BTreeSet<String> = common::col(&q, "conversation_id")
        .into_iter()
        .zip(common::col(&q, "check"))
        .filter(|(_, c)| c == "message_count")
        .map(|(id, _)| id)
        .collect();
    assert!(!mismatched.is_empty());
    assert_eq!(flagged, mismatched);
}

#[test]
fn simulator_bad_records_are_rejected_and_the_rest_loads() {
    let mut cfg = ltx_sim::SimConfig {
        seed: 11,
        ..Default::default()
    };
    cfg.faults.bad_record_rate = 0.1;
    let lines = generate(&cfg);
    let (batches, stats) = common::run(common::config(1000), lines.iter().map(String::as_str));
    assert!(stats.rejected > 0);
    assert_eq!(stats.rejected + stats.conversations, N);
    let rej = common::table(&batches, Table::Rejected);
    assert!(
        common::col(&rej, "conversation_id")
            .iter()
            .all(|id| id != "∅"),
        "ids recovered"
    );
    assert!(
        common::col(&rej, "field_path")
            .iter()
            .all(|p| p == "updated_at"),
        "{:?}",
        common::col(&rej, "field_path")
    );
}

#[test]
fn simulator_drift_keeps_every_conversation_and_reports_every_drifted_value() {
    let mut cfg = ltx_sim::SimConfig {
        seed: 12,
        ..Default::default()
    };
    cfg.faults.drift_rate = 0.5;
    let lines = generate(&cfg);
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // What the simulator replaced, by (conversation, path).
    let served: BTreeSet<String> = values
        .iter()
        .flat_map(|v| {
            let id = v["id"].as_i64().unwrap();
            ltx_sim::drift::paths(v)
                .into_iter()
                .map(move |p| format!("{id} {p}"))
        })
        .collect();
    assert!(served.len() > N as usize / 3, "{}", served.len());
    let (batches, stats) = common::run(common::config(1000), lines.iter().map(String::as_str));
    assert_eq!((stats.rejected, stats.conversations), (0, N));
    // Every invariant of the clean path holds: nothing dropped, keys unique.
    common::check_invariants(&batches, &values);
    let q = common::table(&batches, Table::QualityIssues);
    let reported: BTreeSet<String> = common::col(&q, "conversation_id")
        .into_iter()
        .zip(common::col(&q, "check"))
        .zip(common::col(&q, "path"))
        .filter(|((_, c), _)| c == "schema_drift")
        .map(|((id, _), p)| format!("{id} {p}"))
        .collect();
    assert_eq!(reported, served);
}
