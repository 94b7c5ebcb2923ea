//! Paging that cannot spin: checks every page of a window against what paging already
//! received, so that a server that ignores `offset`, repeats pages or lies in `total`
//! stops the window with an error after a bounded number of requests instead of looping
//! forever or silently skipping records.
//!
//! Keyset requests (offset 0, each with a later `from`) are immune to offset bugs; the
//! danger is offset paging within one range (a crowded second, the no-`updated_at`
//! fallback): a server that serves page 1 at every offset ends such a scan with only page
//! 1 received when `total` is known (silent loss), or never ends it when it is not. So:
//!
//! - **Repeated page** (error): a page at an offset > 0 that holds no record the current
//!   scan of that range has not already received. Records of a past second only ever leave
//!   it (an update moves them to "now"), which shifts later records *down*: an honest
//!   server can skip ahead of us but never serve a whole page again. The same request is
//!   asked once more (a stale cache may answer right the second time); a second repeat
//!   fails the window.
//! - **Request budget** (error): a window may use at most [`BUDGET_BASE`] +
//!   [`BUDGET_PER_PAGE`] × (distinct records received / page size) requests. Legitimate
//!   paging stays far below (keyset overlap and re-scans of crowded seconds cost a few
//!   requests per page of new records); anything above it is a server that keeps
//!   answering without ever running out.
//! - **Total lies** (counted, warned): an empty page that announces records at or beyond
//!   its offset (`total > offset`), or a page holding records beyond its `total`. An
//!   honest server computes a page and its `total` from one state, so neither happens even
//!   while records change. The pager never ends a range on `total` after a full page (see
//!   `list::KeysetPager::advance`), and ends every range whose `total` announces more than
//!   it served on such an empty page: a lying `total` costs a request or two, never
//!   records. What the empty pages announced (the most, per window) is the window's
//!   *unserved* count, which the run summary reports (see `completeness`).
//!
//! Records are identified by a 64-bit hash of what identifies them (`id` and `updated_at`
//! when readable, the raw text otherwise), so that a server adding a volatile field (a
//! timestamp of the response) to every record cannot make a repeated page look new.

use std::collections::HashSet;

use crate::window::Window;

/// Requests a window may always use.
pub(crate) const BUDGET_BASE: u64 = 64;

/// Requests a window may use per page of distinct records received.
pub(crate) const BUDGET_PER_PAGE: u64 = 32;

/// Times one request is repeated after it returned a page already received.
const REPEAT_RETRIES: u32 = 1;

/// What to do after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The page brought something new (or is the start of a scan): go on.
    Progress,
    /// The page repeated records already received at a lower offset: ask the same request
    /// again (once) without advancing.
    AskAgain,
    /// Paging cannot go on without looping or skipping; the message says why.
    Stop(String),
}

/// The checks of one window and resource (no I/O; `page_window` reports every page).
#[derive(Debug)]
pub(crate) struct PageGuard {
    limit: u64,
    /// The range of the current offset scan and the records it received.
    scan: Option<Window>,
    scan_seen: HashSet<u64>,
    /// Every record received by this window (for the request budget).
    window_seen: HashSet<u64>,
    requests: u64,
    /// Repeats of the current request so far.
    repeats: u32,
    /// Pages whose `total` contradicted what they held.
    total_mismatches: u64,
    /// The most records an empty page announced beyond its offset.
    unserved: u64,
}

impl PageGuard {
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit: u64::from(limit.max(1)),
            scan: None,
            scan_seen: HashSet::new(),
            window_seen: HashSet::new(),
            requests: 0,
            repeats: 0,
            total_mismatches: 0,
            unserved: 0,
        }
    }

    /// Pages whose `total` contradicted the page (an empty first page announcing records, or
    /// more records than announced).
    pub(crate) fn total_mismatches(&self) -> u64 {
        self.total_mismatches
    }

    /// Records announced but never served: the most an empty page of this window announced
    /// beyond its offset.
    pub(crate) fn unserved(&self) -> u64 {
        self.unserved
    }

    /// Requests checked so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests
    }

    /// The request budget for what was received so far.
    pub(crate) fn budget(&self) -> u64 {
        let pages = self.window_seen.len() as u64 / self.limit;
        BUDGET_BASE.saturating_add(BUDGET_PER_PAGE.saturating_mul(pages))
    }

    /// Checks the page answered to `(range, offset)`: `keys` identify its records (see the
    /// module docs), `total` is its envelope's count.
    pub(crate) fn check(
        &mut self,
        range: &Window,
        offset: u64,
        keys: &[u64],
        total: Option<u64>,
    ) -> Verdict {
        self.requests += 1;
        let len = keys.len() as u64;
        if let Some(t) = total {
            if len == 0 && t > offset {
                // Records announced where there are none.
                self.total_mismatches += 1;
                self.unserved = self.unserved.max(t - offset);
            } else if len > 0 && offset.saturating_add(len) > t {
                // Records beyond the announced count.
                self.total_mismatches += 1;
            }
        }
        if offset == 0 || self.scan != Some(*range) {
            self.scan = Some(*range);
            self.scan_seen.clear();
        }
        let mut fresh = 0usize;
        for &k in keys {
            if self.scan_seen.insert(k) {
                fresh += 1;
            }
            self.window_seen.insert(k);
        }
        if offset > 0 && !keys.is_empty() && fresh == 0 {
            if self.repeats < REPEAT_RETRIES {
                self.repeats += 1;
                return Verdict::AskAgain;
            }
            return Verdict::Stop(format!(
                "the page at offset {offset} holds only records this range already returned at \
                 lower offsets ({} times in a row): the server ignores or repeats `offset`, so \
                 paging on would loop or skip records ({} distinct records received in this \
                 range)",
                self.repeats + 1,
                self.scan_seen.len()
            ));
        }
        self.repeats = 0;
        let budget = self.budget();
        if self.requests > budget {
            return Verdict::Stop(format!(
                "{} requests brought only {} distinct records (page size {}, budget {budget} \
                 requests): the server keeps answering without the pages ever ending",
                self.requests,
                self.window_seen.len(),
                self.limit
            ));
        }
        Verdict::Progress
    }
}

