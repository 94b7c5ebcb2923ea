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

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::client::{Client, Page, Request};
use crate::error::{page_context, ExtractError};
use crate::item::{child_head, classify, Item};
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
}

impl KeysetPager {
    pub(crate) fn new(window: Window, limit: u32) -> Self {
        Self {
            window,
            limit,
            t: floor_s(window.from),
            state: State::Keyset,
            done: window.is_empty(),
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

    /// Reports a page: its length, the envelope's `total`, and the greatest readable
    /// `updated_at` among its records.
    pub(crate) fn advance(&mut self, len: usize, total: Option<u64>, max: Option<DateTime<Utc>>) {
        let len64 = len as u64;
        let limit = u64::from(self.limit);
        match self.state {
            State::Keyset => {
                if len == 0 || total.map_or(len64 < limit, |t| t <= len64) {
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
                let scan_end = len == 0 || total.map_or(len64 < limit, |t| offset >= t);
                if !scan_end {
                    self.state = State::Second {
                        s,
                        offset,
                        scan_total,
                        unstable,
                        scans,
                    };
                } else if unstable && scans < MAX_SECOND_SCANS {
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
                if len == 0 || total.map_or(len64 < limit, |t| offset >= t) {
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
        if self.done || self.state != State::Keyset {
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

/// Dedupes by id within a sync and sends to the output channel (backpressure).
pub(crate) struct Emitter {
    tx: mpsc::Sender<Item>,
    /// id → greatest `updated_at` emitted (seconds since the epoch, to stay small).
    seen: Mutex<HashMap<i64, i64>>,
    /// Hashes of unreadable records already sent (keyset pages overlap at boundaries).
    unreadable_seen: Mutex<HashSet<u64>>,
    metrics: Arc<Metrics>,
}

impl Emitter {
    pub(crate) fn new(tx: mpsc::Sender<Item>, metrics: Arc<Metrics>) -> Self {
        Self {
            tx,
            seen: Mutex::new(HashMap::new()),
            unreadable_seen: Mutex::new(HashSet::new()),
            metrics,
        }
    }

    /// Emits a raw conversation unless the same or a newer version was already sent.
    /// Returns its `updated_at` when readable.
    pub(crate) async fn emit(
        &self,
        raw: Box<RawValue>,
        origin: impl FnOnce() -> String,
    ) -> Result<Option<DateTime<Utc>>, ExtractError> {
        let item = classify(raw, origin);
        let updated = match &item {
            Item::Conversation(c) => {
                let key = c.updated_at.timestamp_micros();
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                let entry = seen.entry(c.id).or_insert(i64::MIN);
                if *entry >= key {
                    Metrics::inc(&self.metrics.duplicates_skipped);
                    return Ok(Some(c.updated_at));
                }
                *entry = key;
                Some(c.updated_at)
            }
            Item::Unreadable(u) => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                u.raw.get().hash(&mut h);
                let fresh = self
                    .unreadable_seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(h.finish());
                if !fresh {
                    return Ok(None);
                }
                tracing::warn!(origin = %u.origin, error = %u.error, "record without a readable id/updated_at; sent to _rejected");
                None
            }
        };
        let counter = if updated.is_some() {
            &self.metrics.conversations
        } else {
            &self.metrics.unreadable
        };
        self.tx
            .send(item)
            .await
            .map_err(|_| ExtractError::ChannelClosed)?;
        Metrics::inc(counter);
        Ok(updated)
    }
}

/// What to do with the records of a page.
pub(crate) enum Sink<'a> {
    /// Conversations: emit each.
    Conversations(&'a Emitter),
    /// Children (discover mode): forward each new conversation id.
    Discover(&'a crate::discover::Discovered),
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
        params.push(("fields", crate::fields::fields_param(client.config())));
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
            for (k, raw) in page.results.into_iter().enumerate() {
                let t = match sink {
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
                            Some(h.updated_at)
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, context = %req.context, item = k, "{} record without a readable updated_at; skipped for discovery", resource.name());
                            None
                        }
                    },
                };
                max = max.max(t);
            }
            pages += 1;
            page_span.record("rows", len);
            page_span.record("total", total);
            page_span.record("elapsed_ms", page_started.elapsed().as_millis() as u64);
            page_span.in_scope(|| tracing::debug!("page done"));
            pager.advance(len, total, max);
            if let Some(split) = split {
                if let Some(rest) = pager.split_off(total) {
                    tracing::debug!(window = %rest, total, "window split");
                    split(rest);
                }
            }
        }
        tracing::debug!(pages, elapsed_ms = started.elapsed().as_millis() as u64, "window done");
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
