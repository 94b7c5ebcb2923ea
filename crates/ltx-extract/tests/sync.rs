//! Full and incremental syncs against the simulator, in both modes and both profiles,
//! of 20,000 conversations (release), under 10 % 5xx, 5 % 429, 2 % malformed bodies,
//! latency and mid-paging mutations.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Duration as ChronoDuration;
use common::*;
use ltx_extract::{Mode, Profile};

/// 20,000 conversations in release builds (CI), in both modes; a quarter of that in
/// debug builds, where the simulator itself is slow to render conversations.
const N: u64 = if cfg!(debug_assertions) {
    5_000
} else {
    20_000
};

/// Full sync with faults, then a follow-up sync: together they return every
/// conversation exactly once per sync at its current version.
async fn full_then_follow_up(profile: Profile, mode: Mode, n: u64) {
    let sim = sim(n, faulty()).await;
    let mut cfg = config(&sim, profile, mode);
    // Windows of a week hold more than a few pages each, so list mode must split them
    // (asserted below) while conversations change mid-paging.
    cfg.window = std::time::Duration::from_secs(7 * 86_400);
    let client = client(&cfg);
    let range = plan_sync(&client, None).await;
    let started = std::time::Instant::now();
    let first = run(&client, &range).await.unwrap();
    eprintln!(
        "{profile:?}/{mode:?}: {:?} in {:?}",
        first.summary,
        started.elapsed()
    );
    let got = first.by_id();
    let moved = check_against_truth(&sim, &range, &got);
    let stats = sim.stats();
    assert!(stats.mutations > 0, "the test must mutate mid-paging");
    assert!(first.summary.retries > 0, "the test must exercise retries");
    assert!(
        first.summary.rate_limited > 0,
        "the test must exercise 429s"
    );
    assert!(first.unreadable.is_empty());
    if mode == Mode::List {
        // Dense windows split themselves (and the test above found nothing lost).
        assert!(
            first.summary.windows > range.windows.len() as u64,
            "no window split: {} windows of {} planned",
            first.summary.windows,
            range.windows.len()
        );
    }
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
            assert_eq!(
                got2.get(id),
                Some(&truth[id]),
                "changed conversation {id} not caught by the next sync"
            );
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

/// Incremental syncs as the clock moves: each returns exactly the conversations whose
/// current version lies in `[cursor - lookback, now)`, which includes late arrivals
/// (visible only after the previous sync, with an `updated_at` before its end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_syncs_return_exactly_the_changed_window() {
    // A large account (only changes are rendered, so it stays fast) synced every 10
    // minutes over a day: late arrivals (3 % of new conversations, 5-40 min late) occur.
    let sim = sim(20_000, ltx_sim::Faults::default()).await;
    let mut cfg = config(&sim, Profile::V2, Mode::List);
    cfg.lookback = std::time::Duration::from_secs(3600);
    cfg.concurrency = 2;
    let mut cursor = sim.now();
    let mut previous = sim.ground_truth(cursor);
    let mut late_arrivals = 0;
    let mut changed_total = 0;
    let mut new_total = 0;
    for _ in 0..144 {
        sim.advance(ChronoDuration::minutes(10));
        let client = common::client(&cfg);
        let range = plan_sync(&client, Some(cursor)).await;
        assert_eq!(range.from, cursor - ChronoDuration::hours(1));
        let got = run(&client, &range).await.unwrap().by_id();
        let truth = sim.ground_truth(sim.now());
        let expected: std::collections::BTreeMap<_, _> = truth
            .iter()
            .filter(|(_, t)| **t >= range.from && **t < range.to)
            .map(|(id, t)| (*id, *t))
            .collect();
        assert_eq!(got, expected, "sync over [{}, {})", range.from, range.to);
        for (id, t) in &truth {
            if previous.get(id) != Some(t) {
                changed_total += 1;
                assert!(
                    got.contains_key(id),
                    "changed or new conversation {id} missed"
                );
                if !previous.contains_key(id) {
                    new_total += 1;
                    if *t < cursor {
                        late_arrivals += 1;
                    }
                }
            }
        }
        previous = truth;
        cursor = range.to;
    }
    eprintln!("{changed_total} changed, {new_total} new, {late_arrivals} late arrivals");
    assert!(changed_total > 0);
    assert!(late_arrivals > 0, "the account must produce late arrivals");
}

/// Every stored field is requested by default (the simulator honours `fields`, so a
/// missing name would drop that field); a configured list restricts what arrives, in
/// both profiles and both modes (list pages and single-conversation fetches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_are_requested_on_lists_and_fetches() {
    let sim = sim(150, ltx_sim::Faults::default()).await;
    for profile in [Profile::V2, Profile::WebApi] {
        for mode in [Mode::List, Mode::Discover] {
            let mut cfg = config(&sim, profile, mode);
            let all = run(&client(&cfg), &plan_sync(&client(&cfg), None).await)
                .await
                .unwrap();
            assert_eq!(all.conversations.len(), 150);
            for c in &all.conversations {
                let v: serde_json::Value = serde_json::from_str(c.raw.get()).unwrap();
                for f in [
                    "events",
                    "employees",
                    "chats",
                    "visitor_variables",
                    "widget_type",
                ] {
                    assert!(
                        v.get(f).is_some(),
                        "{profile:?}/{mode:?}: {} lacks {f}",
                        c.id
                    );
                }
            }
            cfg.fields = Some(
                ltx_extract::CONVERSATION_FIELDS
                    .iter()
                    .filter(|f| **f != "events")
                    .map(|f| (*f).to_owned())
                    .collect(),
            );
            let some = run(&client(&cfg), &plan_sync(&client(&cfg), None).await)
                .await
                .unwrap();
            assert_eq!(some.conversations.len(), 150);
            for c in &some.conversations {
                let v: serde_json::Value = serde_json::from_str(c.raw.get()).unwrap();
                assert!(
                    v.get("events").is_none(),
                    "{profile:?}/{mode:?}: events not asked for"
                );
                assert!(v.get("chats").is_some());
            }
        }
    }
}
