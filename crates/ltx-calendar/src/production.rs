//! Production calendars: a country's official days off, weekend days made working by a
//! transfer, and shortened pre-holiday days, embedded in the crate as data and read once.
//!
//! The one calendar is `"ru"`, `data/ru.toml` in the crate: the Russian
//! calendar for the five-day week, per year, with its source and cross-checks named at
//! the top of the file. [`ru_years`] lists the years it covers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::error::{CalendarError, Result};

/// Names of the production calendars this crate knows (`production_calendar = "…"`).
pub const PRODUCTION_CALENDARS: &[&str] = &["ru"];

const RU_FILE: &str = "data/ru.toml";
const RU_DATA: &str = include_str!("../data/ru.toml");

/// What a production calendar says of one date it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductionDay {
    /// A day off: a holiday, a day off transferred from a weekend, a non-working day by
    /// decree.
    Off,
    /// A Saturday or Sunday worked by a transfer; `shortened` when it is also a
    /// pre-holiday day.
    Working {
        /// One hour shorter, before a holiday.
        shortened: bool,
    },
    /// A weekday one hour shorter, before a holiday.
    Shortened,
}

/// One country's production calendar over the years it covers.
#[derive(Debug, Clone)]
pub struct ProductionCalendar {
    name: &'static str,
    years: BTreeSet<i32>,
    days: HashMap<NaiveDate, ProductionDay>,
}

impl ProductionCalendar {
    /// The calendar's name, e.g. `"ru"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The years the calendar covers, ascending. A year outside them has no exceptions:
    /// a schedule there follows its weekly hours.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Whether `year` is covered.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// What the calendar says of `date`; `None` for an ordinary day (a weekday worked in
    /// full, a weekend day off) or a date outside the covered years.
    pub fn day(&self, date: NaiveDate) -> Option<ProductionDay> {
        self.days.get(&date).copied()
    }
}

/// The Russian production calendar (`"ru"`).
pub fn ru() -> Result<&'static ProductionCalendar> {
    static RU: OnceLock<Result<ProductionCalendar>> = OnceLock::new();
    RU.get_or_init(|| parse("ru", RU_FILE, RU_DATA))
        .as_ref()
        .map_err(Clone::clone)
}

/// The years the Russian production calendar covers, ascending (empty only if the
/// embedded data did not read, which the crate's tests rule out).
pub fn ru_years() -> Vec<i32> {
    ru().map(|c| c.years().collect()).unwrap_or_default()
}

