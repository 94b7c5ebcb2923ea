//! The SLA ground truth against the JSON the simulator serves, and the timing model's
//! shape (off-hours waits, lead completions, complaints with and without an action).
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Moscow;
use ltx_sim::{Account, SimConfig, SimServer, SlaTruth};
use serde_json::Value;

fn cfg(n: u64, seed: u64) -> SimConfig {
    SimConfig {
        conversations: n,
        seed,
        ..SimConfig::default()
    }
}

/// A datetime as the API sends it: naive Moscow time, or with an offset.
fn time(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.with_timezone(&Utc);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
    Moscow
        .from_local_datetime(&naive)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// An integer as the API may send it (a number or a numeric string).
fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn items<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field].as_array().map_or(&[], Vec::as_slice)
}

fn is_employee(item: &Value) -> bool {
    item.get("employee").is_some_and(|e| !e.is_null())
}

/// Checks every chat, lead and complaint of the JSON visible at `at` against the truth;
/// returns how many chats were checked.
fn check_against_json(account: &Account, at: DateTime<Utc>) -> usize {
    let truth = account.sla_truth(at);
    let chats: BTreeMap<i64, _> = truth.chats.iter().map(|c| (c.chat_id, c)).collect();
    let leads: BTreeMap<i64, _> = truth.leads.iter().map(|l| (l.lead_id, l)).collect();
    let complaints: BTreeMap<&str, _> = truth
        .complaints
        .iter()
        .map(|c| (c.complaint_id.as_str(), c))
        .collect();
    let (mut n_chats, mut n_leads, mut n_complaints) = (0, 0, 0);
    for (id, _) in account.visible(at) {
        let conv = account.conversation_json(id, at).unwrap();
        for chat in items(&conv, "chats") {
            n_chats += 1;
            let chat_id = chat["id"].as_i64().unwrap();
            let t = chats[&chat_id];
            assert_eq!(t.conversation_id, id);
            let created = time(&chat["created_at"]);
            assert_eq!(t.created_at, created, "chat {chat_id}");
            assert_eq!(Some(t.site_id), chat["site"]["id"].as_i64());
            assert_eq!(t.department_id, chat["department"]["id"].as_i64());
            assert_eq!(t.employee_id, chat["employee"]["id"].as_i64());
            // The first employee message is the answer; only the visitor (or the system)
            // writes before it.
            let msgs = items(chat, "messages");
            let first = msgs.iter().position(is_employee);
            let answered = first.map(|k| time(&msgs[k]["created_at"]));
            assert_eq!(t.first_answered_at, answered, "chat {chat_id}");
            for m in &msgs[..first.unwrap_or(msgs.len())] {
                assert!(!is_employee(m), "chat {chat_id}");
            }
            let wait = answered.map(|a| (a - created).num_seconds());
            assert_eq!(int(&chat["first_answer_time"]), wait, "chat {chat_id}");
            assert_eq!(chat["first_answer_time"].is_null(), wait.is_none());
            assert_eq!(chat["result"] == "missed", wait.is_none(), "chat {chat_id}");
            if let Some(w) = wait {
                assert!(w > 0, "chat {chat_id} answered at its start");
            }
            // The duration runs to the last message or event.
            let last = msgs
                .iter()
                .chain(items(chat, "events"))
                .map(|x| time(&x["created_at"]))
                .max()
                .unwrap();
            let duration = int(&chat["duration"]).unwrap();
            assert_eq!(duration, (last - created).num_seconds(), "chat {chat_id}");
            assert_eq!(t.ended_at, created + Duration::seconds(duration));
            assert!(t.ended_at <= time(&chat["updated_at"]), "chat {chat_id}");
            assert!(t.ended_at <= time(&conv["updated_at"]), "chat {chat_id}");
        }
        for lead in items(&conv, "leads") {
            n_leads += 1;
            let t = leads[&lead["id"].as_i64().unwrap()];
            assert_eq!(t.conversation_id, id);
            assert_eq!(t.created_at, time(&lead["created_at"]));
            assert_eq!(t.department_id, lead["department"]["id"].as_i64());
            let completed = (!lead["completed_at"].is_null()).then(|| time(&lead["completed_at"]));
            assert_eq!(t.answered_at, completed, "lead {}", lead["id"]);
            assert_eq!(lead["result"] == "completed", completed.is_some());
            let duration = completed.map(|c| (c - t.created_at).num_seconds());
            assert_eq!(int(&lead["duration"]), duration);
        }
        // A complaint's first action: the first employee message or employee event of the
        // conversation at or after it.
        let actions: Vec<DateTime<Utc>> = items(&conv, "chats")
            .iter()
            .flat_map(|c| items(c, "messages"))
            .chain(items(&conv, "events"))
            .filter(|x| is_employee(x))
            .map(|x| time(&x["created_at"]))
            .collect();
        for complaint in items(&conv, "complaints") {
            n_complaints += 1;
            let t = complaints[complaint["id"].as_str().unwrap()];
            assert_eq!(t.conversation_id, id);
            let created = time(&complaint["created_at"]);
            assert_eq!(t.created_at, created);
            let first = actions.iter().filter(|a| **a >= created).min().copied();
            assert_eq!(t.first_action_at, first, "complaint {}", t.complaint_id);
        }
    }
    assert_eq!(
        (truth.chats.len(), truth.leads.len(), truth.complaints.len()),
        (n_chats, n_leads, n_complaints),
        "the truth covers exactly the served records"
    );
    n_chats
}

