//! Business time in cases an analyst checks by hand. Instants are UTC; the comments give
//! the local times and the arithmetic. Moscow is UTC+3, Kaliningrad UTC+2, Yekaterinburg
//! UTC+5, Almaty UTC+6 (2023), Berlin UTC+1 (CET) or UTC+2 (CEST).

use super::{cases_calendars, utc};

/// A case: schedule, `[from, to)` in UTC, expected business seconds.
pub struct Case {
    pub name: &'static str,
    pub schedule: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub seconds: i64,
}

const H: i64 = 3600;

pub const CASES: &[Case] = &[
    // Tue 2024-03-12 10:00-12:30 MSK: 2.5 h.
    Case {
        name: "inside one day",
        schedule: "moscow",
        from: "2024-03-12T07:00:00Z",
        to: "2024-03-12T09:30:00Z",
        seconds: 2 * H + 30 * 60,
    },
    // Tue 17:00 MSK -> Wed 2024-03-13 10:00 MSK: 17-18 + 09-10 = 2 h.
    Case {
        name: "across a night",
        schedule: "moscow",
        from: "2024-03-12T14:00:00Z",
        to: "2024-03-13T07:00:00Z",
        seconds: 2 * H,
    },
    // Fri 2024-03-15 17:00 MSK -> Mon 2024-03-18 10:00 MSK: 1 h Friday + 1 h Monday.
    Case {
        name: "across a weekend",
        schedule: "moscow",
        from: "2024-03-15T14:00:00Z",
        to: "2024-03-18T07:00:00Z",
        seconds: 2 * H,
    },
    // Wed 2025-05-07 17:00 MSK -> Mon 2025-05-12 10:00 MSK: Thu 8 May is off (transferred
    // from Sun 23 Feb), Fri 9 May is Victory Day: 1 h Wednesday + 1 h Monday = 2 h
    // (without the holidays: 1 + 9 + 9 + 1 = 20 h).
    Case {
        name: "across the May 2025 holidays",
        schedule: "moscow",
        from: "2025-05-07T14:00:00Z",
        to: "2025-05-12T07:00:00Z",
        seconds: 2 * H,
    },
    // Fri 2024-12-27 17:00 MSK -> Thu 2025-01-09 10:00 MSK: 1 h Friday + Sat 28 Dec
    // worked (transferred, Monday's 09:00-18:00) 9 h + Mon 30 Dec and Tue 31 Dec off
    // (transfers) + 1-8 Jan holidays + 1 h on 9 Jan = 11 h.
    Case {
        name: "across New Year 2025 with its working Saturday",
        schedule: "moscow",
        from: "2024-12-27T14:00:00Z",
        to: "2025-01-09T07:00:00Z",
        seconds: 11 * H,
    },
    // Sat 2024-12-28 00:00 -> Sun 00:00 MSK: a transferred working Saturday, 9 h.
    Case {
        name: "a transferred working Saturday",
        schedule: "moscow",
        from: "2024-12-27T21:00:00Z",
        to: "2024-12-28T21:00:00Z",
        seconds: 9 * H,
    },
    // Sat 2024-11-02 00:00 -> Sun 00:00 MSK: worked (its day off moved to 30 Apr) and
    // shortened before 4 Nov: 09:00-17:00 = 8 h.
    Case {
        name: "a transferred and shortened Saturday",
        schedule: "moscow",
        from: "2024-11-01T21:00:00Z",
        to: "2024-11-02T21:00:00Z",
        seconds: 8 * H,
    },
    // Wed 2023-02-22 00:00 -> Thu 00:00 MSK: shortened before 23 Feb: 09:00-17:00 = 8 h.
    Case {
        name: "a shortened pre-holiday day",
        schedule: "moscow",
        from: "2023-02-21T21:00:00Z",
        to: "2023-02-22T21:00:00Z",
        seconds: 8 * H,
    },
    // The same UTC span, Tue 2023-03-14 04:00Z-12:30Z, in four zones:
    // Moscow 07:00-15:30 -> 09:00-15:30 = 6.5 h.
    Case {
        name: "one UTC span in Moscow",
        schedule: "moscow",
        from: "2023-03-14T04:00:00Z",
        to: "2023-03-14T12:30:00Z",
        seconds: 6 * H + 30 * 60,
    },
    // Kaliningrad 06:00-14:30 -> 09:00-14:30 = 5.5 h.
    Case {
        name: "one UTC span in Kaliningrad",
        schedule: "kaliningrad",
        from: "2023-03-14T04:00:00Z",
        to: "2023-03-14T12:30:00Z",
        seconds: 5 * H + 30 * 60,
    },
    // Yekaterinburg 09:00-17:30 = 8.5 h.
    Case {
        name: "one UTC span in Yekaterinburg",
        schedule: "yekaterinburg",
        from: "2023-03-14T04:00:00Z",
        to: "2023-03-14T12:30:00Z",
        seconds: 8 * H + 30 * 60,
    },
    // Almaty 10:00-18:30 -> 10:00-18:00 = 8 h.
    Case {
        name: "one UTC span in Almaty",
        schedule: "almaty",
        from: "2023-03-14T04:00:00Z",
        to: "2023-03-14T12:30:00Z",
        seconds: 8 * H,
    },
    // Tue 2024-03-12 20:00 MSK -> Wed 12:00 MSK: Tuesday's shift 22:00-06:00 = 8 h
    // (Monday's ended Tue 06:00, before the span).
    Case {
        name: "an overnight shift",
        schedule: "night",
        from: "2024-03-12T17:00:00Z",
        to: "2024-03-13T09:00:00Z",
        seconds: 8 * H,
    },
    // Sat 2024-03-16 00:00 MSK -> Mon 00:00 MSK: Friday's shift runs to Sat 06:00 = 6 h;
    // no shift starts on Saturday or Sunday.
    Case {
        name: "a Friday night shift into the weekend",
        schedule: "night",
        from: "2024-03-15T21:00:00Z",
        to: "2024-03-17T21:00:00Z",
        seconds: 6 * H,
    },
    // Wed 2024-01-31 12:00 MSK -> Fri 2024-03-01 12:00 MSK: 31 Jan 12-18 = 6 h;
    // February 2024 has 20 working days (21 weekdays less Fri 23 Feb) of 9 h, less 1 h
    // on shortened Thu 22 Feb = 179 h; 1 Mar 09-12 = 3 h. 6 + 179 + 3 = 188 h.
    Case {
        name: "across months",
        schedule: "moscow",
        from: "2024-01-31T09:00:00Z",
        to: "2024-03-01T09:00:00Z",
        seconds: 188 * H,
    },
    // Tue 2024-03-12 06:00 MSK -> Thu 2024-03-14 20:00 MSK: three full days, 27 h.
    Case {
        name: "starting and ending outside working hours",
        schedule: "moscow",
        from: "2024-03-12T03:00:00Z",
        to: "2024-03-14T17:00:00Z",
        seconds: 27 * H,
    },
    // The whole of 2025 in Moscow: 247 working days of 9 h, 4 of them shortened by 1 h
    // (7 Mar, 30 Apr, 11 Jun, 1 Nov): 247 * 9 - 4 = 2219 h.
    Case {
        name: "the year 2025",
        schedule: "moscow",
        from: "2024-12-31T21:00:00Z",
        to: "2025-12-31T21:00:00Z",
        seconds: 2219 * H,
    },
    // `to` before `from`: nothing.
    Case {
        name: "reversed span",
        schedule: "moscow",
        from: "2024-03-12T09:30:00Z",
        to: "2024-03-12T07:00:00Z",
        seconds: 0,
    },
    // An empty span: nothing.
    Case {
        name: "empty span",
        schedule: "moscow",
        from: "2024-03-12T09:30:00Z",
        to: "2024-03-12T09:30:00Z",
        seconds: 0,
    },
    // Sat 2024-03-30 22:00 CET (21:00Z) -> Sun 06:00 CEST (04:00Z): clocks go forward at
    // 02:00, so the 8-hour shift lasts 7 h.
    Case {
        name: "a night shift across the spring DST change",
        schedule: "berlin_night",
        from: "2024-03-30T12:00:00Z",
        to: "2024-03-31T12:00:00Z",
        seconds: 7 * H,
    },
    // Sat 2024-10-26 22:00 CEST (20:00Z) -> Sun 06:00 CET (05:00Z): clocks go back at
    // 03:00, so the shift lasts 9 h.
    Case {
        name: "a night shift across the autumn DST change",
        schedule: "berlin_night",
        from: "2024-10-26T12:00:00Z",
        to: "2024-10-27T12:00:00Z",
        seconds: 9 * H,
    },
    // Sun 2024-03-31 02:30 does not exist: work starts at the next valid instant,
    // 03:00 CEST (01:00Z), and ends 05:00 CEST (03:00Z): 2 h.
    Case {
        name: "an interval starting in the DST gap",
        schedule: "berlin_early",
        from: "2024-03-31T00:00:00Z",
        to: "2024-03-31T06:00:00Z",
        seconds: 2 * H,
    },
    // Sun 2024-10-27 02:30 happens twice: work starts at the earliest, 02:30 CEST
    // (00:30Z), and ends 05:00 CET (04:00Z): 3.5 h.
    Case {
        name: "an interval starting in the DST overlap",
        schedule: "berlin_early",
        from: "2024-10-27T00:00:00Z",
        to: "2024-10-27T06:00:00Z",
        seconds: 3 * H + 30 * 60,
    },
];

