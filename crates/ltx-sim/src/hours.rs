//! The account's working calendar: Moscow time, Monday to Friday, 09:00 to 18:00, no
//! public holidays. The timing model (`account::timing`) uses it to decide when operators
//! answer, and [`working_seconds`] gives the same calendar to tests that compare business
//! figures with calendar ones.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Moscow;

use crate::time::msk_offset;

const DAY: i64 = 86_400;
/// Start of the working day, seconds after local midnight.
const OPEN: i64 = 9 * 3_600;
/// End of the working day (exclusive), seconds after local midnight.
const CLOSE: i64 = 18 * 3_600;

/// Moscow wall clock of an instant, as seconds since the local epoch.
fn local(secs: i64) -> i64 {
    secs + msk_offset(secs)
}

/// The instant of a Moscow wall-clock time (seconds since the local epoch). Working times
/// never fall into a DST gap (the pre-2014 switches happened at night); should one, the
/// current offset is used.
fn instant(local_secs: i64) -> i64 {
    let guess = local_secs - 3 * 3_600;
    if msk_offset(guess) == 3 * 3_600 && msk_offset(guess - DAY) == 3 * 3_600 {
        return guess;
    }
    DateTime::from_timestamp(local_secs, 0)
        .map(|t| t.naive_utc())
        .and_then(|n: NaiveDateTime| Moscow.from_local_datetime(&n).earliest())
        .map_or(guess, |t| t.timestamp())
}

/// 0 = Monday of the local day number `day` (day 0, 1970-01-01, was a Thursday).
fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// `l` (local seconds) if it is working time, else the next opening.
fn next_open_local(l: i64) -> i64 {
    let mut day = l.div_euclid(DAY);
    let sod = l - day * DAY;
    if weekday(day) < 5 {
        if sod < OPEN {
            return day * DAY + OPEN;
        }
        if sod < CLOSE {
            return l;
        }
    }
    day += 1;
    while weekday(day) >= 5 {
        day += 1;
    }
    day * DAY + OPEN
}

/// Moscow hour of day and weekday (0 = Monday) of an instant.
pub(crate) fn hour_weekday(secs: i64) -> (u32, u32) {
    let l = local(secs);
    let day = l.div_euclid(DAY);
    // Both are small and non-negative: an hour below 24, a weekday below 7.
    (((l - day * DAY) / 3_600) as u32, weekday(day) as u32)
}

/// Whether operators are at work at `secs` (unix seconds).
pub(crate) fn is_working(secs: i64) -> bool {
    let l = local(secs);
    next_open_local(l) == l
}

/// `secs` if it is working time, else the next opening (unix seconds).
pub(crate) fn next_working(secs: i64) -> i64 {
    let l = local(secs);
    let n = next_open_local(l);
    if n == l {
        secs
    } else {
        instant(n)
    }
}

/// The instant `work` seconds of working time after `secs` (working time starts at the
/// next opening when `secs` is outside it).
pub(crate) fn add_working(secs: i64, work: i64) -> i64 {
    let mut left = work.max(0);
    let start = local(secs);
    let mut l = next_open_local(start);
    loop {
        let close = l.div_euclid(DAY) * DAY + CLOSE;
        if left <= close - l {
            let end = l + left;
            return if end == start { secs } else { instant(end) };
        }
        left -= close - l;
        l = next_open_local(close);
    }
}

/// Working seconds in `[from, to)` (unix seconds); 0 when `to <= from`.
pub(crate) fn working_secs(from: i64, to: i64) -> i64 {
    if to <= from {
        return 0;
    }
    let (a, b) = (local(from), local(to));
    let mut total = 0;
    let mut day = a.div_euclid(DAY);
    while day * DAY < b {
        if weekday(day) < 5 {
            let open = (day * DAY + OPEN).max(a);
            let close = (day * DAY + CLOSE).min(b);
            total += (close - open).max(0);
        }
        day += 1;
    }
    total
}

/// Working seconds between two instants under the simulator's calendar (Moscow time,
/// Monday to Friday 09:00–18:00, no holidays); 0 when `to` is not after `from`.
///
/// The timing model of the generated account follows this calendar: chats opened outside
/// it mostly wait for the next opening, so their business-hours wait is far below the
/// calendar one. Comparisons of business-hours SLA figures with [`crate::SlaTruth`] can
/// use it as the reference.
pub fn working_seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    working_secs(from.timestamp(), to.timestamp())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Unix seconds of a Moscow wall-clock time.
    fn msk(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Moscow
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap()
            .timestamp()
    }

    #[test]
    fn the_calendar_is_moscow_weekdays_nine_to_six() {
        // 2026-10-30 is a Friday.
        assert!(is_working(msk(2026, 10, 30, 9, 0)));
        assert!(is_working(msk(2026, 10, 30, 17, 59)));
        assert!(!is_working(msk(2026, 10, 30, 18, 0)));
        assert!(!is_working(msk(2026, 10, 30, 8, 59)));
        assert!(!is_working(msk(2026, 10, 31, 12, 0)), "Saturday");
        assert_eq!(hour_weekday(msk(2026, 10, 31, 23, 59)), (23, 5));
        assert_eq!(hour_weekday(msk(2012, 12, 7, 0, 30)), (0, 4));
        let fri_night = msk(2026, 10, 30, 23, 10);
        assert_eq!(next_working(fri_night), msk(2026, 11, 2, 9, 0), "Monday");
        let noon = msk(2026, 10, 29, 12, 0);
        assert_eq!(next_working(noon), noon);
        assert_eq!(
            next_working(msk(2026, 10, 29, 7, 0)),
            msk(2026, 10, 29, 9, 0)
        );
        // Adding working time skips nights and weekends.
        assert_eq!(add_working(noon, 3_600), msk(2026, 10, 29, 13, 0));
        assert_eq!(add_working(noon, 8 * 3_600), msk(2026, 10, 30, 11, 0));
        assert_eq!(add_working(fri_night, 600), msk(2026, 11, 2, 9, 10));
        assert_eq!(
            add_working(msk(2026, 10, 30, 17, 0), 2 * 3_600),
            msk(2026, 11, 2, 10, 0)
        );
        assert_eq!(add_working(fri_night, 0), msk(2026, 11, 2, 9, 0));
        assert_eq!(add_working(noon, 0), noon);
        // Working seconds between two instants.
        assert_eq!(working_secs(fri_night, msk(2026, 11, 2, 9, 10)), 600);
        assert_eq!(working_secs(noon, msk(2026, 10, 30, 11, 0)), 8 * 3_600);
        assert_eq!(
            working_secs(msk(2026, 10, 26, 0, 0), msk(2026, 11, 2, 0, 0)),
            45 * 3_600
        );
        assert_eq!(working_secs(noon, noon - 5), 0);
        // Before 2014-10-26 Moscow was UTC+4: the same wall-clock rules hold.
        let old = msk(2012, 12, 7, 8, 0);
        assert_eq!(next_working(old), msk(2012, 12, 7, 9, 0));
        assert_eq!(add_working(old, 3_600), msk(2012, 12, 7, 10, 0));
        assert_eq!(
            working_seconds(
                DateTime::from_timestamp(fri_night, 0).unwrap(),
                DateTime::from_timestamp(msk(2026, 11, 2, 9, 10), 0).unwrap()
            ),
            600
        );
    }
}
