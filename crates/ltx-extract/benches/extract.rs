//! Extraction throughput against the simulator at 20 ms latency per request, for
//! concurrency 1, 4 and 16, in both modes (v2 profile). A bench binary, not a test:
//! `cargo bench -p ltx-extract --bench extract` prints conversations/s.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ltx_extract::{
    extract_with, plan, AuthConfig, Client, ExtractConfig, Item, Metrics, Mode, PlanParams,
    Profile, Secret,
};
use ltx_sim::{Faults, SimConfig, SimServer};
use tokio::sync::mpsc;

async fn one(sim: &ltx_sim::SimHandle, mode: Mode, concurrency: usize) -> (u64, Duration, u64) {
    let mut cfg = ExtractConfig::new(
        Profile::V2,
        AuthConfig::Token {
            token: Secret::new(sim.token()),
        },
    );
    cfg.base_url = Some(sim.base_url());
    cfg.mode = mode;
    cfg.concurrency = concurrency;
    cfg.settle = Duration::ZERO;
    cfg.window = Duration::from_secs(86_400);
    let client = Client::new(&cfg, Arc::new(Metrics::default())).unwrap();
    let now = client.server_now().await.unwrap();
    let range = plan(&PlanParams {
        cursor: None,
        lookback: cfg.lookback,
        start_date: Some(now - chrono::Duration::days(i64::from(sim.config().history_days) + 1)),
        now,
        settle: cfg.settle,
        full_refresh: false,
        from: None,
        to: None,
        window_size: cfg.window,
    })
    .unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let drain = tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(item) = rx.recv().await {
            if let Item::Conversation(_) = item {
                n += 1;
            }
        }
        n
    });
    let started = Instant::now();
    let summary = extract_with(&client, &range, tx).await.unwrap();
    let elapsed = started.elapsed();
    let n = drain.await.unwrap();
    (n, elapsed, summary.requests)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("mode      conversations  concurrency  requests  seconds  conversations/s");
        for (mode, n) in [(Mode::List, 10_000u64), (Mode::Discover, 1_000)] {
            let sim = SimServer::start(SimConfig {
                conversations: n,
                faults: Faults {
                    latency: Duration::from_millis(20),
                    ..Faults::default()
                },
                ..SimConfig::default()
            })
            .await
            .unwrap();
            for concurrency in [1usize, 4, 16] {
                let (got, elapsed, requests) = one(&sim, mode, concurrency).await;
                println!(
                    "{:<9} {got:>13}  {concurrency:>11}  {requests:>8}  {:>7.2}  {:>15.0}",
                    format!("{mode:?}").to_lowercase(),
                    elapsed.as_secs_f64(),
                    got as f64 / elapsed.as_secs_f64()
                );
            }
            sim.shutdown().await;
        }
    });
}