#[test]
fn business_seconds_match_the_hand_checked_cases() {
    let calendars = cases_calendars();
    let mut wrong = Vec::new();
    for case in CASES {
        let schedule = calendars.schedule(case.schedule).unwrap();
        let (from, to) = (utc(case.from), utc(case.to));
        let seconds = schedule.business_seconds(from, to);
        let micros = schedule.business_micros(from, to);
        if seconds != case.seconds || micros != case.seconds * 1_000_000 {
            wrong.push(format!(
                "{}: expected {} s, got {seconds} s ({micros} µs)",
                case.name, case.seconds
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn microseconds_are_exact() {
    let calendars = cases_calendars();
    let moscow = calendars.schedule("moscow").unwrap();
    // Tue 2024-03-12 09:00:00.000001 -> 09:00:01.5 MSK: 1.499999 s.
    let from = utc("2024-03-12T06:00:00.000001Z");
    let to = utc("2024-03-12T06:00:01.5Z");
    assert_eq!(moscow.business_micros(from, to), 1_499_999);
    assert_eq!(moscow.business_seconds(from, to), 1);
}

#[test]
fn the_same_utc_span_differs_by_zone() {
    let calendars = cases_calendars();
    let (from, to) = (utc("2023-03-14T04:00:00Z"), utc("2023-03-14T12:30:00Z"));
    let seconds: Vec<i64> = ["moscow", "kaliningrad", "yekaterinburg", "almaty"]
        .iter()
        .map(|name| calendars.schedule(name).unwrap().business_seconds(from, to))
        .collect();
    assert_eq!(seconds, [23_400, 19_800, 30_600, 28_800]);
}

#[test]
fn assignments_pick_the_schedule() {
    let calendars = cases_calendars();
    assert_eq!(calendars.schedule_for(Some(123), None), "kaliningrad");
    assert_eq!(calendars.schedule_for(Some(123), Some(5)), "night");
    assert_eq!(calendars.schedule_for(None, Some(5)), "night");
    assert_eq!(calendars.schedule_for(Some(1), Some(2)), "moscow");
    let lines: Vec<(String, Option<i64>, String)> = calendars
        .assignments()
        .into_iter()
        .map(|a| (a.scope.as_str().to_owned(), a.id, a.schedule))
        .collect();
    assert_eq!(
        lines,
        [
            ("default".to_owned(), None, "moscow".to_owned()),
            ("site".to_owned(), Some(123), "kaliningrad".to_owned()),
            ("department".to_owned(), Some(5), "night".to_owned()),
        ]
    );
}

#[test]
fn materialized_rows_are_sorted_with_running_totals() {
    let calendars = cases_calendars();
    let table = calendars.materialize(2024..=2024);
    assert!(table.years_without_production_data.is_empty());
    let moscow: Vec<_> = table
        .rows
        .iter()
        .filter(|r| r.schedule == "moscow")
        .collect();
    // 2024: 248 working days in Moscow (one interval each).
    assert_eq!(moscow.len(), 248);
    let mut before = 0;
    for row in &moscow {
        assert_eq!(row.seconds_before, before);
        assert_eq!(row.seconds, (row.end - row.start).num_seconds());
        before += row.seconds;
    }
    let schedule = calendars.schedule("moscow").unwrap();
    assert_eq!(
        before,
        schedule.business_seconds(utc("2023-12-31T21:00:00Z"), utc("2024-12-31T21:00:00Z"))
    );
    let kinds = |kind: &str| {
        moscow
            .iter()
            .filter(|r| r.day_kind.as_str() == kind)
            .count()
    };
    // Working Saturdays 27 Apr and 28 Dec; shortened 22 Feb, 7 Mar, 8 May, 11 Jun and
    // Saturday 2 Nov.
    assert_eq!((kinds("transferred"), kinds("shortened")), (2, 5));
    let mut sorted = table.rows.clone();
    sorted.sort_by(|a, b| (&a.schedule, a.start).cmp(&(&b.schedule, b.start)));
    assert_eq!(sorted, table.rows);
    let names: Vec<&str> = calendars.names().collect();
    let mut seen: Vec<&str> = table.rows.iter().map(|r| r.schedule.as_str()).collect();
    seen.dedup();
    assert_eq!(seen, names);
}

#[test]
fn years_beyond_the_production_data_follow_the_week_and_are_reported() {
    let calendars = cases_calendars();
    let table = calendars.materialize(2013..=2016);
    assert_eq!(table.years_without_production_data, [2013, 2014]);
    // 1 Jan 2014 (Wednesday) is worked: no data for 2014.
    let moscow = calendars.schedule("moscow").unwrap();
    assert_eq!(
        moscow.business_seconds(utc("2013-12-31T21:00:00Z"), utc("2014-01-01T21:00:00Z")),
        9 * 3600
    );
    assert_eq!(
        calendars
            .materialize(2030..=2030)
            .years_without_production_data,
        [2030]
    );
    // Schedules without a production calendar report nothing.
    let no_production = toml::from_str::<ltx_calendar::CalendarsConfig>(
        r#"
        default = "almaty"
        [schedules.almaty]
        time_zone = "Asia/Almaty"
        week = { mon = ["09:00-18:00"] }
        "#,
    )
    .unwrap()
    .compile()
    .unwrap();
    let table = no_production.materialize(2030..=2030);
    assert!(table.years_without_production_data.is_empty());
    assert_eq!(table.rows.len(), 52);
}

#[test]
fn a_decade_is_computed_day_by_day() {
    let calendars = cases_calendars();
    let moscow = calendars.schedule("moscow").unwrap();
    let from = utc("2015-01-01T00:00:00Z");
    let to = utc("2027-01-01T00:00:00Z");
    let total = moscow.business_seconds(from, to);
    let by_year: i64 = (2015..2027)
        .map(|y| {
            moscow.business_seconds(
                utc(&format!("{y}-01-01T00:00:00Z")),
                utc(&format!("{}-01-01T00:00:00Z", y + 1)),
            )
        })
        .sum();
    assert_eq!(total, by_year);
    // 230 to 252 working days of 9 h a year (2020 had the non-working weeks).
    assert!(
        total > 12 * 230 * 9 * 3600 && total < 12 * 252 * 9 * 3600,
        "{total}"
    );
}
