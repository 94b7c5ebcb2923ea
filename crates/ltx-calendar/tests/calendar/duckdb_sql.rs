//! The hand-checked cases through DuckDB: the materialized intervals in a table of
//! exactly the documented column types, and both SQL patterns equal to the Rust answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use duckdb::{params, Connection};
use ltx_calendar::sql::{
    BUSINESS_INTERVALS_COLUMNS, BUSINESS_INTERVALS_DDL, BUSINESS_SECONDS_ASOF_SQL,
    BUSINESS_SECONDS_RANGE_JOIN_SQL,
};
use ltx_calendar::Calendars;

use super::cases::CASES;
use super::{cases_calendars, utc};

/// An in-memory database with `business_intervals` for `years` and an empty `spans`.
/// Rows go through the appender into a staging table of plain types, then into the
/// documented types with one `INSERT … SELECT` (TIMESTAMPTZ from epoch microseconds).
fn database(calendars: &Calendars, years: std::ops::RangeInclusive<i32>) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false",
    )
    .unwrap();
    conn.execute_batch(BUSINESS_INTERVALS_DDL).unwrap();
    conn.execute_batch(
        "CREATE TEMP TABLE staged_intervals (schedule VARCHAR, local_date VARCHAR, \
         day_kind VARCHAR, start_us BIGINT, end_us BIGINT, seconds BIGINT, seconds_before BIGINT)",
    )
    .unwrap();
    {
        let mut appender = conn.appender("staged_intervals").unwrap();
        for row in calendars.materialize(years).rows {
            appender
                .append_row(params![
                    row.schedule,
                    row.local_date.to_string(),
                    row.day_kind.as_str(),
                    row.start.timestamp_micros(),
                    row.end.timestamp_micros(),
                    row.seconds,
                    row.seconds_before,
                ])
                .unwrap();
        }
    }
    conn.execute_batch(
        "INSERT INTO business_intervals SELECT schedule, CAST(local_date AS DATE), day_kind, \
         CAST(make_timestamp(start_us) AS TIMESTAMPTZ), CAST(make_timestamp(end_us) AS TIMESTAMPTZ), \
         seconds, seconds_before FROM staged_intervals ORDER BY schedule, start_us; \
         CREATE TABLE spans (span_id BIGINT, schedule VARCHAR, from_ts TIMESTAMPTZ, to_ts TIMESTAMPTZ)",
    )
    .unwrap();
    conn
}

