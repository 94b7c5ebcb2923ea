//! Properties of business time over random schedules: random weekly intervals (overnight
//! shifts and 24-hour shifts included), a random zone (with and without DST, odd
//! offsets), random exceptions, with or without the Russian production calendar, and
//! random instants across 2023..=2025.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use ltx_calendar::{CalendarsConfig, Schedule, ScheduleConfig, WeekConfig};
use proptest::prelude::*;

const ZONES: &[&str] = &[
    "Europe/Moscow",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Yekaterinburg",
    "Asia/Almaty",
    "Asia/Kathmandu",      // UTC+5:45
    "Australia/Lord_Howe", // 30-minute DST
    "America/Santiago",    // DST in the southern summer
    "Pacific/Chatham",     // UTC+12:45/+13:45
    "UTC",
];

/// 2023-01-01T00:00:00Z and 2026-01-01T00:00:00Z.
const FIRST: i64 = 1_672_531_200;
const LAST: i64 = 1_767_225_600;

fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// One day's intervals: up to two from sorted cut points on a 30-minute grid, the last
/// possibly overnight (its end at or before its start), or the whole day.
fn day() -> impl Strategy<Value = Vec<String>> {
    let cut = (
        0_usize..=2,
        proptest::collection::btree_set(0_u32..48, 4),
        any::<bool>(),
        0_u32..48,
    )
        .prop_map(|(n, points, overnight, wrap)| {
            let p: Vec<u32> = points.into_iter().map(|x| x * 30).collect();
            let mut out: Vec<String> = (0..n)
                .map(|k| format!("{}-{}", clock(p[2 * k]), clock(p[2 * k + 1])))
                .collect();
            if overnight && n > 0 {
                let start = p[2 * n - 2];
                out[n - 1] = format!("{}-{}", clock(start), clock((wrap * 30).min(start)));
            }
            out
        });
    prop_oneof![
        8 => cut,
        1 => Just(vec!["00:00-24:00".to_owned()]),
    ]
}

fn dates(max: usize) -> impl Strategy<Value = Vec<String>> {
    let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    proptest::collection::vec(0_i64..1096, 0..=max).prop_map(move |offsets| {
        offsets
            .into_iter()
            .map(|d| (first + TimeDelta::days(d)).to_string())
            .collect()
    })
}

fn schedule_config() -> impl Strategy<Value = ScheduleConfig> {
    (
        proptest::sample::select(ZONES),
        any::<bool>(),
        proptest::collection::vec(day(), 7),
        prop_oneof![Just(vec![]), day()],
        (dates(12), dates(6), dates(6)),
        proptest::sample::select(&["1h", "30m", "90s", "3h", "0s"][..]),
    )
        .prop_map(
            |(zone, ru, week, transfer_hours, (holidays, working_days, shortened_days), by)| {
                ScheduleConfig {
                    time_zone: zone.to_owned(),
                    production_calendar: if ru { "ru" } else { "" }.to_owned(),
                    week: WeekConfig {
                        mon: week[0].clone(),
                        tue: week[1].clone(),
                        wed: week[2].clone(),
                        thu: week[3].clone(),
                        fri: week[4].clone(),
                        sat: week[5].clone(),
                        sun: week[6].clone(),
                    },
                    holidays,
                    working_days,
                    transfer_hours,
                    shortened_days,
                    shortened_by: by.to_owned(),
                }
            },
        )
}

