//! LiveTex datetimes: naive Moscow wall-clock time or ISO 8601 with an offset.
//!
//! The API sends datetimes to the second. Current responses carry **no offset** and
//! are Moscow local time (`2014-12-17T15:35:48`); older ones carry an offset
//! (`2012-12-07T09:14:57+04:00`). A naive value is resolved with the tz database
//! (`Europe/Moscow`: UTC+4 until 2014-10-26, UTC+3 since), never with a fixed +3.
//! This module is the one place that knows it (an (I) choice of `livetex-api.md`).

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Europe::Moscow;

/// Why a datetime string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LiveTex datetime {value:?}: {reason}")]
pub struct DateTimeError {
    /// The value as received.
    pub value: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// Naive formats accepted, most common first.
const NAIVE_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
];

/// Parses a LiveTex datetime (naive Moscow time, or with an offset / `Z`) into UTC.
pub fn parse_api_datetime(value: &str) -> Result<DateTime<Utc>, DateTimeError> {
    let s = trim(value);
    if s.is_empty() {
        return Err(DateTimeError {
            value: value.to_owned(),
            reason: "empty string",
        });
    }
    // Fast path for what current responses carry (naive `YYYY-MM-DDTHH:MM:SS`): a
    // conversation has dozens of datetimes, and chrono's format parser is the hot spot.
    // (Anything it does not take, an invalid Moscow time included, goes on below.)
    if let Some(utc) = naive_moscow_fast(s.as_bytes()) {
        return Ok(utc);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    // Offsets without a colon (`+0400`) and a space instead of `T`.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%:z",
    ] {
        if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(s, fmt) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    for fmt in NAIVE_FORMATS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return moscow_to_utc(naive).ok_or_else(|| DateTimeError {
                value: value.to_owned(),
                reason: "not a valid Moscow local time",
            });
        }
    }
    // A bare date is the start of that Moscow day.
    if let Ok(date) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(naive) = date.and_hms_opt(0, 0, 0) {
            if let Some(utc) = moscow_to_utc(naive) {
                return Ok(utc);
            }
        }
    }
    Err(DateTimeError {
        value: value.to_owned(),
        reason: "expected ISO 8601 (YYYY-MM-DDTHH:MM:SS, optionally with an offset)",
    })
}

/// The usual datetime, naive `YYYY-MM-DDTHH:MM:SS` Moscow time (exactly 19 bytes), read
/// without the general path's checks; `None` for anything else, including an invalid Moscow
/// time (then the rest of [`parse_api_datetime`] gives the answer or the error). Both
/// parsers meet ~30 datetimes per conversation, most of them on a few days: the
/// date part (`YYYY-MM-DD`, as text) of a day with one offset all day is cached per thread
/// with its calendar date and offset, so a repeated day costs only its time of day.
pub(crate) fn naive_moscow_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    use std::cell::Cell;
    const SLOTS: usize = 256;
    /// A day seen before: its 10 bytes of text, its date and UTC minus local (seconds).
    #[derive(Clone, Copy)]
    struct Day {
        text: (u64, u16),
        date: NaiveDate,
        shift: i64,
    }
    thread_local! {
        /// Direct-mapped by a hash of the text (empty slots hold text no date has).
        static DAYS: [Cell<Day>; SLOTS] = const {
            [const { Cell::new(Day { text: (0, 0), date: NaiveDate::MIN, shift: 0 }) }; SLOTS]
        };
    }
    let b: &[u8; 19] = b.try_into().ok()?;
    let text = (
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        u16::from_le_bytes([b[8], b[9]]),
    );
    let slot = ((text.0 ^ (u64::from(text.1) << 48)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56)
        as usize
        % SLOTS;
    let day = DAYS.with(|d| d[slot].get());
    if day.text == text {
        // The date was checked when cached; the time of day is checked here.
        let utc = time_of_day(b)? + day.shift;
        let (date, secs) = if utc < 0 {
            (day.date.pred_opt()?, utc + 86_400)
        } else if utc >= 86_400 {
            (day.date.succ_opt()?, utc - 86_400)
        } else {
            (day.date, utc)
        };
        let time = NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(secs).ok()?, 0)?;
        return Some(NaiveDateTime::new(date, time).and_utc());
    }
    let local = naive_secs_fast(b)?;
    let local_day = local.div_euclid(86_400);
    // A day with a change of offset (or out of the cached range) is resolved per hour.
    let Some(shift) = uniform_day_shift(local_day) else {
        return moscow_secs_to_utc_cached(local);
    };
    let date = DateTime::from_timestamp(local_day * 86_400, 0)?.date_naive();
    DAYS.with(|d| d[slot].set(Day { text, date, shift }));
    DateTime::from_timestamp(local + shift, 0)
}

