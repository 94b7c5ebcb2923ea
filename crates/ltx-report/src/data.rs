//! The numbers of the report: one query per panel over the BI models (`sql/*.sql`) and the
//! bookkeeping views, all computed by DuckDB. Rust only formats what comes back.
//!
//! Periods are UTC days, as the models' `day_utc`; the filters are the conversation's (or the
//! chat's, call's, lead's) `site_id` and `department_id`, columns every daily model has.

use chrono::{Duration, NaiveDate};
use duckdb::{Connection, Row};

use crate::error::{ReportError, Result};

/// Days in the default period (ending at the last day with data).
pub const DEFAULT_DAYS: i64 = 30;

/// Operators listed in the ranking.
pub const TOP_OPERATORS: usize = 12;

/// Runs listed in the run-health panel.
pub const LAST_RUNS: usize = 8;

/// A range of UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day (included).
    pub to: NaiveDate,
}

impl Period {
    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of equal length just before this one.
    pub fn previous(&self) -> Period {
        let len = Duration::days(self.days());
        Period {
            from: self.from - len,
            to: self.to - len,
        }
    }

    /// `day_utc BETWEEN DATE '…' AND DATE '…'` (dates are formatted, never user text).
    fn sql(&self) -> String {
        format!(
            "day_utc BETWEEN DATE '{}' AND DATE '{}'",
            self.from.format("%Y-%m-%d"),
            self.to.format("%Y-%m-%d")
        )
    }
}

/// Which site and department the report is about (`None`: all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filters {
    /// `--site`.
    pub site: Option<i64>,
    /// `--department`.
    pub department: Option<i64>,
}

impl Filters {
    /// ` AND site_id = … AND department_id = …` (integers, never user text).
    fn sql(&self) -> String {
        let mut s = String::new();
        if let Some(site) = self.site {
            s.push_str(&format!(" AND site_id = {site}"));
        }
        if let Some(department) = self.department {
            s.push_str(&format!(" AND department_id = {department}"));
        }
        s
    }
}

/// How a KPI is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// A ratio between 0 and 1, shown as a percentage; its change is in percentage points.
    Ratio,
    /// Seconds.
    Seconds,
}

/// One KPI tile: the period's value, the previous period's, and the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    /// Stable key (`data-kpi`).
    pub key: String,
    /// The period's value (`None`: nothing to compute it from).
    pub value: Option<f64>,
    /// The previous period's value.
    pub previous: Option<f64>,
    /// Relative change (ratios: the difference).
    pub change: Option<f64>,
}

/// One day of the daily chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Conversations created that day.
    pub conversations: i64,
    /// Their success rate (`None` on a day without conversations).
    pub success_rate: Option<f64>,
}

/// One cell of the hour-of-week heatmap (Moscow time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeatCell {
    /// ISO weekday, 1 = Monday.
    pub weekday: u32,
    /// Hour 0–23.
    pub hour: u32,
    /// Conversations.
    pub conversations: i64,
}

/// One channel (widget type).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// `widget_type`.
    pub widget_type: String,
    /// Conversations.
    pub conversations: i64,
    /// Share of the period's conversations.
    pub share: f64,
    /// Success rate.
    pub success_rate: Option<f64>,
}

/// One lead type of the funnel (`lead_type` `None`: the total over all types).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadStage {
    /// `lead_type`, `None` for the total.
    pub lead_type: Option<String>,
    /// Leads created.
    pub leads: i64,
    /// Of them completed.
    pub completed: i64,
    /// `completed / leads`.
    pub completion_rate: Option<f64>,
}

/// One operator of the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// `employee_id`.
    pub employee_id: i64,
    /// First and last name (empty when the employees dimension has none).
    pub name: String,
    /// Chats assigned.
    pub chats: i64,
    /// Of them missed.
    pub missed_chats: i64,
    /// Calls assigned.
    pub calls: i64,
    /// Mean first answer time over the answered chats.
    pub avg_first_answer_time_s: Option<f64>,
    /// Positive visitor votes.
    pub positive_votes: i64,
    /// Negative visitor votes.
    pub negative_votes: i64,
    /// `positive / (positive + negative)`.
    pub satisfaction: Option<f64>,
    /// Complaints naming the operator.
    pub complaints: i64,
}

