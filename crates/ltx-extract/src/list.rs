//! Loss-free paging of one window with keyset paging, and list mode.
//!
//! Offset paging over a list sorted by `updated_at` loses records when records change
//! during the sync: an updated record moves to the end and every later record shifts
//! one offset down, so a page boundary skips one. Keyset paging does not depend on
//! offsets: each page asks for `updated_at >= T` (T = the greatest `updated_at` seen in
//! the window so far, truncated to the second) at offset 0, and the records already
//! emitted at the same `(id, updated_at)` are dropped by the [`Emitter`]. A record that
//! changes during the sync moves past the window end and is caught by the next sync
//! (its cursor is this sync's end); nothing that stays inside the window is skipped.
//!
//! If a whole page shares one second (more records in one second than a page holds),
//! keyset cannot advance: that single second is paged with offsets, and re-paged while
//! its `total` changes during the scan (bounded), then T moves to the next second.
//!
//! Windows split themselves where the data is: when a page reports that more than
//! [`SPLIT_PAGES`] pages remain in `[T, to)`, the window keeps `[T, mid)` and hands
//! `[mid, to)` to the scheduler as a new window, paged concurrently. A sync over ten
//! mostly empty years therefore costs one request per empty stretch, not one per day, and
//! a dense month is paged by several workers. Nothing is lost by a split: both halves are
//! keyset-paged to their ends, and a record on a page that reached past `mid` is fetched
//! again by the new window and dropped by the [`Emitter`].
//!
//! `total` is a hint, never the only reason to stop: a range ends on an empty page, or on
//! a short page whose `total` agrees (a short page alone when there is none), but not on a
//! full page that `total` says is the last. A server whose `total` is the page's own length
//! (or any understatement) would otherwise end every range after one page; the price is one
//! request when a range holds exactly a multiple of the page size. Every page also passes
//! the `guard`: an offset that the server ignores or repeats, or pages that never
//! end, stop the window with an error after a bounded number of requests.

use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::client::{Client, Page, Request};
use crate::emit::{Emitter, Sink};
use crate::error::ExtractError;
use crate::guard::{key_of, PageGuard, Verdict};
use crate::item::{child_head, ChildHead};
use crate::metrics::Metrics;
use crate::profile::Resource;
use crate::window::{floor_s, SyncRange, Window};

/// How many times a single crowded second is re-scanned while its total keeps changing.
const MAX_SECOND_SCANS: u32 = 5;

/// A window whose remaining `total` exceeds this many pages splits off its second half.
pub(crate) const SPLIT_PAGES: u64 = 4;

/// Windows are not split below this many seconds.
const MIN_SPLIT_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `updated_at >= t`, offset 0.
    Keyset,
    /// Paging the single second `[s, s + 1 s)` by offset.
    Second {
        s: DateTime<Utc>,
        offset: u64,
        scan_total: Option<u64>,
        unstable: bool,
        scans: u32,
    },
    /// Fallback when a full page has no readable `updated_at`: plain offsets over `[t, to)`.
    Offset { offset: u64 },
}

/// The keyset paging state machine of one window and resource (no I/O: the caller
/// fetches what [`KeysetPager::next_request`] asks and reports the page back).
#[derive(Debug, Clone)]
pub(crate) struct KeysetPager {
    window: Window,
    limit: u32,
    t: DateTime<Utc>,
    state: State,
    done: bool,
    /// Whether the last page was full (only then may its `total` split the window).
    last_full: bool,
    /// False once `total` was caught contradicting a page: a changing total then no longer
    /// re-scans a crowded second.
    total_trusted: bool,
}

impl KeysetPager {
    pub(crate) fn new(window: Window, limit: u32) -> Self {
        Self {
            window,
            limit,
            t: floor_s(window.from),
            state: State::Keyset,
            done: window.is_empty(),
            last_full: false,
            total_trusted: true,
        }
    }

    /// The range and offset of the next page, or `None` when the window is done.
    pub(crate) fn next_request(&self) -> Option<(Window, u64)> {
        if self.done {
            return None;
        }
        Some(match self.state {
            State::Keyset => (
                Window {
                    from: self.t,
                    to: self.window.to,
                },
                0,
            ),
            State::Second { s, offset, .. } => (
                Window {
                    from: s,
                    to: (s + TimeDelta::seconds(1)).min(self.window.to),
                },
                offset,
            ),
            State::Offset { offset } => (
                Window {
                    from: self.t,
                    to: self.window.to,
                },
                offset,
            ),
        })
    }

