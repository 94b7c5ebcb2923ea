//! Progress counters shared between the extractor's tasks and the CLI's progress bars.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::warning::ExtractWarning;

/// Live counters (atomics; read them any time for progress display).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Windows planned for the running sync.
    pub windows_total: AtomicU64,
    /// Windows fully paged.
    pub windows_done: AtomicU64,
    /// List pages received.
    pub pages: AtomicU64,
    /// Sum of `total` of the first page of each window and resource (expected records).
    pub total_reported: AtomicU64,
    /// Conversations sent to the channel.
    pub conversations: AtomicU64,
    /// Records already emitted at the same or a newer `updated_at` (skipped).
    pub duplicates_skipped: AtomicU64,
    /// Records whose `id`/`updated_at` could not be read (sent as [`crate::Item::Unreadable`]).
    pub unreadable: AtomicU64,
    /// Discovered conversation ids answered 404 (discover mode; logged, and fatal when
    /// they are most of the discovered ids: see [`crate::completeness`]).
    pub not_found: AtomicU64,
    /// Distinct conversation ids discovered (discover mode).
    pub discovered: AtomicU64,
    /// Single-conversation (`show`) requests answered, found or 404 (discover mode).
    pub shows: AtomicU64,
    /// List pages whose `total` contradicted what they held (see `guard`).
    pub total_mismatches: AtomicU64,
    /// Records list `total`s announced but no page served (per window, the most an empty
    /// page announced beyond its offset; see `guard`).
    pub total_unserved: AtomicU64,
    /// HTTP requests sent (including retries and logins).
    pub requests: AtomicU64,
    /// Retried attempts.
    pub retries: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
    /// Response body bytes received.
    pub bytes: AtomicU64,
    /// Successful logins (password auth).
    pub logins: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough copy of every counter.
    pub fn snapshot(&self, elapsed: Duration) -> ExtractSummary {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ExtractSummary {
            windows: g(&self.windows_done),
            pages: g(&self.pages),
            total_reported: g(&self.total_reported),
            conversations: g(&self.conversations),
            duplicates_skipped: g(&self.duplicates_skipped),
            unreadable: g(&self.unreadable),
            not_found: g(&self.not_found),
            discovered: g(&self.discovered),
            shows: g(&self.shows),
            total_mismatches: g(&self.total_mismatches),
            total_unserved: g(&self.total_unserved),
            requests: g(&self.requests),
            retries: g(&self.retries),
            rate_limited: g(&self.rate_limited),
            bytes: g(&self.bytes),
            logins: g(&self.logins),
            elapsed,
            warnings: Vec::new(),
        }
    }
}

impl ExtractSummary {
    /// The counts accumulated since `before` (for a [`Metrics`] shared by several runs).
    pub fn since(&self, before: &ExtractSummary) -> ExtractSummary {
        ExtractSummary {
            windows: self.windows.saturating_sub(before.windows),
            pages: self.pages.saturating_sub(before.pages),
            total_reported: self.total_reported.saturating_sub(before.total_reported),
            conversations: self.conversations.saturating_sub(before.conversations),
            duplicates_skipped: self
                .duplicates_skipped
                .saturating_sub(before.duplicates_skipped),
            unreadable: self.unreadable.saturating_sub(before.unreadable),
            not_found: self.not_found.saturating_sub(before.not_found),
            discovered: self.discovered.saturating_sub(before.discovered),
            shows: self.shows.saturating_sub(before.shows),
            total_mismatches: self
                .total_mismatches
                .saturating_sub(before.total_mismatches),
            total_unserved: self.total_unserved.saturating_sub(before.total_unserved),
            requests: self.requests.saturating_sub(before.requests),
            retries: self.retries.saturating_sub(before.retries),
            rate_limited: self.rate_limited.saturating_sub(before.rate_limited),
            bytes: self.bytes.saturating_sub(before.bytes),
            logins: self.logins.saturating_sub(before.logins),
            elapsed: self.elapsed,
            warnings: self.warnings.clone(),
        }
    }
}

/// The counters at the end of an extraction (see [`Metrics`] for their meaning).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Windows fully paged.
    pub windows: u64,
    /// List pages received.
    pub pages: u64,
    /// Sum of first-page `total`s.
    pub total_reported: u64,
    /// Conversations sent.
    pub conversations: u64,
    /// Records skipped as already emitted.
    pub duplicates_skipped: u64,
    /// Unreadable records sent as `Item::Unreadable`.
    pub unreadable: u64,
    /// Discovered ids answered 404.
    pub not_found: u64,
    /// Distinct conversation ids discovered.
    pub discovered: u64,
    /// `show` requests answered (found or 404).
    pub shows: u64,
    /// List pages whose `total` contradicted what they held.
    pub total_mismatches: u64,
    /// Records announced by list `total`s that no page served.
    pub total_unserved: u64,
    /// HTTP requests.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Body bytes.
    pub bytes: u64,
    /// Logins.
    pub logins: u64,
    /// Wall time of the extraction.
    pub elapsed: Duration,
    /// What the run found short of what the API announced, short of failing it (see
    /// [`crate::completeness`]); callers show these in the run summary and the run log.
    pub warnings: Vec<ExtractWarning>,
}
