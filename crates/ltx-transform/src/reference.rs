//! The reference tables: rows derived from the configuration, not from the API.
//!
//! - `business_intervals`: every working interval of every business calendar, in UTC, with
//!   the cumulative working seconds before it (what SQL computes business time with);
//! - `schedule_assignments`: which calendar the default, each site and each department
//!   follows (with its time zone);
//! - `sla_targets`: the SLA targets per metric, site and department.
//!
//! The loader replaces each table whole when its content changes, so editing a calendar or
//! a target re-derives every figure at the next run, without reading the API again.

use std::ops::RangeInclusive;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use chrono::{DateTime, NaiveDate, Utc};
use ltx_calendar::Calendars;

use crate::{Table, TableBatch, TransformError};

/// What an SLA target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// A chat's start to its first employee message.
    ChatFirstAnswer,
    /// A lead's (offline request's) creation to its completion (`completed_at`).
    LeadAnswer,
    /// A complaint's creation to the first employee message or event after it.
    ComplaintFirstAction,
}

impl SlaMetric {
    /// Every metric.
    pub const ALL: [SlaMetric; 3] = [
        SlaMetric::ChatFirstAnswer,
        SlaMetric::LeadAnswer,
        SlaMetric::ComplaintFirstAction,
    ];

    /// The value of `sla_targets.metric`.
    pub const fn name(self) -> &'static str {
        match self {
            SlaMetric::ChatFirstAnswer => "chat_first_answer",
            SlaMetric::LeadAnswer => "lead_answer",
            SlaMetric::ComplaintFirstAction => "complaint_first_action",
        }
    }

    /// The channel it belongs to (`sla_targets.channel`): chat, lead or complaint.
    pub const fn channel(self) -> &'static str {
        match self {
            SlaMetric::ChatFirstAnswer => "chat",
            SlaMetric::LeadAnswer => "lead",
            SlaMetric::ComplaintFirstAction => "complaint",
        }
    }
}

/// Which time a target counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    /// Working time of the item's business calendar.
    Business,
    /// Wall-clock time.
    Calendar,
}

impl SlaClock {
    /// The value of `sla_targets.clock`.
    pub const fn name(self) -> &'static str {
        match self {
            SlaClock::Business => "business",
            SlaClock::Calendar => "calendar",
        }
    }
}

/// One SLA target. Without site and department it applies to everything; the most
/// specific target of a metric wins (department, then site, then the general one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTarget {
    /// What is measured.
    pub metric: SlaMetric,
    /// Only items of this site.
    pub site_id: Option<i64>,
    /// Only items of this department.
    pub department_id: Option<i64>,
    /// Business or calendar time.
    pub clock: SlaClock,
    /// The promise, in seconds.
    pub target_s: i64,
}

/// The lineage of every reference row: the run that wrote it.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceLineage<'a> {
    /// When the run started.
    pub synced_at: DateTime<Utc>,
    /// The run.
    pub run_id: &'a str,
    /// The account synced (the `account` column and the partition).
    pub account: &'a str,
}

/// The one partition of a reference table within an account (`<account>/all`).
pub const REFERENCE_PARTITION: &str = "all";

/// The partition of an account's reference tables: `<account>/all`.
pub fn reference_partition(account: &str) -> String {
    format!("{account}/{REFERENCE_PARTITION}")
}