    /// Stops trusting `total` to tell that a crowded second changed while it was paged.
    pub(crate) fn distrust_total(&mut self) {
        self.total_trusted = false;
    }

    /// Reports a page: its length, the envelope's `total`, and the greatest readable
    /// `updated_at` among its records.
    pub(crate) fn advance(&mut self, len: usize, total: Option<u64>, max: Option<DateTime<Utc>>) {
        let len64 = len as u64;
        let limit = u64::from(self.limit);
        self.last_full = len64 >= limit;
        match self.state {
            State::Keyset => {
                if len == 0 || (len64 < limit && total.is_none_or(|t| t <= len64)) {
                    self.done = true;
                    return;
                }
                match max.map(floor_s) {
                    Some(m) if m > self.t => self.t = m,
                    Some(_) => {
                        self.state = State::Second {
                            s: self.t,
                            offset: 0,
                            scan_total: None,
                            unstable: false,
                            scans: 1,
                        }
                    }
                    None => self.state = State::Offset { offset: len64 },
                }
            }
            State::Second {
                s,
                offset,
                scan_total,
                unstable,
                scans,
            } => {
                let unstable = unstable || scan_total.is_some_and(|st| Some(st) != total);
                let scan_total = scan_total.or(total);
                let offset = offset + len64;
                let scan_end = len == 0 || (len64 < limit && total.is_none_or(|t| offset >= t));
                if !scan_end {
                    self.state = State::Second {
                        s,
                        offset,
                        scan_total,
                        unstable,
                        scans,
                    };
                } else if unstable && scans < MAX_SECOND_SCANS && self.total_trusted {
                    tracing::debug!(second = %s, scans, "total changed while paging one second; re-paging it");
                    self.state = State::Second {
                        s,
                        offset: 0,
                        scan_total: None,
                        unstable: false,
                        scans: scans + 1,
                    };
                } else {
                    if unstable {
                        tracing::warn!(second = %s, scans, "total of one second kept changing; the next sync's lookback re-reads it");
                    }
                    self.t = s + TimeDelta::seconds(1);
                    self.state = State::Keyset;
                    self.done = self.t >= self.window.to;
                }
            }
            State::Offset { offset } => {
                let offset = offset + len64;
                if len == 0 || (len64 < limit && total.is_none_or(|t| offset >= t)) {
                    self.done = true;
                } else {
                    self.state = State::Offset { offset };
                }
            }
        }
    }
}

impl KeysetPager {
    /// After a page reported `total` records left in `[t, to)`: if that is more than
    /// [`SPLIT_PAGES`] pages and the rest is at least two minutes long, this pager keeps
    /// `[t, mid)` and returns `[mid, to)` for another worker. Only while keyset paging (a
    /// crowded second or the offset fallback is finished first).
    pub(crate) fn split_off(&mut self, total: Option<u64>) -> Option<Window> {
        // Only after a full page: after a short one, a `total` announcing more pages is a
        // lie (the rest of the range was on it) or a server capping the page size, and an
        // inflated `total` would split every window down to minutes, multiplying requests.
        if self.done || self.state != State::Keyset || !self.last_full {
            return None;
        }
        if total? <= SPLIT_PAGES * u64::from(self.limit) {
            return None;
        }
        let span = (self.window.to - self.t).num_seconds();
        if span < 2 * MIN_SPLIT_SECS {
            return None;
        }
        let mid = self.t + TimeDelta::seconds(span / 2);
        let rest = Window {
            from: mid,
            to: self.window.to,
        };
        self.window.to = mid;
        Some(rest)
    }
}

/// A child record's identity for the [`PageGuard`]: its own `id`, its conversation and its
/// `updated_at` (several children of one conversation share the last two).
fn child_key(raw: &RawValue, head: &ChildHead) -> u64 {
    #[derive(serde::Deserialize)]
    struct OwnId<'a> {
        #[serde(borrow, default)]
        id: Option<&'a RawValue>,
    }
    let own = serde_json::from_str::<OwnId<'_>>(raw.get())
        .ok()
        .and_then(|o| o.id)
        .map_or(raw.get(), |id| id.get());
    key_of(&[
        own.as_bytes(),
        &head.conversation_id.unwrap_or(i64::MIN).to_le_bytes(),
        &head.updated_at.timestamp_micros().to_le_bytes(),
    ])
}

