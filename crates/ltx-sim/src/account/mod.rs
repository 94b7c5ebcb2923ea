//! The generated account: a compact timeline index plus on-demand conversation content.
//!
//! Every conversation is a pure function of `(seed, id)` and the versions that exist at
//! the requested instant, so any one can be built in O(1) without the others. Only the
//! index (creation, visibility and version times: 28 bytes a conversation) lives in
//! memory, plus the versions added later (by the `mutate_rate` fault, `touch` and `prune`:
//! [`Mutation`]), plus the child-list index
//! (40 bytes a chat/call/lead/complaint: times and position, never JSON) that lets the
//! child lists page in O(log N + limit) and render only the page.
//!
//! One job per file: [`rng`] the random streams, [`index`] the timeline and child-list
//! indexes, [`pools`] the shared entities (sites, departments, employees, visitors),
//! [`timing`] when things happen in a conversation (waits, working hours, completions),
//! [`generate`] the conversation model and how versions change it, [`render`] its JSON,
//! [`sla`] its SLA facts.
//! This file holds [`Account`]: the upkeep of the index (future days, mutations, cached
//! snapshots) and the builds that tie the other files together.

mod generate;
mod index;
mod pools;
mod render;
mod rng;
mod sla;
mod timing;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::sla::SlaTruth;
use crate::time::{from_secs, msk_hour_weekday};
use crate::truth::WarehouseTruth;

pub(crate) use generate::Conv;
use generate::{Change, Quirks};
use index::{hour_weight, make_entry, weekday_weight, ChildTimes, Entry, Index};
pub(crate) use index::{ChildIndex, ChildKind, ChildRow, Snapshot};
use pools::Pools;
use rng::{rng_for, DAY, S_FUTURE, S_MUTATION, S_PRUNE, S_TIMELINE, S_VERSION};

/// Id of the first (oldest) conversation; ids grow by one with creation time.
pub const FIRST_CONVERSATION_ID: i64 = 1_000_001;

/// A version added to a conversation after generation, at `at` (unix secs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Mutation {
    at: i64,
    kind: MutationKind,
}

/// What a [`Mutation`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum MutationKind {
    /// The visitor writes again (the `mutate_rate` fault, [`crate::SimHandle::touch`]).
    Append,
    /// Child rows are deleted ([`crate::SimHandle::prune`]).
    Prune,
}

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
    mutations: RwLock<HashMap<i64, Vec<Mutation>>>,
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

    fn mutations_of(&self, id: i64) -> Vec<Mutation> {
        let m = self.mutations.read().unwrap_or_else(|e| e.into_inner());
        m.get(&id).cloned().unwrap_or_default()
    }

    /// Latest version time (unix secs) of `id` visible at `at`, if the conversation is visible.
    fn latest_at(&self, e: &Entry, muts: Option<&Vec<Mutation>>, at: i64) -> Option<i64> {
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
            for &Mutation { at: t, .. } in ms {
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
        let muts = self.mutations_of(id);
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

    /// SLA ground truth at `at`: when each chat of the conversations visible then (each in
    /// its latest version as of `at`) was first answered and ended, each lead completed and
    /// each complaint first acted on, from the generator's own model (see [`SlaTruth`]).
    pub fn sla_truth(&self, at: DateTime<Utc>) -> SlaTruth {
        let at = at.timestamp();
        let mut out = SlaTruth::default();
        for (id, _) in self.visible_secs(at) {
            if let Some(conv) = self.build(id, at) {
                conv.sla_into(&self.pools, &mut out);
            }
        }
        out
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
        self.stamp(id, now, MutationKind::Append)
    }

    /// Adds a version of `id` stamped at `now` that deletes child rows (messages, and
    /// sometimes a whole chat, a lead or an uploaded file's event; see `Conv::prune`).
    /// Returns false when the conversation is not visible, already has a version at `now`
    /// or has nothing to delete.
    pub(crate) fn prune(&self, id: i64, now: i64) -> bool {
        // A version landing between this build and the stamp could leave nothing to
        // delete: the prune then appends instead, still a valid version.
        self.build(id, now).is_some_and(|c| c.can_prune())
            && self.stamp(id, now, MutationKind::Prune)
    }

    /// Prunes up to `n` of the conversations visible at `now` (see [`Account::prune`]),
    /// tried in an order drawn from the seed and `now`. Returns how many were pruned.
    pub(crate) fn prune_some(&self, n: usize, now: i64) -> usize {
        let mut ids: Vec<i64> = self.visible_secs(now).iter().map(|&(id, _)| id).collect();
        ids.shuffle(&mut rng_for(self.seed, now, S_PRUNE));
        let mut pruned = 0;
        for id in ids {
            if pruned == n {
                break;
            }
            if self.prune(id, now) {
                pruned += 1;
            }
        }
        pruned
    }

    /// Adds a version of `kind` to `id` at `now`; false when the conversation is not
    /// visible or already has a version at `now`.
    fn stamp(&self, id: i64, now: i64, kind: MutationKind) -> bool {
        let Some(e) = self.entry(id) else {
            return false;
        };
        let mut muts = self.mutations.write().unwrap_or_else(|e| e.into_inner());
        let list = muts.entry(id).or_default();
        match self.latest_at(&e, Some(list), now) {
            Some(t) if t < now => {
                list.push(Mutation { at: now, kind });
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
        let muts = self.mutations_of(id);
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
        let mut changes: Vec<(i64, u64, Option<MutationKind>)> = e.versions[1..usize::from(e.nver)]
            .iter()
            .enumerate()
            .map(|(k, v)| (o + i64::from(*v), S_VERSION + k as u64, None))
            .chain(
                muts.iter()
                    .enumerate()
                    .map(|(j, m)| (m.at, S_MUTATION + j as u64, Some(m.kind))),
            )
            .filter(|(t, _, _)| *t <= at.min(version))
            .collect();
        changes.sort_unstable();
        for (t, stream, mutation) in changes {
            let mut rng = rng_for(self.seed, id, stream);
            let change = if let Some(kind) = mutation {
                match kind {
                    MutationKind::Append => Change::Append,
                    MutationKind::Prune => Change::Prune,
                }
            } else if conv.follow_up_at(t) {
                // A version the timing plan put there (see `timing`).
                Change::FollowUp
            } else {
                *[
                    Change::Append,
                    Change::Append,
                    Change::Append,
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

    #[test]
    fn conversations_agree_with_the_index_and_deletions_remove_child_rows() {
        let cfg = SimConfig {
            conversations: 600,
            seed: 7,
            history_days: 20,
            ..SimConfig::default()
        };
        let a = Account::new(&cfg);
        let before = a.table_truth(cfg.start_clock).unwrap();
        let later = cfg.start_clock + chrono::Duration::days(2);
        let after = a.table_truth(later).unwrap();
        for (t, at) in [(&before, cfg.start_clock), (&after, later)] {
            // The JSON's updated_at (naive or offset Moscow time) is the index's.
            let convs: BTreeMap<i64, DateTime<Utc>> = t.tables["conversations"]
                .rows
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), *v))
                .collect();
            assert_eq!(convs, a.ground_truth(at));
        }
        // Versions delete messages and whole chats: their keys leave the truth.
        for table in ["chats", "chat_messages"] {
            let gone = before.tables[table]
                .rows
                .keys()
                .filter(|k| !after.tables[table].rows.contains_key(*k))
                .count();
            assert!(gone > 0, "no {table} row was deleted in two days");
        }
    }
}
