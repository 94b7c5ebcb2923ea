//! Helpers shared by the integration tests: run a transformer, read columns back,
//! and check the normalization invariants.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::{BTreeMap, HashSet};

use arrow::array::{Array, Int64Array, StringArray};
use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use ltx_transform::{Table, TableBatch, TransformConfig, TransformStats, Transformer};

pub fn config(batch_rows: usize) -> TransformConfig {
    let synced = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut c = TransformConfig::new("test-run", synced);
    c.batch_rows = batch_rows;
    c
}

/// Pushes every record, draining full batches as a real caller would.
pub fn run<'a>(
    config: TransformConfig,
    raws: impl IntoIterator<Item = &'a str>,
) -> (Vec<TableBatch>, TransformStats) {
    let mut t = Transformer::new(config);
    let mut out = Vec::new();
    for raw in raws {
        t.push_json(raw);
        out.extend(t.drain_full());
    }
    let (rest, stats) = t.finish();
    out.extend(rest);
    (out, stats)
}

pub fn table(batches: &[TableBatch], table: Table) -> RecordBatch {
    let parts: Vec<&RecordBatch> = batches
        .iter()
        .filter(|b| b.table == table)
        .map(|b| &b.batch)
        .collect();
    concat_batches(&table.schema(), parts).unwrap()
}

/// A column rendered as strings (ints and strings only), nulls as "∅".
pub fn col(b: &RecordBatch, name: &str) -> Vec<String> {
    let a = b.column_by_name(name).unwrap();
    if let Some(a) = a.as_any().downcast_ref::<Int64Array>() {
        (0..a.len())
            .map(|i| {
                if a.is_valid(i) {
                    a.value(i).to_string()
                } else {
                    "∅".into()
                }
            })
            .collect()
    } else {
        let a = a.as_any().downcast_ref::<StringArray>().unwrap();
        (0..a.len())
            .map(|i| {
                if a.is_valid(i) {
                    a.value(i).to_owned()
                } else {
                    "∅".into()
                }
            })
            .collect()
    }
}

/// Expected child rows of one conversation, from its JSON.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Expected {
    pub chats: usize,
    pub messages: usize,
    pub calls: usize,
    pub leads: usize,
    pub complaints: usize,
    pub employees: usize,
    pub events: usize,
}

fn len(v: &serde_json::Value, key: &str) -> usize {
    v.get(key).and_then(|a| a.as_array()).map_or(0, Vec::len)
}

pub fn expected(v: &serde_json::Value) -> Expected {
    let messages = v
        .get("chats")
        .and_then(|c| c.as_array())
        .map_or(0, |chats| chats.iter().map(|c| len(c, "messages")).sum());
    Expected {
        chats: len(v, "chats"),
        messages,
        calls: len(v, "calls"),
        leads: len(v, "leads"),
        complaints: len(v, "complaints"),
        employees: len(v, "employees"),
        events: len(v, "events"),
    }
}

/// Checks the invariants: rows per table equal the array lengths; keys unique per table;
/// positions are 0..n per parent; every child joins back to a conversations row.
pub fn check_invariants(batches: &[TableBatch], inputs: &[serde_json::Value]) {
    let total = inputs
        .iter()
        .map(expected)
        .fold(Expected::default(), |mut a, e| {
            a.chats += e.chats;
            a.messages += e.messages;
            a.calls += e.calls;
            a.leads += e.leads;
            a.complaints += e.complaints;
            a.employees += e.employees;
            a.events += e.events;
            a
        });
    let rows = |t| table(batches, t).num_rows();
    assert_eq!(rows(Table::Conversations), inputs.len());
    assert_eq!(rows(Table::Chats), total.chats);
    assert_eq!(rows(Table::ChatMessages), total.messages);
    assert_eq!(rows(Table::Calls), total.calls);
    assert_eq!(rows(Table::Leads), total.leads);
    assert_eq!(rows(Table::Complaints), total.complaints);
    assert_eq!(rows(Table::ConversationEmployees), total.employees);
    assert_eq!(rows(Table::Employees), total.employees);
    assert_eq!(rows(Table::ConversationEvents), total.events);

    for t in Table::ALL {
        if t.kind() != ltx_transform::TableKind::Fact {
            continue;
        }
        let b = table(batches, t);
        let keys: Vec<Vec<String>> = t.key_columns().iter().map(|k| col(&b, k)).collect();
        let mut seen = HashSet::new();
        for i in 0..b.num_rows() {
            let key: Vec<&str> = keys.iter().map(|c| c[i].as_str()).collect();
            assert!(
                seen.insert(key.join("|")),
                "{}: duplicate key {key:?}",
                t.name()
            );
        }
    }

    let conv_ids: HashSet<String> = col(&table(batches, Table::Conversations), "conversation_id")
        .into_iter()
        .collect();
    let positions = [
        (Table::Chats, "conversation_id", "chat_order"),
        (Table::ChatMessages, "chat_id", "message_order"),
        (Table::Calls, "conversation_id", "call_order"),
        (Table::Leads, "conversation_id", "lead_order"),
        (Table::Complaints, "conversation_id", "complaint_order"),
        (
            Table::ConversationEmployees,
            "conversation_id",
            "participation_order",
        ),
        (Table::ConversationEvents, "conversation_id", "event_order"),
        (Table::QualityIssues, "conversation_id", "conversation_id"),
    ];
    for (t, parent, order) in positions {
        let b = table(batches, t);
        for id in col(&b, "conversation_id") {
            assert!(
                conv_ids.contains(&id),
                "{}: orphan conversation_id {id}",
                t.name()
            );
        }
        if parent == order {
            continue;
        }
        let mut by_parent: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (p, o) in col(&b, parent).into_iter().zip(col(&b, order)) {
            by_parent.entry(p).or_default().push(o.parse().unwrap());
        }
        for (p, mut os) in by_parent {
            os.sort_unstable();
            assert_eq!(
                os,
                (0..os.len() as i64).collect::<Vec<_>>(),
                "{}: positions of {p}",
                t.name()
            );
        }
    }
    for b in batches {
        assert_eq!(b.batch.schema(), b.table.schema(), "{}", b.table.name());
    }
}