/// A record's identity for the guard: hash of `parts` (already-read identifying fields).
pub(crate) fn key_of(parts: &[&[u8]]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn w(from: i64, to: i64) -> Window {
        Window {
            from: DateTime::<Utc>::from_timestamp(from, 0).unwrap(),
            to: DateTime::<Utc>::from_timestamp(to, 0).unwrap(),
        }
    }

    fn keys(r: std::ops::Range<u64>) -> Vec<u64> {
        r.collect()
    }

    #[test]
    fn honest_offset_scans_and_keyset_pages_pass() {
        let mut g = PageGuard::new(10);
        let second = w(5, 6);
        assert_eq!(
            g.check(&second, 0, &keys(0..10), Some(25)),
            Verdict::Progress
        );
        assert_eq!(
            g.check(&second, 10, &keys(10..20), Some(25)),
            Verdict::Progress
        );
        assert_eq!(
            g.check(&second, 20, &keys(20..25), Some(25)),
            Verdict::Progress
        );
        // A re-scan of the same second re-reads the same records from offset 0: fine.
        assert_eq!(
            g.check(&second, 0, &keys(0..10), Some(25)),
            Verdict::Progress
        );
        assert_eq!(
            g.check(&second, 10, &keys(10..20), Some(25)),
            Verdict::Progress
        );
        // Keyset pages overlap at their boundary second: offset 0, never a repeat.
        assert_eq!(
            g.check(&w(6, 99), 0, &keys(24..34), Some(90)),
            Verdict::Progress
        );
        assert_eq!(
            g.check(&w(7, 99), 0, &keys(33..43), Some(80)),
            Verdict::Progress
        );
        // A page that shares some records with the last one (a record left the second
        // and shifted the rest): still progress.
        assert_eq!(
            g.check(&w(9, 10), 0, &keys(100..110), None),
            Verdict::Progress
        );
        assert_eq!(
            g.check(&w(9, 10), 10, &keys(109..119), None),
            Verdict::Progress
        );
        assert_eq!(g.total_mismatches(), 0);
    }

    #[test]
    fn a_server_ignoring_offset_stops_the_scan_after_one_retry() {
        let mut g = PageGuard::new(10);
        let r = w(5, 6);
        assert_eq!(g.check(&r, 0, &keys(0..10), Some(40)), Verdict::Progress);
        assert_eq!(g.check(&r, 10, &keys(0..10), Some(40)), Verdict::AskAgain);
        match g.check(&r, 10, &keys(0..10), Some(40)) {
            Verdict::Stop(m) => assert!(m.contains("offset 10") && m.contains("ignores"), "{m}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn a_sporadic_repeat_is_asked_again_and_passes() {
        let mut g = PageGuard::new(10);
        let r = w(5, 6);
        g.check(&r, 0, &keys(0..10), None);
        g.check(&r, 10, &keys(10..20), None);
        assert_eq!(g.check(&r, 20, &keys(10..20), None), Verdict::AskAgain);
        assert_eq!(g.check(&r, 20, &keys(20..30), None), Verdict::Progress);
        // The retry allowance is per request, not per scan.
        assert_eq!(g.check(&r, 30, &keys(20..30), None), Verdict::AskAgain);
        assert_eq!(g.check(&r, 30, &keys(30..40), None), Verdict::Progress);
    }

    #[test]
    fn pages_that_never_end_exhaust_the_budget() {
        // A server that answers every keyset request with the same handful of records at
        // a new `from` would never repeat at an offset: the budget ends it.
        let mut g = PageGuard::new(10);
        let mut n = 0;
        let stop = loop {
            n += 1;
            match g.check(&w(n, 1_000_000), 0, &keys(0..10), Some(100)) {
                Verdict::Progress => {}
                v => break v,
            }
            assert!(n < 10_000, "never stopped");
        };
        assert!(
            matches!(stop, Verdict::Stop(ref m) if m.contains("10 distinct")),
            "{stop:?}"
        );
        assert_eq!(n as u64, BUDGET_BASE + BUDGET_PER_PAGE + 1);
    }

    #[test]
    fn totals_that_contradict_their_page_are_counted() {
        let mut g = PageGuard::new(10);
        g.check(&w(1, 2), 0, &[], Some(7)); // announced 7, served none
        g.check(&w(1, 2), 0, &keys(0..10), Some(3)); // 10 records, total 3
        g.check(&w(2, 3), 0, &keys(0..10), Some(10)); // honest
        g.check(&w(2, 3), 10, &[], Some(10)); // honest end
        g.check(&w(2, 3), 15, &[], Some(12)); // past the end of a shrunk range: honest
        assert_eq!(g.total_mismatches(), 2);
        assert_eq!(g.unserved(), 7);
        g.check(&w(3, 4), 5, &[], Some(1005)); // announced 1000 beyond offset 5
        assert_eq!(g.unserved(), 1000);
    }

    #[test]
    fn keys_differ_by_content() {
        assert_ne!(key_of(&[b"1", b"a"]), key_of(&[b"1", b"b"]));
        assert_eq!(key_of(&[b"1", b"a"]), key_of(&[b"1", b"a"]));
    }
}
