//! LiveTex datetimes: naive Moscow wall-clock time or ISO 8601 with an offset.
//!
//! The API sends datetimes to the second. Current responses carry **no offset** and
//! are Moscow local time (`2014-12-17T15:35:48`); older ones carry an offset
//! (`2012-12-07T09:14:57+04:00`). A naive value is resolved with the tz database
//! (`Europe/Moscow`: UTC+4 until 2014-10-26, UTC+3 since), never with a fixed +3.
//! This module is the one place that knows it (an (I) choice of `livetex-api.md`).

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
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
    let s = value.trim();
    if s.is_empty() {
        return Err(DateTimeError {
            value: value.to_owned(),
            reason: "empty string",
        });
    }
    // Fast path for what current responses carry (naive `YYYY-MM-DDTHH:MM:SS`): a
    // conversation has dozens of datetimes, and chrono's format parser is the hot spot.
    if let Some(naive) = parse_naive_fast(s) {
        return moscow_to_utc_cached(naive).ok_or_else(|| DateTimeError {
            value: value.to_owned(),
            reason: "not a valid Moscow local time",
        });
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

/// `YYYY-MM-DDTHH:MM:SS` (or a space for `T`) without chrono's generic format parser.
fn parse_naive_fast(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, num(5, 7)?, num(8, 10)?)?.and_hms_opt(
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    )
}

/// [`moscow_to_utc`] with the tz lookup cached per local hour: Moscow's offset has only
/// changed on whole local hours since 1930, so every time in an hour shares its shift.
/// Times before 1970 are resolved directly.
fn moscow_to_utc_cached(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    use std::cell::Cell;
    const SLOTS: usize = 64;
    thread_local! {
        /// Direct-mapped cache: (local hour since the epoch, UTC minus local in seconds).
        static CACHE: [Cell<(i64, i64)>; SLOTS] = const { [const { Cell::new((i64::MIN, 0)) }; SLOTS] };
    }
    let local = naive.and_utc().timestamp();
    if local < 0 {
        return moscow_to_utc(naive);
    }
    let hour = local.div_euclid(3600);
    let slot = (hour as usize) % SLOTS;
    let shift = CACHE.with(|c| {
        let (h, shift) = c[slot].get();
        if h == hour {
            return Some(shift);
        }
        let start = DateTime::from_timestamp(hour * 3600, 0)?.naive_utc();
        let shift = moscow_to_utc(start)?.timestamp() - hour * 3600;
        c[slot].set((hour, shift));
        Some(shift)
    })?;
    DateTime::from_timestamp(local + shift, naive.and_utc().timestamp_subsec_nanos())
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
                    assert_eq!(parse_naive_fast(&text), Some(naive));
                    assert_eq!(moscow_to_utc_cached(naive), moscow_to_utc(naive), "{text}");
                    assert_eq!(
                        parse_api_datetime(&text).ok(),
                        moscow_to_utc(naive),
                        "{text}"
                    );
                }
            }
        }
        assert_eq!(parse_naive_fast("2026-03-14T18:02:1x"), None);
        assert_eq!(parse_naive_fast("2026-13-14T18:02:11"), None);
        assert!(parse_api_datetime("2026-02-30T10:00:00").is_err());
    }

    #[test]
    fn format_round_trips() {
        let t = utc("2026-03-14T15:02:11Z");
        assert_eq!(format_api_datetime(t), "2026-03-14T18:02:11");
        assert_eq!(parse_api_datetime(&format_api_datetime(t)).unwrap(), t);
    }
}
