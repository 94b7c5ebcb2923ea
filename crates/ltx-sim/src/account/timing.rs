//! The timing model of a conversation: what it holds (chats, calls, leads, complaints),
//! where each lies between its creation and version 0, when each chat is first answered
//! and when each lead is completed, and which of those instants fall after version 0.
//! Each such instant is a version of its own, so the index must know it: the plan is a
//! cheap pure function of `(seed, id, created, v0)`, drawn from a stream of its own, that
//! both the index (`index::make_entry`) and the content (`Conv::base`) compute.
//!
//! The model (every number is an assumption, and they all live in this file):
//! - Load: conversations start with a daytime peak (`index::hour_weight`: weekdays 09–19
//!   at full weight, evenings 0.6, nights 0.08; weekends about half). About 45% of them
//!   start outside working hours (`crate::hours`: Moscow, Monday–Friday 09:00–18:00).
//! - A chat opened in working hours waits seconds to a couple of minutes for its first
//!   answer ([`in_hours_wait`]: median ~35 s, 2% over 10 min).
//! - Outside working hours a duty operator answers (slower: [`duty_wait`]) 60% of the
//!   chats opened on weekday evenings (18:00–22:00) and a quarter of those opened at night
//!   or at weekends (one draw per conversation, so its chats agree). The other chats wait for
//!   the next opening plus a morning backlog of 2–90 minutes (one backlog per
//!   conversation: the operator answers all of its waiting chats at once): calendar
//!   waits of hours whose business-hours part is a few minutes.
//! - 10% of chats are never answered (`missed`); 6% and 4% end transferred.
//! - A deferred answer that comes after version 0 leaves the chat open and unanswered in
//!   version 0; a version at that instant answers it. A short wait that would end after
//!   version 0 (the chat's slot is short) is cut to version 0 instead.
//! - Leads are offline requests: 17% of conversations opened outside working hours leave
//!   one, 5% of the others. 80% are completed 3 minutes to 5 working hours after they were
//!   left (so an evening lead is completed the next working day), 20% never; a completion
//!   after version 0 is a version of its own.
//! - 1% of conversations carry a complaint (its time is content, see `Conv::base`).
//!
//! Dialogues are laid out one after another inside `[created, v0]`: chats, then calls,
//! then leads, each in an equal slot.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng::{rng_for, S_PLAN};
use crate::hours::{add_working, hour_weekday, is_working, next_working};

/// One chat of version 0.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChatPlan {
    /// Start of the chat (its first message).
    pub(super) from: i64,
    /// End of the chat's slot (its close event, unless an answer comes later).
    pub(super) to: i64,
    /// The result once answered (`missed`: never answered).
    pub(super) outcome: &'static str,
    /// The first answer, when it lies inside version 0 (at most `v0`).
    pub(super) answer: Option<i64>,
    /// The first answer, when a later version brings it (after `v0`).
    pub(super) pending: Option<i64>,
}

/// One lead of version 0.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeadPlan {
    /// When the visitor left it.
    pub(super) from: i64,
    /// Its completion, when it lies inside version 0.
    pub(super) done: Option<i64>,
    /// Its completion, when a later version brings it.
    pub(super) due: Option<i64>,
}

/// The timing plan of one conversation.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// Length of each dialogue's slot (seconds).
    pub(super) slot: i64,
    pub(super) chats: Vec<ChatPlan>,
    /// Start of each call.
    pub(super) calls: Vec<i64>,
    pub(super) leads: Vec<LeadPlan>,
    pub(super) complaints: usize,
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> i64 {
    rng.gen_range(lo.ln()..hi.ln()).exp() as i64
}

/// Wait for the first answer of a chat opened in working hours (seconds).
pub(super) fn in_hours_wait(rng: &mut ChaCha8Rng) -> i64 {
    let (lo, hi) = match rng.gen_range(0..100) {
        0..=59 => (5.0, 45.0),
        60..=87 => (45.0, 150.0),
        88..=97 => (150.0, 600.0),
        _ => (600.0, 1_800.0),
    };
    log_uniform(rng, lo, hi)
}

/// Wait for a duty operator outside working hours (seconds).
pub(super) fn duty_wait(rng: &mut ChaCha8Rng) -> i64 {
    log_uniform(rng, 60.0, 1_500.0)
}

/// Share of conversations opened at `secs` (outside working hours) that a duty operator
/// takes.
fn duty_share(secs: i64) -> f64 {
    let (hour, weekday) = hour_weekday(secs);
    if weekday < 5 && (18..22).contains(&hour) {
        0.6
    } else {
        0.25
    }
}

impl Plan {
    /// The plan of conversation `id`, created at `created` with version 0 at `v0`.
    pub(super) fn new(seed: u64, id: i64, created: i64, v0: i64) -> Self {
        let mut rng = rng_for(seed, id, S_PLAN);
        let working = is_working(created);
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
        let n_leads = usize::from(rng.gen_bool(if working { 0.05 } else { 0.17 }));
        let complaints = usize::from(rng.gen_bool(0.01));
        let n_chats = if n_chats + n_calls + n_leads == 0 {
            1
        } else {
            n_chats
        };
        // Outside working hours: a duty operator, or the next opening plus a backlog.
        let duty_roll: f64 = rng.gen();
        let backlog = log_uniform(&mut rng, 120.0, 5_400.0);

        let parts = (n_chats + n_calls + n_leads).max(1) as i64;
        let span = (v0 - created).max(parts);
        let slot = span / parts;
        let mut cursor = created;
        let mut chats = Vec::with_capacity(n_chats);
        for _ in 0..n_chats {
            let from = cursor;
            let to = (cursor + slot - 1).max(from);
            let outcome = match rng.gen_range(0..100) {
                0..=79 => "completed",
                80..=89 => "missed",
                90..=95 => "transfer_manual",
                _ => "transfer_auto",
            };
            // Ok: a wait from the chat's start; Err: the instant of a deferred answer.
            let wait = if is_working(from) {
                Ok(in_hours_wait(&mut rng))
            } else if duty_roll < duty_share(from) {
                Ok(duty_wait(&mut rng))
            } else {
                Err(next_working(from) + backlog)
            };
            let (answer, pending) = match (outcome, wait) {
                ("missed", _) => (None, None),
                // Cut to version 0, but never at the chat's own start.
                (_, Ok(w)) => (Some((from + w).min(v0).max(from + 1)), None),
                (_, Err(at)) if at <= v0 => (Some(at), None),
                (_, Err(at)) => (None, Some(at)),
            };
            chats.push(ChatPlan {
                from,
                to,
                outcome,
                answer,
                pending,
            });
            cursor += slot;
        }
        let mut calls = Vec::with_capacity(n_calls);
        for _ in 0..n_calls {
            calls.push(cursor);
            cursor += slot;
        }
        let mut leads = Vec::with_capacity(n_leads);
        for _ in 0..n_leads {
            let from = cursor;
            let completion = rng
                .gen_bool(0.8)
                .then(|| add_working(from, log_uniform(&mut rng, 180.0, 18_000.0)));
            let (done, due) = match completion {
                Some(at) if at <= v0 => (Some(at), None),
                other => (None, other),
            };
            leads.push(LeadPlan { from, done, due });
            cursor += slot;
        }
        Plan {
            slot,
            chats,
            calls,
            leads,
            complaints,
        }
    }

    /// The instants after version 0 at which planned answers and completions land,
    /// ascending and distinct: each is a version of the conversation.
    pub(super) fn follow_ups(&self) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .chats
            .iter()
            .filter_map(|c| c.pending)
            .chain(self.leads.iter().filter_map(|l| l.due))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}
