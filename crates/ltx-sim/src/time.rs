//! Moscow-time formatting and parsing of datetimes, as the LiveTex API speaks them.
//!
//! Kept local on purpose: the simulator must not depend on the crates it tests.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Moscow;

/// Unix seconds → UTC datetime (out-of-range values clamp to the epoch).
pub(crate) fn from_secs(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Since 2014-10-26 Moscow is UTC+3 all year; before that the tz database decides.
const MSK_FIXED_SINCE: i64 = 1_414_274_400;

/// Moscow wall clock and UTC offset (seconds) of an instant.
fn msk_parts(secs: i64) -> (chrono::NaiveDateTime, i32) {
    use chrono::Offset;
    if secs >= MSK_FIXED_SINCE {
        // Fast path (formatting dominates generation cost): fixed +03:00.
        let naive = from_secs(secs + 3 * 3600).naive_utc();
        return (naive, 3 * 3600);
    }
    let t = from_secs(secs).with_timezone(&Moscow);
    (t.naive_local(), t.offset().fix().local_minus_utc())
}

fn push_naive(out: &mut String, n: chrono::NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        n.year(),
        n.month(),
        n.day(),
        n.hour(),
        n.minute(),
        n.second()
    );
}

/// Moscow's UTC offset (seconds) at an instant.
pub(crate) fn msk_offset(secs: i64) -> i64 {
    if secs >= MSK_FIXED_SINCE {
        3 * 3600
    } else {
        i64::from(msk_parts(secs).1)
    }
}

/// Naive Moscow wall clock, `YYYY-MM-DDTHH:MM:SS` (the current API form).
pub(crate) fn fmt_msk(secs: i64) -> String {
    let mut s = String::with_capacity(19);
    push_naive(&mut s, msk_parts(secs).0);
    s
}

/// Moscow time with its offset, `YYYY-MM-DDTHH:MM:SS+03:00` (the old API form).
pub(crate) fn fmt_msk_offset(secs: i64) -> String {
    let (naive, off) = msk_parts(secs);
    let mut s = String::with_capacity(25);
    push_naive(&mut s, naive);
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off % 3600 / 60));
    s
}

/// IMF-fixdate for the HTTP `Date` header.
pub(crate) fn fmt_http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Moscow hour of day and weekday (0 = Monday) of an instant.
pub(crate) fn msk_hour_weekday(secs: i64) -> (u32, u32) {
    use chrono::{Datelike, Timelike};
    let t = from_secs(secs).with_timezone(&Moscow);
    (t.hour(), t.weekday().num_days_from_monday())
}

/// Parses a datetime parameter: ISO 8601 with offset or `Z`, or naive Moscow time
/// (`T` or space separated), or a bare date (start of that Moscow day).
pub(crate) fn parse_param(value: &str) -> Option<DateTime<Utc>> {
    let s = value.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%:z",
    ] {
        if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(s, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return moscow_to_utc(naive);
        }
    }
    let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    moscow_to_utc(date.and_hms_opt(0, 0, 0)?)
}

fn moscow_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match Moscow.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Some(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(earliest, _) => Some(earliest.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_moscow_time() {
        let t = Utc.with_ymd_and_hms(2026, 3, 14, 15, 2, 11).single();
        let secs = t.map(|t| t.timestamp()).unwrap_or_default();
        assert_eq!(fmt_msk(secs), "2026-03-14T18:02:11");
        assert_eq!(fmt_msk_offset(secs), "2026-03-14T18:02:11+03:00");
        assert_eq!(parse_param("2026-03-14T18:02:11"), t);
        assert_eq!(parse_param("2026-03-14 18:02:11"), t);
        assert_eq!(parse_param("2026-03-14T15:02:11Z"), t);
        assert_eq!(parse_param("2026-03-14T18:02:11+03:00"), t);
        assert_eq!(parse_param("garbage"), None);
        // Before 2014-10-26 Moscow was UTC+4: the tz database path.
        let old = Utc.with_ymd_and_hms(2012, 12, 7, 5, 14, 57).single();
        let old = old.map(|t| t.timestamp()).unwrap_or_default();
        assert_eq!(fmt_msk_offset(old), "2012-12-07T09:14:57+04:00");
    }
}
