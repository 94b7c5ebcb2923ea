//! The materialized table `business_intervals` and two SQL patterns over it that compute
//! business seconds between two instants, equal to [`Schedule::business_seconds`] for
//! instants within the materialized years.
//!
//! Both patterns read an input relation `spans(span_id, schedule VARCHAR, from_ts
//! TIMESTAMPTZ, to_ts TIMESTAMPTZ)` (one row per `span_id`) and return `(span_id,
//! business_seconds BIGINT)` for every input row: 0 when `to_ts <= from_ts` or the
//! schedule has no interval in the span, NULL when `from_ts` or `to_ts` is NULL. They
//! have no bind parameters: to use other names, replace `spans`, `span_id`, `schedule`,
//! `from_ts`, `to_ts` or `business_intervals` in the text, or name a CTE or view so.
//! They need no ICU extension: only TIMESTAMPTZ comparisons and `epoch_us`.
//!
//! Only the materialized intervals count: a span reaching outside the materialized
//! years gets the business time of its part inside them.
//!
//! [`Schedule::business_seconds`]: crate::Schedule::business_seconds

/// Name of the materialized table.
pub const BUSINESS_INTERVALS_TABLE: &str = "business_intervals";

/// Columns of `business_intervals` with their DuckDB types, in order. One row per
/// [`IntervalRow`](crate::IntervalRow), sorted by `(schedule, start_utc)`; a schedule's
/// rows never overlap.
pub const BUSINESS_INTERVALS_COLUMNS: &[(&str, &str)] = &[
    ("schedule", "VARCHAR"),
    ("local_date", "DATE"),
    ("day_kind", "VARCHAR"),
    ("start_utc", "TIMESTAMPTZ"),
    ("end_utc", "TIMESTAMPTZ"),
    ("seconds", "BIGINT"),
    ("seconds_before", "BIGINT"),
];

/// `CREATE TABLE business_intervals (…)` with [`BUSINESS_INTERVALS_COLUMNS`].
pub const BUSINESS_INTERVALS_DDL: &str = "CREATE TABLE business_intervals (
    schedule VARCHAR NOT NULL,
    local_date DATE NOT NULL,
    day_kind VARCHAR NOT NULL,
    start_utc TIMESTAMPTZ NOT NULL,
    end_utc TIMESTAMPTZ NOT NULL,
    seconds BIGINT NOT NULL,
    seconds_before BIGINT NOT NULL
)";

/// Business seconds per span by a range join: the overlap of the span with every
/// interval of its schedule, summed in microseconds, truncated to seconds. Simple and
/// fast for short spans; its cost grows with the intervals each span covers.
pub const BUSINESS_SECONDS_RANGE_JOIN_SQL: &str = "SELECT
    t.span_id,
    CASE
        WHEN t.from_ts IS NULL OR t.to_ts IS NULL THEN NULL
        WHEN t.to_ts <= t.from_ts THEN 0
        -- FILTER: least/greatest skip NULLs, so a span without intervals (all of i NULL)
        -- would otherwise count in full.
        ELSE CAST(coalesce(sum(epoch_us(least(t.to_ts, i.end_utc))
                               - epoch_us(greatest(t.from_ts, i.start_utc)))
                               FILTER (WHERE i.start_utc IS NOT NULL), 0)
                  // 1000000 AS BIGINT)
    END AS business_seconds
FROM spans AS t
LEFT JOIN business_intervals AS i
    ON i.schedule = t.schedule
    AND i.start_utc < t.to_ts
    AND i.end_utc > t.from_ts
GROUP BY t.span_id, t.from_ts, t.to_ts";

/// Business seconds per span by two ASOF joins on the cumulative business time
/// `F(t) = seconds_before + clamp(t - start_utc, 0, seconds)` of the last interval of
/// the schedule starting at or before `t` (0 before the first): business time in
/// `[from_ts, to_ts)` is `F(to_ts) - F(from_ts)`, in microseconds, truncated to seconds.
/// One lookup per end of each span, O(n log n) however long the spans are.
pub const BUSINESS_SECONDS_ASOF_SQL: &str = "SELECT
    t.span_id,
    CASE
        WHEN t.from_ts IS NULL OR t.to_ts IS NULL THEN NULL
        WHEN t.to_ts <= t.from_ts THEN 0
        ELSE CAST((coalesce(b.seconds_before * 1000000
                            + least(epoch_us(t.to_ts) - epoch_us(b.start_utc), b.seconds * 1000000), 0)
                   - coalesce(a.seconds_before * 1000000
                            + least(epoch_us(t.from_ts) - epoch_us(a.start_utc), a.seconds * 1000000), 0))
                  // 1000000 AS BIGINT)
    END AS business_seconds
FROM spans AS t
ASOF LEFT JOIN business_intervals AS a
    ON a.schedule = t.schedule AND t.from_ts >= a.start_utc
ASOF LEFT JOIN business_intervals AS b
    ON b.schedule = t.schedule AND t.to_ts >= b.start_utc";
