//! Business time and SLAs: the SLA models equal the simulator's ground truth (when each chat
//! was first answered, each lead answered, each complaint first acted on) in calendar and in
//! business time, business time computed independently by `ltx-calendar`; a changed calendar
//! re-derives every figure at the next sync without reading the API again; a bad calendar
//! is refused naming its key.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use ltx_calendar::{Calendars, CalendarsConfig};

use crate::common;
use common::sim::{catalog, sync, Scratch, Sim};
use common::{ltx, ok, text};

fn at(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap()
}

/// One SLA item as the warehouse has it: its schedule, its instants (µs) and the model's
/// calendar and business seconds for `[start, end)`.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    schedule: String,
    start: i64,
    end: Option<i64>,
    calendar_s: Option<i64>,
    business_s: Option<i64>,
}

/// `id -> Measured` from `sql`, whose columns are: id (as text), schedule, start µs, end µs,
/// calendar s, business s.
fn measured(wh: &Path, sql: &str) -> BTreeMap<String, Measured> {
    let conn = catalog(wh);
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Measured {
                schedule: r.get(1)?,
                start: r.get(2)?,
                end: r.get(3)?,
                calendar_s: r.get(4)?,
                business_s: r.get(5)?,
            },
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

const CHATS: &str = "SELECT CAST(chat_id AS VARCHAR), schedule, epoch_us(created_at), epoch_us(first_answered_at), first_answer_calendar_s, first_answer_business_s FROM sla_chats";
const CHAT_DURATIONS: &str = "SELECT CAST(chat_id AS VARCHAR), schedule, epoch_us(created_at), epoch_us(ended_at), duration_calendar_s, duration_business_s FROM sla_chats";
const LEADS: &str = "SELECT CAST(lead_id AS VARCHAR), schedule, epoch_us(created_at), epoch_us(answered_at), answer_calendar_s, answer_business_s FROM sla_leads";
const COMPLAINTS: &str = "SELECT complaint_id, schedule, epoch_us(created_at), epoch_us(first_action_at), first_action_calendar_s, first_action_business_s FROM sla_complaints";

/// Every measured item's figures equal `ltx-calendar`'s on the same instants and schedule.
fn assert_business_time_is_the_calendars(
    what: &str,
    items: &BTreeMap<String, Measured>,
    cal: &Calendars,
) {
    let mut checked = 0;
    let mut differs_from_calendar = 0;
    for (id, m) in items {
        let Some(end) = m.end else {
            assert_eq!((m.calendar_s, m.business_s), (None, None), "{what} {id}");
            continue;
        };
        let schedule = cal
            .schedule(&m.schedule)
            .unwrap_or_else(|| panic!("{what} {id}: unknown schedule {}", m.schedule));
        let want = schedule.business_seconds(at(m.start), at(end));
        assert_eq!(
            m.business_s,
            Some(want),
            "{what} {id}: business seconds of {m:?}"
        );
        assert_eq!(
            m.calendar_s,
            Some((end - m.start) / 1_000_000),
            "{what} {id}"
        );
        differs_from_calendar += usize::from(Some(want) != m.calendar_s);
        checked += 1;
    }
    assert!(checked > 0, "no {what} measured");
    assert!(
        differs_from_calendar > 0,
        "{what}: business time never differs from calendar time: the test data does not exercise the calendar"
    );
}

fn default_calendars() -> Calendars {
    CalendarsConfig::default().compile().unwrap()
}

#[test]
fn a_changed_calendar_rederives_business_time_at_the_next_sync_without_reading_the_api_again() {
    let sim = Sim::small(300);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    let cal = default_calendars();
    let before = measured(&wh, CHATS);
    assert_business_time_is_the_calendars("chat first answer", &before, &cal);
    assert_business_time_is_the_calendars("chat duration", &measured(&wh, CHAT_DURATIONS), &cal);
    assert_business_time_is_the_calendars("lead answer", &measured(&wh, LEADS), &cal);

    // The busiest department moves to Yekaterinburg (UTC+5) with a Saturday shift and a
    // night shift, Moscow works 10:00-19:00, and a site-wide extra holiday is declared.
    let conn = catalog(&wh);
    let department: i64 = conn
        .query_row(
            "SELECT department_id FROM chats WHERE department_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let holiday: String = conn
        .query_row(
            "SELECT CAST(CAST(make_timestamp(epoch_us(max(created_at))) AS DATE) - 1 AS VARCHAR) FROM chats",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    let changed = format!(
        r#"
[calendars]
departments = {{ "{department}" = "yekaterinburg" }}
[calendars.schedules.moscow]
week = {{ mon = ["10:00-19:00"], tue = ["10:00-19:00"], wed = ["10:00-19:00"], thu = ["10:00-19:00"], fri = ["10:00-19:00"] }}
holidays = ["{holiday}"]
[calendars.schedules.yekaterinburg]
time_zone = "Asia/Yekaterinburg"
production_calendar = "ru"
week = {{ mon = ["08:00-17:00", "22:00-02:00"], tue = ["08:00-17:00"], wed = ["08:00-17:00"], thu = ["08:00-17:00"], fri = ["08:00-17:00"], sat = ["10:00-14:00"] }}
"#
    );
    let pipeline = s.path().join("e2e.toml");
    let mut text_now = std::fs::read_to_string(&pipeline).unwrap();
    text_now.push_str(&changed);
    std::fs::write(&pipeline, &text_now).unwrap();

    // The simulated clock stands still: the next sync re-reads only its lookback.
    let o = ok(sync(&s, &sim, &wh, &[], &[]));
    let conn = catalog(&wh);
    let (total, reread): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM conversations), (SELECT conversations FROM _ltx_runs ORDER BY finished_at DESC LIMIT 1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        reread * 5 < total,
        "the second sync read {reread} of {total} conversations\n{}",
        text(&o)
    );
    let assigned: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM schedule_assignments WHERE scope = 'department' AND department_id = {department} AND schedule = 'yekaterinburg' AND time_zone = 'Asia/Yekaterinburg'"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(assigned, 1);
    drop(conn);

    // The calendars as ltx reads them from that file (defaults overlaid by it).
    let loaded = ltx_pipeline::Config::load(Some(&pipeline), true, &Default::default()).unwrap();
    let cal2 = loaded.config.calendars().unwrap();
    let after = measured(&wh, CHATS);
    assert_business_time_is_the_calendars("chat first answer (changed calendar)", &after, &cal2);
    assert_business_time_is_the_calendars(
        "lead answer (changed calendar)",
        &measured(&wh, LEADS),
        &cal2,
    );
    let moved = after
        .values()
        .filter(|m| m.schedule == "yekaterinburg")
        .count();
    assert!(
        moved > 0,
        "no chat of department {department} follows the new schedule"
    );
    let changed_figures = before
        .iter()
        .filter(|(id, m)| after.get(*id).is_some_and(|a| a.business_s != m.business_s))
        .count();
    assert!(
        changed_figures * 10 > before.len(),
        "only {changed_figures} of {} chats changed",
        before.len()
    );

    // An unchanged configuration rewrites no reference table.
    let files = |wh: &Path| -> Vec<String> {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(wh.join("_ltx/manifest.json")).unwrap())
                .unwrap();
        ["business_intervals", "schedule_assignments", "sla_targets"]
            .iter()
            .map(|t| {
                m["tables"][t]["files"][0]["path"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let before_files = files(&wh);
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_eq!(files(&wh), before_files);
}

#[test]
fn a_bad_calendar_or_target_is_refused_naming_its_key() {
    let s = Scratch::new();
    for (toml, key) in [
        (
            "[calendars.schedules.moscow]\ntime_zone = \"Mars/Olympus\"\n",
            "calendars.schedules.moscow.time_zone",
        ),
        (
            "[calendars.schedules.moscow]\nweek = { mon = [\"9-18\"] }\n",
            "calendars.schedules.moscow.week.mon",
        ),
        ("[calendars]\ndefault = \"nowhere\"\n", "calendars.default"),
        (
            "[sla]\ntargets = [{ metric = \"chat_first_answer\", target = \"soon\" }]\n",
            "sla.targets[0].target",
        ),
        (
            "[sla]\ntargets = [{ metric = \"first_reply\", target = \"60s\" }]\n",
            "metric",
        ),
    ] {
        let path = s.path().join("bad.toml");
        std::fs::write(&path, toml).unwrap();
        let o = ltx(
            s.path(),
            &["validate", "--pipeline", path.to_str().unwrap()],
            &[("LIVETEX_API_TOKEN", "t")],
        );
        assert_eq!(o.status.code(), Some(2), "{toml}\n{}", text(&o));
        assert!(
            text(&o).contains(key),
            "{toml}: the error does not name {key}\n{}",
            text(&o)
        );
    }
}

/// `id -> (created µs, answered µs)` of the simulator's truth, for comparison with
/// [`measured`].
fn truth_instants(
    items: impl Iterator<Item = (String, DateTime<Utc>, Option<DateTime<Utc>>)>,
) -> BTreeMap<String, (i64, Option<i64>)> {
    items
        .map(|(id, a, b)| (id, (a.timestamp_micros(), b.map(|t| t.timestamp_micros()))))
        .collect()
}

/// The model's instants equal the truth's, item for item (same ids, same instants).
fn assert_instants(
    what: &str,
    got: &BTreeMap<String, Measured>,
    want: &BTreeMap<String, (i64, Option<i64>)>,
    some_unanswered: bool,
) {
    let got: BTreeMap<String, (i64, Option<i64>)> = got
        .iter()
        .map(|(id, m)| (id.clone(), (m.start, m.end)))
        .collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(id, w)| got.get(*id) != Some(w))
        .take(5)
        .map(|(id, w)| format!("{id}: truth {w:?}, model {:?}", got.get(id)))
        .collect();
    assert!(differ.is_empty(), "{what}: {differ:#?}");
    assert_eq!(got.len(), want.len(), "{what}: items");
    assert!(
        want.values().any(|(_, b)| b.is_some())
            && (!some_unanswered || want.values().any(|(_, b)| b.is_none())),
        "{what}: the truth should have answered and unanswered items"
    );
}

#[test]
fn sla_models_equal_the_simulators_truth_in_calendar_and_business_time() {
    // 20 days of an account whose chats, leads and complaints come at all hours: off-hours
    // chats wait for the morning, leads are answered within working hours, some never.
    let sim = Sim::small(600);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    let truth = sim.handle.sla_truth(sim.handle.now());
    let cal = default_calendars();

    let chats = measured(&wh, CHATS);
    assert_instants(
        "chat first answer",
        &chats,
        &truth_instants(
            truth
                .chats
                .iter()
                .map(|c| (c.chat_id.to_string(), c.created_at, c.first_answered_at)),
        ),
        true,
    );
    let durations = measured(&wh, CHAT_DURATIONS);
    assert_instants(
        "chat duration",
        &durations,
        &truth_instants(
            truth
                .chats
                .iter()
                .map(|c| (c.chat_id.to_string(), c.created_at, Some(c.ended_at))),
        ),
        false,
    );
    let leads = measured(&wh, LEADS);
    assert_instants(
        "lead answer",
        &leads,
        &truth_instants(
            truth
                .leads
                .iter()
                .map(|l| (l.lead_id.to_string(), l.created_at, l.answered_at)),
        ),
        true,
    );
    let complaints = measured(&wh, COMPLAINTS);
    assert_instants(
        "complaint first action",
        &complaints,
        &truth_instants(
            truth
                .complaints
                .iter()
                .map(|c| (c.complaint_id.clone(), c.created_at, c.first_action_at)),
        ),
        true,
    );
    // Calendar and business seconds between those instants: the models' equal ltx-calendar's
    // (which the calendar's own tests pin on hand-checked cases).
    assert_business_time_is_the_calendars("chat first answer", &chats, &cal);
    assert_business_time_is_the_calendars("chat duration", &durations, &cal);
    assert_business_time_is_the_calendars("lead answer", &leads, &cal);
    assert_business_time_is_the_calendars("complaint first action", &complaints, &cal);

    // Statuses follow from the figures and the default targets (60 s, 4 h, 8 h of working
    // time), and sla_daily adds them up.
    let conn = catalog(&wh);
    let (met, breached, wrong): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE first_answer_status = 'met'),
                    count(*) FILTER (WHERE first_answer_status = 'breached'),
                    count(*) FILTER (WHERE (first_answer_status = 'met') IS DISTINCT FROM (first_answer_business_s <= 60)
                                       AND first_answered_at IS NOT NULL)
             FROM sla_chats",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(met > 0 && breached > 0, "met {met}, breached {breached}");
    assert_eq!(wrong, 0);
    let (daily_met, daily_breached): (i64, i64) = conn
        .query_row(
            "SELECT sum(met), sum(breached) - (SELECT count(*) FROM sla_chats WHERE first_answer_status = 'unanswered_breached')
             FROM sla_daily WHERE metric = 'chat_first_answer'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((daily_met, daily_breached), (met, breached));
}
