//! ltx-calendar: business calendars and business time.
//!
//! Owns: the `[calendars]` configuration section and its validation ([`config`]); the
//! production calendars embedded as data ([`production`]: the Russian one, `"ru"`);
//! compiled schedules and exact, DST-aware business time between two instants
//! ([`Schedule`]); the materialized table of working intervals and the SQL patterns over
//! it ([`sql`], [`Calendars::materialize`]).
//!
//! Does not own: reading the configuration file (ltx-pipeline), writing the table to
//! Parquet and registering it (ltx-load), the SQL models that use it (`sql/`).
//!
//! # Configuration
//!
//! ```toml
//! [calendars]
//! default = "moscow"                 # schedule of sites/departments not assigned below
//! sites = { "123" = "kaliningrad" }  # site id -> schedule
//! departments = { "5" = "night" }    # department id -> schedule (wins over the site)
//! [calendars.schedules.moscow]
//! time_zone = "Europe/Moscow"        # IANA name
//! production_calendar = "ru"         # official holidays, transfers, shortened days; "" = none
//! week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }
//! # intervals "HH:MM-HH:MM"; an end <= start is an overnight shift ending the next day
//! # ("22:00-06:00"); "00:00-24:00" = whole day; a day left out has no hours
//! holidays = []          # extra days off (site exceptions), "YYYY-MM-DD"
//! working_days = []      # extra working days (a transferred working Saturday); worked with `transfer_hours`
//! transfer_hours = []    # hours of a transferred working day; empty = the hours of Monday
//! shortened_days = []    # extra shortened pre-holiday days
//! shortened_by = "1h"    # how much earlier the last interval of a shortened day ends ("30m", "90s", "1h30m")
//! ```
//!
//! Without the section, [`CalendarsConfig::default`] applies: the one schedule above,
//! `moscow`, for everyone ([`config::DEFAULT_TOML`] is that default as a commented
//! section). A key left out of a present section takes its value from that
//! default (so `schedules`, if given, replaces the whole map: name `default` then too).
//! In a schedule, `time_zone` and `week` are required; `production_calendar` defaults
//! to `""` (none). [`CalendarsConfig::compile`] validates everything and names the bad
//! key: unknown time zone or production calendar, malformed or overlapping intervals of
//! a day, unknown schedule names, non-integer site or department ids, bad dates, a bad
//! `shortened_by`.
//!
//! # Which days are worked
//!
//! For a local date, first match wins:
//! 1. in the schedule's `holidays`: off;
//! 2. in the schedule's `working_days`: worked with `transfer_hours` (kind
//!    `transferred`);
//! 3. a day off of the production calendar: off;
//! 4. a working weekend day of the production calendar: worked with `transfer_hours`
//!    (kind `transferred`);
//! 5. otherwise the weekly hours of its day of the week (kind `regular`).
//!
//! A worked day in the schedule's `shortened_days` or the production calendar's
//! shortened days is kind `shortened` and loses `shortened_by` of working time from its
//! end (the last interval ends earlier; if that is shorter, the one before too).
//!
//! # Intervals and business time
//!
//! A day's intervals belong to the local date they start on: `"22:00-06:00"` on Friday
//! is Friday 22:00 to Saturday 06:00. Local times become instants with the schedule's
//! time zone (chrono-tz): a nonexistent local time (clocks turned forward) is the first
//! valid instant after it, an ambiguous one (clocks turned back) the earliest. So an
//! interval across a DST change lasts its real elapsed time. Where an overnight shift
//! runs into the next day's hours, that day's interval starts where the shift ends (or
//! is dropped if covered): no instant counts twice, and every interval keeps the date
//! it starts on (merging instead could chain 24-hour shifts into one interval without
//! end).
//!
//! [`Schedule::business_micros`] is the working time in `[from, to)`, exact to the
//! microsecond, 0 when `to <= from`; it walks days, not seconds.
//!
//! # Production calendar data
//!
//! `data/ru.toml`, embedded: the Russian production calendar for 2015..=2027 from the
//! public repository xmlcalendar/data (`ru/<year>/calendar.xml`), cross-checked against
//! python-holidays (transfers 2015..=2025) and published working-day counts; the file's
//! head names the versions and checks. [`ru_years`] lists the years covered. A schedule
//! following a production calendar outside its years follows its weekly hours, and
//! [`Calendars::materialize`] lists such years so the caller can warn.
//!
//! # Materialized table
//!
//! [`Calendars::materialize`] gives every working interval of every schedule whose local
//! date is in the given years, sorted by `(schedule, start)`, with `seconds` and the
//! cumulative `seconds_before`: the rows of the table `business_intervals`
//! ([`sql::BUSINESS_INTERVALS_COLUMNS`]). [`sql::BUSINESS_SECONDS_RANGE_JOIN_SQL`] and
//! [`sql::BUSINESS_SECONDS_ASOF_SQL`] compute business seconds per span over it.