/// Seconds since midnight of the `HH:MM:SS` at bytes 11..19 of a naive datetime, with the
/// separator before it (`T` or a space) and its `:`s checked (no leap second).
fn time_of_day(b: &[u8; 19]) -> Option<i64> {
    if !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let d = |i: usize| {
        let v = b[i].wrapping_sub(b'0');
        (v <= 9).then_some(i64::from(v))
    };
    let hour = d(11)? * 10 + d(12)?;
    let minute = d(14)? * 10 + d(15)?;
    let second = d(17)? * 10 + d(18)?;
    (hour <= 23 && minute <= 59 && second <= 59).then_some(hour * 3_600 + minute * 60 + second)
}

/// `str::trim`, without its Unicode scan when both ends are visible ASCII (the usual case).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&b)) if (b'!'..=b'~').contains(&a) && (b'!'..=b'~').contains(&b) => s,
        _ => s.trim(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (or a space for `T`) as seconds since 1970 of that wall-clock
/// time, without chrono: days from the civil date (H. Hinnant's algorithm), checked as
/// strictly as chrono's `from_ymd_opt`/`and_hms_opt` (no leap second, no 30 February).
fn naive_secs_fast(b: &[u8]) -> Option<i64> {
    let b: &[u8; 19] = b.try_into().ok()?;
    Some(days_of_date(b)? * 86_400 + time_of_day(b)?)
}

/// Days since 1970-01-01 of the `YYYY-MM-DD` at the start of a naive datetime.
fn days_of_date(b: &[u8; 19]) -> Option<i64> {
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    // Every digit position at once: a non-digit wraps to a byte above 9.
    let d = |i: usize| i64::from(b[i].wrapping_sub(b'0'));
    const DIGITS: [usize; 8] = [0, 1, 2, 3, 5, 6, 8, 9];
    if DIGITS.iter().any(|&i| b[i].wrapping_sub(b'0') > 9) {
        return None;
    }
    let year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    let (month, day) = (d(5) * 10 + d(6), d(8) * 10 + d(9));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date, years starting in March.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// [`moscow_to_utc`] of a wall-clock time given as seconds since 1970, with the tz lookup
/// cached per local day. Moscow's offset has only changed on whole local hours, at most
/// once a day, so a day whose first and last hour share a shift (UTC minus local) shares
/// it throughout; a day with a change is resolved per hour. Times before 1970 and after
/// year 9999 are resolved directly.
fn moscow_secs_to_utc_cached(local: i64) -> Option<DateTime<Utc>> {
    if !(0..253_402_300_800).contains(&local) {
        return moscow_to_utc(DateTime::from_timestamp(local, 0)?.naive_utc());
    }
    let shift = match uniform_day_shift(local / 86_400) {
        Some(shift) => shift,
        None => hour_shift(local / 3_600)?,
    };
    DateTime::from_timestamp(local + shift, 0)
}

/// UTC minus Moscow wall-clock time (seconds) throughout a local day since 1970, when the
/// day's first and last hour share it (cached); `None` for a day with a change (or out of
/// range): resolve such a day per hour.
fn uniform_day_shift(day: i64) -> Option<i64> {
    use std::cell::Cell;
    const SLOTS: usize = 1024;
    thread_local! {
        /// Direct-mapped cache: (local day since the epoch, UTC minus local in seconds).
        static CACHE: [Cell<(i64, i64)>; SLOTS] = const { [const { Cell::new((i64::MIN, 0)) }; SLOTS] };
    }
    if !(0..2_932_897).contains(&day) {
        return None;
    }
    let slot = (day as usize) % SLOTS;
    let (cached_day, cached_shift) = CACHE.with(|c| c[slot].get());
    if cached_day == day {
        return Some(cached_shift);
    }
    let first = hour_shift(day * 24)?;
    (first == hour_shift(day * 24 + 23)?).then(|| {
        CACHE.with(|c| c[slot].set((day, first)));
        first
    })
}

/// UTC minus Moscow wall-clock time, in seconds, at the start of a local hour since 1970.
fn hour_shift(hour: i64) -> Option<i64> {
    let start = DateTime::from_timestamp(hour * 3_600, 0)?.naive_utc();
    Some(moscow_to_utc(start)?.timestamp() - hour * 3_600)
}

/// As [`moscow_secs_to_utc_cached`], for a naive time (with fractions).
#[cfg(test)]
fn moscow_to_utc_cached(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let utc = moscow_secs_to_utc_cached(naive.and_utc().timestamp())?;
    DateTime::from_timestamp(utc.timestamp(), naive.and_utc().timestamp_subsec_nanos())
}

/// Resolves a Moscow wall-clock time to UTC. Ambiguous times (clocks set back,
/// last in 2014) take the earlier instant; skipped times (spring forward, until
/// 2011) are shifted by an hour as the clocks did.
pub fn moscow_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match Moscow.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Some(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(earliest, _) => Some(earliest.with_timezone(&Utc)),
        LocalResult::None => Moscow
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|dt| dt.with_timezone(&Utc)),
    }
}

