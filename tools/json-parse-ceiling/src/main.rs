//! The ceiling for `ltx-transform`'s throughput on this machine: how many conversations per
//! second of one core general-purpose JSON parsers take just to *read* the simulator's
//! conversations (no model, no Arrow). Anything that turns JSON bytes into Arrow columns
//! does at least this work, so its throughput cannot be higher.
//!
//! ```sh
//! RUSTFLAGS="-C target-cpu=native" cargo run --release \
//!   --manifest-path tools/json-parse-ceiling/Cargo.toml -- FILE.jsonl
//! ```
//!
//! Each parser runs over every line, three rounds; the figure is conversations per second
//! of this thread's CPU time (from `/proc/thread-self/schedstat`), best and median round.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde::de::IgnoredAny;

/// CPU time of this thread in ns (Linux).
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    text.split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .expect("schedstat's first field")
}

/// Rounds of `parse` over all lines; returns conversations/s of CPU time per round.
fn measure(lines: &[&str], mut parse: impl FnMut(&str)) -> Vec<f64> {
    (0..3)
        .map(|_| {
            let start = thread_cpu_ns();
            for line in lines {
                parse(line);
            }
            let secs = (thread_cpu_ns() - start) as f64 / 1e9;
            lines.len() as f64 / secs
        })
        .collect()
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: json-parse-ceiling FILE.jsonl");
    let text = std::fs::read_to_string(&path).expect("readable UTF-8 file");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let avg = text.len() as f64 / lines.len() as f64;
    println!(
        "{} conversations, {:.0} bytes each on average (one core, CPU time)",
        lines.len(),
        avg
    );
    // simd-json parses in place: each round works on a fresh copy, made outside the timing.
    let mut buffers = simd_json::Buffers::default();
    let mut nodes = 0usize;
    let simd_tape = {
        let mut copies: Vec<Vec<u8>> = Vec::new();
        (0..3)
            .map(|_| {
                copies.clear();
                copies.extend(lines.iter().map(|l| l.as_bytes().to_vec()));
                let start = thread_cpu_ns();
                for c in copies.iter_mut() {
                    let tape = simd_json::to_tape_with_buffers(c, &mut buffers).expect("valid JSON");
                    nodes += tape.0.len();
                }
                lines.len() as f64 / ((thread_cpu_ns() - start) as f64 / 1e9)
            })
            .collect::<Vec<_>>()
    };
    let runs: Vec<(&str, Vec<f64>)> = vec![
        (
            "serde_json, validate only (IgnoredAny)",
            measure(&lines, |l| {
                let _: IgnoredAny = serde_json::from_str(l).expect("valid JSON");
            }),
        ),
        (
            "sonic-rs (SIMD), validate only (IgnoredAny)",
            measure(&lines, |l| {
                let _: IgnoredAny = sonic_rs::from_str(l).expect("valid JSON");
            }),
        ),
        (
            "sonic-rs (SIMD), DOM (sonic_rs::Value)",
            measure(&lines, |l| {
                let v: sonic_rs::Value = sonic_rs::from_str(l).expect("valid JSON");
                std::hint::black_box(v);
            }),
        ),
        ("simd-json (simdjson port), tape only", simd_tape),
    ];
    println!(
        "simd-json tape: {:.0} nodes per conversation",
        nodes as f64 / (3 * lines.len()) as f64
    );
    for (name, mut rates) in runs {
        rates.sort_by(f64::total_cmp);
        println!(
            "{name:<45} best {:>7.0} conv/s ({:>4.0} MB/s), median {:>7.0} conv/s",
            rates[2],
            rates[2] * avg / 1e6,
            rates[1]
        );
    }
}