/// The production calendar called `name`; `None` for a name this crate does not know.
pub fn by_name(name: &str) -> Option<Result<&'static ProductionCalendar>> {
    match name {
        "ru" => Some(ru()),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearData {
    days_off: Vec<String>,
    working_days: Vec<String>,
    shortened_days: Vec<String>,
}

fn parse(name: &'static str, file: &'static str, text: &str) -> Result<ProductionCalendar> {
    let err = |message: String| CalendarError::ProductionData { file, message };
    let by_year: BTreeMap<String, YearData> =
        toml::from_str(text).map_err(|e| err(e.to_string()))?;
    let mut calendar = ProductionCalendar {
        name,
        years: BTreeSet::new(),
        days: HashMap::new(),
    };
    for (year_key, data) in by_year {
        let year: i32 = year_key
            .parse()
            .map_err(|_| err(format!("[{year_key}] is not a year")))?;
        calendar.years.insert(year);
        let dates = |list: &[String], what: &str| -> Result<Vec<NaiveDate>> {
            list.iter()
                .map(|text| {
                    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .map_err(|_| err(format!("[{year}] {what}: {text:?} is not a date")))?;
                    if date.year() != year {
                        return Err(err(format!("[{year}] {what}: {text} is in another year")));
                    }
                    Ok(date)
                })
                .collect()
        };
        let off = dates(&data.days_off, "days_off")?;
        let working = dates(&data.working_days, "working_days")?;
        let shortened = dates(&data.shortened_days, "shortened_days")?;
        for &date in &off {
            calendar.days.insert(date, ProductionDay::Off);
        }
        for &date in &working {
            if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                return Err(err(format!(
                    "[{year}] working_days: {date} is a weekday, not a transferred weekend day"
                )));
            }
            if calendar.days.contains_key(&date) {
                return Err(err(format!("[{year}] {date} is both off and working")));
            }
            calendar
                .days
                .insert(date, ProductionDay::Working { shortened: false });
        }
        for &date in &shortened {
            let mark = match calendar.days.get(&date) {
                Some(ProductionDay::Working { .. }) => ProductionDay::Working { shortened: true },
                None if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => {
                    ProductionDay::Shortened
                }
                _ => {
                    return Err(err(format!(
                        "[{year}] shortened_days: {date} is not a working day"
                    )))
                }
            };
            calendar.days.insert(date, mark);
        }
    }
    Ok(calendar)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn working_days_and_hours(cal: &ProductionCalendar, from: &str, to: &str) -> (u32, u32) {
        let (mut days, mut hours) = (0, 0);
        let mut d = date(from);
        while d <= date(to) {
            let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            let (works, short) = match cal.day(d) {
                Some(ProductionDay::Off) => (false, false),
                Some(ProductionDay::Working { shortened }) => (true, shortened),
                Some(ProductionDay::Shortened) => (true, true),
                None => (!weekend, false),
            };
            if works {
                days += 1;
                hours += if short { 7 } else { 8 };
            }
            d = d.succ_opt().unwrap();
        }
        (days, hours)
    }

    #[test]
    fn ru_data_reads_and_covers_2015_to_2027() {
        let cal = ru().unwrap();
        assert_eq!(cal.name(), "ru");
        assert_eq!(ru_years(), (2015..=2027).collect::<Vec<_>>());
        assert!(cal.covers(2024) && !cal.covers(2014) && !cal.covers(2028));
    }

    #[test]
    fn ru_facts_from_the_source() {
        let cal = ru().unwrap();
        let is = |d: &str, expected: Option<ProductionDay>| {
            assert_eq!(cal.day(date(d)), expected, "{d}");
        };
        // Saturday 28 Dec 2024 worked; its day off moved to Monday 30 Dec.
        is(
            "2024-12-28",
            Some(ProductionDay::Working { shortened: false }),
        );
        is("2024-12-30", Some(ProductionDay::Off));
        is("2024-12-31", Some(ProductionDay::Off));
        is("2025-01-01", Some(ProductionDay::Off));
        // Saturday 2 Nov 2024: worked (day off moved to 30 Apr) and shortened.
        is(
            "2024-11-02",
            Some(ProductionDay::Working { shortened: true }),
        );
        is("2024-04-30", Some(ProductionDay::Off));
        is("2023-02-22", Some(ProductionDay::Shortened));
        is("2023-02-24", Some(ProductionDay::Off));
        // 2025: 1 Nov (Saturday) worked and shortened, 3 Nov off.
        is(
            "2025-11-01",
            Some(ProductionDay::Working { shortened: true }),
        );
        is("2025-11-03", Some(ProductionDay::Off));
        // Friday 21 Feb 2025 was a full working day (23 Feb fell on a Sunday).
        is("2025-02-21", None);
        // Non-working days by decree.
        is("2020-04-15", Some(ProductionDay::Off));
        is("2020-07-01", Some(ProductionDay::Off));
        is("2021-11-02", Some(ProductionDay::Off));
        // Saturday 20 Feb 2016 worked and shortened; Monday 22 Feb off.
        is(
            "2016-02-20",
            Some(ProductionDay::Working { shortened: true }),
        );
        is("2016-02-22", Some(ProductionDay::Off));
        // Fridays 20 Feb and 6 Mar 2015 were full days (see the head of data/ru.toml).
        is("2015-02-20", None);
        is("2015-03-06", None);
        for year in 2015..=2027 {
            is(&format!("{year}-01-01"), Some(ProductionDay::Off));
            is(&format!("{year}-05-09"), Some(ProductionDay::Off));
            is(&format!("{year}-06-12"), Some(ProductionDay::Off));
        }
        // An ordinary Tuesday.
        is("2024-03-12", None);
    }

    /// Published counts: working days (hours at 40 h a week) per month.
    #[test]
    fn ru_matches_published_working_days_and_hours() {
        let cal = ru().unwrap();
        let months_2015 = [
            ("2015-01-01", "2015-01-31", 15, 120),
            ("2015-02-01", "2015-02-28", 19, 152),
            ("2015-03-01", "2015-03-31", 21, 168),
            ("2015-04-01", "2015-04-30", 22, 175),
            ("2015-05-01", "2015-05-31", 18, 143),
            ("2015-06-01", "2015-06-30", 21, 167),
        ];
        let months_2023 = [
            ("2023-01-01", "2023-01-31", 17, 136),
            ("2023-02-01", "2023-02-28", 18, 143),
            ("2023-03-01", "2023-03-31", 22, 175),
            ("2023-04-01", "2023-04-30", 20, 160),
            ("2023-05-01", "2023-05-31", 20, 160),
            ("2023-06-01", "2023-06-30", 21, 168),
        ];
        for (from, to, days, hours) in months_2015.into_iter().chain(months_2023) {
            assert_eq!(
                working_days_and_hours(cal, from, to),
                (days, hours),
                "{from}..{to}"
            );
        }
        for year in [2023, 2025, 2026] {
            let (days, _) =
                working_days_and_hours(cal, &format!("{year}-01-01"), &format!("{year}-12-31"));
            assert_eq!(days, 247, "{year}");
        }
    }

    #[test]
    fn broken_data_is_refused_with_the_reason() {
        let bad = |text: &str| parse("xx", "data/xx.toml", text).unwrap_err().to_string();
        let year = |off: &str, working: &str, short: &str| {
            format!("[2024]\ndays_off = [{off}]\nworking_days = [{working}]\nshortened_days = [{short}]\n")
        };
        assert!(bad(&year("\"2024-13-01\"", "", "")).contains("is not a date"));
        assert!(bad(&year("\"2023-01-01\"", "", "")).contains("another year"));
        assert!(bad(&year("", "\"2024-03-12\"", "")).contains("is a weekday"));
        assert!(bad(&year("", "", "\"2024-03-16\"")).contains("not a working day"));
        assert!(bad(&year("\"2024-03-16\"", "\"2024-03-16\"", "")).contains("both off and working"));
        assert!(bad("[2024]\ndays_off = []\n").contains("data/xx.toml"));
    }
}