/// Formats the page context of an error: ` (resource, window FROM..TO, offset N)`.
fn page_context(resource: &str, window: Option<&Window>, offset: u64) -> String {
    match window {
        Some(w) => format!(" ({resource}, window {w}, offset {offset})"),
        None => format!(" ({resource}, offset {offset})"),
    }
}

/// Parameters of one list page; conversation pages also name the fields to return.
fn list_params(
    client: &Client,
    resource: Resource,
    range: &Window,
    offset: u64,
    limit: u32,
) -> crate::profile::Params {
    let mut params = client.profile().list_params(range, offset, limit);
    if resource == Resource::Conversations {
        params.push((
            "fields",
            crate::fields::fields_param(client.config().fields.as_deref()),
        ));
    }
    params
}

/// Pages one window of one resource to the end, handing every record to `sink`. With
/// `split`, a window with many pages left hands its second half to `split` (see the module
/// docs) and pages only the first. A split-off window (`split_off`) does not add its first
/// `total` to the progress total: its parent's first page already counted those records.
pub(crate) async fn page_window(
    client: &Client,
    resource: Resource,
    window: Window,
    sink: &Sink<'_>,
    required: bool,
    split: Option<&(dyn Fn(Window) + Sync)>,
    split_off: bool,
) -> Result<(), ExtractError> {
    let profile = client.profile();
    let limit = client.config().effective_page_size();
    let (verb, path) = profile.list_endpoint(resource);
    let mut pager = KeysetPager::new(window, limit);
    let mut guard = PageGuard::new(limit);
    let mut first = !split_off;
    let span = tracing::info_span!("window", resource = resource.name(), %window);
    async {
        let started = Instant::now();
        let mut pages = 0u64;
        while let Some((range, offset)) = pager.next_request() {
            let page_started = Instant::now();
            let page_span = tracing::debug_span!(
                "page",
                offset,
                from = %range.from,
                rows = tracing::field::Empty,
                total = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let context = page_context(resource.name(), Some(&range), offset);
            let req = Request {
                verb,
                path: path.clone(),
                params: list_params(client, resource, &range, offset, limit),
                context,
                allow_404: !required,
            };
            let Some(page) = client
                .send_json::<Page>(&req)
                .instrument(page_span.clone())
                .await?
            else {
                // Only optional resources get here (`allow_404`): the endpoint does not exist.
                tracing::warn!("{} {path} answered 404; this API has no {} list, skipped", verb.as_str(), resource.name());
                return Ok(());
            };
            Metrics::inc(&client.metrics().pages);
            if first {
                Metrics::add(&client.metrics().total_reported, page.total.unwrap_or(0));
                first = false;
            }
            let len = page.results.len();
            let total = page.total;
            let mut max: Option<DateTime<Utc>> = None;
            let mut keys = Vec::with_capacity(len);
            for (k, raw) in page.results.into_iter().enumerate() {
                let (t, key) = match sink {
                    Sink::Conversations(em) => {
                        em.emit(raw, || {
                            format!("{} {path}{} item {k}", verb.as_str(), req.context)
                        })
                        .await?
                    }
                    Sink::Discover(d) => match child_head(&raw) {
                        Ok(h) => {
                            d.found(h.conversation_id, || {
                                format!("{} {path}{} item {k}", verb.as_str(), req.context)
                            })
                            .await?;
                            (Some(h.updated_at), child_key(&raw, &h))
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, context = %req.context, item = k, "{} record without a readable updated_at; skipped for discovery", resource.name());
                            (None, key_of(&[raw.get().as_bytes()]))
                        }
                    },
                };
                keys.push(key);
                max = max.max(t);
            }
            // Records were handed on before this check: a repeated page only repeats
            // records the emitter and the discovery already dropped as seen.
            let mismatches = guard.total_mismatches();
            let verdict = guard.check(&range, offset, &keys, total);
            if guard.total_mismatches() > mismatches {
                Metrics::inc(&client.metrics().total_mismatches);
            }
            if guard.total_mismatches() > mismatches && mismatches == 0 {
                tracing::warn!(context = %req.context, rows = len, total, "{} {path}: the page's total contradicts what it holds (records announced but not served, or more served than announced); paging goes on to an empty page", verb.as_str());
            }
            match verdict {
                Verdict::Progress => {}
                Verdict::AskAgain => {
                    tracing::warn!(context = %req.context, "{} {path}: the page repeats records of a lower offset; asking again", verb.as_str());
                    continue;
                }
                Verdict::Stop(message) => {
                    return Err(ExtractError::Paging {
                        method: verb.as_str(),
                        url: format!("{}{path}", client.config().effective_base_url()),
                        context: req.context.clone(),
                        message,
                    });
                }
            }
            pages += 1;
            page_span.record("rows", len);
            page_span.record("total", total);
            page_span.record("elapsed_ms", page_started.elapsed().as_millis() as u64);
            page_span.in_scope(|| tracing::debug!("page done"));
            // Once a `total` was caught lying in this run, it no longer splits windows (an
            // inflated one would split every window down to minutes) nor re-scans crowded
            // seconds (one that never settles would re-scan each to the limit).
            let trusted = client.metrics().total_mismatches.load(Ordering::Relaxed) == 0;
            if !trusted {
                pager.distrust_total();
            }
            pager.advance(len, total, max);
            if let Some(split) = split.filter(|_| trusted) {
                if let Some(rest) = pager.split_off(total) {
                    tracing::debug!(window = %rest, total, "window split");
                    split(rest);
                }
            }
        }
        Metrics::add(&client.metrics().total_unserved, guard.unserved());
        tracing::debug!(pages, requests = guard.requests(), elapsed_ms = started.elapsed().as_millis() as u64, "window done");
        Ok(())
    }
    .instrument(span)
    .await
}

