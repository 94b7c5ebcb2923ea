//! The generated account: a compact timeline index plus on-demand conversation content.
//!
//! Every conversation is a pure function of `(seed, id)` and the versions that exist at
//! the requested instant, so any one can be built in O(1) without the others. Only the
//! index (creation, visibility and version times: 28 bytes a conversation) lives in
//! memory, plus the versions added by the `mutate_rate` fault, plus the child-list index
//! (40 bytes a chat/call/lead/complaint: times and position, never JSON) that lets the
//! child lists page in O(log N + limit) and render only the page.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use crate::config::SimConfig;
use crate::time::{fmt_msk, fmt_msk_offset, from_secs, msk_hour_weekday};
use crate::truth::WarehouseTruth;
use crate::vocab::*;
use crate::SimError;

/// Id of the first (oldest) conversation; ids grow by one with creation time.
pub const FIRST_CONVERSATION_ID: i64 = 1_000_001;

const DAY: i64 = 86_400;

// RNG streams: each kind of draw has its own stream so that adding a draw in one place
// never changes the values drawn elsewhere.
const S_TIMELINE: u64 = 1;
const S_FUTURE: u64 = 2;
const S_INDEX: u64 = 3;
const S_CONTENT: u64 = 4;
const S_QUIRK: u64 = 5;
const S_VISITOR: u64 = 6;
const S_POOLS: u64 = 7;
const S_DRIFT: u64 = 8;
const S_VERSION: u64 = 100;
const S_MUTATION: u64 = 1_000;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn rng_for(seed: u64, key: i64, stream: u64) -> ChaCha8Rng {
    let s = splitmix(
        seed ^ splitmix(key as u64 ^ splitmix(stream.wrapping_mul(0xA24B_AED4_963E_E407))),
    );
    ChaCha8Rng::seed_from_u64(s)
}

/// Relative weight of a Moscow hour (working hours busiest).
fn hour_weight(hour: u32) -> f64 {
    match hour {
        0..=6 => 0.08,
        7 => 0.25,
        8 => 0.55,
        9..=18 => 1.0,
        19..=21 => 0.6,
        _ => 0.3,
    }
}

/// Relative weight of a weekday (0 = Monday).
fn weekday_weight(wd: u32) -> f64 {
    match wd {
        5 => 0.55,
        6 => 0.45,
        _ => 1.0,
    }
}

/// One conversation's timeline, in seconds since the account origin.
#[derive(Debug, Clone, Copy)]
struct Entry {
    created: u32,
    visible: u32,
    versions: [u32; 4],
    nver: u8,
}

#[derive(Debug, Default)]
struct Index {
    entries: Vec<Entry>,
    /// Future day blocks (after `start`) already generated.
    future_days: i64,
}

/// Sorted views of the visible conversations at one instant (cached per clock value).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) at: i64,
    pub(crate) generation: u64,
    /// (updated_at secs, id) ascending.
    pub(crate) by_updated: Vec<(i64, i64)>,
    /// Visible ids ascending (= created_at ascending).
    pub(crate) by_created: Vec<i64>,
}

/// One child record (chat, call, lead or complaint) in the child-list index: only what
/// sorting, filtering and rendering the page on demand need (40 bytes, no JSON).
/// Field order is the sort order of the lists: `updated_at`, then conversation, then
/// position inside the conversation's array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ChildRow {
    /// The child's `updated_at` (unix secs).
    pub(crate) updated: i64,
    /// The conversation it belongs to.
    pub(crate) conversation: i64,
    /// Its index in the conversation's array of that kind.
    pub(crate) position: u32,
    /// The child's `created_at` (unix secs).
    pub(crate) created: i64,
    /// The conversation's `updated_at` in the indexed state (to render that state).
    pub(crate) version: i64,
}

/// Every child of every visible conversation at one instant, per kind, sorted by
/// [`ChildRow`] order (cached per clock value and mutation generation).
#[derive(Debug)]
pub(crate) struct ChildIndex {
    pub(crate) at: i64,
    pub(crate) generation: u64,
    rows: [Vec<ChildRow>; 4],
}

impl ChildIndex {
    /// The sorted rows of one kind.
    pub(crate) fn rows(&self, kind: ChildKind) -> &[ChildRow] {
        &self.rows[kind.slot()]
    }
}

/// Child timings of one conversation at one state: (kind slot, position, updated, created).
type ChildTimes = Box<[(u8, u32, i64, i64)]>;

/// The deterministic account behind the simulator (also usable without a server).
#[derive(Debug)]
pub struct Account {
    seed: u64,
    origin: i64,
    start: i64,
    initial: u64,
    per_day: f64,
    pools: Pools,
    index: RwLock<Index>,
    mutations: RwLock<HashMap<i64, Vec<i64>>>,
    generation: AtomicU64,
    bad_record_rate_bits: AtomicU64,
    drift_rate_bits: AtomicU64,
    snapshot: Mutex<Option<Arc<Snapshot>>>,
    child_index: Mutex<Option<Arc<ChildIndex>>>,
    /// Per conversation: its `updated_at` (= the state the entry describes) and the
    /// timings of its children then. One entry per conversation, so memory stays
    /// O(conversations + children); a new version replaces the entry.
    child_memo: Mutex<HashMap<i64, (i64, ChildTimes)>>,
}