#[test]
fn sla_truth_agrees_with_the_served_json_at_every_version() {
    let c = cfg(3_000, 42);
    let account = Account::new(&c);
    // The start (a Sunday night in Moscow), after the Monday morning, and days later:
    // versions answer waiting chats, complete leads, append, delete and vote.
    for days in [0, 2, 6] {
        let at = c.start_clock + Duration::days(days);
        let checked = check_against_json(&account, at);
        assert!(checked > 3_000, "{checked} chats at +{days} days");
    }
}

#[tokio::test]
async fn mutations_keep_the_truth_consistent_and_the_handle_serves_it() {
    let sim = SimServer::start(cfg(400, 3)).await.unwrap();
    sim.advance(Duration::hours(31));
    assert!(sim.touch(150) > 100);
    let account = sim.account();
    assert_eq!(sim.sla_truth(sim.now()), account.sla_truth(sim.now()));
    check_against_json(&account, sim.now());
}

/// Answered chats of the truth: (created, first answered).
fn answered(t: &SlaTruth) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    t.chats
        .iter()
        .filter_map(|c| c.first_answered_at.map(|a| (c.created_at, a)))
        .collect()
}

#[test]
fn off_hours_chats_wait_for_the_opening_so_business_waits_differ() {
    let c = cfg(6_000, 42);
    let account = Account::new(&c);
    let at = c.start_clock + Duration::days(3);
    let truth = account.sla_truth(at);
    let chats = answered(&truth);
    let n = chats.len() as f64;
    let calendar = |(c, a): &(DateTime<Utc>, DateTime<Utc>)| (*a - *c).num_seconds();
    let business = |(c, a): &(DateTime<Utc>, DateTime<Utc>)| ltx_sim::working_seconds(*c, *a);
    let fast = chats.iter().filter(|x| calendar(x) <= 180).count() as f64;
    let long: Vec<_> = chats.iter().filter(|x| calendar(x) > 3_600).collect();
    eprintln!(
        "{} answered chats: {:.0}% within 3 min, {:.0}% over 1 h",
        chats.len(),
        100.0 * fast / n,
        100.0 * long.len() as f64 / n
    );
    assert!(fast / n > 0.5, "most chats are answered within minutes");
    assert!(
        long.len() as f64 / n > 0.05,
        "off-hours chats wait for hours"
    );
    assert!(long.len() as f64 / n < 0.4);
    // Their business-hours wait is the morning backlog: at most 90 minutes.
    for x in &long {
        assert!(business(x) <= 5_400, "{x:?}: {} working s", business(x));
    }
    let cal: i64 = chats.iter().map(calendar).sum();
    let biz: i64 = chats.iter().map(business).sum();
    assert!(cal > 3 * biz, "calendar {cal} s against business {biz} s");
    // Chats opened in working hours wait seconds to minutes (30 at most).
    for x in &chats {
        if ltx_sim::working_seconds(x.0, x.0 + Duration::seconds(1)) == 1 {
            assert!(calendar(x) <= 1_800, "{x:?}");
        }
    }
    // The load keeps its daytime peak: about half the chats start in working hours (45 of
    // the week's 168 hours).
    let in_hours = truth
        .chats
        .iter()
        .filter(|c| {
            ltx_sim::working_seconds(c.created_at, c.created_at + Duration::seconds(1)) == 1
        })
        .count() as f64
        / truth.chats.len() as f64;
    assert!(
        (0.4..0.7).contains(&in_hours),
        "{in_hours} in working hours"
    );
    // Some chats are never answered.
    let missed = truth.chats.len() - chats.len();
    assert!(missed > truth.chats.len() / 20, "{missed} missed");
}

