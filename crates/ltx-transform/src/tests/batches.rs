//! Batching and partitioning: batches split at `batch_rows`, partitions by month, the open
//! partition limit, and parsing on another thread giving the same batches.

use ltx_model::Conversation;
use serde_json::json;

use super::*;

#[test]
fn batches_are_split_at_batch_rows_and_partitioned_by_month() {
    let mut cfg = config();
    cfg.batch_rows = 2;
    let mut t = Transformer::new(cfg);
    let mut drained = Vec::new();
    for i in 0..5 {
        let month = if i % 2 == 0 {
            "2026-01-10T12:00:00"
        } else {
            "2026-02-10T12:00:00"
        };
        let mut v = example();
        v["id"] = json!(1000 + i);
        v["created_at"] = json!(month);
        t.push_json(&v.to_string());
        drained.extend(t.drain_full());
    }
    // Three January conversations with three messages each: full batches were drained early.
    assert!(drained.iter().any(|b| b.table == Table::ChatMessages));
    let (rest, stats) = t.finish();
    let all: Vec<TableBatch> = drained.into_iter().chain(rest).collect();
    assert!(all
        .iter()
        .all(|b| b.batch.num_rows() <= 2 && b.batch.num_rows() > 0));
    let conv_jan: usize = all
        .iter()
        .filter(|b| b.table == Table::Conversations && b.partition == "default/2026-01")
        .map(|b| b.batch.num_rows())
        .sum();
    let conv_feb: usize = all
        .iter()
        .filter(|b| b.table == Table::Conversations && b.partition == "default/2026-02")
        .map(|b| b.batch.num_rows())
        .sum();
    assert_eq!((conv_jan, conv_feb), (3, 2));
    assert_eq!(table(&all, Table::ChatMessages).num_rows(), 15);
    assert_eq!(stats.rows_of(Table::ChatMessages), 15);
    for b in &all {
        assert_eq!(b.batch.schema(), b.table.schema());
    }
}

#[test]
fn drain_full_emits_nothing_below_batch_rows() {
    let mut t = Transformer::new(config());
    t.push_json(EXAMPLE);
    assert!(t.drain_full().is_empty());
    let (rest, _) = t.finish();
    assert_eq!(
        rest.len(),
        11,
        "one batch per non-empty table (no complaints, issues, rejects)"
    );
}

#[test]
fn parsing_on_another_thread_gives_the_same_batches() {
    let mut bad = example();
    bad["updated_at"] = json!("yesterday");
    let mut raws: Vec<String> = (0..6)
        .map(|i| {
            let mut v = example();
            v["id"] = json!(1000 + i);
            v.to_string()
        })
        .collect();
    raws.insert(3, bad.to_string());
    let (expected, expected_stats) = run(config(), &raws);

    let mut t = Transformer::new(config());
    let (first, second) = raws.split_at(raws.len() / 2);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            first
                .iter()
                .map(|r| Conversation::from_json(r))
                .collect::<Vec<_>>()
        });
        let mine: Vec<_> = second.iter().map(|r| Conversation::from_json(r)).collect();
        let theirs = worker.join().unwrap();
        for (raw, parsed) in raws.iter().zip(theirs.into_iter().chain(mine)) {
            t.push_parsed(raw, parsed);
        }
    });
    let (got, stats) = t.finish();
    assert_eq!(stats, expected_stats);
    assert_eq!(stats.rejected, 1);
    assert_eq!(got.len(), expected.len());
    for (a, b) in got.iter().zip(&expected) {
        assert_eq!((a.table, &a.partition), (b.table, &b.partition));
        assert_eq!(a.batch, b.batch, "{}", a.table.name());
    }
}

#[test]
fn months_beyond_the_open_partition_limit_lose_no_row() {
    // 30 months in time order, then back, then scattered; batches larger than the input,
    // so rows leave the transformer early only when a partition is closed.
    let months: Vec<u32> = (0..30)
        .chain((0..30).rev())
        .chain((0..30).step_by(7))
        .collect();
    let raws: Vec<String> = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("{}-{:02}-10T12:00:00", 2020 + m / 12, m % 12 + 1);
            let mut c = example();
            c["id"] = json!(1000 + i);
            c["created_at"] = json!(at);
            c["updated_at"] = json!(at);
            c.to_string()
        })
        .collect();
    let mut cfg = config();
    cfg.batch_rows = 1_000_000;
    let mut t = Transformer::new(cfg.clone());
    let mut batches = Vec::new();
    let mut early = 0;
    for raw in &raws {
        t.push_json(raw);
        assert!(t.open_partitions() <= crate::transformer::MAX_OPEN_PARTITIONS);
        let drained = t.drain_full();
        early += drained.len();
        batches.extend(drained);
    }
    assert!(early > 0, "no partition was closed");
    let (rest, stats) = t.finish();
    batches.extend(rest);
    assert_eq!(stats.conversations, raws.len() as u64);
    // Rows per table: the sum of each conversation transformed on its own.
    for tbl in Table::ALL {
        let got: u64 = batches
            .iter()
            .filter(|b| b.table == tbl)
            .map(|b| b.batch.num_rows() as u64)
            .sum();
        let want: u64 = raws
            .iter()
            .map(|r| run(cfg.clone(), std::slice::from_ref(r)).1.rows[tbl.name()])
            .sum();
        assert_eq!(got, want, "{}", tbl.name());
    }
    // Every conversation once, in its own month's partition.
    let mut ids = Vec::new();
    for b in batches.iter().filter(|b| b.table == Table::Conversations) {
        let created = tss(&b.batch, "created_at");
        for (id, at) in ints(&b.batch, "conversation_id").into_iter().zip(created) {
            let at = DateTime::from_timestamp_micros(at.unwrap()).unwrap();
            assert_eq!(
                b.partition,
                format!("default/{}", crate::transformer::month_of(at))
            );
            ids.push(id.unwrap());
        }
    }
    ids.sort_unstable();
    assert_eq!(ids, (1000..1000 + raws.len() as i64).collect::<Vec<_>>());
}
