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

fn timestamptz(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// An in-memory database with `business_intervals` for `years` and `spans`.
fn database(calendars: &Calendars, years: std::ops::RangeInclusive<i32>) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false",
    )
    .unwrap();
    conn.execute_batch(BUSINESS_INTERVALS_DDL).unwrap();
    conn.execute_batch("BEGIN TRANSACTION").unwrap();
    {
        let mut insert = conn
            .prepare(
                "INSERT INTO business_intervals VALUES (?, CAST(? AS DATE), ?, \
                 CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ), ?, ?)",
            )
            .unwrap();
        for row in calendars.materialize(years).rows {
            insert
                .execute(params![
                    row.schedule,
                    row.local_date.to_string(),
                    row.day_kind.as_str(),
                    timestamptz(row.start),
                    timestamptz(row.end),
                    row.seconds,
                    row.seconds_before,
                ])
                .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    conn.execute_batch(
        "CREATE TABLE spans (span_id INTEGER, schedule VARCHAR, from_ts TIMESTAMPTZ, to_ts TIMESTAMPTZ)",
    )
    .unwrap();
    conn
}

fn insert_span(
    conn: &Connection,
    id: i64,
    schedule: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    conn.execute(
        "INSERT INTO spans VALUES (?, ?, CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ))",
        params![id, schedule, from.map(timestamptz), to.map(timestamptz)],
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
    let mut expected = BTreeMap::new();
    for (id, case) in (0_i64..).zip(CASES) {
        let (from, to) = (utc(case.from), utc(case.to));
        insert_span(&conn, id, case.schedule, Some(from), Some(to));
        let rust = calendars
            .schedule(case.schedule)
            .unwrap()
            .business_seconds(from, to);
        assert_eq!(rust, case.seconds, "{}", case.name);
        expected.insert(id, Some(rust));
    }
    // A span without an end is unknown; a schedule without intervals gives 0.
    let base = i64::try_from(CASES.len()).unwrap();
    insert_span(
        &conn,
        base,
        "moscow",
        Some(utc("2024-03-12T07:00:00Z")),
        None,
    );
    expected.insert(base, None);
    insert_span(
        &conn,
        base + 1,
        "no such schedule",
        Some(utc("2024-03-12T07:00:00Z")),
        Some(utc("2024-03-13T07:00:00Z")),
    );
    expected.insert(base + 1, Some(0));
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
    let mut expected = BTreeMap::new();
    let mut id = 0_i64;
    conn.execute_batch("BEGIN TRANSACTION").unwrap();
    while id < 1200 {
        let from = start + chrono::TimeDelta::minutes(id * (7 * 60 + 13));
        let to = from + chrono::TimeDelta::seconds((id * 7919 * 331) % (40 * 86_400));
        let name = names[usize::try_from(id).unwrap() % names.len()];
        insert_span(&conn, id, name, Some(from), Some(to));
        expected.insert(
            id,
            Some(calendars.schedule(name).unwrap().business_seconds(from, to)),
        );
        id += 1;
    }
    conn.execute_batch("COMMIT").unwrap();
    // Every span lies within the materialized years: the last starts 2024-01-02 + 1199 *
    // 7 h 13 min (late December 2024) and ends within 40 days.
    assert_eq!(run(&conn, BUSINESS_SECONDS_RANGE_JOIN_SQL), expected);
    assert_eq!(run(&conn, BUSINESS_SECONDS_ASOF_SQL), expected);
}