fn compile(config: ScheduleConfig) -> Schedule {
    let calendars = CalendarsConfig {
        default: "s".to_owned(),
        schedules: [("s".to_owned(), config)].into(),
        ..CalendarsConfig::default()
    }
    .compile()
    .unwrap();
    calendars.schedule("s").unwrap().clone()
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn instant_strategy() -> impl Strategy<Value = i64> {
    FIRST..LAST
}

/// Every interval of the local dates around 2023..=2025, to sum by brute force.
fn all_intervals(schedule: &Schedule) -> Vec<ltx_calendar::WorkInterval> {
    schedule.intervals(
        NaiveDate::from_ymd_opt(2022, 12, 29).unwrap(),
        NaiveDate::from_ymd_opt(2026, 1, 3).unwrap(),
    )
}

fn brute_force_micros(
    intervals: &[ltx_calendar::WorkInterval],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i64 {
    intervals
        .iter()
        .map(|i| {
            let (start, end) = (i.start.max(from), i.end.min(to));
            if end > start {
                (end - start).num_microseconds().unwrap()
            } else {
                0
            }
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Business time is never negative nor more than calendar time, and reversed spans
    /// are 0.
    #[test]
    fn business_time_is_at_most_calendar_time(
        config in schedule_config(),
        a in instant_strategy(),
        b in instant_strategy(),
    ) {
        let schedule = compile(config);
        let (a, b) = (instant(a.min(b)), instant(a.max(b)));
        let micros = schedule.business_micros(a, b);
        prop_assert!(micros >= 0);
        prop_assert!(micros <= (b - a).num_microseconds().unwrap());
        if a < b {
            prop_assert_eq!(schedule.business_micros(b, a), 0);
        }
    }

    /// business(a, c) = business(a, b) + business(b, c) for a <= b <= c.
    #[test]
    fn business_time_is_additive(
        config in schedule_config(),
        mut points in proptest::collection::vec(instant_strategy(), 3),
    ) {
        let schedule = compile(config);
        points.sort_unstable();
        let (a, b, c) = (instant(points[0]), instant(points[1]), instant(points[2]));
        prop_assert_eq!(
            schedule.business_micros(a, c),
            schedule.business_micros(a, b) + schedule.business_micros(b, c)
        );
    }

    /// business_micros equals the overlap summed over every interval of the period.
    #[test]
    fn business_time_equals_a_brute_force_sum(
        config in schedule_config(),
        spans in proptest::collection::vec((instant_strategy(), 0_i64..40 * 86_400), 8),
    ) {
        let schedule = compile(config);
        let intervals = all_intervals(&schedule);
        for (from, length) in spans {
            let (from, to) = (instant(from), instant((from + length).min(LAST)));
            prop_assert_eq!(
                schedule.business_micros(from, to),
                brute_force_micros(&intervals, from, to),
                "{} .. {}", from, to
            );
        }
    }

    /// Intervals are sorted, positive and disjoint, and any span inside a gap between
    /// them is worth 0.
    #[test]
    fn spans_between_intervals_are_worth_nothing(
        config in schedule_config(),
        picks in proptest::collection::vec((any::<proptest::sample::Index>(), 0.0_f64..=1.0, 0.0_f64..=1.0), 8),
    ) {
        let schedule = compile(config);
        let intervals = all_intervals(&schedule);
        for pair in intervals.windows(2) {
            prop_assert!(pair[0].start < pair[0].end);
            prop_assert!(pair[0].end <= pair[1].start, "{:?} overlaps {:?}", pair[0], pair[1]);
        }
        let gaps: Vec<(i64, i64)> = intervals
            .windows(2)
            .map(|p| (p[0].end.timestamp(), p[1].start.timestamp()))
            .filter(|(s, e)| e > s)
            .collect();
        if gaps.is_empty() {
            return Ok(());
        }
        for (index, x, y) in picks {
            let (start, end) = gaps[index.index(gaps.len())];
            let at = |f: f64| start + ((end - start) as f64 * f) as i64;
            let (from, to) = (instant(at(x.min(y))), instant(at(x.max(y))));
            prop_assert_eq!(schedule.business_micros(from, to), 0, "{} .. {}", from, to);
        }
    }

    /// The intervals of a range of dates are those of its two halves, in order: each
    /// interval depends only on its own date and the day before.
    #[test]
    fn intervals_of_a_range_are_those_of_its_parts(
        config in schedule_config(),
        first in 0_i64..1000,
        split in 0_i64..60,
        length in 0_i64..60,
    ) {
        let schedule = compile(config);
        let day0 = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let a = day0 + TimeDelta::days(first);
        let b = a + TimeDelta::days(split.min(length));
        let c = a + TimeDelta::days(length);
        let whole = schedule.intervals(a, c);
        let mut parts = schedule.intervals(a, b);
        parts.extend(schedule.intervals(b + TimeDelta::days(1), c));
        prop_assert_eq!(whole, parts);
    }
}
