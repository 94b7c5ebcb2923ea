//! The `[calendars]` section of the configuration (serde) and its validation, which
//! compiles it into [`Calendars`].

use std::collections::{BTreeMap, HashSet};

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{CalendarError, Result};
use crate::production::{self, PRODUCTION_CALENDARS};
use crate::schedule::{Schedule, Span};
use crate::Calendars;

/// The `[calendars]` section: named schedules and which site or department follows
/// which. A missing key takes its value from [`CalendarsConfig::default`], so a
/// configuration without the section has the one schedule `moscow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarsConfig {
    /// Schedule of the sites and departments not assigned below.
    pub default: String,
    /// Site id (an integer, as a TOML key) → schedule name.
    pub sites: BTreeMap<String, String>,
    /// Department id (an integer, as a TOML key) → schedule name; wins over the site.
    pub departments: BTreeMap<String, String>,
    /// The schedules by name.
    pub schedules: BTreeMap<String, ScheduleConfig>,
}

/// One schedule: `[calendars.schedules.<name>]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// IANA time zone name, e.g. `Europe/Moscow`.
    pub time_zone: String,
    /// Production calendar (official holidays, transfers, shortened days): `"ru"`, or
    /// `""` for none.
    #[serde(default)]
    pub production_calendar: String,
    /// Working hours per day of the week.
    pub week: WeekConfig,
    /// Extra days off, `YYYY-MM-DD`; they beat everything.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Extra working days, `YYYY-MM-DD` (e.g. a transferred working Saturday), worked
    /// with `transfer_hours`; they beat the production calendar's days off.
    #[serde(default)]
    pub working_days: Vec<String>,
    /// Hours of a transferred working day; empty = the hours of Monday.
    #[serde(default)]
    pub transfer_hours: Vec<String>,
    /// Extra shortened (pre-holiday) days, `YYYY-MM-DD`.
    #[serde(default)]
    pub shortened_days: Vec<String>,
    /// How much earlier a shortened day ends: `1h`, `30m`, `90s`, `1h30m`.
    #[serde(default = "default_shortened_by")]
    pub shortened_by: String,
}

/// Working intervals per day of the week, each `"HH:MM-HH:MM"`. An end at or before the
/// start is an overnight shift ending the next day (`"22:00-06:00"`); `"00:00-24:00"` is
/// the whole day. A day left out has no working hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeekConfig {
    /// Monday's intervals.
    pub mon: Vec<String>,
    /// Tuesday's intervals.
    pub tue: Vec<String>,
    /// Wednesday's intervals.
    pub wed: Vec<String>,
    /// Thursday's intervals.
    pub thu: Vec<String>,
    /// Friday's intervals.
    pub fri: Vec<String>,
    /// Saturday's intervals.
    pub sat: Vec<String>,
    /// Sunday's intervals.
    pub sun: Vec<String>,
}

fn default_shortened_by() -> String {
    "1h".to_owned()
}

/// Name of the schedule of [`CalendarsConfig::default`].
pub const DEFAULT_SCHEDULE: &str = "moscow";

/// The `[calendars]` section with its default values, commented, for
/// `config/default.toml`; it reads as [`CalendarsConfig::default`] (tested).
pub const DEFAULT_TOML: &str = r#"[calendars]
# Schedule of the sites and departments not assigned below.
default = "moscow"
# Site id -> schedule name, e.g. { "123" = "kaliningrad" }.
sites = {}
# Department id -> schedule name, e.g. { "5" = "night" }; wins over the site's.
departments = {}

# One table per schedule: [calendars.schedules.<name>]. Giving any replaces this one.
[calendars.schedules.moscow]
# IANA time zone name.
time_zone = "Europe/Moscow"
# Official holidays, transfers and shortened days: "ru" (Russia, 2015-2027), "" = none.
production_calendar = "ru"
# Working intervals per day, mon..sun, "HH:MM-HH:MM". An end at or before the start is an
# overnight shift ending the next day ("22:00-06:00"); "00:00-24:00" is the whole day; a
# day left out has no working hours.
week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }
# Extra days off, "YYYY-MM-DD"; they beat everything.
holidays = []
# Extra working days (e.g. a transferred working Saturday), worked with transfer_hours;
# they beat the production calendar's days off.
working_days = []
# Hours of a transferred working day; empty = the hours of Monday.
transfer_hours = []
# Extra shortened (pre-holiday) days, "YYYY-MM-DD".
shortened_days = []
# How much earlier a shortened day ends: "1h", "30m", "90s", "1h30m".
shortened_by = "1h"
"#;

