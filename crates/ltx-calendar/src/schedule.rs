//! A compiled schedule: which local dates are worked and when, as exact UTC intervals,
//! and the business time between two instants.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::production::{ProductionCalendar, ProductionDay};

/// A working interval of one day in minutes from that day's local midnight; `end` may
/// pass 24:00 (an overnight shift) and is at most 24 hours after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// What kind of working day an interval belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DayKind {
    /// A day worked by the weekly hours.
    Regular,
    /// A day worked by a transfer (the production calendar's working weekend day or the
    /// schedule's `working_days`), with `transfer_hours`.
    Transferred,
    /// A shortened (pre-holiday) day, transferred or not.
    Shortened,
}

impl DayKind {
    /// The value of the `day_kind` column: `regular`, `transferred` or `shortened`.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Regular => "regular",
            DayKind::Transferred => "transferred",
            DayKind::Shortened => "shortened",
        }
    }
}

impl fmt::Display for DayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One working interval `[start, end)` of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkInterval {
    /// The local date the interval starts on (an overnight shift belongs to the day it
    /// starts).
    pub local_date: NaiveDate,
    /// The kind of that day.
    pub day_kind: DayKind,
    /// First instant of work.
    pub start: DateTime<Utc>,
    /// First instant after work.
    pub end: DateTime<Utc>,
}

/// A compiled schedule (see the crate docs for the rules).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub(crate) name: String,
    pub(crate) tz: Tz,
    /// Monday..Sunday.
    pub(crate) week: [Vec<Span>; 7],
    pub(crate) transfer: Vec<Span>,
    pub(crate) production: Option<&'static ProductionCalendar>,
    pub(crate) holidays: HashSet<NaiveDate>,
    pub(crate) working_days: HashSet<NaiveDate>,
    pub(crate) shortened_days: HashSet<NaiveDate>,
    pub(crate) shortened_by: TimeDelta,
}

impl Schedule {
    /// The schedule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schedule's time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The production calendar the schedule follows, if any.
    pub fn production_calendar(&self) -> Option<&'static ProductionCalendar> {
        self.production
    }

    /// Working time in `[from, to)`, in microseconds; 0 when `to <= from`. Exact and
    /// DST-aware; the cost grows with the number of days spanned, not the seconds.
    pub fn business_micros(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        // An interval of day D starts on D (local) and ends by D+2 00:00, so the
        // intervals touching [from, to) are those of the day before `from`'s up to `to`'s.
        let first = pred(from.with_timezone(&self.tz).date_naive());
        let last = to.with_timezone(&self.tz).date_naive();
        let mut total = TimeDelta::zero();
        self.for_each_interval(first, last, |interval| {
            let start = interval.start.max(from);
            let end = interval.end.min(to);
            if end > start {
                total += end - start;
            }
        });
        total.num_microseconds().unwrap_or(i64::MAX)
    }

    /// [`Schedule::business_micros`] in whole seconds (truncated).
    pub fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.business_micros(from, to) / 1_000_000
    }

    /// The working intervals of the local dates `from..=to`, sorted by start, not
    /// overlapping; empty when `to < from`.
    pub fn intervals(&self, from: NaiveDate, to: NaiveDate) -> Vec<WorkInterval> {
        let mut out = Vec::new();
        self.for_each_interval(from, to, |interval| out.push(interval));
        out
    }

    /// Calls `f` with the intervals of the local dates `from..=to` in order. Where an
    /// overnight shift runs into the next day's hours, the next day's interval starts
    /// where the shift ends (or is dropped if the shift covers it): every instant is
    /// counted once, and each interval keeps the date it starts on.
    pub(crate) fn for_each_interval(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        mut f: impl FnMut(WorkInterval),
    ) {
        // Only the day before can reach into `from` (see business_micros); its own
        // clipping never moves its ends.
        let mut covered_until: Option<DateTime<Utc>> = None;
        if let Some(before) = from.pred_opt() {
            for interval in self.day_intervals(before) {
                covered_until = covered_until.max(Some(interval.end));
            }
        }
        let mut date = from;
        while date <= to {
            for mut interval in self.day_intervals(date) {
                if let Some(covered) = covered_until {
                    interval.start = interval.start.max(covered);
                }
                if interval.end <= interval.start {
                    continue;
                }
                covered_until = covered_until.max(Some(interval.end));
                f(interval);
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
    }

    /// What `date` is: `None` off, else its kind, its intervals and whether shortened.
    fn day_plan(&self, date: NaiveDate) -> Option<(DayKind, &[Span], bool)> {
        if self.holidays.contains(&date) {
            return None;
        }
        let production = self.production.and_then(|p| p.day(date));
        let shortened = self.shortened_days.contains(&date)
            || matches!(
                production,
                Some(ProductionDay::Shortened | ProductionDay::Working { shortened: true })
            );
        let (kind, spans) = if self.working_days.contains(&date) {
            (DayKind::Transferred, self.transfer.as_slice())
        } else {
            match production {
                Some(ProductionDay::Off) => return None,
                Some(ProductionDay::Working { .. }) => {
                    (DayKind::Transferred, self.transfer.as_slice())
                }
                Some(ProductionDay::Shortened) | None => (
                    DayKind::Regular,
                    self.week[date.weekday().num_days_from_monday() as usize].as_slice(),
                ),
            }
        };
        if spans.is_empty() {
            return None;
        }
        let kind = if shortened { DayKind::Shortened } else { kind };
        Some((kind, spans, shortened))
    }

    /// One day's intervals in UTC, before clipping against the day before: sorted, not
    /// overlapping, shortened when the day is.
    fn day_intervals(&self, date: NaiveDate) -> Vec<WorkInterval> {
        let Some((day_kind, spans, shortened)) = self.day_plan(date) else {
            return Vec::new();
        };
        let midnight = date.and_time(chrono::NaiveTime::MIN);
        let mut out: Vec<WorkInterval> = spans
            .iter()
            .filter_map(|span| {
                let at = |minutes: u32| {
                    midnight
                        .checked_add_signed(TimeDelta::minutes(i64::from(minutes)))
                        .map(|local| resolve(self.tz, local))
                };
                let (start, end) = (at(span.start)?, at(span.end)?);
                (end > start).then_some(WorkInterval {
                    local_date: date,
                    day_kind,
                    start,
                    end,
                })
            })
            .collect();
        if shortened {
            // The day ends `shortened_by` earlier: take the time off its last intervals.
            let mut cut = self.shortened_by;
            while cut > TimeDelta::zero() {
                let Some(last) = out.last_mut() else { break };
                let length = last.end - last.start;
                if length > cut {
                    last.end -= cut;
                    break;
                }
                cut -= length;
                out.pop();
            }
        }
        out
    }
}

fn pred(date: NaiveDate) -> NaiveDate {
    date.pred_opt().unwrap_or(date)
}

/// The instant of a local time: the earliest of an ambiguous one (clocks turned back),
/// the first valid instant after a nonexistent one (clocks turned forward).
pub(crate) fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => first_instant_at_or_after(tz, local),
    }
}

