//! Sync ranges and windows: which `updated_at` interval a sync covers, split into
//! half-open windows `[from, to)` of whole seconds. Pure functions, no I/O.
//!
//! A sync covers `[cursor - lookback, now - settle)`; the first sync and a full
//! refresh start at `start_date`. The loader stores `range.to` as the next cursor.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::error::ExtractError;

/// A half-open interval of `updated_at`: `from <= updated_at < to` (whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl Window {
    /// True when the window contains no second.
    pub fn is_empty(&self) -> bool {
        self.from >= self.to
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {})",
            self.from.format("%Y-%m-%dT%H:%M:%SZ"),
            self.to.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// What one sync covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRange {
    /// Inclusive start of the whole range.
    pub from: DateTime<Utc>,
    /// Exclusive end of the whole range (the next cursor).
    pub to: DateTime<Utc>,
    /// The range split into consecutive windows (empty when `from >= to`).
    pub windows: Vec<Window>,
}

impl SyncRange {
    /// A range of a single window (or none if empty), e.g. for tests or `--from/--to`.
    pub fn single(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let from = floor_s(from);
        let to = floor_s(to);
        let windows = if from < to {
            vec![Window { from, to }]
        } else {
            Vec::new()
        };
        Self { from, to, windows }
    }
}

/// Inputs of [`plan`].
#[derive(Debug, Clone)]
pub struct PlanParams {
    /// End of the previous successful sync (`None` on the first sync).
    pub cursor: Option<DateTime<Utc>>,
    /// Re-read this much before the cursor (late arrivals).
    pub lookback: Duration,
    /// Start of the first sync / full refresh.
    pub start_date: Option<DateTime<Utc>>,
    /// The source's clock ([`crate::Client::server_now`]).
    pub now: DateTime<Utc>,
    /// Leave the newest `settle` to the next sync.
    pub settle: Duration,
    /// Ignore the cursor and start at `start_date`.
    pub full_refresh: bool,
    /// Explicit start (overrides cursor, lookback and start_date).
    pub from: Option<DateTime<Utc>>,
    /// Explicit end (overrides `now - settle`).
    pub to: Option<DateTime<Utc>>,
    /// Window length.
    pub window_size: Duration,
}

/// Truncates to the whole second (the API's resolution).
pub(crate) fn floor_s(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

fn delta(d: Duration, key: &'static str) -> Result<TimeDelta, ExtractError> {
    TimeDelta::from_std(d).map_err(|_| ExtractError::Config {
        key,
        message: format!("{d:?} is too large"),
    })
}

/// Plans a sync: the covered range and its windows.
pub fn plan(p: &PlanParams) -> Result<SyncRange, ExtractError> {
    let to = match p.to {
        Some(t) => t,
        None => p.now - delta(p.settle, "extract.settle")?,
    };
    let from = match (p.from, p.full_refresh, p.cursor) {
        (Some(f), _, _) => f,
        (None, false, Some(c)) => c - delta(p.lookback, "extract.lookback")?,
        (None, _, _) => p.start_date.ok_or_else(|| ExtractError::Config {
            key: "extract.start_date",
            message: if p.full_refresh {
                "is required for a full refresh".into()
            } else {
                "is required for the first sync (no cursor yet)".into()
            },
        })?,
    };
    let (from, to) = (floor_s(from), floor_s(to));
    if p.from.is_some() && p.to.is_some() && from >= to {
        return Err(ExtractError::Config {
            key: "from",
            message: format!("{from} is not before `to` {to}"),
        });
    }
    let step = delta(p.window_size, "extract.window")?.max(TimeDelta::seconds(1));
    let mut windows = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + step).min(to);
        windows.push(Window {
            from: start,
            to: end,
        });
        start = end;
    }
    Ok(SyncRange { from, to, windows })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn base() -> PlanParams {
        PlanParams {
            cursor: None,
            lookback: Duration::from_secs(3600),
            start_date: Some(utc("2026-10-01T00:00:00Z")),
            now: utc("2026-10-03T12:00:10.700Z"),
            settle: Duration::from_secs(10),
            full_refresh: false,
            from: None,
            to: None,
            window_size: Duration::from_secs(86400),
        }
    }

    #[test]
    fn first_sync_starts_at_start_date_and_ends_at_now_minus_settle() {
        let r = plan(&base()).unwrap();
        assert_eq!(r.from, utc("2026-10-01T00:00:00Z"));
        assert_eq!(r.to, utc("2026-10-03T12:00:00Z"));
        assert_eq!(r.windows.len(), 3);
        assert_eq!(r.windows[0].to, r.windows[1].from);
        assert_eq!(r.windows[2].to, r.to);
        // Windows tile the range exactly.
        let covered: i64 = r
            .windows
            .iter()
            .map(|w| (w.to - w.from).num_seconds())
            .sum();
        assert_eq!(covered, (r.to - r.from).num_seconds());
    }

    #[test]
    fn incremental_sync_starts_lookback_before_cursor() {
        let mut p = base();
        p.cursor = Some(utc("2026-10-03T11:00:00Z"));
        let r = plan(&p).unwrap();
        assert_eq!(r.from, utc("2026-10-03T10:00:00Z"));
        assert_eq!(
            r.windows,
            vec![Window {
                from: r.from,
                to: r.to
            }]
        );
    }

    #[test]
    fn full_refresh_ignores_cursor_and_needs_start_date() {
        let mut p = base();
        p.cursor = Some(utc("2026-10-03T11:00:00Z"));
        p.full_refresh = true;
        assert_eq!(plan(&p).unwrap().from, utc("2026-10-01T00:00:00Z"));
        p.start_date = None;
        let err = plan(&p).unwrap_err().to_string();
        assert!(err.contains("extract.start_date"), "{err}");
    }

    #[test]
    fn overrides_win_and_must_be_ordered() {
        let mut p = base();
        p.from = Some(utc("2026-10-02T00:00:00Z"));
        p.to = Some(utc("2026-10-02T06:00:00Z"));
        p.window_size = Duration::from_secs(4 * 3600);
        let r = plan(&p).unwrap();
        assert_eq!(r.windows.len(), 2);
        assert_eq!(
            r.windows[1],
            Window {
                from: utc("2026-10-02T04:00:00Z"),
                to: utc("2026-10-02T06:00:00Z")
            }
        );
        p.to = p.from;
        assert!(plan(&p).is_err());
    }

    #[test]
    fn cursor_in_the_future_gives_an_empty_range() {
        let mut p = base();
        p.cursor = Some(utc("2026-10-05T00:00:00Z"));
        p.lookback = Duration::ZERO;
        assert!(plan(&p).unwrap().windows.is_empty());
    }
}
