//! Full and incremental syncs against the simulator, in both modes and both profiles,
//! under 5xx, malformed bodies, 429s and mid-paging mutations.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Duration as ChronoDuration;
use common::*;
use ltx_extract::{Mode, Profile};

/// 20,000 conversations in release builds (CI); a quarter of that in debug builds, where
/// the simulator itself is slow to render conversations.
const N: u64 = if cfg!(debug_assertions) { 5_000 } else { 20_000 };

/// Full sync with faults, then a follow-up sync: together they return every
/// conversation exactly once per sync at its current version.
async fn full_then_follow_up(profile: Profile, mode: Mode, n: u64) {
    let sim = sim(n, faulty()).await;
    let cfg = config(&sim, profile, mode);
    let client = client(&cfg);
    let range = plan_sync(&client, None).await;
    let started = std::time::Instant::now();
    let first = run(&client, &range).await.unwrap();
    eprintln!("{profile:?}/{mode:?}: {:?} in {:?}", first.summary, started.elapsed());
    let got = first.by_id();
    let moved = check_against_truth(&sim, &range, &got);
    let stats = sim.stats();
    assert!(stats.mutations > 0, "the test must mutate mid-paging");
    assert!(first.summary.retries > 0, "the test must exercise retries");
    assert!(first.unreadable.is_empty());
    assert_eq!(got.len() as u64, first.summary.conversations);

    // The next sync (clock advanced, faults kept) catches the conversations changed mid-sync.
    sim.advance(ChronoDuration::minutes(5));
    let client = common::client(&cfg);
    let range2 = plan_sync(&client, Some(range.to)).await;
    let second = run(&client, &range2).await.unwrap();
    let got2 = second.by_id();
    let truth = sim.ground_truth(sim.now());
    for id in &moved {
        if truth[id] < range2.to {
            assert_eq!(got2.get(id), Some(&truth[id]), "changed conversation {id} not caught by the next sync");
        }
    }
    check_against_truth(&sim, &range2, &got2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_v2_list_loses_nothing() {
    full_then_follow_up(Profile::V2, Mode::List, N).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_web_api_list_loses_nothing() {
    full_then_follow_up(Profile::WebApi, Mode::List, N).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_v2_discover_loses_nothing() {
    full_then_follow_up(Profile::V2, Mode::Discover, N).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_web_api_discover_loses_nothing() {
    full_then_follow_up(Profile::WebApi, Mode::Discover, N).await;
}
