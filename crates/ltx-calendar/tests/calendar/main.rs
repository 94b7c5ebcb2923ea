//! Acceptance tests of business time: cases checked by hand (`cases`), the same cases
//! through DuckDB and the two SQL patterns (`duckdb_sql`), and properties over random
//! schedules (`properties`).
#![allow(clippy::unwrap_used)]

mod cases;
mod duckdb_sql;
mod properties;

use chrono::{DateTime, Utc};
use ltx_calendar::{Calendars, CalendarsConfig};

/// Schedules of the hand-checked cases.
pub const CASES_CONFIG: &str = r#"
default = "moscow"
sites = { "123" = "kaliningrad" }
departments = { "5" = "night" }

# 09:00-18:00 Monday to Friday with the Russian production calendar, in four zones.
[schedules.moscow]
time_zone = "Europe/Moscow"          # UTC+3 all year
production_calendar = "ru"
week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }

[schedules.kaliningrad]
time_zone = "Europe/Kaliningrad"     # UTC+2 all year
production_calendar = "ru"
week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }

[schedules.yekaterinburg]
time_zone = "Asia/Yekaterinburg"     # UTC+5 all year
production_calendar = "ru"
week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }

[schedules.almaty]
time_zone = "Asia/Almaty"            # UTC+6 until 2024-03-01, UTC+5 since
week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }

# Night shifts Monday to Friday nights, no production calendar.
[schedules.night]
time_zone = "Europe/Moscow"
week = { mon = ["22:00-06:00"], tue = ["22:00-06:00"], wed = ["22:00-06:00"], thu = ["22:00-06:00"], fri = ["22:00-06:00"] }

# Night shifts every night in a zone with DST (CET/CEST).
[schedules.berlin_night]
time_zone = "Europe/Berlin"
week = { mon = ["22:00-06:00"], tue = ["22:00-06:00"], wed = ["22:00-06:00"], thu = ["22:00-06:00"], fri = ["22:00-06:00"], sat = ["22:00-06:00"], sun = ["22:00-06:00"] }

# Sunday 02:30-05:00 in Berlin: starts in the spring gap and in the autumn overlap.
[schedules.berlin_early]
time_zone = "Europe/Berlin"
week = { sun = ["02:30-05:00"] }
"#;

/// The compiled [`CASES_CONFIG`].
pub fn cases_calendars() -> Calendars {
    toml::from_str::<CalendarsConfig>(CASES_CONFIG)
        .unwrap()
        .compile()
        .unwrap()
}

/// An RFC 3339 instant.
pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}
