//! ltx-extract: turns the LiveTex API into a stream of conversations for the transform.
//!
//! Owns: HTTP (reqwest + rustls), the two API profiles (`v2`, `web-api`) in
//! [`profile`], authentication (static token or OAuth2 password grant with single-flight
//! renewal), retries with backoff and jitter, 429 `Retry-After`, client-side rate and
//! concurrency limits, sync windows ([`window::plan`]), loss-free keyset paging
//! ([`list`]) guarded against servers that ignore `offset` or lie in `total` (`guard`),
//! discover mode ([`discover`]), per-sync dedupe by id, the check that a run got what the
//! API announced ([`completeness`]), redirects only within the API's origin (`redirect`:
//! requests carry credentials), and a file source ([`files`]) for imports and
//! raw-archive replay.
//!
//! Does not own: the conversation's typed model (ltx-model), tables (ltx-transform),
//! storage or the cursor (ltx-load), argument parsing and progress bars (ltx-cli).
//!
//! Output contract: every conversation whose `updated_at` lies in the sync range at the
//! time it is paged arrives exactly once per sync (a conversation changed mid-sync may
//! arrive again at its newer version in discover mode), as [`Item::Conversation`]
//! through a bounded channel. Records whose `id`/`updated_at` cannot be read arrive as
//! [`Item::Unreadable`] so the transform writes them to `_rejected` — never dropped.

pub mod auth;
pub mod client;
pub mod completeness;
pub mod config;
pub mod discover;
pub(crate) mod emit;
pub mod error;
pub mod fields;
pub mod files;
pub(crate) mod guard;
pub mod item;
pub mod list;
pub mod metrics;
pub(crate) mod page;
pub mod profile;
pub(crate) mod redirect;
pub mod warning;
pub mod window;

use std::sync::Arc;
use std::time::Instant;

use chrono::TimeDelta;
use tokio::sync::mpsc;

pub use client::Client;
pub use config::{AuthConfig, ExtractConfig, Mode, Secret};
pub use error::ExtractError;
pub use fields::CONVERSATION_FIELDS;
pub use item::{Extracted, Item, Unreadable};
pub use metrics::{ExtractSummary, Metrics};
pub use profile::Profile;
pub use warning::ExtractWarning;
pub use window::{plan, PlanParams, SyncRange, Window};

/// Extracts every conversation of `range` into `tx` with a new [`Client`].
///
/// Prefer [`extract_with`] when a client already exists (e.g. after
/// [`Client::server_now`] was used to plan the range).
pub async fn extract(
    cfg: &ExtractConfig,
    range: &SyncRange,
    tx: mpsc::Sender<Item>,
    metrics: Arc<Metrics>,
) -> Result<ExtractSummary, ExtractError> {
    let client = Client::new(cfg, metrics)?;
    extract_with(&client, range, tx).await
}

/// Extracts every conversation of `range` into `tx`, in the client's configured mode.
///
/// Returns when every window is paged (and, in discover mode, every id fetched), or at
/// the first error that retries cannot fix. The summary counts this call only.
pub async fn extract_with(
    client: &Client,
    range: &SyncRange,
    tx: mpsc::Sender<Item>,
) -> Result<ExtractSummary, ExtractError> {
    let started = Instant::now();
    let metrics = client.metrics().clone();
    let before = metrics.snapshot(std::time::Duration::ZERO);
    let range = split_for_concurrency(range, client.config().concurrency);
    Metrics::add(&metrics.windows_total, range.windows.len() as u64);
    let span = tracing::info_span!(
        "extract",
        profile = client.profile().name(),
        mode = ?client.config().mode,
        from = %range.from,
        to = %range.to,
        windows = range.windows.len()
    );
    let emitter = emit::Emitter::new(tx, metrics.clone());
    let run = async {
        match client.config().mode {
            Mode::List => list::run_list(client, &range, &emitter).await,
            Mode::Discover => discover::run_discover(client, &range, &emitter).await,
        }
    };
    tracing::Instrument::instrument(run, span.clone()).await?;
    let mut summary = metrics.snapshot(started.elapsed()).since(&before);
    summary.warnings = completeness::assess(client, &summary)?;
    // The API's clock was ahead of ours: its newest records wait for a later sync.
    if let Some(message) = client.clock_warning() {
        summary.warnings.push(ExtractWarning {
            check: "api_clock_ahead",
            count: 1,
            message,
        });
    }
    tracing::info!(parent: &span, conversations = summary.conversations, pages = summary.pages, requests = summary.requests, retries = summary.retries, elapsed_ms = summary.elapsed.as_millis() as u64, "extract done");
    Ok(summary)
}

/// Splits the windows of a range further when there are fewer than `concurrency` of
/// them (an incremental sync is usually one window), so that windows can be paged in
/// parallel. Pieces are whole seconds and never shorter than a minute.
fn split_for_concurrency(range: &SyncRange, concurrency: usize) -> SyncRange {
    let n = range.windows.len();
    if n == 0 || n >= concurrency {
        return range.clone();
    }
    let pieces = concurrency.div_ceil(n) as i64;
    let mut windows = Vec::new();
    for w in &range.windows {
        let secs = (w.to - w.from).num_seconds();
        let k = pieces.min(secs / 60).max(1);
        let step = secs / k;
        let mut from = w.from;
        for i in 0..k {
            let to = if i == k - 1 {
                w.to
            } else {
                from + TimeDelta::seconds(step)
            };
            windows.push(Window { from, to });
            from = to;
        }
    }
    SyncRange {
        from: range.from,
        to: range.to,
        windows,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn small_ranges_are_split_to_use_concurrency() {
        let from: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        let r = SyncRange::single(from, from + TimeDelta::hours(1));
        let s = split_for_concurrency(&r, 4);
        assert_eq!(s.windows.len(), 4);
        assert_eq!(s.windows[0].from, r.from);
        assert_eq!(s.windows[3].to, r.to);
        for pair in s.windows.windows(2) {
            assert_eq!(pair[0].to, pair[1].from);
        }
        // A 90-second window is not cut below a minute.
        let r = SyncRange::single(from, from + TimeDelta::seconds(90));
        assert_eq!(split_for_concurrency(&r, 8).windows.len(), 1);
    }
}