/// Moscow wall-clock time of an instant (for MSK reporting columns and API parameters).
pub fn utc_to_moscow(utc: DateTime<Utc>) -> NaiveDateTime {
    utc.with_timezone(&Moscow).naive_local()
}

/// Formats an instant as the API sends it: naive Moscow time, `YYYY-MM-DDTHH:MM:SS`.
pub fn format_api_datetime(utc: DateTime<Utc>) -> String {
    utc_to_moscow(utc).format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn naive_moscow_after_2014_is_utc_plus_3() {
        assert_eq!(
            parse_api_datetime("2014-12-17T15:35:48").unwrap(),
            utc("2014-12-17T12:35:48Z")
        );
    }

    #[test]
    fn naive_moscow_before_2014_10_26_is_utc_plus_4() {
        assert_eq!(
            parse_api_datetime("2014-10-25T12:00:00").unwrap(),
            utc("2014-10-25T08:00:00Z")
        );
        assert_eq!(
            parse_api_datetime("2014-10-26T12:00:00").unwrap(),
            utc("2014-10-26T09:00:00Z")
        );
    }

    #[test]
    fn the_hour_moscow_lived_twice_on_2014_10_26_takes_the_earlier_instant() {
        // At 02:00 MSK+4 the clocks went back to 01:00 MSK+3: a naive 01:xx that night is
        // ambiguous. Both parsers (the serde path and the fast path with its day cache)
        // read it as the first pass (+4), and the hours around it unambiguously.
        for (text, want) in [
            ("2014-10-26T00:59:59", "2014-10-25T20:59:59Z"),
            ("2014-10-26T01:00:00", "2014-10-25T21:00:00Z"),
            ("2014-10-26T01:30:00", "2014-10-25T21:30:00Z"),
            ("2014-10-26T01:59:59", "2014-10-25T21:59:59Z"),
            ("2014-10-26T02:00:00", "2014-10-25T23:00:00Z"),
            ("2014-10-26T23:59:59", "2014-10-26T20:59:59Z"),
        ] {
            assert_eq!(parse_api_datetime(text).unwrap(), utc(want), "{text}");
            // Twice: the second call may be answered by the day cache.
            for _ in 0..2 {
                assert_eq!(
                    naive_moscow_fast(text.as_bytes()),
                    Some(utc(want)),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn offset_datetimes_are_honoured() {
        assert_eq!(
            parse_api_datetime("2012-12-07T09:14:57+04:00").unwrap(),
            utc("2012-12-07T05:14:57Z")
        );
        assert_eq!(
            parse_api_datetime("2026-03-14T18:02:11Z").unwrap(),
            utc("2026-03-14T18:02:11Z")
        );
        assert_eq!(
            parse_api_datetime("2026-03-14 18:02:11+0300").unwrap(),
            utc("2026-03-14T15:02:11Z")
        );
    }

    #[test]
    fn space_separator_and_fractions_are_accepted() {
        assert_eq!(
            parse_api_datetime("2026-03-14 18:02:11").unwrap(),
            utc("2026-03-14T15:02:11Z")
        );
        assert_eq!(
            parse_api_datetime("2026-03-14T18:02:11.250").unwrap(),
            utc("2026-03-14T15:02:11.250Z")
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_value() {
        let err = parse_api_datetime("yesterday").unwrap_err();
        assert!(err.to_string().contains("yesterday"));
        assert!(parse_api_datetime("").is_err());
        assert!(parse_api_datetime("2026-02-30T10:00:00").is_err());
    }

    #[test]
    fn day_cache_gives_what_the_tz_database_gives() {
        // Each text twice (a miss fills the day cache, the second read hits it), for every
        // hour of days around the transitions and on ordinary days, at the edges of the day
        // (where the UTC date differs from the local one) and with a space separator.
        let days = [
            (1999, 12, 31),
            (2011, 3, 26),
            (2011, 3, 27),
            (2014, 10, 25),
            (2014, 10, 26),
            (2014, 10, 27),
            (2024, 2, 29),
            (2026, 3, 14),
        ];
        for (y, m, d) in days {
            let day = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            for h in 0..24 {
                for (min, sec) in [(0, 0), (30, 7), (59, 59)] {
                    let naive = day.and_hms_opt(h, min, sec).unwrap();
                    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
                        let text = naive.format(fmt).to_string();
                        for _ in 0..2 {
                            assert_eq!(
                                naive_moscow_fast(text.as_bytes()),
                                moscow_to_utc(naive),
                                "{text}"
                            );
                        }
                    }
                }
            }
            // A cached day with a bad time of day is still refused.
            let date = day.format("%Y-%m-%d").to_string();
            for bad in [
                "T24:00:00",
                "T23:60:00",
                "T23:59:60",
                "T2x:00:00",
                "X23:00:00",
                "T23-00:00",
            ] {
                assert_eq!(
                    naive_moscow_fast(format!("{date}{bad}").as_bytes()),
                    None,
                    "{bad}"
                );
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_the_tz_database_hour_by_hour() {
        // Every hour around both recent Moscow transitions, and a few minutes into each.
        for (y, m, d) in [
            (2011, 3, 26),
            (2011, 3, 27),
            (2014, 10, 25),
            (2014, 10, 26),
            (2026, 3, 14),
        ] {
            let day = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            for h in 0..24 {
                for min in [0, 59] {
                    let naive = day.and_hms_opt(h, min, 7).unwrap();
                    let text = naive.format("%Y-%m-%dT%H:%M:%S").to_string();
                    assert_eq!(
                        naive_secs_fast(text.as_bytes()),
                        Some(naive.and_utc().timestamp())
                    );
                    assert_eq!(moscow_to_utc_cached(naive), moscow_to_utc(naive), "{text}");
                    assert_eq!(
                        parse_api_datetime(&text).ok(),
                        moscow_to_utc(naive),
                        "{text}"
                    );
                }
            }
        }
        for bad in [
            "2026-03-14T18:02:1x",
            "2026-13-14T18:02:11",
            "2026-00-14T18:02:11",
        ] {
            assert_eq!(naive_secs_fast(bad.as_bytes()), None, "{bad}");
        }
        assert!(parse_api_datetime("2026-02-30T10:00:00").is_err());
    }

    #[test]
    fn day_cache_agrees_with_the_tz_database_every_day_since_1970() {
        // Three hours of every day (start, the usual transition hours, end) through 2035.
        let mut day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        while day.year() < 2035 {
            for h in [0, 2, 3, 23] {
                let naive = day.and_hms_opt(h, 30, 0).unwrap();
                let local = naive.and_utc().timestamp();
                assert_eq!(
                    moscow_secs_to_utc_cached(local),
                    moscow_to_utc(naive),
                    "{naive}"
                );
            }
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn fast_calendar_agrees_with_chrono() {
        // Every day of years around leap rules (1900, 2000, 2100), the epoch and year 0,
        // plus days that do not exist and times out of range: same answer as chrono.
        for year in [
            0, 1, 1899, 1900, 1969, 1970, 1999, 2000, 2004, 2024, 2100, 9999,
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    for (h, m, s) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (1, 2, 60)]
                    {
                        let text = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}");
                        // chrono reads `:60` as a leap second; the fast path leaves it to chrono.
                        let chrono = NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S")
                            .ok()
                            .filter(|_| s < 60)
                            .map(|n| n.and_utc().timestamp());
                        assert_eq!(naive_secs_fast(text.as_bytes()), chrono, "{text}");
                    }
                }
            }
        }
        assert_eq!(trim(" 2026-03-14T18:02:11\n"), "2026-03-14T18:02:11");
        assert_eq!(trim("\u{a0}x"), "x");
        assert_eq!(trim(""), "");
        // ... and the full parse still gives chrono's answer for a leap second.
        assert_eq!(
            parse_api_datetime("2026-03-14T18:02:60").ok(),
            NaiveDateTime::parse_from_str("2026-03-14T18:02:60", "%Y-%m-%dT%H:%M:%S")
                .ok()
                .and_then(moscow_to_utc)
        );
    }

    #[test]
    fn format_round_trips() {
        let t = utc("2026-03-14T15:02:11Z");
        assert_eq!(format_api_datetime(t), "2026-03-14T18:02:11");
        assert_eq!(parse_api_datetime(&format_api_datetime(t)).unwrap(), t);
    }
}