/// One run of `_ltx_runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// `run_id`.
    pub run_id: String,
    /// `pipeline`.
    pub pipeline: String,
    /// `success` or `failed`.
    pub status: String,
    /// Start, `YYYY-MM-DD HH:MM` UTC.
    pub started_at: String,
    /// Seconds from start to commit.
    pub duration_s: Option<f64>,
    /// Conversations received.
    pub conversations: i64,
    /// Rows added to `_rejected`.
    pub rejected: i64,
    /// Rows added to `_quality_issues`.
    pub quality_issues: i64,
    /// Why a failed run failed.
    pub error: Option<String>,
}

/// The data-quality and run-health panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    /// The last runs, newest first.
    pub runs: Vec<Run>,
    /// Runs recorded in all.
    pub runs_total: i64,
    /// Failed runs in all.
    pub runs_failed: i64,
    /// When the last successful run committed (UTC).
    pub last_success_at: Option<String>,
    /// Minutes since then (by DuckDB's clock).
    pub last_success_age_min: Option<i64>,
    /// End of the newest window a successful sync read (the cursor it left).
    pub cursor: Option<String>,
    /// The newest UTC day with conversations (the whole warehouse).
    pub newest_day: Option<String>,
    /// Rows of `_rejected`.
    pub rejected: i64,
    /// `(check, rows, conversations)` of `_quality_issues`, most frequent first.
    pub quality: Vec<(String, i64, i64)>,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// The report's period.
    pub period: Period,
    /// The period it is compared with.
    pub previous: Period,
    /// The filters.
    pub filters: Filters,
    /// The site's URL, when filtered by site.
    pub site_label: Option<String>,
    /// The department's title, when filtered by department.
    pub department_label: Option<String>,
    /// KPI tiles, in display order.
    pub kpis: Vec<Kpi>,
    /// One entry per day of the period.
    pub daily: Vec<Day>,
    /// Hour-of-week cells with conversations (Moscow time).
    pub heatmap: Vec<HeatCell>,
    /// Channels, largest first.
    pub channels: Vec<Channel>,
    /// Conversations of the period (the funnel's first stage).
    pub funnel_conversations: i64,
    /// Lead types, largest first, then the total (`lead_type: None`).
    pub leads: Vec<LeadStage>,
    /// The top operators by chats.
    pub operators: Vec<Operator>,
    /// Operators with any activity in the period.
    pub operators_total: i64,
    /// Data quality and run health.
    pub health: Health,
}