/// List mode: pages the conversations list over every window, `concurrency` at a time;
/// windows that split (see the module docs) queue their second halves here.
pub(crate) async fn run_list(
    client: &Client,
    range: &SyncRange,
    emitter: &Emitter,
) -> Result<(), ExtractError> {
    let sink = Sink::Conversations(emitter);
    let sink = &sink;
    let concurrency = client.config().concurrency.max(1);
    let (split_tx, mut split_rx) = mpsc::unbounded_channel::<Window>();
    let split = move |w: Window| {
        Metrics::inc(&client.metrics().windows_total);
        // The receiver lives until every window is done, so this cannot fail.
        let _ = split_tx.send(w);
    };
    let split: &(dyn Fn(Window) + Sync) = &split;
    let page = |(w, split_off): (Window, bool)| async move {
        page_window(
            client,
            Resource::Conversations,
            w,
            sink,
            true,
            Some(split),
            split_off,
        )
        .await?;
        Metrics::inc(&client.metrics().windows_done);
        Ok::<_, ExtractError>(())
    };
    let mut pending: std::collections::VecDeque<(Window, bool)> =
        range.windows.iter().map(|w| (*w, false)).collect();
    let mut running = futures::stream::FuturesUnordered::new();
    loop {
        while running.len() < concurrency {
            match pending.pop_front() {
                Some(w) => running.push(page(w)),
                None => break,
            }
        }
        if running.is_empty() {
            match split_rx.try_recv() {
                Ok(w) => pending.push_back((w, true)),
                Err(_) => return Ok(()),
            }
            continue;
        }
        tokio::select! {
            Some(w) = split_rx.recv() => pending.push_back((w, true)),
            done = running.next() => {
                if let Some(result) = done {
                    result?;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use rand::{Rng, SeedableRng};

    /// An in-memory list sorted by (updated_at, id) that mutates between pages.
    struct FakeSource {
        /// id → updated_at (seconds)
        records: HashMap<i64, i64>,
    }

    impl FakeSource {
        fn query(&self, from: i64, to: i64, offset: u64, limit: u32) -> (Vec<(i64, i64)>, u64) {
            let mut v: Vec<(i64, i64)> = self
                .records
                .iter()
                .filter(|(_, &t)| t >= from && t < to)
                .map(|(&id, &t)| (t, id))
                .collect();
            v.sort();
            let total = v.len() as u64;
            let page = v
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(|(t, id)| (id, t))
                .collect();
            (page, total)
        }
    }

    fn ts(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    /// Runs the pager against a fake source that moves records to `now` mid-paging.
    fn run(
        seed: u64,
        n: i64,
        crowded: i64,
        limit: u32,
    ) -> (HashSet<i64>, HashMap<i64, i64>, HashMap<i64, i64>) {
        let mut rng = rand_chacha_like(seed);
        let mut records = HashMap::new();
        for id in 0..n {
            // Many records in a few crowded seconds, the rest spread over the window.
            let t = if id < crowded {
                1000 + id % 3
            } else {
                rng.gen_range(0..10_000)
            };
            records.insert(id, t);
        }
        let initial = records.clone();
        let mut src = FakeSource { records };
        let window = Window {
            from: ts(0),
            to: ts(10_000),
        };
        let now = 20_000;
        let mut pager = KeysetPager::new(window, limit);
        let mut seen = HashSet::new();
        let mut requests = 0;
        while let Some((r, offset)) = pager.next_request() {
            requests += 1;
            assert!(requests < 100_000, "pager does not terminate");
            // Mutations before the page is cut: 1-3 records jump past the window.
            for _ in 0..rng.gen_range(0..3) {
                let id = rng.gen_range(0..n);
                src.records.insert(id, now);
            }
            let (page, total) = src.query(r.from.timestamp(), r.to.timestamp(), offset, limit);
            let max = page.iter().map(|&(_, t)| ts(t)).max();
            for &(id, _) in &page {
                seen.insert(id);
            }
            pager.advance(page.len(), Some(total), max);
        }
        (seen, initial, src.records)
    }

    fn rand_chacha_like(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }

    #[test]
    fn keyset_paging_misses_nothing_that_stays_in_the_window() {
        for seed in 0..20 {
            let (seen, _initial, after) = run(seed, 3000, 400, 50);
            // Every record still inside the window at the end must have been seen.
            for (id, t) in &after {
                if *t < 10_000 {
                    assert!(seen.contains(id), "seed {seed}: id {id} at {t} missed");
                }
            }
        }
    }

    #[test]
    fn plain_offset_paging_would_lose_records_here() {
        // Negative control: the same fake source defeats naive offset paging, so the
        // keyset test above has teeth.
        let mut rng = rand_chacha_like(1);
        let mut records: HashMap<i64, i64> =
            (0..3000).map(|id| (id, rng.gen_range(0..10_000))).collect();
        let mut seen = HashSet::new();
        let mut offset = 0u64;
        loop {
            for _ in 0..rng.gen_range(0..3) {
                records.insert(rng.gen_range(0..3000), 20_000);
            }
            let src = FakeSource {
                records: records.clone(),
            };
            let (page, _) = src.query(0, 10_000, offset, 50);
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            seen.extend(page.iter().map(|&(id, _)| id));
        }
        let missed = records
            .iter()
            .filter(|(id, t)| **t < 10_000 && !seen.contains(id))
            .count();
        assert!(missed > 0);
    }

    #[test]
    fn crowded_seconds_are_paged_by_offset() {
        // 400 records in 3 seconds with pages of 50: keyset alone could not advance.
        let (seen, initial, after) = run(7, 500, 400, 50);
        let kept = initial.keys().filter(|id| after[id] < 10_000).count();
        assert!(seen.len() >= kept);
    }

    /// Pages `[0, 10_000)` of `src` with windows that split, interleaving the pagers
    /// round-robin (as concurrent workers would) and mutating between pages. Returns the
    /// ids seen, the requests made and the windows used.
    fn run_splitting(src: &mut FakeSource, seed: u64, limit: u32) -> (HashSet<i64>, u32, usize) {
        let mut rng = rand_chacha_like(seed);
        let n = src.records.len() as i64;
        let mut pagers = vec![KeysetPager::new(
            Window {
                from: ts(0),
                to: ts(10_000),
            },
            limit,
        )];
        let (mut seen, mut requests, mut windows) = (HashSet::new(), 0u32, 1usize);
        while !pagers.is_empty() {
            let mut next = Vec::new();
            for mut pager in pagers {
                let Some((r, offset)) = pager.next_request() else {
                    continue;
                };
                requests += 1;
                assert!(requests < 100_000, "pagers do not terminate");
                for _ in 0..rng.gen_range(0..3) {
                    if n > 0 {
                        src.records.insert(rng.gen_range(0..n), 20_000);
                    }
                }
                let (page, total) = src.query(r.from.timestamp(), r.to.timestamp(), offset, limit);
                let max = page.iter().map(|&(_, t)| ts(t)).max();
                seen.extend(page.iter().map(|&(id, _)| id));
                pager.advance(page.len(), Some(total), max);
                if let Some(rest) = pager.split_off(Some(total)) {
                    assert!(rest.from < rest.to);
                    windows += 1;
                    next.push(KeysetPager::new(rest, limit));
                }
                next.push(pager);
            }
            pagers = next;
        }
        (seen, requests, windows)
    }

    #[test]
    fn split_windows_miss_nothing_and_skip_empty_stretches() {
        for seed in 0..10 {
            let mut rng = rand_chacha_like(100 + seed);
            // Dense at the end (recent history), empty for most of the range, plus a
            // crowded second.
            let records = (0..3000)
                .map(|id| {
                    let t = if id < 200 {
                        9_500
                    } else {
                        rng.gen_range(9_000..10_000)
                    };
                    (id, t)
                })
                .collect();
            let mut src = FakeSource { records };
            let (seen, requests, windows) = run_splitting(&mut src, seed, 50);
            for (id, t) in &src.records {
                if *t < 10_000 {
                    assert!(seen.contains(id), "seed {seed}: id {id} at {t} missed");
                }
            }
            assert!(
                windows > 4,
                "seed {seed}: a dense range splits ({windows} windows)"
            );
            // 3000 records / 50 per page = 60 pages; splits and the crowded second add a few.
            assert!(requests < 160, "seed {seed}: {requests} requests");
        }
    }

    #[test]
    fn a_sparse_range_is_not_split() {
        let records = (0..120).map(|id| (id, id * 80)).collect();
        let mut src = FakeSource { records };
        let (seen, requests, windows) = run_splitting(&mut src, 1, 50);
        assert_eq!(windows, 1);
        assert!(requests <= 4, "{requests}");
        assert!(seen.len() >= 117);
    }

    #[test]
    fn a_total_that_understates_never_ends_paging_early() {
        // A server whose `total` is the page's own length (or 0): the first full page
        // would have ended the window, silently skipping the other 250 records.
        let records = (0..300).map(|id| (id, id * 30)).collect();
        let src = FakeSource { records };
        for lie in [|len: u64| len, |_| 0] {
            let mut pager = KeysetPager::new(
                Window {
                    from: ts(0),
                    to: ts(10_000),
                },
                50,
            );
            let mut seen = HashSet::new();
            let mut requests = 0;
            while let Some((r, offset)) = pager.next_request() {
                requests += 1;
                assert!(requests < 100);
                let (page, _) = src.query(r.from.timestamp(), r.to.timestamp(), offset, 50);
                let max = page.iter().map(|&(_, t)| ts(t)).max();
                seen.extend(page.iter().map(|&(id, _)| id));
                pager.advance(page.len(), Some(lie(page.len() as u64)), max);
            }
            assert_eq!(seen.len(), 300);
        }
    }

    /// Pages `src` through the pager and the guard with a server that answers every
    /// request at offset 0; returns the guard's stop message and the requests made.
    fn offset_ignoring(src: &FakeSource, with_total: bool) -> (Option<String>, u32) {
        let mut pager = KeysetPager::new(
            Window {
                from: ts(0),
                to: ts(1000),
            },
            50,
        );
        let mut guard = PageGuard::new(50);
        let mut requests = 0;
        while let Some((r, offset)) = pager.next_request() {
            requests += 1;
            assert!(requests < 1000, "loops");
            let (page, total) = src.query(r.from.timestamp(), r.to.timestamp(), 0, 50);
            let total = with_total.then_some(total);
            let keys: Vec<u64> = page.iter().map(|&(id, _)| id as u64).collect();
            match guard.check(&r, offset, &keys, total) {
                Verdict::Progress => {}
                Verdict::AskAgain => continue,
                Verdict::Stop(m) => return (Some(m), requests),
            }
            let max = page.iter().map(|&(_, t)| ts(t)).max();
            pager.advance(page.len(), total, max);
        }
        (None, requests)
    }

    #[test]
    fn a_crowded_second_on_an_offset_ignoring_server_stops_instead_of_skipping_or_looping() {
        // 200 records in one second, pages of 50. With `total` the scan used to end after
        // 4 copies of page 1 (150 records skipped); without it, it never ended.
        let mut records: HashMap<i64, i64> = (0..200).map(|id| (id, 500)).collect();
        records.extend((200..260).map(|id| (id, id)));
        let src = FakeSource { records };
        for with_total in [true, false] {
            let (stop, requests) = offset_ignoring(&src, with_total);
            let m = stop.expect("the guard stops the window");
            assert!(m.contains("offset 50"), "{m}");
            assert!(requests <= 8, "{requests} requests");
        }
        // Without a crowded second, keyset requests are all at offset 0: no harm done.
        let src = FakeSource {
            records: (0..260).map(|id| (id, id * 3)).collect(),
        };
        assert_eq!(offset_ignoring(&src, true).0, None);
    }

    #[test]
    fn empty_window_asks_nothing() {
        let p = KeysetPager::new(
            Window {
                from: ts(5),
                to: ts(5),
            },
            10,
        );
        assert!(p.next_request().is_none());
    }
}
