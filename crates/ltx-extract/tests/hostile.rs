//! The client against hostile answers from the simulator: bodies past `max_response_mb`,
//! `Retry-After` values no clock can add, and pages holding records that are not JSON.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use common::*;
use ltx_extract::{ExtractError, Mode, Profile};
use ltx_sim::Faults;

#[tokio::test]
async fn a_body_past_max_response_mb_fails_once_naming_the_request_and_the_limit() {
    let sim = sim(
        20,
        Faults {
            inflate_body_mb: 8,
            ..Faults::default()
        },
    )
    .await;
    let mut cfg = config(&sim, Profile::V2, Mode::List);
    cfg.max_response_mb = 4;
    let c = client(&cfg);
    let err = c.server_now().await.unwrap_err();
    assert!(
        matches!(err, ExtractError::ResponseTooLarge { .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("GET {}/v2/conversations", sim.base_url())),
        "{msg}"
    );
    assert!(
        msg.contains("larger than 4 MiB") && msg.contains("max_response_mb"),
        "{msg}"
    );
    // Deterministic: not retried.
    assert_eq!(c.metrics().requests.load(Ordering::Relaxed), 1);
    assert_eq!(c.metrics().retries.load(Ordering::Relaxed), 0);
    // Under the limit the same (gzip, padded) pages are read whole.
    cfg.max_response_mb = 16;
    let c = client(&cfg);
    let range = plan_sync(&c, None).await;
    let got = run(&c, &range).await.unwrap();
    check_against_truth(&sim, &range, &got.by_id());
}

#[tokio::test]
async fn a_retry_after_no_clock_can_add_is_an_error_not_a_panic() {
    for profile in [Profile::V2, Profile::WebApi] {
        let sim = sim(
            5,
            Faults {
                rate_limited_rate: 1.0,
                retry_after: Some("10000000000000000000".to_owned()),
                ..Faults::default()
            },
        )
        .await;
        let c = client(&config(&sim, profile, Mode::List));
        let err = c.server_now().await.unwrap_err();
        assert!(
            matches!(err, ExtractError::RetryAfterTooLong { .. }),
            "{err}"
        );
        let msg = err.to_string();
        for part in [
            "10000000000000000000s",
            "e11 years",
            "HTTP 429",
            "max_retry_wait (5m)",
        ] {
            assert!(msg.contains(part), "{profile:?}: {part:?} in {msg}");
        }
        assert_eq!(c.metrics().retries.load(Ordering::Relaxed), 0);
    }
}

#[tokio::test]
async fn records_that_are_not_json_are_unreadable_items_and_the_rest_arrives() {
    let sim = sim(
        300,
        Faults {
            non_json_rate: 0.1,
            ..Faults::default()
        },
    )
    .await;
    let truth = sim.ground_truth(sim.now());
    let bad: BTreeSet<i64> = truth
        .keys()
        .copied()
        .filter(|&id| sim.non_json_kind(id).is_some())
        .collect();
    assert!(bad.len() > 10, "{}", bad.len());
    let cfg = config(&sim, Profile::V2, Mode::List);
    let c = client(&cfg);
    let range = plan_sync(&c, None).await;
    let got = run(&c, &range).await.unwrap();
    // Every bad record arrives once as unreadable, with its bytes and the reason.
    let mut named = BTreeSet::new();
    for u in &got.unreadable {
        assert!(u.error.starts_with("not valid JSON"), "{}", u.error);
        let id = bad
            .iter()
            .find(|id| u.error.ends_with(&format!("\"id\" reads {id}")))
            .unwrap_or_else(|| panic!("{}", u.error));
        assert!(u.raw.get().contains(&format!("\"id\":{id}")));
        assert!(u.origin.contains("/v2/conversations"), "{}", u.origin);
        assert!(named.insert(*id), "{id} twice");
    }
    assert_eq!(named, bad);
    // Everything else arrives, and no page was retried (a quarantine is no failure).
    let ids: BTreeSet<i64> = got.by_id().keys().copied().collect();
    let want: BTreeSet<i64> = truth
        .keys()
        .copied()
        .filter(|id| !bad.contains(id))
        .collect();
    assert_eq!(ids, want);
    assert_eq!(got.summary.retries, 0);
}