/// The first instant whose local time is at or after `local`, which lies in a gap.
/// Local time grows with UTC time around a gap (one transition within a day either
/// side), so a binary search over whole seconds finds it; transitions fall on whole
/// seconds.
fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let as_utc = local.and_utc().timestamp();
    let reached = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .is_some_and(|t| t.with_timezone(&tz).naive_local() >= local)
    };
    // `lo` never reaches `local` and `hi` does: every zone's offset is within ±1 day.
    let (mut lo, mut hi) = (as_utc - 86_400, as_utc + 86_400);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::CalendarsConfig;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn local_times_resolve_in_gaps_and_overlaps() {
        let berlin = chrono_tz::Europe::Berlin;
        // 2024-03-31 02:30 does not exist in Berlin (02:00 CET → 03:00 CEST): the next
        // valid instant is 03:00 CEST = 01:00 UTC.
        assert_eq!(
            resolve(berlin, local("2024-03-31 02:30")),
            utc("2024-03-31T01:00:00Z")
        );
        // 2024-10-27 02:30 happens twice (CEST, then CET): the earliest, 00:30 UTC.
        assert_eq!(
            resolve(berlin, local("2024-10-27 02:30")),
            utc("2024-10-27T00:30:00Z")
        );
        assert_eq!(
            resolve(berlin, local("2024-07-01 09:00")),
            utc("2024-07-01T07:00:00Z")
        );
        let new_york = chrono_tz::America::New_York;
        // 2024-03-10 02:15 does not exist in New York (02:00 EST → 03:00 EDT = 07:00 UTC).
        assert_eq!(
            resolve(new_york, local("2024-03-10 02:15")),
            utc("2024-03-10T07:00:00Z")
        );
        // 2024-11-03 01:30 happens twice; the earliest is EDT, 05:30 UTC.
        assert_eq!(
            resolve(new_york, local("2024-11-03 01:30")),
            utc("2024-11-03T05:30:00Z")
        );
    }

    #[test]
    fn an_overnight_shift_and_the_next_mornings_hours_count_once() {
        let config: CalendarsConfig = toml::from_str(
            r#"
            default = "s"
            [schedules.s]
            time_zone = "UTC"
            week = { mon = ["22:00-06:00"], tue = ["00:00-09:00", "10:00-11:00"] }
            "#,
        )
        .unwrap();
        let calendars = config.compile().unwrap();
        let s = calendars.schedule("s").unwrap();
        let monday = NaiveDate::from_ymd_opt(2024, 3, 11).unwrap();
        let got: Vec<_> = s
            .intervals(monday, monday.succ_opt().unwrap())
            .into_iter()
            .map(|i| {
                (
                    i.local_date.to_string(),
                    i.start.to_rfc3339(),
                    i.end.to_rfc3339(),
                )
            })
            .collect();
        let row =
            |d: &str, s: &str, e: &str| (d.to_owned(), utc(s).to_rfc3339(), utc(e).to_rfc3339());
        assert_eq!(
            got,
            [
                row("2024-03-11", "2024-03-11T22:00:00Z", "2024-03-12T06:00:00Z"),
                row("2024-03-12", "2024-03-12T06:00:00Z", "2024-03-12T09:00:00Z"),
                row("2024-03-12", "2024-03-12T10:00:00Z", "2024-03-12T11:00:00Z"),
            ]
        );
        // Mon 22:00 → Tue 11:00 = 8 h shift + 3 h + 1 h, not 8 + 9 + 1.
        assert_eq!(
            s.business_seconds(utc("2024-03-11T00:00:00Z"), utc("2024-03-13T00:00:00Z")),
            12 * 3600
        );
        // Tuesday alone still sees the shift's tail: the same 12 h from Tue 00:00 is
        // 6 h (shift) + 3 h + 1 h = 10 h.
        assert_eq!(
            s.business_seconds(utc("2024-03-12T00:00:00Z"), utc("2024-03-13T00:00:00Z")),
            10 * 3600
        );
        // intervals() of Tuesday alone clips against Monday's shift too.
        assert_eq!(
            s.intervals(monday.succ_opt().unwrap(), monday.succ_opt().unwrap())
                .len(),
            2
        );
    }

    #[test]
    fn site_exceptions_override_the_production_calendar() {
        let config: CalendarsConfig = toml::from_str(
            r#"
            default = "s"
            [schedules.s]
            time_zone = "UTC"
            production_calendar = "ru"
            week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }
            # Sat 28 Dec 2024 (a production working day) and Tue 12 Mar 2024 off; Fri
            # 3 Jan 2025 (a production holiday) worked, and Tue 12 Mar 2024 too, which
            # loses to the holiday.
            holidays = ["2024-12-28", "2024-03-12"]
            working_days = ["2025-01-03", "2024-03-12", "2024-03-16"]
            transfer_hours = ["10:00-14:00"]
            shortened_days = ["2024-03-13", "2024-03-16"]
            shortened_by = "30m"
            "#,
        )
        .unwrap();
        let calendars = config.compile().unwrap();
        let s = calendars.schedule("s").unwrap();
        let day = |text: &str| {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
            s.intervals(date, date)
                .into_iter()
                .map(|i| (i.day_kind, (i.end - i.start).num_minutes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(day("2024-12-28"), []);
        assert_eq!(day("2024-03-12"), []);
        assert_eq!(day("2025-01-03"), [(DayKind::Transferred, 240)]);
        // The production calendar's own transfers still apply, with transfer_hours.
        assert_eq!(day("2024-04-27"), [(DayKind::Transferred, 240)]);
        // Production shortened day (1 Nov 2025 is also a transferred Saturday), and the
        // schedule's own shortened days: 30 min less.
        assert_eq!(day("2025-11-01"), [(DayKind::Shortened, 210)]);
        assert_eq!(day("2024-03-13"), [(DayKind::Shortened, 510)]);
        assert_eq!(day("2024-03-16"), [(DayKind::Shortened, 210)]);
        // A production holiday without an exception.
        assert_eq!(day("2025-01-02"), []);
        // An ordinary Thursday.
        assert_eq!(day("2024-03-14"), [(DayKind::Regular, 540)]);
    }

    #[test]
    fn shortening_takes_time_off_the_end_of_the_day() {
        let config: CalendarsConfig = toml::from_str(
            r#"
            default = "s"
            [schedules.s]
            time_zone = "UTC"
            week = { mon = ["09:00-13:00", "14:00-14:30"] }
            shortened_days = ["2024-03-11"]
            shortened_by = "1h"
            "#,
        )
        .unwrap();
        let calendars = config.compile().unwrap();
        let s = calendars.schedule("s").unwrap();
        let monday = NaiveDate::from_ymd_opt(2024, 3, 11).unwrap();
        let got = s.intervals(monday, monday);
        // 30 min off 14:00-14:30 (gone), the other 30 min off 09:00-13:00.
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].start, got[0].end),
            (utc("2024-03-11T09:00:00Z"), utc("2024-03-11T12:30:00Z"))
        );
        assert_eq!(got[0].day_kind, DayKind::Shortened);
    }
}