#[test]
fn leads_come_off_hours_and_are_completed_within_working_hours() {
    let c = cfg(6_000, 42);
    let account = Account::new(&c);
    let truth = account.sla_truth(c.start_clock + Duration::days(3));
    let leads = &truth.leads;
    assert!(leads.len() > 300, "{} leads", leads.len());
    let off_hours = leads
        .iter()
        .filter(|l| {
            ltx_sim::working_seconds(l.created_at, l.created_at + Duration::seconds(1)) == 0
        })
        .count();
    assert!(
        off_hours * 2 > leads.len(),
        "{off_hours} of {} off hours",
        leads.len()
    );
    let done: Vec<_> = leads
        .iter()
        .filter_map(|l| l.answered_at.map(|a| (l.created_at, a)))
        .collect();
    assert!(
        done.len() * 10 > leads.len() * 6,
        "most leads are completed"
    );
    assert!(done.len() < leads.len(), "some leads are never completed");
    for (c, a) in &done {
        assert!(ltx_sim::working_seconds(*c, *a) <= 5 * 3_600, "{c} {a}");
    }
    let next_day = done
        .iter()
        .filter(|(c, a)| *a - *c > Duration::hours(12))
        .count();
    eprintln!(
        "{} leads: {off_hours} left off hours, {} completed, {next_day} after over 12 h",
        leads.len(),
        done.len()
    );
    assert!(
        next_day * 4 > done.len(),
        "evening and weekend leads wait for the next day"
    );
}

#[test]
fn complaints_have_a_first_action_or_none_yet() {
    let c = cfg(8_000, 42);
    let account = Account::new(&c);
    let truth = account.sla_truth(c.start_clock);
    let with = truth
        .complaints
        .iter()
        .filter(|c| c.first_action_at.is_some())
        .count();
    let without = truth.complaints.len() - with;
    assert!(
        with > 5 && without > 5,
        "{with} with an action, {without} without"
    );
    for c in &truth.complaints {
        assert!(c.first_action_at.is_none_or(|a| a >= c.created_at));
    }
}

#[test]
fn a_chat_waiting_at_one_version_is_answered_at_a_later_one() {
    let c = cfg(5_000, 42);
    let account = Account::new(&c);
    // The start clock is Sunday 03:00 in Moscow: weekend chats wait for Monday morning.
    let before = account.sla_truth(c.start_clock);
    let after = account.sla_truth(c.start_clock + Duration::days(2));
    let later: BTreeMap<i64, _> = after.chats.iter().map(|c| (c.chat_id, c)).collect();
    let answered_later: Vec<_> = before
        .chats
        .iter()
        .filter(|c| c.first_answered_at.is_none())
        .filter_map(|c| later.get(&c.chat_id).and_then(|l| l.first_answered_at))
        .collect();
    assert!(answered_later.len() > 20, "{}", answered_later.len());
    let monday = Moscow
        .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    assert!(answered_later.iter().all(|a| *a > c.start_clock));
    let mornings = answered_later
        .iter()
        .filter(|a| **a >= monday && **a < monday + Duration::minutes(91))
        .count();
    assert!(
        mornings * 2 > answered_later.len(),
        "{mornings} of {}",
        answered_later.len()
    );
    // The waiting chat is open and unanswered in the JSON of the first version.
    let waiting = before
        .chats
        .iter()
        .find(|c| {
            c.first_answered_at.is_none() && later[&c.chat_id].first_answered_at >= Some(monday)
        })
        .unwrap();
    let conv = account
        .conversation_json(waiting.conversation_id, c.start_clock)
        .unwrap();
    let chat = items(&conv, "chats")
        .iter()
        .find(|x| x["id"] == waiting.chat_id)
        .unwrap();
    assert_eq!(chat["is_closed"], false);
    assert!(chat["first_answer_time"].is_null());
}

#[test]
fn the_sla_truth_is_deterministic_per_seed() {
    let c = cfg(1_000, 42);
    let at = c.start_clock + Duration::days(4);
    let a = Account::new(&c).sla_truth(at);
    assert_eq!(a, Account::new(&c).sla_truth(at));
    assert_ne!(a, Account::new(&cfg(1_000, 43)).sla_truth(at));
}