pub mod config;
pub mod error;
pub mod production;
mod schedule;
pub mod sql;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, NaiveDate, Utc};

pub use config::{CalendarsConfig, ScheduleConfig, WeekConfig};
pub use error::{CalendarError, Result};
pub use production::{ru_years, ProductionCalendar, ProductionDay};
pub use schedule::{DayKind, Schedule, WorkInterval};

/// The compiled `[calendars]` section: schedules by name and who follows which.
#[derive(Debug, Clone)]
pub struct Calendars {
    pub(crate) schedules: BTreeMap<String, Schedule>,
    pub(crate) default: String,
    pub(crate) sites: BTreeMap<i64, String>,
    pub(crate) departments: BTreeMap<i64, String>,
}

/// Who an assignment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssignmentScope {
    /// Everyone not assigned otherwise.
    Default,
    /// A site (`id` is its id).
    Site,
    /// A department (`id` is its id); wins over its site.
    Department,
}

impl AssignmentScope {
    /// `default`, `site` or `department`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentScope::Default => "default",
            AssignmentScope::Site => "site",
            AssignmentScope::Department => "department",
        }
    }
}

/// One line of who follows which schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Default, site or department.
    pub scope: AssignmentScope,
    /// The site or department id; `None` for the default.
    pub id: Option<i64>,
    /// The schedule's name.
    pub schedule: String,
}

/// One row of the table `business_intervals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalRow {
    /// The schedule's name.
    pub schedule: String,
    /// The local date the interval starts on.
    pub local_date: NaiveDate,
    /// Kind of that day.
    pub day_kind: DayKind,
    /// First instant of work.
    pub start: DateTime<Utc>,
    /// First instant after work.
    pub end: DateTime<Utc>,
    /// `end - start` in seconds.
    pub seconds: i64,
    /// Working seconds of this schedule before this interval, over the materialized
    /// range.
    pub seconds_before: i64,
}

/// Result of [`Calendars::materialize`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Materialized {
    /// Every interval, sorted by `(schedule, start)`.
    pub rows: Vec<IntervalRow>,
    /// Years of the range that a production calendar used by some schedule does not
    /// cover (those schedules follow their weekly hours there), ascending.
    pub years_without_production_data: Vec<i32>,
}

impl Calendars {
    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.get(name)
    }

    /// The schedules' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.schedules.keys().map(String::as_str)
    }

    /// The schedule of everyone not assigned otherwise.
    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// The schedule a conversation follows: its department's assignment wins, then its
    /// site's, then the default.
    pub fn schedule_for(&self, site_id: Option<i64>, department_id: Option<i64>) -> &str {
        department_id
            .and_then(|id| self.departments.get(&id))
            .or_else(|| site_id.and_then(|id| self.sites.get(&id)))
            .unwrap_or(&self.default)
    }

    /// Every assignment: the default first, then sites, then departments, by id.
    pub fn assignments(&self) -> Vec<Assignment> {
        let mut out = vec![Assignment {
            scope: AssignmentScope::Default,
            id: None,
            schedule: self.default.clone(),
        }];
        for (scope, map) in [
            (AssignmentScope::Site, &self.sites),
            (AssignmentScope::Department, &self.departments),
        ] {
            out.extend(map.iter().map(|(&id, schedule)| Assignment {
                scope,
                id: Some(id),
                schedule: schedule.clone(),
            }));
        }
        out
    }

    /// Every working interval of every schedule whose local date is in `years`, sorted by
    /// `(schedule, start)`, with the years lacking production calendar data.
    pub fn materialize(&self, years: RangeInclusive<i32>) -> Materialized {
        let mut out = Materialized::default();
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(*years.start(), 1, 1),
            NaiveDate::from_ymd_opt(*years.end(), 12, 31),
        ) else {
            return out;
        };
        let mut missing = std::collections::BTreeSet::new();
        for (name, schedule) in &self.schedules {
            if let Some(production) = schedule.production_calendar() {
                missing.extend(years.clone().filter(|&y| !production.covers(y)));
            }
            let mut seconds_before = 0;
            schedule.for_each_interval(first, last, |interval| {
                let seconds = (interval.end - interval.start).num_seconds();
                out.rows.push(IntervalRow {
                    schedule: name.clone(),
                    local_date: interval.local_date,
                    day_kind: interval.day_kind,
                    start: interval.start,
                    end: interval.end,
                    seconds,
                    seconds_before,
                });
                seconds_before += seconds;
            });
        }
        out.years_without_production_data = missing.into_iter().collect();
        out
    }
}