/// A span: id, schedule, `[from, to)`.
type Span = (i64, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Fills `spans`, through the appender and a staging table like the intervals.
fn load_spans(conn: &Connection, spans: &[Span]) {
    conn.execute_batch(
        "CREATE TEMP TABLE staged_spans (span_id BIGINT, schedule VARCHAR, from_us BIGINT, to_us BIGINT)",
    )
    .unwrap();
    {
        let mut appender = conn.appender("staged_spans").unwrap();
        for (id, schedule, from, to) in spans {
            appender
                .append_row(params![
                    id,
                    schedule,
                    from.map(|t| t.timestamp_micros()),
                    to.map(|t| t.timestamp_micros()),
                ])
                .unwrap();
        }
    }
    conn.execute_batch(
        "INSERT INTO spans SELECT span_id, schedule, CAST(make_timestamp(from_us) AS TIMESTAMPTZ), \
         CAST(make_timestamp(to_us) AS TIMESTAMPTZ) FROM staged_spans; DROP TABLE staged_spans",
    )
    .unwrap();
}

fn run(conn: &Connection, sql: &str) -> BTreeMap<i64, Option<i64>> {
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Option<i64>>(1)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn the_table_has_the_documented_column_types() {
    let conn = database(&cases_calendars(), 2024..=2024);
    let mut statement = conn
        .prepare(
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_name = 'business_intervals' ORDER BY ordinal_position",
        )
        .unwrap();
    let columns: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<(String, String)> = BUSINESS_INTERVALS_COLUMNS
        .iter()
        .map(|(name, ty)| {
            (
                (*name).to_owned(),
                ty.replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"),
            )
        })
        .collect();
    assert_eq!(columns, expected);
    // The values as DuckDB reads them back: Tue 2024-03-12 09:00-18:00 MSK.
    let (kind, start, seconds): (String, i64, i64) = conn
        .query_row(
            "SELECT day_kind, epoch_us(start_utc), seconds FROM business_intervals \
             WHERE schedule = 'moscow' AND local_date = DATE '2024-03-12'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(kind, "regular");
    assert_eq!(start, utc("2024-03-12T06:00:00Z").timestamp_micros());
    assert_eq!(seconds, 9 * 3600);
}

#[test]
fn both_sql_patterns_equal_the_rust_answer_on_every_case() {
    let calendars = cases_calendars();
    // Every case lies within 2023..=2025.
    let conn = database(&calendars, 2023..=2025);
    let mut spans: Vec<Span> = Vec::new();
    let mut expected = BTreeMap::new();
    for (id, case) in (0_i64..).zip(CASES) {
        let (from, to) = (utc(case.from), utc(case.to));
        spans.push((id, case.schedule.to_owned(), Some(from), Some(to)));
        let rust = calendars
            .schedule(case.schedule)
            .unwrap()
            .business_seconds(from, to);
        assert_eq!(rust, case.seconds, "{}", case.name);
        expected.insert(id, Some(rust));
    }
    // A span without an end is unknown; a schedule without intervals gives 0.
    let base = i64::try_from(CASES.len()).unwrap();
    let (tue, wed) = (utc("2024-03-12T07:00:00Z"), utc("2024-03-13T07:00:00Z"));
    spans.push((base, "moscow".to_owned(), Some(tue), None));
    expected.insert(base, None);
    spans.push((
        base + 1,
        "no such schedule".to_owned(),
        Some(tue),
        Some(wed),
    ));
    expected.insert(base + 1, Some(0));
    load_spans(&conn, &spans);
    for (name, sql) in [
        ("range join", BUSINESS_SECONDS_RANGE_JOIN_SQL),
        ("ASOF join", BUSINESS_SECONDS_ASOF_SQL),
    ] {
        let got = run(&conn, sql);
        for (id, want) in &expected {
            let case = usize::try_from(*id)
                .ok()
                .and_then(|i| CASES.get(i))
                .map_or("extra span", |c| c.name);
            assert_eq!(got.get(id), Some(want), "{name}, {case}");
        }
        assert_eq!(got.len(), expected.len(), "{name}");
    }
}

#[test]
fn both_sql_patterns_agree_on_many_spans() {
    // Spans every 7 h 13 min across 2024 with lengths up to ~40 days, in every schedule.
    let calendars = cases_calendars();
    let conn = database(&calendars, 2024..=2025);
    let names: Vec<&str> = calendars.names().collect();
    let start = utc("2024-01-02T00:00:00Z");
    let mut spans: Vec<Span> = Vec::new();
    let mut expected = BTreeMap::new();
    for id in 0..1200_i64 {
        let from = start + chrono::TimeDelta::minutes(id * (7 * 60 + 13));
        let to = from + chrono::TimeDelta::seconds((id * 7919 * 331) % (40 * 86_400));
        let name = names[usize::try_from(id).unwrap() % names.len()];
        spans.push((id, name.to_owned(), Some(from), Some(to)));
        let rust = calendars.schedule(name).unwrap().business_seconds(from, to);
        expected.insert(id, Some(rust));
    }
    load_spans(&conn, &spans);
    // Every span lies within the materialized years: the last starts 2024-01-02 + 1199 *
    // 7 h 13 min (late December 2024) and ends within 40 days.
    assert_eq!(run(&conn, BUSINESS_SECONDS_RANGE_JOIN_SQL), expected);
    assert_eq!(run(&conn, BUSINESS_SECONDS_ASOF_SQL), expected);
}
