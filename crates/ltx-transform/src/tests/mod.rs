//! Unit tests of the transformer, one module per topic. This file owns what they share:
//! the example conversation, the config, running records through a [`Transformer`], and
//! reading a table's columns back.
#![allow(clippy::unwrap_used)]

mod batches;
mod extra;
mod pii;
mod quality;
mod rejected;
mod tables;
mod tolerance;

use arrow::array::{Array, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Table, TableBatch, TransformConfig, TransformStats, Transformer};

const EXAMPLE: &str = include_str!("../../tests/fixtures/conversation.json");

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn config() -> TransformConfig {
    TransformConfig::new("run-1", utc("2026-04-02T10:00:00Z"))
}

fn run(config: TransformConfig, raws: &[String]) -> (Vec<TableBatch>, TransformStats) {
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

/// All rows of `table` over every partition, as one batch.
fn table(batches: &[TableBatch], table: Table) -> RecordBatch {
    let parts: Vec<&RecordBatch> = batches
        .iter()
        .filter(|b| b.table == table)
        .map(|b| &b.batch)
        .collect();
    concat_batches(&table.schema(), parts).unwrap()
}

fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_owned()))
        .collect()
}

fn ints(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn tss(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn bools(b: &RecordBatch, col: &str) -> Vec<Option<bool>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn example() -> Value {
    serde_json::from_str(EXAMPLE).unwrap()
}

/// Every non-null string cell of every batch.
fn all_strings(batches: &[TableBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for col in b.batch.columns() {
            if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
                out.extend(a.iter().flatten().map(str::to_owned));
            }
        }
    }
    out
}