/// Runs `sql` and maps each row with `f`; failures name the panel and the SQL.
fn rows<T>(
    conn: &Connection,
    panel: &'static str,
    sql: &str,
    mut f: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>> {
    let started = std::time::Instant::now();
    let err = |e: duckdb::Error| ReportError::Query {
        panel,
        sql: sql.to_owned(),
        message: e.to_string(),
    };
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let out = stmt
        .query_map([], |r| f(r))
        .map_err(err)?
        .collect::<duckdb::Result<Vec<T>>>()
        .map_err(err)?;
    tracing::debug!(
        panel,
        rows = out.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report query"
    );
    Ok(out)
}

/// The last UTC day with conversations under `filters`, if any.
pub fn last_day(conn: &Connection, filters: &Filters) -> Result<Option<NaiveDate>> {
    let sql = format!(
        "SELECT CAST(max(day_utc) AS VARCHAR) FROM daily_conversation_kpis WHERE true{}",
        filters.sql()
    );
    let day = rows(conn, "period", &sql, |r| r.get::<_, Option<String>>(0))?;
    Ok(day
        .into_iter()
        .flatten()
        .next()
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// The weighted median of `first_answer_times` over `period`: the mean of the two middle
/// values (DuckDB's `median` of the chats' `first_answer_time_s`), from the distribution.
fn median_first_answer_sql(period: &Period, filters: &Filters) -> String {
    format!(
        "SELECT (min(v) FILTER (WHERE cum >= floor((total + 1) / 2)) \
               + min(v) FILTER (WHERE cum >= floor(total / 2) + 1)) / 2.0 AS median_s \
         FROM (SELECT v, sum(n) OVER (ORDER BY v) AS cum, sum(n) OVER () AS total \
               FROM (SELECT first_answer_time_s AS v, sum(chats) AS n FROM first_answer_times \
                     WHERE {}{} GROUP BY v))",
        period.sql(),
        filters.sql()
    )
}

/// The KPI keys, in display order (also the `data-kpi` attributes).
pub const KPI_KEYS: [&str; 7] = [
    "conversations",
    "success_rate",
    "chats",
    "calls",
    "leads",
    "complaints",
    "median_first_answer_s",
];

fn kpis(conn: &Connection, period: &Period, filters: &Filters) -> Result<Vec<Kpi>> {
    let totals = |p: &Period| {
        format!(
            "SELECT CAST(coalesce(sum(conversations), 0) AS DOUBLE) AS conversations, \
                    CAST(sum(successful) AS DOUBLE) / nullif(sum(conversations), 0) AS success_rate, \
                    CAST(coalesce(sum(chats), 0) AS DOUBLE) AS chats, \
                    CAST(coalesce(sum(calls), 0) AS DOUBLE) AS calls, \
                    CAST(coalesce(sum(leads), 0) AS DOUBLE) AS leads, \
                    CAST(coalesce(sum(complaints), 0) AS DOUBLE) AS complaints \
             FROM daily_conversation_kpis WHERE {}{}",
            p.sql(),
            filters.sql()
        )
    };
    let prev = period.previous();
    let mut long = Vec::new();
    for (i, key) in KPI_KEYS.iter().enumerate() {
        let (table, column) = if *key == "median_first_answer_s" {
            ("fa", "median_s")
        } else {
            ("k", *key)
        };
        long.push(format!(
            "SELECT {i} AS pos, '{key}' AS kpi, c{table}.{column} AS value, p{table}.{column} AS previous \
             FROM ck, pk, cfa, pfa"
        ));
    }
    let sql = format!(
        "WITH ck AS ({}), pk AS ({}), cfa AS ({}), pfa AS ({}), long AS ({}) \
         SELECT kpi, value, previous, \
                CASE WHEN kpi = 'success_rate' THEN value - previous \
                     ELSE (value - previous) / nullif(previous, 0) END AS change \
         FROM long ORDER BY pos",
        totals(period),
        totals(&prev),
        median_first_answer_sql(period, filters),
        median_first_answer_sql(&prev, filters),
        long.join(" UNION ALL ")
    );
    rows(conn, "KPI", &sql, |r| {
        Ok(Kpi {
            key: r.get(0)?,
            value: r.get(1)?,
            previous: r.get(2)?,
            change: r.get(3)?,
        })
    })
}

fn daily(conn: &Connection, period: &Period, filters: &Filters) -> Result<Vec<Day>> {
    let sql = format!(
        "WITH days AS (SELECT CAST(d AS DATE) AS day_utc \
                       FROM generate_series(TIMESTAMP '{} 00:00:00', TIMESTAMP '{} 00:00:00', INTERVAL 1 DAY) t(d)), \
              k AS (SELECT day_utc, sum(conversations) AS conversations, sum(successful) AS successful \
                    FROM daily_conversation_kpis WHERE {}{} GROUP BY day_utc) \
         SELECT CAST(days.day_utc AS VARCHAR), CAST(coalesce(k.conversations, 0) AS BIGINT), \
                CAST(k.successful AS DOUBLE) / nullif(k.conversations, 0) \
         FROM days LEFT JOIN k ON k.day_utc = days.day_utc ORDER BY days.day_utc",
        period.from.format("%Y-%m-%d"),
        period.to.format("%Y-%m-%d"),
        period.sql(),
        filters.sql()
    );
    rows(conn, "daily conversations", &sql, |r| {
        Ok(Day {
            day: r.get(0)?,
            conversations: r.get(1)?,
            success_rate: r.get(2)?,
        })
    })
}

fn heatmap(conn: &Connection, period: &Period, filters: &Filters) -> Result<Vec<HeatCell>> {
    let sql = format!(
        "SELECT CAST(weekday_msk AS INTEGER), CAST(hour_msk AS INTEGER), \
                CAST(sum(conversations) AS BIGINT) \
         FROM hourly_conversations WHERE {}{} AND weekday_msk IS NOT NULL \
         GROUP BY ALL ORDER BY 1, 2",
        period.sql(),
        filters.sql()
    );
    rows(conn, "hour-of-week load", &sql, |r| {
        Ok(HeatCell {
            weekday: r.get::<_, i32>(0)?.clamp(1, 7) as u32,
            hour: r.get::<_, i32>(1)?.clamp(0, 23) as u32,
            conversations: r.get(2)?,
        })
    })
}

fn channels(conn: &Connection, period: &Period, filters: &Filters) -> Result<Vec<Channel>> {
    let sql = format!(
        "SELECT widget_type, CAST(sum(conversations) AS BIGINT) AS n, \
                CAST(sum(conversations) AS DOUBLE) / sum(sum(conversations)) OVER () AS share, \
                CAST(sum(successful) AS DOUBLE) / nullif(sum(conversations), 0) AS success_rate \
         FROM daily_channel_mix WHERE {}{} GROUP BY widget_type ORDER BY n DESC, widget_type",
        period.sql(),
        filters.sql()
    );
    rows(conn, "channel mix", &sql, |r| {
        Ok(Channel {
            widget_type: r.get(0)?,
            conversations: r.get(1)?,
            share: r.get(2)?,
            success_rate: r.get(3)?,
        })
    })
}

fn leads(conn: &Connection, period: &Period, filters: &Filters) -> Result<Vec<LeadStage>> {
    let sql = format!(
        "SELECT lead_type, CAST(sum(leads) AS BIGINT) AS n, CAST(sum(completed) AS BIGINT), \
                CAST(sum(completed) AS DOUBLE) / nullif(sum(leads), 0) \
         FROM lead_funnel WHERE {}{} GROUP BY ROLLUP (lead_type) \
         ORDER BY lead_type IS NULL, n DESC, lead_type",
        period.sql(),
        filters.sql()
    );
    rows(conn, "lead funnel", &sql, |r| {
        Ok(LeadStage {
            lead_type: r.get(0)?,
            leads: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
            completed: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            completion_rate: r.get(3)?,
        })
    })
}

fn operators(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<(Vec<Operator>, i64)> {
    let sql = format!(
        "SELECT employee_id, \
                trim(concat_ws(' ', any_value(first_name), any_value(last_name))) AS name, \
                CAST(sum(chats) AS BIGINT) AS chats, CAST(sum(missed_chats) AS BIGINT), \
                CAST(sum(calls) AS BIGINT), \
                CAST(sum(first_answer_time_s_sum) AS DOUBLE) / nullif(sum(answered_chats), 0), \
                CAST(sum(positive_votes) AS BIGINT), CAST(sum(negative_votes) AS BIGINT), \
                CAST(sum(positive_votes) AS DOUBLE) \
                    / nullif(sum(positive_votes) + sum(negative_votes), 0), \
                CAST(sum(complaints) AS BIGINT), \
                CAST(count(*) OVER () AS BIGINT) \
         FROM daily_operator_performance WHERE {}{} \
         GROUP BY employee_id ORDER BY chats DESC, employee_id LIMIT {TOP_OPERATORS}",
        period.sql(),
        filters.sql()
    );
    let mut total = 0;
    let ops = rows(conn, "operators", &sql, |r| {
        total = r.get(10)?;
        Ok(Operator {
            employee_id: r.get(0)?,
            name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            chats: r.get(2)?,
            missed_chats: r.get(3)?,
            calls: r.get(4)?,
            avg_first_answer_time_s: r.get(5)?,
            positive_votes: r.get(6)?,
            negative_votes: r.get(7)?,
            satisfaction: r.get(8)?,
            complaints: r.get(9)?,
        })
    })?;
    Ok((ops, total))
}

fn health(conn: &Connection) -> Result<Health> {
    let runs_sql = format!(
        "SELECT run_id, pipeline, status, \
                strftime(CAST(started_at AS TIMESTAMP), '%Y-%m-%d %H:%M'), \
                CAST(date_diff('millisecond', CAST(started_at AS TIMESTAMP), \
                               CAST(finished_at AS TIMESTAMP)) AS DOUBLE) / 1000.0, \
                CAST(coalesce(conversations, 0) AS BIGINT), CAST(coalesce(rejected, 0) AS BIGINT), \
                CAST(coalesce(quality_issues, 0) AS BIGINT), error \
         FROM _ltx_runs ORDER BY started_at DESC, run_id DESC LIMIT {LAST_RUNS}"
    );
    let runs = rows(conn, "run health", &runs_sql, |r| {
        Ok(Run {
            run_id: r.get(0)?,
            pipeline: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            status: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            started_at: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            duration_s: r.get(4)?,
            conversations: r.get(5)?,
            rejected: r.get(6)?,
            quality_issues: r.get(7)?,
            error: r.get(8)?,
        })
    })?;
    let summary_sql = "WITH r AS (SELECT \
            CAST(max(finished_at) FILTER (WHERE status = 'success') AS TIMESTAMP) AS last_ok, \
            CAST(max(window_to) FILTER (WHERE status = 'success') AS TIMESTAMP) AS cursor, \
            CAST(count(*) AS BIGINT) AS total, \
            CAST(count(*) FILTER (WHERE status = 'failed') AS BIGINT) AS failed \
            FROM _ltx_runs) \
        SELECT strftime(last_ok, '%Y-%m-%d %H:%M'), \
               date_diff('minute', last_ok, CAST(now() AS TIMESTAMP)), \
               strftime(cursor, '%Y-%m-%d %H:%M'), total, failed, \
               (SELECT CAST(max(day_utc) AS VARCHAR) FROM daily_conversation_kpis), \
               (SELECT CAST(count(*) AS BIGINT) FROM _rejected) \
        FROM r";
    let mut h = Health {
        runs,
        ..Health::default()
    };
    for row in rows(conn, "run health", summary_sql, |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })? {
        h.last_success_at = row.0;
        h.last_success_age_min = row.1;
        h.cursor = row.2;
        h.runs_total = row.3;
        h.runs_failed = row.4;
        h.newest_day = row.5;
        h.rejected = row.6;
    }
    h.quality = rows(
        conn,
        "data quality",
        "SELECT \"check\", CAST(count(*) AS BIGINT) AS n, \
                CAST(count(DISTINCT conversation_id) AS BIGINT) \
         FROM _quality_issues GROUP BY 1 ORDER BY n DESC, 1",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(h)
}

fn label(conn: &Connection, sql: String) -> Result<Option<String>> {
    Ok(
        rows(conn, "filters", &sql, |r| r.get::<_, Option<String>>(0))?
            .into_iter()
            .flatten()
            .next(),
    )
}

/// Runs every panel's query for `period` under `filters`.
pub fn collect(conn: &Connection, period: Period, filters: Filters) -> Result<ReportData> {
    if period.from > period.to {
        return Err(ReportError::EmptyPeriod {
            from: period.from,
            to: period.to,
        });
    }
    let kpis = kpis(conn, &period, &filters)?;
    let funnel_conversations = kpis.first().and_then(|k| k.value).map_or(0, |v| v as i64);
    let (operators, operators_total) = operators(conn, &period, &filters)?;
    Ok(ReportData {
        period,
        previous: period.previous(),
        filters,
        site_label: match filters.site {
            Some(id) => label(conn, format!("SELECT url FROM sites WHERE site_id = {id}"))?,
            None => None,
        },
        department_label: match filters.department {
            Some(id) => label(
                conn,
                format!("SELECT title FROM departments WHERE department_id = {id}"),
            )?,
            None => None,
        },
        daily: daily(conn, &period, &filters)?,
        heatmap: heatmap(conn, &period, &filters)?,
        channels: channels(conn, &period, &filters)?,
        funnel_conversations,
        leads: leads(conn, &period, &filters)?,
        operators,
        operators_total,
        health: health(conn)?,
        kpis,
    })
}