impl Default for CalendarsConfig {
    /// One schedule, `moscow`: 09:00-18:00 Monday to Friday in Europe/Moscow with the
    /// Russian production calendar, followed by every site and department.
    fn default() -> Self {
        let day = || vec!["09:00-18:00".to_owned()];
        let moscow = ScheduleConfig {
            time_zone: "Europe/Moscow".to_owned(),
            production_calendar: "ru".to_owned(),
            week: WeekConfig {
                mon: day(),
                tue: day(),
                wed: day(),
                thu: day(),
                fri: day(),
                sat: vec![],
                sun: vec![],
            },
            holidays: vec![],
            working_days: vec![],
            transfer_hours: vec![],
            shortened_days: vec![],
            shortened_by: default_shortened_by(),
        };
        CalendarsConfig {
            default: DEFAULT_SCHEDULE.to_owned(),
            sites: BTreeMap::new(),
            departments: BTreeMap::new(),
            schedules: BTreeMap::from([(DEFAULT_SCHEDULE.to_owned(), moscow)]),
        }
    }
}

impl WeekConfig {
    /// The days in order Monday..Sunday, with their keys.
    fn days(&self) -> [(&'static str, &[String]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

impl CalendarsConfig {
    /// Checks every key; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        self.compile().map(|_| ())
    }

    /// Validates and compiles the section into [`Calendars`].
    pub fn compile(&self) -> Result<Calendars> {
        let mut schedules = BTreeMap::new();
        for (name, config) in &self.schedules {
            let key = format!("calendars.schedules.{}", key_part(name));
            if name.trim().is_empty() {
                return Err(CalendarError::key(key, "a schedule name must not be empty"));
            }
            schedules.insert(name.clone(), compile_schedule(name, config, &key)?);
        }
        let known = || {
            let names: Vec<&str> = self.schedules.keys().map(String::as_str).collect();
            if names.is_empty() {
                "calendars.schedules is empty".to_owned()
            } else {
                format!("known: {}", names.join(", "))
            }
        };
        let check_name = |key: String, name: &str| -> Result<String> {
            if self.schedules.contains_key(name) {
                Ok(name.to_owned())
            } else {
                Err(CalendarError::key(
                    key,
                    format!("no schedule {name:?} in calendars.schedules ({})", known()),
                ))
            }
        };
        let default = check_name("calendars.default".to_owned(), &self.default)?;
        let assign =
            |scope: &str, map: &BTreeMap<String, String>| -> Result<BTreeMap<i64, String>> {
                let mut out = BTreeMap::new();
                for (id_text, name) in map {
                    let key = format!("calendars.{scope}.{}", key_part(id_text));
                    let id: i64 = id_text.trim().parse().map_err(|_| {
                        CalendarError::key(
                            key.clone(),
                            format!(
                                "{id_text:?} is not an integer {} id",
                                &scope[..scope.len() - 1]
                            ),
                        )
                    })?;
                    let name = check_name(key.clone(), name)?;
                    if out.insert(id, name).is_some() {
                        return Err(CalendarError::key(
                            key,
                            format!("id {id} is assigned twice (written differently)"),
                        ));
                    }
                }
                Ok(out)
            };
        let sites = assign("sites", &self.sites)?;
        let departments = assign("departments", &self.departments)?;
        Ok(Calendars {
            schedules,
            default,
            sites,
            departments,
        })
    }
}

/// A map key as it is written in a dotted key path: bare when TOML allows it.
fn key_part(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare && !name.chars().all(|c| c.is_ascii_digit()) {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

fn compile_schedule(name: &str, config: &ScheduleConfig, key: &str) -> Result<Schedule> {
    let tz: Tz = config.time_zone.parse().map_err(|_| {
        CalendarError::key(
            format!("{key}.time_zone"),
            format!(
                "unknown time zone {:?}; expected an IANA name such as \"Europe/Moscow\"",
                config.time_zone
            ),
        )
    })?;
    let production = match config.production_calendar.as_str() {
        "" => None,
        other => match production::by_name(other) {
            Some(calendar) => Some(calendar?),
            None => {
                return Err(CalendarError::key(
                    format!("{key}.production_calendar"),
                    format!(
                        "unknown production calendar {other:?}; known: {}, or \"\" for none",
                        PRODUCTION_CALENDARS
                            .iter()
                            .map(|n| format!("{n:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        },
    };
    let mut week: [Vec<Span>; 7] = Default::default();
    for (slot, (day, texts)) in week.iter_mut().zip(config.week.days()) {
        *slot = parse_day(texts, &format!("{key}.week.{day}"))?;
    }
    let transfer = if config.transfer_hours.is_empty() {
        week[0].clone()
    } else {
        parse_day(&config.transfer_hours, &format!("{key}.transfer_hours"))?
    };
    let holidays = parse_dates(&config.holidays, &format!("{key}.holidays"))?;
    let working_days = parse_dates(&config.working_days, &format!("{key}.working_days"))?;
    let shortened_days = parse_dates(&config.shortened_days, &format!("{key}.shortened_days"))?;
    let shortened_by = parse_duration(&config.shortened_by)
        .map_err(|message| CalendarError::key(format!("{key}.shortened_by"), message))?;
    Ok(Schedule {
        name: name.to_owned(),
        tz,
        week,
        transfer,
        production,
        holidays,
        working_days,
        shortened_days,
        shortened_by,
    })
}

/// One day's intervals, sorted, checked not to overlap.
fn parse_day(texts: &[String], key: &str) -> Result<Vec<Span>> {
    let mut spans = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let span = parse_interval(text)
            .map_err(|message| CalendarError::key(format!("{key}[{i}]"), message))?;
        spans.push((span, text));
    }
    spans.sort_by_key(|(span, _)| span.start);
    for pair in spans.windows(2) {
        let ((a, a_text), (b, b_text)) = (&pair[0], &pair[1]);
        if b.start < a.end {
            return Err(CalendarError::key(
                key,
                format!("intervals {a_text:?} and {b_text:?} overlap"),
            ));
        }
    }
    Ok(spans.into_iter().map(|(span, _)| span).collect())
}

/// `"HH:MM-HH:MM"` → minutes from the day's midnight; an end at or before the start is
/// on the next day.
pub(crate) fn parse_interval(text: &str) -> std::result::Result<Span, String> {
    let bad = || {
        format!(
            "{text:?} is not an interval \"HH:MM-HH:MM\" (e.g. \"09:00-18:00\", \"22:00-06:00\")"
        )
    };
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let start = parse_clock(start.trim()).ok_or_else(bad)?;
    let end = parse_clock(end.trim()).ok_or_else(bad)?;
    if start >= MINUTES_PER_DAY {
        return Err(format!("{text:?}: an interval cannot start at 24:00"));
    }
    let end = if end <= start {
        end + MINUTES_PER_DAY
    } else {
        end
    };
    Ok(Span { start, end })
}

const MINUTES_PER_DAY: u32 = 24 * 60;

/// `HH:MM`, 00:00..=24:00 → minutes.
fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn parse_dates(texts: &[String], key: &str) -> Result<HashSet<NaiveDate>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                CalendarError::key(
                    format!("{key}[{i}]"),
                    format!("{text:?} is not a date YYYY-MM-DD"),
                )
            })
        })
        .collect()
}

/// `1h`, `30m`, `45m`, `90s`, `1h30m` → a duration.
pub(crate) fn parse_duration(text: &str) -> std::result::Result<TimeDelta, String> {
    let bad =
        || format!("{text:?} is not a duration such as \"1h\", \"30m\", \"90s\" or \"1h30m\"");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut seconds: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = match rest[digits..].chars().next() {
            Some('h') => 3600,
            Some('m') => 60,
            Some('s') => 1,
            _ => return Err(bad()),
        };
        seconds = number
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .filter(|s| *s <= 7 * 24 * 3600)
            .ok_or_else(|| format!("{text:?} is longer than a week"))?;
        rest = &rest[digits + 1..];
    }
    Ok(TimeDelta::seconds(seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CalendarsConfig {
        #[derive(Deserialize)]
        struct Root {
            #[serde(default)]
            calendars: CalendarsConfig,
        }
        toml::from_str::<Root>(text).unwrap().calendars
    }

    fn error(text: &str) -> String {
        parse(text).compile().unwrap_err().to_string()
    }

    const MOSCOW: &str = r#"
        [calendars.schedules.moscow]
        time_zone = "Europe/Moscow"
        production_calendar = "ru"
        week = { mon = ["09:00-18:00"] }
    "#;

    #[test]
    fn no_section_is_the_moscow_default() {
        let config = parse("");
        assert_eq!(config, CalendarsConfig::default());
        let calendars = config.compile().unwrap();
        assert_eq!(calendars.default_name(), "moscow");
        assert_eq!(calendars.names().collect::<Vec<_>>(), ["moscow"]);
        let moscow = calendars.schedule("moscow").unwrap();
        assert_eq!(moscow.time_zone(), chrono_tz::Europe::Moscow);
    }

    #[test]
    fn default_toml_is_the_default() {
        assert_eq!(parse(DEFAULT_TOML), CalendarsConfig::default());
        parse(DEFAULT_TOML).compile().unwrap();
    }

    #[test]
    fn the_documented_example_compiles() {
        let config = parse(
            r#"
            [calendars]
            default = "moscow"
            sites = { "123" = "kaliningrad" }
            departments = { "5" = "night" }
            [calendars.schedules.moscow]
            time_zone = "Europe/Moscow"
            production_calendar = "ru"
            week = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"] }
            holidays = []
            working_days = []
            transfer_hours = []
            shortened_days = []
            shortened_by = "1h"
            [calendars.schedules.kaliningrad]
            time_zone = "Europe/Kaliningrad"
            production_calendar = "ru"
            week = { mon = ["09:00-13:00", "14:00-18:00"] }
            holidays = ["2024-03-11"]
            working_days = ["2024-03-16"]
            transfer_hours = ["10:00-14:00"]
            shortened_days = ["2024-03-15"]
            shortened_by = "45m"
            [calendars.schedules.night]
            time_zone = "Europe/Moscow"
            week = { mon = ["22:00-06:00"], sun = ["00:00-24:00"] }
            "#,
        );
        let calendars = config.compile().unwrap();
        assert_eq!(calendars.schedule_for(Some(123), None), "kaliningrad");
        assert_eq!(calendars.schedule_for(Some(123), Some(5)), "night");
        assert_eq!(calendars.schedule_for(Some(7), Some(6)), "moscow");
        assert_eq!(calendars.schedule_for(None, None), "moscow");
    }

    #[test]
    fn intervals_read() {
        let span = |s: u32, e: u32| Ok(Span { start: s, end: e });
        assert_eq!(parse_interval("09:00-18:00"), span(540, 1080));
        assert_eq!(parse_interval(" 09:00 - 18:00 "), span(540, 1080));
        assert_eq!(parse_interval("22:00-06:00"), span(1320, 1800));
        assert_eq!(parse_interval("00:00-24:00"), span(0, 1440));
        assert_eq!(parse_interval("22:00-24:00"), span(1320, 1440));
        // A 24-hour shift.
        assert_eq!(parse_interval("09:00-09:00"), span(540, 1980));
        for bad in [
            "9:00-18:00",
            "09:00",
            "09:00-18:60",
            "25:00-26:00",
            "24:00-01:00",
            "09-18",
            "",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_read() {
        let s = |n: i64| Ok(TimeDelta::seconds(n));
        assert_eq!(parse_duration("1h"), s(3600));
        assert_eq!(parse_duration("30m"), s(1800));
        assert_eq!(parse_duration("45m"), s(2700));
        assert_eq!(parse_duration("90s"), s(90));
        assert_eq!(parse_duration("1h30m"), s(5400));
        assert_eq!(parse_duration("0s"), s(0));
        for bad in ["", "1", "h", "1 hour", "1.5h", "-1h", "1d", "1h30"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moskow"
                week = {}"#,
                "key `calendars.schedules.moscow.time_zone`",
                "unknown time zone \"Europe/Moskow\"",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = { tue = ["09:00-18:00", "9-18"] }"#,
                "key `calendars.schedules.moscow.week.tue[1]`",
                "\"9-18\" is not an interval",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = { wed = ["12:00-18:00", "09:00-13:00"] }"#,
                "key `calendars.schedules.moscow.week.wed`",
                "intervals \"09:00-13:00\" and \"12:00-18:00\" overlap",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = { fri = ["18:00-10:00", "20:00-21:00"] }"#,
                "key `calendars.schedules.moscow.week.fri`",
                "overlap",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = {}
                transfer_hours = ["10:00"]"#,
                "key `calendars.schedules.moscow.transfer_hours[0]`",
                "is not an interval",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                production_calendar = "us"
                week = {}"#,
                "key `calendars.schedules.moscow.production_calendar`",
                "unknown production calendar \"us\"",
            ),
            (
                r#"[calendars]
                default = "msk""#,
                "key `calendars.default`",
                "no schedule \"msk\" in calendars.schedules (known: moscow)",
            ),
            (
                r#"[calendars]
                sites = { "123" = "kaliningrad" }"#,
                "key `calendars.sites.\"123\"`",
                "no schedule \"kaliningrad\"",
            ),
            (
                r#"[calendars]
                departments = { "5" = "night" }"#,
                "key `calendars.departments.\"5\"`",
                "no schedule \"night\"",
            ),
            (
                r#"[calendars]
                sites = { "abc" = "moscow" }"#,
                "key `calendars.sites.abc`",
                "\"abc\" is not an integer site id",
            ),
            (
                r#"[calendars]
                departments = { "1.5" = "moscow" }"#,
                "key `calendars.departments.\"1.5\"`",
                "is not an integer department id",
            ),
            (
                r#"[calendars]
                sites = { "7" = "moscow", "07" = "moscow" }"#,
                "key `calendars.sites.",
                "id 7 is assigned twice",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = {}
                holidays = ["2024-02-30"]"#,
                "key `calendars.schedules.moscow.holidays[0]`",
                "\"2024-02-30\" is not a date YYYY-MM-DD",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = {}
                working_days = ["2024-03-16", "16.03.2024"]"#,
                "key `calendars.schedules.moscow.working_days[1]`",
                "is not a date",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = {}
                shortened_days = ["tomorrow"]"#,
                "key `calendars.schedules.moscow.shortened_days[0]`",
                "is not a date",
            ),
            (
                r#"[calendars.schedules.moscow]
                time_zone = "Europe/Moscow"
                week = {}
                shortened_by = "1 hour""#,
                "key `calendars.schedules.moscow.shortened_by`",
                "\"1 hour\" is not a duration",
            ),
            (
                r#"[calendars.schedules."day shift"]
                time_zone = "Europe/Moscow"
                week = { sun = ["x"] }"#,
                "key `calendars.schedules.\"day shift\".week.sun[0]`",
                "is not an interval",
            ),
        ];
        for (toml_text, key, message) in cases {
            let text = error(toml_text);
            assert!(text.starts_with(key), "{text:?} should start with {key:?}");
            assert!(
                text.contains(message),
                "{text:?} should contain {message:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_by_serde() {
        let unknown = |text: &str| {
            let err = toml::from_str::<CalendarsConfig>(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains("unknown field"), "{err}");
        };
        unknown("defualt = \"moscow\"");
        unknown(&format!(
            "{}\nweekend = []",
            MOSCOW.replace("[calendars.schedules.moscow]", "[schedules.moscow]")
        ));
        unknown("[schedules.m]\ntime_zone = \"UTC\"\nweek = { monday = [] }");
    }

    #[test]
    fn a_schedule_needs_a_time_zone_and_a_week() {
        let err = toml::from_str::<CalendarsConfig>("[schedules.m]\nweek = {}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("time_zone"), "{err}");
        let err = toml::from_str::<CalendarsConfig>("[schedules.m]\ntime_zone = \"UTC\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("week"), "{err}");
    }

    #[test]
    fn defaults_fill_missing_keys() {
        let calendars = parse(MOSCOW).compile().unwrap();
        assert_eq!(calendars.default_name(), "moscow");
        let config = parse("[calendars]\nsites = { \"1\" = \"moscow\" }");
        assert_eq!(config.schedules, CalendarsConfig::default().schedules);
        assert_eq!(
            config.compile().unwrap().schedule_for(Some(1), None),
            "moscow"
        );
    }
}