impl Account {
    /// Builds the account's index for the `cfg.conversations` initial conversations.
    pub fn new(cfg: &SimConfig) -> Self {
        let start = cfg.start_clock.timestamp();
        let history = i64::from(cfg.history_days.max(1)) * DAY;
        let origin = start - history - DAY;
        let n = cfg.conversations;
        let mut rng = rng_for(cfg.seed, 0, S_TIMELINE);
        let mut created: Vec<i64> = Vec::with_capacity(n as usize);
        while (created.len() as u64) < n {
            let t = start - history + rng.gen_range(0..history);
            let (h, wd) = msk_hour_weekday(t);
            if rng.gen::<f64>() < hour_weight(h) * weekday_weight(wd) {
                created.push(t);
            }
        }
        created.sort_unstable();
        let entries = created
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                make_entry(
                    cfg.seed,
                    FIRST_CONVERSATION_ID + i as i64,
                    c,
                    Some(start),
                    origin,
                )
            })
            .collect();
        Self {
            seed: cfg.seed,
            origin,
            start,
            initial: n,
            per_day: n as f64 / f64::from(cfg.history_days.max(1)),
            pools: Pools::new(cfg.seed, n),
            index: RwLock::new(Index {
                entries,
                future_days: 0,
            }),
            mutations: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            bad_record_rate_bits: AtomicU64::new(cfg.faults.bad_record_rate.to_bits()),
            drift_rate_bits: AtomicU64::new(cfg.faults.drift_rate.to_bits()),
            snapshot: Mutex::new(None),
            child_index: Mutex::new(None),
            child_memo: Mutex::new(HashMap::new()),
        }
    }

    /// Number of conversations visible at the start clock.
    pub fn initial_conversations(&self) -> u64 {
        self.initial
    }

    /// Sets the fraction of conversations rendered with an unreadable `updated_at`.
    pub fn set_bad_record_rate(&self, rate: f64) {
        self.bad_record_rate_bits
            .store(rate.to_bits(), Ordering::SeqCst);
    }

    /// Sets the fraction of conversations rendered with schema drift (see [`crate::drift`]).
    pub fn set_drift_rate(&self, rate: f64) {
        self.drift_rate_bits.store(rate.to_bits(), Ordering::SeqCst);
    }

    fn drift_rate(&self) -> f64 {
        f64::from_bits(self.drift_rate_bits.load(Ordering::SeqCst))
    }

    fn bad_record_rate(&self) -> f64 {
        f64::from_bits(self.bad_record_rate_bits.load(Ordering::SeqCst))
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        // The index is only appended to; a poisoned lock still holds consistent data.
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Generates future conversations (ids beyond the initial ones) created up to `at`.
    fn extend_to(&self, at: i64) {
        let needed = if at < self.start {
            0
        } else {
            (at - self.start) / DAY + 1
        };
        if self.read_index().future_days >= needed {
            return;
        }
        let mut idx = self.index.write().unwrap_or_else(|e| e.into_inner());
        while idx.future_days < needed {
            let day = idx.future_days;
            let block = self.start + day * DAY;
            let mut rng = rng_for(self.seed, day, S_FUTURE);
            let (_, wd) = msk_hour_weekday(block + DAY / 2);
            // Weekday weights average 6/7 over a week; normalise so the mean rate holds.
            let expected = self.per_day * weekday_weight(wd) * 7.0 / 6.0;
            let count = (expected + rng.gen::<f64>()).floor() as usize;
            let mut times = Vec::with_capacity(count);
            while times.len() < count {
                let t = block + rng.gen_range(0..DAY);
                let (h, _) = msk_hour_weekday(t);
                if rng.gen::<f64>() < hour_weight(h) {
                    times.push(t);
                }
            }
            times.sort_unstable();
            for t in times {
                let id = FIRST_CONVERSATION_ID + idx.entries.len() as i64;
                idx.entries
                    .push(make_entry(self.seed, id, t, None, self.origin));
            }
            idx.future_days += 1;
        }
    }

    fn entry(&self, id: i64) -> Option<Entry> {
        let pos = usize::try_from(id.checked_sub(FIRST_CONVERSATION_ID)?).ok()?;
        self.read_index().entries.get(pos).copied()
    }

    fn mutation_times(&self, id: i64) -> Vec<i64> {
        let m = self.mutations.read().unwrap_or_else(|e| e.into_inner());
        m.get(&id).cloned().unwrap_or_default()
    }

    /// Latest version time (unix secs) of `id` visible at `at`, if the conversation is visible.
    fn latest_at(&self, e: &Entry, muts: Option<&Vec<i64>>, at: i64) -> Option<i64> {
        let o = self.origin;
        if o + i64::from(e.visible) > at {
            return None;
        }
        let mut best = None;
        for v in &e.versions[..usize::from(e.nver)] {
            let t = o + i64::from(*v);
            if t <= at {
                best = Some(t);
            }
        }
        if let Some(ms) = muts {
            for &t in ms {
                if t <= at && Some(t) > best {
                    best = Some(t);
                }
            }
        }
        best
    }

    /// `updated_at` of conversation `id` as seen at `at`, or `None` if not visible then.
    pub fn updated_at(&self, id: i64, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = at.timestamp();
        self.extend_to(at);
        let e = self.entry(id)?;
        let muts = self.mutation_times(id);
        self.latest_at(&e, Some(&muts), at).map(from_secs)
    }

    /// Every conversation visible at `at`, with its `updated_at` then, in id order.
    pub fn visible(&self, at: DateTime<Utc>) -> Vec<(i64, DateTime<Utc>)> {
        let at = at.timestamp();
        self.visible_secs(at)
            .into_iter()
            .map(|(id, t)| (id, from_secs(t)))
            .collect()
    }

    fn visible_secs(&self, at: i64) -> Vec<(i64, i64)> {
        self.extend_to(at);
        let idx = self.read_index();
        let muts = self.mutations.read().unwrap_or_else(|e| e.into_inner());
        let rel = at - self.origin;
        let mut out = Vec::with_capacity(idx.entries.len());
        for (i, e) in idx.entries.iter().enumerate() {
            if i64::from(e.created) > rel {
                break; // ids are in creation order
            }
            let id = FIRST_CONVERSATION_ID + i as i64;
            if let Some(t) = self.latest_at(e, muts.get(&id), at) {
                out.push((id, t));
            }
        }
        out
    }

    /// Ground truth at `at`: id → `updated_at` of every visible conversation.
    pub fn ground_truth(&self, at: DateTime<Utc>) -> BTreeMap<i64, DateTime<Utc>> {
        self.visible(at).into_iter().collect()
    }

    /// Ground truth per warehouse table at `at`: the rows the conversations visible then,
    /// as the API serves them, give (see [`WarehouseTruth`]).
    pub fn table_truth(&self, at: DateTime<Utc>) -> Result<WarehouseTruth, SimError> {
        let docs = self
            .visible(at)
            .into_iter()
            .filter_map(|(id, _)| self.conversation_json(id, at));
        WarehouseTruth::from_conversations(docs)
    }

    /// Sorted views at `at` (second resolution), rebuilt when the clock or mutations change.
    pub(crate) fn snapshot(&self, at: i64) -> Arc<Snapshot> {
        let generation = self.generation.load(Ordering::SeqCst);
        let mut slot = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.as_ref() {
            if s.at == at && s.generation == generation {
                return Arc::clone(s);
            }
        }
        let vis = self.visible_secs(at);
        let by_created: Vec<i64> = vis.iter().map(|&(id, _)| id).collect();
        let mut by_updated: Vec<(i64, i64)> = vis.into_iter().map(|(id, t)| (t, id)).collect();
        by_updated.sort_unstable();
        let s = Arc::new(Snapshot {
            at,
            generation,
            by_updated,
            by_created,
        });
        *slot = Some(Arc::clone(&s));
        s
    }

    /// The child-list index at `at` (second resolution), rebuilt when the clock or
    /// mutations change. A rebuild is O(rows log rows) plus one conversation build per
    /// conversation whose state changed since it was last indexed; pages are then
    /// O(log rows + limit).
    pub(crate) fn child_index(&self, at: i64) -> Arc<ChildIndex> {
        // Held across the rebuild: concurrent requests wait for one rebuild, not do four.
        let mut slot = self.child_index.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot(at);
        if let Some(ix) = slot.as_ref() {
            if ix.at == at && ix.generation == snap.generation {
                return Arc::clone(ix);
            }
        }
        let mut rows: [Vec<ChildRow>; 4] = Default::default();
        {
            let mut memo = self.child_memo.lock().unwrap_or_else(|e| e.into_inner());
            for &(latest, id) in &snap.by_updated {
                let fresh = memo.get(&id).is_some_and(|(t, _)| *t == latest);
                if !fresh {
                    let Some(conv) = self.build(id, at) else {
                        continue;
                    };
                    // Keyed by the state actually built (a mutation may have landed
                    // since the snapshot): the entry is always self-consistent.
                    memo.insert(id, (conv.updated, conv.child_times()));
                }
                if let Some((version, times)) = memo.get(&id) {
                    for &(kind, position, updated, created) in times.iter() {
                        rows[usize::from(kind)].push(ChildRow {
                            updated,
                            conversation: id,
                            position,
                            created,
                            version: *version,
                        });
                    }
                }
            }
        }
        for r in &mut rows {
            r.sort_unstable();
        }
        let ix = Arc::new(ChildIndex {
            at,
            generation: snap.generation,
            rows,
        });
        *slot = Some(Arc::clone(&ix));
        ix
    }

    /// Adds a version of `id` stamped at `now` (a mid-paging update). Returns false when
    /// the conversation is not visible or already has a version at `now`.
    pub(crate) fn mutate(&self, id: i64, now: i64) -> bool {
        let Some(e) = self.entry(id) else {
            return false;
        };
        let mut muts = self.mutations.write().unwrap_or_else(|e| e.into_inner());
        let list = muts.entry(id).or_default();
        match self.latest_at(&e, Some(list), now) {
            Some(t) if t < now => {
                list.push(now);
                list.sort_unstable();
                self.generation.fetch_add(1, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }

    /// Created-at of `id` (unix secs), if it exists at all.
    pub(crate) fn created_secs(&self, id: i64) -> Option<i64> {
        self.entry(id).map(|e| self.origin + i64::from(e.created))
    }

    /// Whether `id` deliberately carries a `message_count` that disagrees with its chats.
    pub fn count_mismatch(&self, id: i64) -> bool {
        Quirks::new(self.seed, id, 0.0, 0.0).count_mismatch
    }

    /// The conversation JSON as the API returns it at `at` (`None` if not visible then).
    pub fn conversation_json(&self, id: i64, at: DateTime<Utc>) -> Option<Value> {
        self.build(id, at.timestamp())
            .map(|c| c.render(&self.pools))
    }

    /// The conversation JSON visible at `at` (unix secs) in its state as of `version`.
    pub(crate) fn conversation_json_upto(&self, id: i64, at: i64, version: i64) -> Option<Value> {
        self.build_upto(id, at, version)
            .map(|c| c.render(&self.pools))
    }

    /// Builds the internal model of `id` at its latest version as of `at`.
    pub(crate) fn build(&self, id: i64, at: i64) -> Option<Conv> {
        self.build_upto(id, at, at)
    }

    /// Builds `id` as visible at `at` with only the changes stamped up to `version`:
    /// the state a list page selected (sorted, filtered) before a concurrent request
    /// added a mid-paging version, so a page never contradicts its own order.
    pub(crate) fn build_upto(&self, id: i64, at: i64, version: i64) -> Option<Conv> {
        self.extend_to(at);
        let e = self.entry(id)?;
        let muts = self.mutation_times(id);
        self.latest_at(&e, Some(&muts), at)?;
        let o = self.origin;
        let created = o + i64::from(e.created);
        let v0 = o + i64::from(e.versions[0]);
        let mut conv = Conv::base(
            self.seed,
            id,
            created,
            v0,
            &self.pools,
            self.bad_record_rate(),
            self.drift_rate(),
        );
        // Apply later versions and mutations in time order.
        let mut changes: Vec<(i64, u64)> = e.versions[1..usize::from(e.nver)]
            .iter()
            .enumerate()
            .map(|(k, v)| (o + i64::from(*v), S_VERSION + k as u64))
            .chain(
                muts.iter()
                    .enumerate()
                    .map(|(j, &t)| (t, S_MUTATION + j as u64)),
            )
            .filter(|(t, _)| *t <= at.min(version))
            .collect();
        changes.sort_unstable();
        for (t, stream) in changes {
            let mut rng = rng_for(self.seed, id, stream);
            let change = if stream >= S_MUTATION {
                Change::Append
            } else {
                *[
                    Change::Append,
                    Change::Append,
                    Change::CompleteLead,
                    Change::DeleteMessage,
                    Change::DeleteChat,
                    Change::Vote,
                ]
                .choose(&mut rng)
                .unwrap_or(&Change::Append)
            };
            conv.apply(change, t, &mut rng, &self.pools);
        }
        Some(conv)
    }

    /// The account's shared entities (for renderers elsewhere in the crate).
    pub(crate) fn pools(&self) -> &Pools {
        &self.pools
    }
}

fn make_entry(seed: u64, id: i64, created: i64, clamp: Option<i64>, origin: i64) -> Entry {
    let mut rng = rng_for(seed, id, S_INDEX);
    // Durations are log-uniform between 2 and 90 minutes.
    let dur = (60.0 * rng.gen_range(2f64.ln()..90f64.ln()).exp()) as i64;
    let mut v0 = created + dur.max(30);
    if let Some(start) = clamp {
        v0 = v0.min(start);
    }
    let late = rng.gen_bool(0.03);
    let mut visible = if late {
        v0 + rng.gen_range(300..2_400)
    } else {
        v0
    };
    if let Some(start) = clamp {
        visible = visible.min(start);
    }
    let nver: u8 = match rng.gen_range(0..100) {
        0..=49 => 1,
        50..=79 => 2,
        80..=92 => 3,
        _ => 4,
    };
    let mut versions = [0u32; 4];
    let mut t = v0;
    for (k, slot) in versions.iter_mut().enumerate().take(usize::from(nver)) {
        if k > 0 {
            // Later versions: log-uniform between 2 minutes and 3 days after the previous one.
            t += rng.gen_range(120f64.ln()..(3.0 * 86_400f64).ln()).exp() as i64;
        }
        *slot = rel(t, origin);
    }
    Entry {
        created: rel(created, origin),
        visible: rel(visible, origin),
        versions,
        nver,
    }
}

fn rel(t: i64, origin: i64) -> u32 {
    u32::try_from(t - origin).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------
// Shared entities: sites, departments, employees, visitors.

#[derive(Debug, Clone)]
pub(crate) struct Site {
    id: i64,
    url: &'static str,
    created: i64,
    updated: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Department {
    id: i64,
    title: &'static str,
    created: i64,
    updated: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Employee {
    id: i64,
    first: &'static str,
    last: &'static str,
    email: String,
    phone: Option<String>,
    role: (&'static str, &'static str),
    state: &'static str,
    chat_limit: i64,
    departments: Vec<usize>,
    created: i64,
    updated: i64,
}

#[derive(Debug)]
pub(crate) struct Pools {
    seed: u64,
    sites: Vec<Site>,
    departments: Vec<Department>,
    employees: Vec<Employee>,
    visitors: u64,
}

const ACCOUNT_EPOCH: i64 = 1_554_076_800; // 2019-04-01, when the account was opened

impl Pools {
    fn new(seed: u64, n: u64) -> Self {
        let mut rng = rng_for(seed, 0, S_POOLS);
        let nsites = rng.gen_range(3..=4);
        let sites = SITES[..nsites]
            .iter()
            .enumerate()
            .map(|(i, (url, _))| Site {
                id: 7781 + 13 * i as i64,
                url,
                created: ACCOUNT_EPOCH + rng.gen_range(0..200) * DAY,
                updated: ACCOUNT_EPOCH + rng.gen_range(400..2_000) * DAY,
            })
            .collect();
        let ndep = rng.gen_range(5..=8);
        let departments = DEPARTMENTS[..ndep]
            .iter()
            .enumerate()
            .map(|(i, title)| Department {
                id: 302 + i as i64,
                title,
                created: ACCOUNT_EPOCH + rng.gen_range(0..300) * DAY,
                updated: ACCOUNT_EPOCH + rng.gen_range(500..2_000) * DAY,
            })
            .collect();
        let nemp = rng.gen_range(20..=60);
        let employees = (0..nemp)
            .map(|i| {
                let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
                let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
                let stem = EMAIL_STEMS[rng.gen_range(0..EMAIL_STEMS.len())];
                let mut departments = vec![i % ndep];
                if rng.gen_bool(0.3) {
                    let d = rng.gen_range(0..ndep);
                    if d != i % ndep {
                        departments.push(d);
                    }
                }
                Employee {
                    id: 90_101 + i as i64,
                    first,
                    last,
                    email: format!("{stem}.{i}@example.ru"),
                    phone: rng
                        .gen_bool(0.4)
                        .then(|| format!("+7916{:07}", rng.gen_range(0..10_000_000))),
                    role: if i % 10 == 0 {
                        ("supervisor", "Супервайзер")
                    } else {
                        ("operator", "Оператор")
                    },
                    state: ["online", "busy", "offline"][rng.gen_range(0..3)],
                    chat_limit: rng.gen_range(3..=8),
                    departments,
                    created: ACCOUNT_EPOCH + rng.gen_range(0..2_000) * DAY,
                    updated: ACCOUNT_EPOCH + rng.gen_range(2_000..2_700) * DAY,
                }
            })
            .collect();
        Self {
            seed,
            sites,
            departments,
            employees,
            visitors: (n as f64 / 2.5).ceil().max(1.0) as u64,
        }
    }

    fn employee_full(&self, i: usize, dt: &dyn Fn(i64) -> String) -> Value {
        let e = &self.employees[i];
        json!({
            "id": e.id, "first_name": e.first, "last_name": e.last, "email": e.email,
            "phone": e.phone, "role": {"code": e.role.0, "title": e.role.1},
            "state": e.state, "is_active": true, "is_deleted": false, "chat_limit": e.chat_limit,
            "departments": e.departments.iter().map(|&d| json!({"id": self.departments[d].id})).collect::<Vec<_>>(),
            "created_at": dt(e.created), "updated_at": dt(e.updated),
        })
    }

    fn employee_ref(&self, i: usize) -> Value {
        let e = &self.employees[i];
        json!({"id": e.id, "first_name": e.first})
    }

    fn employee_id(&self, i: usize) -> Value {
        json!({"id": self.employees[i].id})
    }

    /// Employees of a department (falls back to everyone).
    fn staff_of(&self, dept: Option<usize>) -> Vec<usize> {
        let v: Vec<usize> = (0..self.employees.len())
            .filter(|&i| dept.is_none_or(|d| self.employees[i].departments.contains(&d)))
            .collect();
        if v.is_empty() {
            (0..self.employees.len()).collect()
        } else {
            v
        }
    }
}

/// A returning visitor: stable attributes drawn from `(seed, visitor number)`.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    uuid: String,
    name: Option<&'static str>,
    nickname: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    created: i64,
    ip: String,
    ua: &'static str,
    city: usize,
    visit_count: i64,
    chat_count: i64,
    call_count: i64,
    lead_count: i64,
    banned: bool,
}

impl Visitor {
    fn new(seed: u64, v: u64) -> Self {
        let mut rng = rng_for(seed, v as i64, S_VISITOR);
        let b: [u8; 16] = rng.gen();
        let uuid = format!(
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 0xf, b[7], 8 | (b[8] & 0x3), b[8] >> 4, b[9],
            b[10], b[11], b[12], b[13], b[14], b[15]
        );
        let named = rng.gen_bool(0.6);
        let name = named.then(|| FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())]);
        let stem = EMAIL_STEMS[rng.gen_range(0..EMAIL_STEMS.len())];
        Self {
            uuid,
            name,
            nickname: rng
                .gen_bool(0.1)
                .then(|| format!("{stem}{}", rng.gen_range(1..999))),
            email: rng
                .gen_bool(0.35)
                .then(|| format!("{stem}{}@mail.example", rng.gen_range(1..99_999))),
            phone: rng
                .gen_bool(0.4)
                .then(|| format!("+79{:09}", rng.gen_range(0..1_000_000_000u64))),
            created: ACCOUNT_EPOCH + rng.gen_range(0..2_500) * DAY,
            ip: format!(
                "{}.{}.{}.{}",
                [198, 203, 192, 100][rng.gen_range(0..4)],
                rng.gen_range(0..=255),
                rng.gen_range(0..=255),
                rng.gen_range(1..=254)
            ),
            ua: USER_AGENTS[rng.gen_range(0..USER_AGENTS.len())],
            city: weighted_city(&mut rng),
            visit_count: rng.gen_range(1..40),
            chat_count: rng.gen_range(0..12),
            call_count: rng.gen_range(0..4),
            lead_count: rng.gen_range(0..3),
            banned: rng.gen_bool(0.005),
        }
    }

    fn display_name(&self) -> &str {
        self.name.unwrap_or("Посетитель")
    }
}

fn weighted_city(rng: &mut ChaCha8Rng) -> usize {
    let total: u32 = CITIES.iter().map(|c| c.2).sum();
    let mut x = rng.gen_range(0..total);
    for (i, c) in CITIES.iter().enumerate() {
        if x < c.2 {
            return i;
        }
        x -= c.2;
    }
    0
}

// ---------------------------------------------------------------------------------------
// Conversation model.

/// Deterministic per-conversation quirks (real-world data shapes).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quirks {
    offset_dates: bool,
    numbers_as_strings: bool,
    null_arrays: bool,
    department_empty_array: bool,
    missing_optional: bool,
    unknown_fields: bool,
    count_mismatch: bool,
    bad_record: bool,
    /// The seed of this conversation's drift, when it has any.
    drift: Option<u64>,
}

impl Quirks {
    fn new(seed: u64, id: i64, bad_record_rate: f64, drift_rate: f64) -> Self {
        let mut r = rng_for(seed, id, S_QUIRK);
        Self {
            offset_dates: r.gen_bool(0.02),
            numbers_as_strings: r.gen_bool(0.02),
            null_arrays: r.gen_bool(0.02),
            department_empty_array: r.gen_bool(0.015),
            missing_optional: r.gen_bool(0.03),
            unknown_fields: r.gen_bool(0.02),
            count_mismatch: r.gen_bool(0.005),
            bad_record: r.gen::<f64>() < bad_record_rate,
            // Drawn last and from a stream of its own, so that turning it on changes no
            // other quirk of any conversation.
            drift: {
                let mut d = rng_for(seed, id, S_DRIFT);
                (drift_rate > 0.0 && d.gen::<f64>() < drift_rate).then(|| d.gen::<u64>())
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Append,
    CompleteLead,
    DeleteMessage,
    DeleteChat,
    Vote,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Sender {
    Visitor,
    Employee(usize),
    System,
}

#[derive(Debug, Clone)]
struct Msg {
    id: i64,
    at: i64,
    text: String,
    sender: Sender,
    delivered: bool,
}

#[derive(Debug, Clone)]
struct Event {
    kind: &'static str,
    text: String,
    at: i64,
    employee: Option<usize>,
    page: Option<String>,
}

#[derive(Debug, Clone)]
struct Chat {
    id: i64,
    created: i64,
    updated: i64,
    employee: usize,
    result: &'static str,
    queue_time: i64,
    first_answer_time: i64,
    answer_time_avg: i64,
    vote: &'static str,
    contact: bool,
    rem: [bool; 5],
    remark: Option<&'static str>,
    callback_url: Option<String>,
    prechats: Vec<(&'static str, String)>,
    messages: Vec<Msg>,
    events: Vec<Event>,
}

#[derive(Debug, Clone)]
struct Call {
    id: i64,
    created: i64,
    updated: i64,
    employee: usize,
    incoming: bool,
    result: &'static str,
    duration: i64,
    answer_time: i64,
    lead: Option<i64>,
}

#[derive(Debug, Clone)]
struct Lead {
    id: i64,
    created: i64,
    updated: i64,
    kind: &'static str,
    completed: Option<(i64, usize, &'static str)>,
    assigned: usize,
    locked: bool,
    text: &'static str,
}

#[derive(Debug, Clone)]
struct Complaint {
    id: String,
    created: i64,
    employee: Option<usize>,
    text: &'static str,
}

/// One conversation at one version, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub(crate) id: i64,
    created: i64,
    pub(crate) updated: i64,
    visitor: Visitor,
    site: usize,
    department: Option<usize>,
    result: &'static str,
    duration: i64,
    page_count: i64,
    search: Option<(&'static str, &'static str)>,
    ext_referer: Option<String>,
    int_referer: String,
    entry_page: String,
    widget_type: &'static str,
    widget_id: String,
    visitor_variables: Vec<(&'static str, String)>,
    employees: Vec<usize>,
    chats: Vec<Chat>,
    calls: Vec<Call>,
    leads: Vec<Lead>,
    complaints: Vec<Complaint>,
    events: Vec<Event>,
    quirks: Quirks,
    msg_seq: i64,
    chat_seq: i64,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.gen_range(0..xs.len())]
}

fn message_text(rng: &mut ChaCha8Rng, visitor: bool) -> String {
    let pool = if visitor {
        VISITOR_PHRASES
    } else {
        EMPLOYEE_PHRASES
    };
    let mut s = pick(rng, pool).to_owned();
    if rng.gen_bool(0.25) {
        s.push(if rng.gen_bool(0.5) { '\n' } else { ' ' });
        s.push_str(pick(rng, pool));
    }
    let r: f64 = rng.gen();
    if r < 0.01 {
        s.push_str("\tсм. C:\\Users\\docs\\заказ.pdf");
    } else if r < 0.03 {
        s = format!("> {s}\n«цитата»");
    }
    s
}

impl Conv {
    /// Version 0: the conversation as it closed at `v0`.
    fn base(
        seed: u64,
        id: i64,
        created: i64,
        v0: i64,
        pools: &Pools,
        bad_rate: f64,
        drift_rate: f64,
    ) -> Self {
        let mut rng = rng_for(seed, id, S_CONTENT);
        // Zipf-ish reuse: low visitor numbers come back often.
        let u: f64 = rng.gen();
        let vnum = ((pools.visitors as f64) * u * u * u) as u64;
        let visitor = Visitor::new(pools.seed, vnum);
        let site = rng.gen_range(0..pools.sites.len());
        let department = rng
            .gen_bool(0.9)
            .then(|| rng.gen_range(0..pools.departments.len()));
        let staff = pools.staff_of(department);
        let theme_page =
            |rng: &mut ChaCha8Rng| format!("{}{}", pools.sites[site].url, pick(rng, PAGES));
        let search = rng.gen_bool(0.45).then(|| {
            (
                pick(&mut rng, &["Yandex", "Google"]),
                pick(&mut rng, QUERIES),
            )
        });
        let ext_referer = match search {
            Some(("Google", q)) => Some(format!(
                "https://www.google.com/search?q={}",
                q.replace(' ', "+")
            )),
            Some((_, q)) => Some(format!(
                "https://yandex.ru/search/?text={}",
                q.replace(' ', "%20")
            )),
            None => rng.gen_bool(0.3).then(|| {
                pick(
                    &mut rng,
                    &[
                        "https://vk.com/away.php",
                        "https://t.me/",
                        "https://2gis.ru/",
                    ],
                )
                .to_owned()
            }),
        };
        let entry_page = theme_page(&mut rng);
        let int_referer = theme_page(&mut rng);
        let widget_type = pick(
            &mut rng,
            &[
                "button",
                "button",
                "button",
                "auto",
                "label",
                "invite",
                "api",
                "sound-button",
                "sound-label",
            ],
        );
        let widget_id = match widget_type {
            "invite" => pick(&mut rng, INVITES).to_owned(),
            "api" => String::new(),
            _ => format!("{}", 5_500 + rng.gen_range(0..40)),
        };
        let mut visitor_variables =
            vec![("client_id", format!("A-{}", rng.gen_range(10_000..99_999)))];
        if rng.gen_bool(0.5) {
            visitor_variables.push(("cart_total", format!("{}", rng.gen_range(500..150_000))));
        }
        if let Some((engine, _)) = search {
            visitor_variables.push(("utm_source", engine.to_lowercase()));
        }

        let n_chats = match rng.gen_range(0..100) {
            0..=9 => 0,
            10..=79 => 1,
            80..=94 => 2,
            _ => 3,
        };
        let n_calls = if rng.gen_bool(0.15) {
            1 + usize::from(rng.gen_bool(0.2))
        } else {
            0
        };
        let n_leads = usize::from(rng.gen_bool(0.10));
        let n_complaints = usize::from(rng.gen_bool(0.01));
        let n_chats = if n_chats + n_calls + n_leads == 0 {
            1
        } else {
            n_chats
        };

        let mut conv = Conv {
            id,
            created,
            updated: v0,
            visitor,
            site,
            department,
            result: "success",
            duration: v0 - created,
            page_count: rng.gen_range(1..15),
            search,
            ext_referer,
            int_referer,
            entry_page: entry_page.clone(),
            widget_type,
            widget_id,
            visitor_variables,
            employees: Vec::new(),
            chats: Vec::new(),
            calls: Vec::new(),
            leads: Vec::new(),
            complaints: Vec::new(),
            events: Vec::new(),
            quirks: Quirks::new(seed, id, bad_rate, drift_rate),
            msg_seq: 0,
            chat_seq: 0,
        };
        conv.events.push(Event {
            kind: "vistor-navigate",
            text: "Посетитель перешёл на страницу".to_owned(),
            at: created,
            employee: None,
            page: Some(entry_page),
        });

        // Lay the dialogues out one after another inside [created, v0].
        let parts = (n_chats + n_calls + n_leads).max(1) as i64;
        let span = (v0 - created).max(parts);
        let slot = span / parts;
        let mut cursor = created;
        for _ in 0..n_chats {
            let emp = pick(&mut rng, &staff);
            conv.add_chat(&mut rng, emp, cursor, cursor + slot - 1, pools);
            cursor += slot;
        }
        for k in 0..n_calls {
            let emp = pick(&mut rng, &staff);
            conv.note_employee(emp);
            let start = cursor;
            let duration = rng.gen_range(0..(slot - 1).max(1)).min(1_800);
            let missed = rng.gen_bool(0.2);
            conv.calls.push(Call {
                id: id * 10 + k as i64,
                created: start,
                updated: start + duration,
                employee: emp,
                incoming: rng.gen_bool(0.7),
                result: if missed { "missed" } else { "completed" },
                duration: if missed { 0 } else { duration },
                answer_time: rng.gen_range(2..40),
                lead: None,
            });
            conv.events.push(Event {
                kind: "visitor-call-start",
                text: "Посетитель позвонил".to_owned(),
                at: start,
                employee: Some(emp),
                page: None,
            });
            cursor += slot;
        }
        for k in 0..n_leads {
            let emp = pick(&mut rng, &staff);
            let start = cursor;
            let done = rng.gen_bool(0.4);
            let end = start + (slot - 1).max(0);
            let completed = done.then(|| (end, emp, pick(&mut rng, LEAD_ANSWERS)));
            if done {
                conv.note_employee(emp);
            }
            let lead_id = id * 10 + k as i64;
            if let Some(call) = conv.calls.first_mut() {
                if !call.incoming {
                    call.lead = Some(lead_id);
                }
            }
            conv.leads.push(Lead {
                id: lead_id,
                created: start,
                updated: if done { end } else { start },
                kind: pick(&mut rng, &["form", "callback"]),
                completed,
                assigned: emp,
                locked: rng.gen_bool(0.05),
                text: pick(&mut rng, LEAD_TEXTS),
            });
            cursor += slot;
        }
        for k in 0..n_complaints {
            let at = v0 - 1;
            conv.complaints.push(Complaint {
                id: format!("cmp-{id}-{k}"),
                created: at.max(created),
                employee: conv.employees.first().copied(),
                text: pick(&mut rng, COMPLAINTS),
            });
        }
        if conv.chats.iter().all(|c| c.result == "missed")
            && conv.calls.iter().all(|c| c.result == "missed")
        {
            conv.result = "failure";
        }
        conv.events.sort_by_key(|e| e.at);
        conv
    }

    fn note_employee(&mut self, emp: usize) {
        if !self.employees.contains(&emp) {
            self.employees.push(emp);
        }
    }

    fn next_msg_id(&mut self) -> i64 {
        self.msg_seq += 1;
        self.id * 10_000 + self.msg_seq
    }

    /// Adds a chat with its messages inside [from, to].
    fn add_chat(&mut self, rng: &mut ChaCha8Rng, emp: usize, from: i64, to: i64, pools: &Pools) {
        let to = to.max(from);
        let n_msgs = match rng.gen_range(0..100) {
            0..=14 => rng.gen_range(1..=2),
            15..=89 => rng.gen_range(3..=12),
            _ => rng.gen_range(13..=50),
        };
        let result = match rng.gen_range(0..100) {
            0..=79 => "completed",
            80..=89 => "missed",
            90..=95 => "transfer_manual",
            _ => "transfer_auto",
        };
        self.note_employee(emp);
        let chat_id = self.id * 10 + self.chat_seq;
        self.chat_seq += 1;
        let mut messages = Vec::with_capacity(n_msgs);
        let step = ((to - from) / n_msgs as i64).max(0);
        let mut t = from;
        for k in 0..n_msgs {
            let sender = if rng.gen_bool(0.03) {
                Sender::System
            } else if k % 2 == 0 || result == "missed" {
                Sender::Visitor
            } else {
                Sender::Employee(emp)
            };
            let text = match sender {
                Sender::System => "Чат передан другому оператору".to_owned(),
                Sender::Visitor => message_text(rng, true),
                Sender::Employee(_) => message_text(rng, false),
            };
            messages.push(Msg {
                id: self.next_msg_id(),
                at: t.min(to),
                text,
                sender,
                delivered: rng.gen_bool(0.97),
            });
            t += if step > 0 { rng.gen_range(0..=step) } else { 0 };
        }
        let name = self.visitor.display_name().to_owned();
        let e = &pools.employees[emp];
        let open = Event {
            kind: "visitor-chat-open",
            text: format!(
                "{name} начал(а) переписку с оператором {} {}",
                e.first, e.last
            ),
            at: from,
            employee: Some(emp),
            page: None,
        };
        let mut chat_events = vec![open.clone()];
        self.events.push(open);
        if rng.gen_bool(0.05) {
            let ev = Event {
                kind: "file-upload",
                text: "Посетитель отправил файл photo.jpg".to_owned(),
                at: (from + 1).min(to),
                employee: None,
                page: None,
            };
            chat_events.push(ev.clone());
            self.events.push(ev);
        }
        let close = Event {
            kind: "visitor-chat-close",
            text: "Посетитель закрыл чат".to_owned(),
            at: to,
            employee: None,
            page: None,
        };
        chat_events.push(close.clone());
        self.events.push(close);
        let mut prechats = Vec::new();
        if let Some(n) = self.visitor.name {
            prechats.push(("Имя", n.to_owned()));
        }
        if let Some(p) = &self.visitor.phone {
            if rng.gen_bool(0.5) {
                prechats.push(("Телефон", p.clone()));
            }
        }
        self.chats.push(Chat {
            id: chat_id,
            created: from,
            updated: to,
            employee: emp,
            result,
            queue_time: rng.gen_range(0..60),
            first_answer_time: rng.gen_range(5..90),
            answer_time_avg: rng.gen_range(10..120),
            vote: pick(
                rng,
                &[
                    "undefined",
                    "undefined",
                    "undefined",
                    "positive",
                    "negative",
                ],
            ),
            contact: self.visitor.phone.is_some() || self.visitor.email.is_some(),
            rem: [
                result.starts_with("transfer"),
                result == "transfer_auto",
                n_msgs < 2,
                rng.gen_bool(0.05),
                result == "missed",
            ],
            remark: rng.gen_bool(0.05).then_some("Клиент просил перезвонить"),
            callback_url: rng
                .gen_bool(0.02)
                .then(|| format!("https://crm.example.ru/hooks/livetex/{chat_id}")),
            prechats,
            messages,
            events: chat_events,
        });
    }

    fn apply(&mut self, change: Change, t: i64, rng: &mut ChaCha8Rng, pools: &Pools) {
        let done = match change {
            Change::Append => false,
            Change::CompleteLead => {
                if let Some(lead) = self.leads.iter_mut().find(|l| l.completed.is_none()) {
                    let emp = lead.assigned;
                    lead.completed = Some((t, emp, pick(rng, LEAD_ANSWERS)));
                    lead.updated = t;
                    self.note_employee(emp);
                    true
                } else {
                    false
                }
            }
            Change::DeleteMessage => {
                if let Some(chat) = self.chats.iter_mut().find(|c| c.messages.len() >= 2) {
                    // Never the first message: it is also `first_message`.
                    let k = rng.gen_range(1..chat.messages.len());
                    chat.messages.remove(k);
                    chat.updated = t;
                    true
                } else {
                    false
                }
            }
            Change::DeleteChat => {
                // Only when another chat remains, so discovery through /chats still sees
                // the conversation change (the remaining chats are touched).
                if self.chats.len() >= 2 {
                    let k = rng.gen_range(0..self.chats.len());
                    self.chats.remove(k);
                    for c in &mut self.chats {
                        c.updated = t;
                    }
                    true
                } else {
                    false
                }
            }
            Change::Vote => {
                if let Some(chat) = self.chats.iter_mut().rev().find(|c| c.vote == "undefined") {
                    chat.vote = pick(rng, &["positive", "negative"]);
                    chat.updated = t;
                    true
                } else {
                    false
                }
            }
        };
        if !done {
            self.append(t, rng, pools);
        }
        self.updated = t;
    }

    /// The visitor writes again: 1–3 messages in the last chat (a new chat if none).
    fn append(&mut self, t: i64, rng: &mut ChaCha8Rng, pools: &Pools) {
        if self.chats.is_empty() || self.chat_seq >= 10 {
            if self.chat_seq < 10 {
                let staff = pools.staff_of(self.department);
                let emp = pick(rng, &staff);
                self.add_chat(rng, emp, t, t, pools);
                return;
            }
            if self.chats.is_empty() {
                return;
            }
        }
        let n = rng.gen_range(1..=3);
        let mut new = Vec::with_capacity(n);
        for k in 0..n {
            let emp = self.chats.last().map(|c| c.employee).unwrap_or(0);
            let sender = if k % 2 == 0 {
                Sender::Visitor
            } else {
                Sender::Employee(emp)
            };
            let id = self.next_msg_id();
            new.push(Msg {
                id,
                at: t,
                text: message_text(rng, sender == Sender::Visitor),
                sender,
                delivered: true,
            });
        }
        if let Some(chat) = self.chats.last_mut() {
            chat.messages.extend(new);
            chat.updated = t;
        }
    }

    fn dt(&self) -> impl Fn(i64) -> String {
        let offset = self.quirks.offset_dates;
        move |t| {
            if offset {
                fmt_msk_offset(t)
            } else {
                fmt_msk(t)
            }
        }
    }

    fn num(&self, n: i64) -> Value {
        if self.quirks.numbers_as_strings {
            Value::String(n.to_string())
        } else {
            json!(n)
        }
    }

    fn message_total(&self) -> i64 {
        let n: i64 = self.chats.iter().map(|c| c.messages.len() as i64).sum();
        if self.quirks.count_mismatch {
            n + 1
        } else {
            n
        }
    }

    fn visitor_ref(&self) -> Value {
        json!({"id": self.visitor.uuid, "name": self.visitor.display_name()})
    }

    fn site_ref(&self, pools: &Pools) -> Value {
        let s = &pools.sites[self.site];
        json!({"id": s.id, "url": s.url})
    }

    fn dept_ref(&self, pools: &Pools, with_title: bool) -> Value {
        match self.department {
            Some(d) if with_title => {
                json!({"id": pools.departments[d].id, "title": pools.departments[d].title})
            }
            Some(d) => json!({"id": pools.departments[d].id}),
            None => Value::Null,
        }
    }

    fn render_event(&self, e: &Event, pools: &Pools) -> Value {
        let dt = self.dt();
        json!({
            "event_type": e.kind, "event_text": e.text, "created_at": dt(e.at),
            "employee": e.employee.map(|i| pools.employee_id(i)), "page": e.page,
        })
    }

    fn render_msg(&self, m: &Msg, pools: &Pools) -> Value {
        let dt = self.dt();
        let (visitor, employee) = match m.sender {
            Sender::Visitor => (json!({"id": self.visitor.uuid}), Value::Null),
            Sender::Employee(i) => (Value::Null, pools.employee_ref(i)),
            Sender::System => (Value::Null, Value::Null),
        };
        json!({"id": m.id, "created_at": dt(m.at), "text": m.text, "is_delivered": m.delivered,
               "visitor": visitor, "employee": employee})
    }

    /// Renders chat `k` (as inside the conversation).
    pub(crate) fn render_chat(&self, k: usize, pools: &Pools) -> Value {
        let c = &self.chats[k];
        let dt = self.dt();
        let msgs: Vec<Value> = c
            .messages
            .iter()
            .map(|m| self.render_msg(m, pools))
            .collect();
        let duration = c.updated - c.created;
        let mut v = json!({
            "id": c.id, "created_at": dt(c.created), "updated_at": dt(c.updated),
            "result": c.result, "duration": self.num(duration), "queue_time": c.queue_time,
            "first_answer_time": c.first_answer_time, "answer_time_avg": c.answer_time_avg,
            "message_count": c.messages.len(), "visitor_vote": c.vote, "is_closed": true,
            "is_contact_info_exist": c.contact, "rem_transfer": c.rem[0], "rem_auto": c.rem[1],
            "rem_empty": c.rem[2], "rem_long_answer": c.rem[3], "rem_lost_in_queue": c.rem[4],
            "is_managed": false,
            "employee": pools.employee_ref(c.employee),
            "department": self.dept_ref(pools, true),
            "site": self.site_ref(pools),
            "visitor": self.visitor_ref(),
            "prechats_chat": c.prechats.iter().map(|(t, v)| json!({"title": t, "value": v})).collect::<Vec<_>>(),
            "prechats_hidden": [],
            "employee_remark": c.remark,
            "callback_url": c.callback_url,
            "visitor_variables": self.vars(),
        });
        // Large arrays are moved in after the macro: `json!` would deep-copy a `Value`.
        v["first_message"] = msgs.first().cloned().unwrap_or(Value::Null);
        v["messages"] = Value::Array(msgs);
        v["events"] = Value::Array(
            c.events
                .iter()
                .map(|e| self.render_event(e, pools))
                .collect(),
        );
        if self.quirks.unknown_fields {
            v["bot_session"] = json!({"bot_id": 3, "handoff": true, "intent": "delivery"});
        }
        v
    }

    fn vars(&self) -> Value {
        Value::Object(
            self.visitor_variables
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
                .collect::<Map<String, Value>>(),
        )
    }

    /// Renders call `k`.
    pub(crate) fn render_call(&self, k: usize, pools: &Pools) -> Value {
        let c = &self.calls[k];
        let dt = self.dt();
        json!({
            "id": c.id, "created_at": dt(c.created), "updated_at": dt(c.updated),
            "is_incoming": c.incoming, "result": c.result, "duration": self.num(c.duration),
            "answer_time": c.answer_time,
            "recording": (c.result == "completed").then(|| format!("https://records.example.ru/{}.mp3", c.id)),
            "visitor_vote": "undefined", "employee_vote": Value::Null,
            "employee": pools.employee_ref(c.employee),
            "lead": c.lead.map(|id| json!({"id": id})),
            "department": self.dept_ref(pools, false), "site": {"id": pools.sites[self.site].id},
            "visitor": {"id": self.visitor.uuid},
            "page_count": self.page_count, "visit_count": self.visitor.visit_count,
            "ext_referer": self.ext_referer, "int_referer": self.int_referer,
            "search_engine": self.search.map(|s| s.0), "search_query": self.search.map(|s| s.1),
            "entry_page": self.entry_page,
            "rem_transfer": false, "rem_auto": false, "rem_empty": c.result == "missed",
            "rem_long_answer": false, "rem_lost_in_queue": false, "callback_url": Value::Null,
        })
    }

    /// Renders lead `k`.
    pub(crate) fn render_lead(&self, k: usize, pools: &Pools) -> Value {
        let l = &self.leads[k];
        let dt = self.dt();
        let (city, country, _) = CITIES[self.visitor.city];
        json!({
            "id": l.id, "created_at": dt(l.created), "updated_at": dt(l.updated), "type": l.kind,
            "result": if l.completed.is_some() { "completed" } else { "missed" },
            "name": self.visitor.display_name(), "email": self.visitor.email, "phone": self.visitor.phone,
            "text": l.text, "answer_text": l.completed.map(|c| c.2),
            "completed_at": l.completed.map(|c| dt(c.0)),
            "duration": l.completed.map(|c| self.num(c.0 - l.created)),
            "created_by": Value::Null, "assigned_to": pools.employee_id(l.assigned),
            "completed_by": l.completed.map(|c| pools.employee_id(c.1)),
            "locked_by": if l.locked { pools.employee_id(l.assigned) } else { Value::Null },
            "is_locked": l.locked,
            "department": self.dept_ref(pools, false), "site": {"id": pools.sites[self.site].id},
            "city": city, "country": country,
            "ext_referer": self.ext_referer, "int_referer": self.int_referer,
            "search_engine": self.search.map(|s| s.0), "search_query": self.search.map(|s| s.1),
            "entry_page": self.entry_page,
        })
    }

    /// Renders complaint `k`.
    pub(crate) fn render_complaint(&self, k: usize, pools: &Pools) -> Value {
        let c = &self.complaints[k];
        let dt = self.dt();
        json!({
            "id": c.id, "created_at": dt(c.created), "updated_at": dt(c.created), "text": c.text,
            "email": self.visitor.email, "phone": self.visitor.phone,
            "employee": c.employee.map(|i| pools.employee_id(i)),
            "department": self.dept_ref(pools, false), "site": {"id": pools.sites[self.site].id},
            "visitor": {"id": self.visitor.uuid},
        })
    }

    /// Timings of every child, for the child-list index (no rendering).
    fn child_times(&self) -> ChildTimes {
        let pos = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
        let chats = self
            .chats
            .iter()
            .enumerate()
            .map(|(k, c)| (ChildKind::Chats.slot() as u8, pos(k), c.updated, c.created));
        let calls = self
            .calls
            .iter()
            .enumerate()
            .map(|(k, c)| (ChildKind::Calls.slot() as u8, pos(k), c.updated, c.created));
        let leads = self
            .leads
            .iter()
            .enumerate()
            .map(|(k, l)| (ChildKind::Leads.slot() as u8, pos(k), l.updated, l.created));
        // A complaint never changes: its updated_at is its created_at.
        let complaints = self.complaints.iter().enumerate().map(|(k, c)| {
            (
                ChildKind::Complaints.slot() as u8,
                pos(k),
                c.created,
                c.created,
            )
        });
        chats.chain(calls).chain(leads).chain(complaints).collect()
    }

    /// Renders child `position` of `kind`, if it exists.
    pub(crate) fn render_child(
        &self,
        kind: ChildKind,
        position: usize,
        pools: &Pools,
    ) -> Option<Value> {
        let exists = match kind {
            ChildKind::Chats => position < self.chats.len(),
            ChildKind::Calls => position < self.calls.len(),
            ChildKind::Leads => position < self.leads.len(),
            ChildKind::Complaints => position < self.complaints.len(),
        };
        exists.then(|| match kind {
            ChildKind::Chats => self.render_chat(position, pools),
            ChildKind::Calls => self.render_call(position, pools),
            ChildKind::Leads => self.render_lead(position, pools),
            ChildKind::Complaints => self.render_complaint(position, pools),
        })
    }

    /// Children of one kind with their `updated_at` (secs) and rendered JSON.
    #[cfg(test)]
    pub(crate) fn children(&self, kind: ChildKind, pools: &Pools) -> Vec<(i64, i64, Value)> {
        match kind {
            ChildKind::Chats => (0..self.chats.len())
                .map(|k| {
                    (
                        self.chats[k].updated,
                        self.chats[k].created,
                        self.render_chat(k, pools),
                    )
                })
                .collect(),
            ChildKind::Calls => (0..self.calls.len())
                .map(|k| {
                    (
                        self.calls[k].updated,
                        self.calls[k].created,
                        self.render_call(k, pools),
                    )
                })
                .collect(),
            ChildKind::Leads => (0..self.leads.len())
                .map(|k| {
                    (
                        self.leads[k].updated,
                        self.leads[k].created,
                        self.render_lead(k, pools),
                    )
                })
                .collect(),
            ChildKind::Complaints => (0..self.complaints.len())
                .map(|k| {
                    let c = &self.complaints[k];
                    (c.created, c.created, self.render_complaint(k, pools))
                })
                .collect(),
        }
    }

    /// Renders the whole conversation as the API sends it.
    pub(crate) fn render(&self, pools: &Pools) -> Value {
        let dt = self.dt();
        let q = self.quirks;
        let v = &self.visitor;
        let (city, country, _) = CITIES[v.city];
        let site = &pools.sites[self.site];
        let array = |items: Vec<Value>| {
            if items.is_empty() && q.null_arrays {
                Value::Null
            } else {
                Value::Array(items)
            }
        };
        let chats: Vec<Value> = (0..self.chats.len())
            .map(|k| self.render_chat(k, pools))
            .collect();
        let calls: Vec<Value> = (0..self.calls.len())
            .map(|k| self.render_call(k, pools))
            .collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| self.render_event(e, pools))
            .collect();
        let mut o = json!({
            "id": self.id,
            "created_at": dt(self.created),
            "updated_at": dt(self.updated),
            "result": self.result,
            "duration": self.num(self.duration),
            "page_count": self.page_count,
            "visit_count": v.visit_count,
            "chat_count": self.chats.len(),
            "call_count": self.calls.len(),
            "lead_count": self.leads.len(),
            "message_count": self.message_total(),
            "city": city,
            "country": country,
            "search_engine": self.search.map(|s| s.0),
            "search_query": self.search.map(|s| s.1),
            "ext_referer": self.ext_referer,
            "int_referer": self.int_referer,
            "entry_page": self.entry_page,
            "widget_type": self.widget_type,
            "widget_id": self.widget_id,
            "visitor_variables": self.vars(),
            "prechat_fields": Value::Object(
                self.chats.first().map(|c| c.prechats.iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect())
                    .unwrap_or_default()),
            "visitor": {
                "id": v.uuid, "name": v.display_name(), "nickname": v.nickname, "email": v.email,
                "phone": v.phone, "created_at": dt(v.created),
                "last_visit_at": dt((self.created - 60).max(v.created)), "last_ip": v.ip,
                "last_user_agent": v.ua, "last_city": city, "last_country": country,
                "visit_count": v.visit_count, "chat_count": v.chat_count, "call_count": v.call_count,
                "lead_count": v.lead_count, "is_banned": v.banned,
                "banned_at": v.banned.then(|| dt(v.created + DAY)),
                "ban_reason": v.banned.then_some("spam"),
                "comment": Value::Null,
                "visitor_variables": self.vars(),
            },
            "site": {"id": site.id, "url": site.url, "is_deleted": false,
                     "created_at": dt(site.created), "updated_at": dt(site.updated)},
            "department": match self.department {
                Some(d) => {
                    let d = &pools.departments[d];
                    json!({"id": d.id, "title": d.title, "is_deleted": false,
                           "created_at": dt(d.created), "updated_at": dt(d.updated)})
                }
                None if q.department_empty_array => json!([]),
                None => Value::Null,
            },
        });
        if let Some(map) = o.as_object_mut() {
            // Moved in after the macro: `json!` would deep-copy each nested `Value`.
            let employees = self
                .employees
                .iter()
                .map(|&i| pools.employee_full(i, &dt))
                .collect();
            map.insert("employees".to_owned(), Value::Array(employees));
            map.insert("chats".to_owned(), array(chats));
            map.insert("calls".to_owned(), array(calls));
            let leads = (0..self.leads.len())
                .map(|k| self.render_lead(k, pools))
                .collect();
            map.insert("leads".to_owned(), array(leads));
            let complaints = (0..self.complaints.len())
                .map(|k| self.render_complaint(k, pools))
                .collect();
            map.insert("complaints".to_owned(), array(complaints));
            map.insert("events".to_owned(), array(events));
        }
        if let Some(map) = o.as_object_mut() {
            if q.missing_optional {
                for k in [
                    "city",
                    "country",
                    "search_engine",
                    "search_query",
                    "widget_id",
                    "prechat_fields",
                ] {
                    map.remove(k);
                }
            }
            if q.unknown_fields {
                map.insert("channel_type".to_owned(), json!("whatsapp"));
            }
            if q.bad_record {
                // A conversation that cannot be versioned: the `_rejected` path.
                map.insert("updated_at".to_owned(), json!("31.02.2026 25:61"));
            }
        }
        if let Some(seed) = q.drift {
            crate::drift::apply(&mut o, &mut ChaCha8Rng::seed_from_u64(seed));
        }
        o
    }
}

/// The child collections listed by `/chats`, `/calls`, `/leads`, `/complaints`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ChildKind {
    Chats,
    Calls,
    Leads,
    Complaints,
}

impl ChildKind {
    /// Array slot of the kind in per-kind tables.
    fn slot(self) -> usize {
        match self {
            ChildKind::Chats => 0,
            ChildKind::Calls => 1,
            ChildKind::Leads => 2,
            ChildKind::Complaints => 3,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg(n: u64) -> SimConfig {
        SimConfig {
            conversations: n,
            ..SimConfig::default()
        }
    }

    #[test]
    fn initial_conversations_are_all_visible_at_start() {
        let c = cfg(500);
        let a = Account::new(&c);
        let truth = a.ground_truth(c.start_clock);
        assert_eq!(truth.len(), 500);
        assert!(truth.values().all(|t| *t <= c.start_clock));
        let ids: Vec<i64> = truth.keys().copied().collect();
        assert_eq!(ids[0], FIRST_CONVERSATION_ID);
        assert_eq!(ids[499], FIRST_CONVERSATION_ID + 499);
    }

    #[test]
    fn same_seed_gives_same_bytes_and_other_seed_differs() {
        let c = cfg(50);
        let a = Account::new(&c);
        let b = Account::new(&c);
        let at = c.start_clock;
        for id in FIRST_CONVERSATION_ID..FIRST_CONVERSATION_ID + 50 {
            let x = serde_json::to_string(&a.conversation_json(id, at)).unwrap();
            let y = serde_json::to_string(&b.conversation_json(id, at)).unwrap();
            assert_eq!(x, y);
        }
        let other = Account::new(&SimConfig {
            seed: 7,
            ..c.clone()
        });
        let x = serde_json::to_string(&a.conversation_json(FIRST_CONVERSATION_ID, at)).unwrap();
        let y = serde_json::to_string(&other.conversation_json(FIRST_CONVERSATION_ID, at)).unwrap();
        assert_ne!(x, y);
    }

    fn as_i64(v: &Value) -> i64 {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap()
    }

    #[test]
    fn counts_agree_with_arrays_except_for_count_quirks() {
        let c = cfg(2_000);
        let a = Account::new(&c);
        let at = c.start_clock + chrono::Duration::days(5);
        let mut mismatches = 0;
        for (id, _) in a.visible(at) {
            let v = a.conversation_json(id, at).unwrap();
            let len = |k: &str| v[k].as_array().map_or(0, |a| a.len() as i64);
            assert_eq!(as_i64(&v["chat_count"]), len("chats"), "{id}");
            assert_eq!(as_i64(&v["call_count"]), len("calls"), "{id}");
            assert_eq!(as_i64(&v["lead_count"]), len("leads"), "{id}");
            let mut total = 0;
            for chat in v["chats"].as_array().into_iter().flatten() {
                let n = chat["messages"].as_array().unwrap().len() as i64;
                assert_eq!(as_i64(&chat["message_count"]), n);
                total += n;
            }
            if a.count_mismatch(id) {
                mismatches += 1;
                assert_ne!(as_i64(&v["message_count"]), total);
            } else {
                assert_eq!(as_i64(&v["message_count"]), total, "{id}");
            }
        }
        assert!(mismatches > 0 && mismatches < 40, "{mismatches}");
    }

    #[test]
    fn versions_change_updated_at_and_children_follow() {
        let c = cfg(3_000);
        let a = Account::new(&c);
        let later = c.start_clock + chrono::Duration::days(10);
        let before = a.ground_truth(c.start_clock);
        let after = a.ground_truth(later);
        let changed: Vec<i64> = before
            .iter()
            .filter(|(id, t)| after.get(id) != Some(t))
            .map(|(id, _)| *id)
            .collect();
        assert!(!changed.is_empty());
        assert!(after.len() > before.len(), "new conversations appear");
        for id in changed {
            let conv = a.build(id, later.timestamp()).unwrap();
            let max_child = [
                ChildKind::Chats,
                ChildKind::Calls,
                ChildKind::Leads,
                ChildKind::Complaints,
            ]
            .iter()
            .flat_map(|k| conv.children(*k, a.pools()))
            .map(|(u, _, _)| u)
            .max()
            .unwrap();
            assert_eq!(
                max_child, conv.updated,
                "a child carries the new version of {id}"
            );
        }
    }

    #[test]
    fn child_index_agrees_with_rendered_children_and_follows_mutations() {
        let a = Account::new(&cfg(300));
        let mut at = a.start + 3 * DAY;
        let check = |a: &Account, at: i64| {
            let ix = a.child_index(at);
            for kind in [
                ChildKind::Chats,
                ChildKind::Calls,
                ChildKind::Leads,
                ChildKind::Complaints,
            ] {
                let mut expected = Vec::new();
                for (id, _) in a.visible_secs(at) {
                    let conv = a.build(id, at).unwrap();
                    for (k, (updated, created, item)) in
                        conv.children(kind, a.pools()).into_iter().enumerate()
                    {
                        let rendered = conv.render_child(kind, k, a.pools()).unwrap();
                        assert_eq!(rendered, item);
                        expected.push(ChildRow {
                            updated,
                            conversation: id,
                            position: k as u32,
                            created,
                            version: conv.updated,
                        });
                    }
                }
                expected.sort_unstable();
                assert_eq!(ix.rows(kind), expected.as_slice(), "{kind:?} at {at}");
            }
        };
        check(&a, at);
        // Mutations bump the generation; the rebuilt index carries the new versions.
        let ids: Vec<i64> = a
            .visible_secs(at)
            .iter()
            .map(|(id, _)| *id)
            .take(5)
            .collect();
        for id in &ids {
            assert!(a.mutate(*id, at));
        }
        check(&a, at);
        let ix = a.child_index(at);
        for id in &ids {
            assert!(ix
                .rows(ChildKind::Chats)
                .iter()
                .chain(ix.rows(ChildKind::Calls))
                .chain(ix.rows(ChildKind::Leads))
                .any(|r| r.conversation == *id && r.updated == at));
        }
        at += DAY;
        check(&a, at);
    }
}