/// Batches of the three reference tables, and the years of `years` that a production
/// calendar in use does not cover (its schedules follow their weekly hours there).
pub fn reference_batches(
    calendars: &Calendars,
    years: RangeInclusive<i32>,
    targets: &[SlaTarget],
    lineage: ReferenceLineage<'_>,
) -> Result<(Vec<TableBatch>, Vec<i32>), TransformError> {
    let materialized = calendars.materialize(years);
    let rows = &materialized.rows;
    let n = rows.len();
    let intervals = batch(
        Table::BusinessIntervals,
        vec![
            strs(rows.iter().map(|r| r.schedule.as_str())),
            Arc::new(Date32Array::from_iter_values(
                rows.iter().map(|r| days_since_epoch(r.local_date)),
            )),
            strs(rows.iter().map(|r| r.day_kind.as_str())),
            ts(rows.iter().map(|r| r.start.timestamp_micros())),
            ts(rows.iter().map(|r| r.end.timestamp_micros())),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.seconds))),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.seconds_before),
            )),
        ],
        n,
        lineage,
    )?;

    let assignments = calendars.assignments();
    let zone = |name: &str| {
        calendars
            .schedule(name)
            .map(|s| s.time_zone().name().to_owned())
            .unwrap_or_default()
    };
    let site = |a: &ltx_calendar::Assignment| {
        (a.scope == ltx_calendar::AssignmentScope::Site)
            .then_some(a.id)
            .flatten()
    };
    let department = |a: &ltx_calendar::Assignment| {
        (a.scope == ltx_calendar::AssignmentScope::Department)
            .then_some(a.id)
            .flatten()
    };
    let assigned = batch(
        Table::ScheduleAssignments,
        vec![
            strs(assignments.iter().map(|a| a.scope.as_str())),
            Arc::new(Int64Array::from_iter(assignments.iter().map(site))),
            Arc::new(Int64Array::from_iter(assignments.iter().map(department))),
            strs(assignments.iter().map(|a| a.schedule.as_str())),
            Arc::new(StringArray::from_iter_values(
                assignments.iter().map(|a| zone(&a.schedule)),
            )),
        ],
        assignments.len(),
        lineage,
    )?;

    let sla = batch(
        Table::SlaTargets,
        vec![
            strs(targets.iter().map(|t| t.metric.name())),
            strs(targets.iter().map(|t| t.metric.channel())),
            Arc::new(Int64Array::from_iter(targets.iter().map(|t| t.site_id))),
            Arc::new(Int64Array::from_iter(
                targets.iter().map(|t| t.department_id),
            )),
            strs(targets.iter().map(|t| t.clock.name())),
            Arc::new(Int64Array::from_iter_values(
                targets.iter().map(|t| t.target_s),
            )),
        ],
        targets.len(),
        lineage,
    )?;
    Ok((
        vec![intervals, assigned, sla],
        materialized.years_without_production_data,
    ))
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

fn strs<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn ts(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(values).with_timezone("UTC"))
}

/// The table's batch: `account`, its own columns, then `_synced_at` and `_run_id` for
/// `rows` rows.
fn batch(
    table: Table,
    mut columns: Vec<ArrayRef>,
    rows: usize,
    lineage: ReferenceLineage<'_>,
) -> Result<TableBatch, TransformError> {
    columns.insert(0, crate::transformer::account_column(lineage.account, rows));
    columns.push(ts(std::iter::repeat_n(
        lineage.synced_at.timestamp_micros(),
        rows,
    )));
    columns.push(strs(std::iter::repeat_n(lineage.run_id, rows)));
    let batch =
        RecordBatch::try_new(table.schema(), columns).map_err(|e| TransformError::Reference {
            table: table.name(),
            message: e.to_string(),
        })?;
    Ok(TableBatch {
        table,
        partition: reference_partition(lineage.account),
        batch,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lineage() -> ReferenceLineage<'static> {
        ReferenceLineage {
            synced_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            run_id: "run-1",
            account: "acme",
        }
    }

    #[test]
    fn the_default_configuration_gives_intervals_assignments_and_targets() {
        let calendars = ltx_calendar::CalendarsConfig::default().compile().unwrap();
        let targets = [SlaTarget {
            metric: SlaMetric::ChatFirstAnswer,
            site_id: None,
            department_id: Some(5),
            clock: SlaClock::Business,
            target_s: 60,
        }];
        let (batches, _) = reference_batches(&calendars, 2024..=2024, &targets, lineage()).unwrap();
        let by = |t: Table| batches.iter().find(|b| b.table == t).unwrap();
        // 2024 in Russia: 248 working days, one interval each on a 09:00-18:00 schedule.
        assert_eq!(by(Table::BusinessIntervals).batch.num_rows(), 248);
        assert_eq!(by(Table::ScheduleAssignments).batch.num_rows(), 1);
        assert_eq!(by(Table::SlaTargets).batch.num_rows(), 1);
        for b in &batches {
            assert_eq!(b.batch.schema(), b.table.schema());
            assert_eq!(b.partition, "acme/all");
        }
    }
}
