//! Measures account generation at scale: index build time, memory, per-conversation cost.
//!
//! `cargo run --release -p ltx-sim --example sim_scale -- 1000000`
#![allow(missing_docs)]

use std::time::Instant;

use ltx_sim::{Account, SimConfig};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let cfg = SimConfig {
        conversations: n,
        ..SimConfig::default()
    };
    let t = Instant::now();
    let account = Account::new(&cfg);
    println!(
        "index of {n} conversations: {:.2?}, RSS {:.0} MB",
        t.elapsed(),
        rss_mb()
    );
    let t = Instant::now();
    let truth = account.ground_truth(cfg.start_clock);
    println!(
        "ground truth ({} ids): {:.2?}, RSS {:.0} MB",
        truth.len(),
        t.elapsed(),
        rss_mb()
    );
    let t = Instant::now();
    let sample = 10_000.min(n);
    let mut bytes = 0usize;
    for (id, _) in truth.iter().take(sample as usize) {
        if let Some(v) = account.conversation_json(*id, cfg.start_clock) {
            bytes += serde_json::to_vec(&v).map_or(0, |b| b.len());
        }
    }
    let el = t.elapsed();
    println!(
        "{sample} conversations generated+serialized in {el:.2?} ({:.1} µs each, {:.1} KB avg)",
        el.as_secs_f64() * 1e6 / sample as f64,
        bytes as f64 / sample as f64 / 1024.0
    );
}
