//! Throughput of JSON bytes → Arrow batches (parse + transform), in conversations/s.
//!
//! Input: 100k conversations from the simulator's generator (`ltx_sim::write_jsonl`,
//! seed 42), held in memory as JSON lines, so only parsing and transforming are timed.
//! `LTX_BENCH_N` overrides the count; `LTX_BENCH_INPUT=file.jsonl` reads saved input instead
//! (`LTX_BENCH_SAVE=file.jsonl` writes the generated input); `LTX_BENCH_ONE_PASS=1` stops after
//! one timed pass (for callgrind). Run: `cargo bench -p ltx-transform`.
#![allow(missing_docs, clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ltx_model::Conversation;
use ltx_transform::{TransformConfig, Transformer};

fn input() -> Vec<String> {
    // A saved JSON Lines file skips the generator (useful when profiling).
    if let Ok(path) = std::env::var("LTX_BENCH_INPUT") {
        let text = std::fs::read_to_string(&path).unwrap();
        return text.lines().map(str::to_owned).collect();
    }
    let n: u64 = std::env::var("LTX_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let lines = ltx_sim::jsonl_lines(&ltx_sim::SimConfig::default(), n).unwrap();
    if let Ok(path) = std::env::var("LTX_BENCH_SAVE") {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).unwrap();
    }
    lines
}

fn transform_all(lines: &[String]) -> usize {
    let config = TransformConfig::new("bench", Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    let mut t = Transformer::new(config);
    let mut rows = 0;
    for line in lines {
        t.push_json(line);
        rows += t
            .drain_full()
            .iter()
            .map(|b| b.batch.num_rows())
            .sum::<usize>();
    }
    let (rest, stats) = t.finish();
    assert_eq!(stats.rejected, 0);
    rows + rest.iter().map(|b| b.batch.num_rows()).sum::<usize>()
}

fn transform_pool(lines: &[String], workers: usize) -> usize {
    let config = TransformConfig::new("bench", Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    let mut pool = ltx_transform::TransformPool::new(config, workers);
    let mut rows = 0usize;
    let mut sink =
        |batches: Vec<ltx_transform::TableBatch>| -> Result<(), ltx_transform::pool::PoolError> {
            rows += batches.iter().map(|b| b.batch.num_rows()).sum::<usize>();
            Ok(())
        };
    for line in lines {
        pool.push(ltx_transform::Record::Json(line.as_str().into()), &mut sink)
            .unwrap();
    }
    let stats = pool.finish(&mut sink).unwrap();
    assert_eq!(stats.rejected, 0);
    rows
}

/// CPU time of this thread in ns (Linux), so a loaded machine does not distort the figure.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let lines = input();
    // One timed pass by CPU time (criterion below reports wall-clock time).
    if let Some(start) = thread_cpu_ns() {
        let wall = std::time::Instant::now();
        let rows = transform_all(&lines);
        if let Some(end) = thread_cpu_ns() {
            let cpu_s = (end - start) as f64 / 1e9;
            eprintln!(
                "one pass: {} conversations -> {rows} rows in {cpu_s:.2} s CPU ({:.2} s wall): {:.0} conversations/s CPU, {:.0} MB/s",
                lines.len(),
                wall.elapsed().as_secs_f64(),
                lines.len() as f64 / cpu_s,
                lines.iter().map(String::len).sum::<usize>() as f64 / cpu_s / 1e6
            );
        }
    }
    // `LTX_BENCH_ONE_PASS=1`: only the pass above (for `valgrind --tool=callgrind`).
    if std::env::var_os("LTX_BENCH_ONE_PASS").is_some() {
        return;
    }
    let bytes: usize = lines.iter().map(String::len).sum();
    eprintln!(
        "input: {} conversations, {:.1} MB of JSON ({} bytes/conversation)",
        lines.len(),
        bytes as f64 / 1e6,
        bytes / lines.len().max(1)
    );
    let mut g = c.benchmark_group("transform");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("json_to_arrow", |b| b.iter(|| transform_all(&lines)));
    // The product's path (`ltx sync`/`ltx import`): a TransformPool, one worker per core.
    let workers = ltx_transform::pool::default_workers();
    g.bench_function(format!("pool_{workers}_workers"), |b| {
        b.iter(|| transform_pool(&lines, workers))
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| Conversation::from_json(l).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
