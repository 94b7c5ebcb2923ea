//! The index records: per conversation its creation, visibility and version times (28
//! bytes, no content) and how they are drawn ([`make_entry`]); the sorted views of one
//! instant ([`Snapshot`]) and the child-list index ([`ChildIndex`], 40 bytes a child),
//! which `Account` builds and caches.

use rand::Rng;

use super::rng::{rng_for, S_INDEX};
use super::timing::Plan;

/// Versions an [`Entry`] holds (version 0 included).
const MAX_VERSIONS: usize = 4;

/// Relative weight of a Moscow hour (working hours busiest).
pub(super) fn hour_weight(hour: u32) -> f64 {
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
pub(super) fn weekday_weight(wd: u32) -> f64 {
    match wd {
        5 => 0.55,
        6 => 0.45,
        _ => 1.0,
    }
}

/// One conversation's timeline, in seconds since the account origin.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) created: u32,
    pub(super) visible: u32,
    pub(super) versions: [u32; MAX_VERSIONS],
    pub(super) nver: u8,
}

#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) entries: Vec<Entry>,
    /// Future day blocks (after `start`) already generated.
    pub(super) future_days: i64,
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
    pub(super) rows: [Vec<ChildRow>; 4],
}

impl ChildIndex {
    /// The sorted rows of one kind.
    pub(crate) fn rows(&self, kind: ChildKind) -> &[ChildRow] {
        &self.rows[kind.slot()]
    }
}

/// Child timings of one conversation at one state: (kind slot, position, updated, created).
pub(super) type ChildTimes = Box<[(u8, u32, i64, i64)]>;

pub(super) fn make_entry(
    seed: u64,
    id: i64,
    created: i64,
    clamp: Option<i64>,
    origin: i64,
) -> Entry {
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
    let random: u8 = match rng.gen_range(0..100) {
        0..=49 => 0,
        50..=79 => 1,
        80..=92 => 2,
        _ => 3,
    };
    // Version 0, then the instants the timing plan puts after it (answers, completions),
    // then random later versions, as many as fit.
    let mut times = vec![v0];
    times.extend(Plan::new(seed, id, created, v0).follow_ups());
    let mut t = times.last().copied().unwrap_or(v0);
    for _ in 0..random {
        // Log-uniform between 2 minutes and 3 days after the previous one.
        t += rng.gen_range(120f64.ln()..(3.0 * 86_400f64).ln()).exp() as i64;
        times.push(t);
    }
    times.truncate(MAX_VERSIONS);
    let mut versions = [0u32; MAX_VERSIONS];
    for (slot, t) in versions.iter_mut().zip(&times) {
        *slot = rel(*t, origin);
    }
    Entry {
        created: rel(created, origin),
        visible: rel(visible, origin),
        versions,
        // At most MAX_VERSIONS (4).
        nver: times.len() as u8,
    }
}

pub(super) fn rel(t: i64, origin: i64) -> u32 {
    u32::try_from(t - origin).unwrap_or(u32::MAX)
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
    pub(super) fn slot(self) -> usize {
        match self {
            ChildKind::Chats => 0,
            ChildKind::Calls => 1,
            ChildKind::Leads => 2,
            ChildKind::Complaints => 3,
        }
    }
}
