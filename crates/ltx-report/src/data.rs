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

/// Departments listed in the service-levels panel.
pub const TOP_DEPARTMENTS: usize = 12;

/// The SLA metrics (`sla_targets.metric`, `sla_daily.metric`), in display order.
pub const SLA_METRICS: [&str; 3] = ["chat_first_answer", "lead_answer", "complaint_first_action"];

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

    /// This period and the previous one together (they are adjacent).
    fn with_previous(&self) -> Period {
        Period {
            from: self.previous().from,
            to: self.to,
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

    /// The same for `sla_targets`, whose NULL site or department means "any": the targets
    /// that can apply to the filtered items.
    fn targets_sql(&self) -> String {
        let mut s = String::new();
        if let Some(site) = self.site {
            s.push_str(&format!(" AND (site_id IS NULL OR site_id = {site})"));
        }
        if let Some(department) = self.department {
            s.push_str(&format!(
                " AND (department_id IS NULL OR department_id = {department})"
            ));
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

/// One SLA tile: a metric's outcome in the period, and its attainment in the previous one.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaTile {
    /// `chat_first_answer`, `lead_answer` or `complaint_first_action`.
    pub metric: String,
    /// Targets of the metric that can apply under the filters (0: no promise to measure).
    pub targets: i64,
    /// Items of the period with a target.
    pub items: i64,
    /// Of them decided within the target.
    pub met: i64,
    /// Decided past it (late, or unanswered past it).
    pub breached: i64,
    /// Not decided (abandoned chats, open items still within the target).
    pub pending: i64,
    /// `met / (met + breached)` (`None`: nothing decided).
    pub attainment: Option<f64>,
    /// The previous period's attainment.
    pub previous: Option<f64>,
    /// `attainment − previous`, in points of the ratio.
    pub change: Option<f64>,
}

/// One day of the chat first-answer chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Chats answered within the target.
    pub met: i64,
    /// Chats answered past it, or left unanswered past it.
    pub breached: i64,
    /// `met / (met + breached)` (`None`: nothing decided that day).
    pub attainment: Option<f64>,
}

/// One department of the chat first-answer ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaDepartment {
    /// `department_id` (`None`: chats addressed to no department).
    pub department_id: Option<i64>,
    /// Its title (empty when the departments dimension has none).
    pub title: String,
    /// Chats with a target.
    pub chats: i64,
    /// Of them met.
    pub met: i64,
    /// Of them breached.
    pub breached: i64,
    /// `met / (met + breached)`.
    pub attainment: Option<f64>,
    /// Mean business first-answer time of the answered chats.
    pub mean_business_s: Option<f64>,
}

/// One operator of the SLA table, from `sla_chats` in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaOperator {
    /// `employee_id`.
    pub employee_id: i64,
    /// First and last name (empty when the employees dimension has none).
    pub name: String,
    /// Chats assigned in the period.
    pub chats: i64,
    /// Of them met the first-answer target.
    pub met: i64,
    /// Of them breached it.
    pub breached: i64,
    /// `met / (met + breached)`.
    pub attainment: Option<f64>,
    /// Median business first-answer time (answered chats; `quantile_cont`).
    pub median_business_s: Option<f64>,
    /// 90th percentile of it.
    pub p90_business_s: Option<f64>,
}

/// One configured target (`sla_targets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTarget {
    /// The metric.
    pub metric: String,
    /// Only items of this site.
    pub site_id: Option<i64>,
    /// Only items of this department.
    pub department_id: Option<i64>,
    /// `business` or `calendar`.
    pub clock: String,
    /// The promise, in seconds.
    pub target_s: i64,
}

/// The service-levels panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceLevels {
    /// One tile per metric of [`SLA_METRICS`], in that order.
    pub tiles: Vec<SlaTile>,
    /// One entry per day of the period (chat first answer).
    pub daily: Vec<SlaDay>,
    /// Departments by chat first-answer attainment, worst first.
    pub departments: Vec<SlaDepartment>,
    /// Departments with chats with a target in the period.
    pub departments_total: i64,
    /// The operators with the most breached chats.
    pub operators: Vec<SlaOperator>,
    /// Operators with chats in the period.
    pub operators_total: i64,
    /// The targets that can apply under the filters, by metric, general ones first.
    pub targets: Vec<SlaTarget>,
    /// `(schedule, time_zone)` that working time follows under the filters.
    pub schedule: Option<(String, String)>,
    /// Sites and departments with a schedule of their own (when not filtered).
    pub other_schedules: i64,
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
    /// SLA attainment, per day, per department and per operator, and the targets.
    pub service_levels: ServiceLevels,
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
         GROUP BY account, employee_id ORDER BY chats DESC, employee_id, account LIMIT {TOP_OPERATORS}",
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

/// The temporary table the service-levels panel reads `sla_daily` from. The SLA models
/// compute every item's business time at each read (an ASOF join per instant), so the
/// panel reads `sla_daily` once, for the period and the previous one under the filters,
/// into a TEMP table: it lives in the connection's memory and goes with the panel; the
/// warehouse stays read-only.
const SLA_SCRATCH: &str = "ltx_report_sla_daily";

/// Runs statements that return no rows; failures name the panel and the SQL.
fn exec(conn: &Connection, panel: &'static str, sql: &str) -> Result<()> {
    let started = std::time::Instant::now();
    conn.execute_batch(sql).map_err(|e| ReportError::Query {
        panel,
        sql: sql.to_owned(),
        message: e.to_string(),
    })?;
    tracing::debug!(
        panel,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report statement"
    );
    Ok(())
}

/// `CASE metric WHEN 'chat_first_answer' THEN 0 … END`: the metrics' display order.
fn metric_order() -> String {
    let mut s = String::from("CASE metric");
    for (i, m) in SLA_METRICS.iter().enumerate() {
        s.push_str(&format!(" WHEN '{m}' THEN {i}"));
    }
    s.push_str(" END");
    s
}

fn sla_tiles(conn: &Connection, period: &Period, filters: &Filters) -> Result<Vec<SlaTile>> {
    let metrics = SLA_METRICS
        .iter()
        .enumerate()
        .map(|(i, m)| format!("({i}, '{m}')"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH m(pos, metric) AS (VALUES {metrics}), \
              t AS (SELECT metric, count(*) AS n FROM sla_targets WHERE true{targets} GROUP BY metric), \
              s AS (SELECT *, {current} AS cur FROM {SLA_SCRATCH}), \
              d AS (SELECT metric, \
                           sum(items) FILTER (WHERE cur) AS items, \
                           sum(met) FILTER (WHERE cur) AS met, \
                           sum(breached) FILTER (WHERE cur) AS breached, \
                           sum(pending) FILTER (WHERE cur) AS pending, \
                           CAST(sum(met) FILTER (WHERE cur) AS DOUBLE) \
                               / nullif(sum(met + breached) FILTER (WHERE cur), 0) AS attainment, \
                           CAST(sum(met) FILTER (WHERE NOT cur) AS DOUBLE) \
                               / nullif(sum(met + breached) FILTER (WHERE NOT cur), 0) AS previous \
                    FROM s GROUP BY metric) \
         SELECT m.metric, CAST(coalesce(t.n, 0) AS BIGINT), CAST(coalesce(d.items, 0) AS BIGINT), \
                CAST(coalesce(d.met, 0) AS BIGINT), CAST(coalesce(d.breached, 0) AS BIGINT), \
                CAST(coalesce(d.pending, 0) AS BIGINT), d.attainment, d.previous, \
                d.attainment - d.previous \
         FROM m LEFT JOIN t USING (metric) LEFT JOIN d USING (metric) ORDER BY m.pos",
        targets = filters.targets_sql(),
        current = period.sql(),
    );
    rows(conn, "service levels", &sql, |r| {
        Ok(SlaTile {
            metric: r.get(0)?,
            targets: r.get(1)?,
            items: r.get(2)?,
            met: r.get(3)?,
            breached: r.get(4)?,
            pending: r.get(5)?,
            attainment: r.get(6)?,
            previous: r.get(7)?,
            change: r.get(8)?,
        })
    })
}

fn sla_daily(conn: &Connection, period: &Period) -> Result<Vec<SlaDay>> {
    let sql = format!(
        "WITH days AS (SELECT CAST(d AS DATE) AS day_utc \
                       FROM generate_series(TIMESTAMP '{} 00:00:00', TIMESTAMP '{} 00:00:00', INTERVAL 1 DAY) t(d)), \
              k AS (SELECT day_utc, sum(met) AS met, sum(breached) AS breached FROM {SLA_SCRATCH} \
                    WHERE metric = 'chat_first_answer' AND {} GROUP BY day_utc) \
         SELECT CAST(days.day_utc AS VARCHAR), CAST(coalesce(k.met, 0) AS BIGINT), \
                CAST(coalesce(k.breached, 0) AS BIGINT), \
                CAST(k.met AS DOUBLE) / nullif(k.met + k.breached, 0) \
         FROM days LEFT JOIN k ON k.day_utc = days.day_utc ORDER BY days.day_utc",
        period.from.format("%Y-%m-%d"),
        period.to.format("%Y-%m-%d"),
        period.sql(),
    );
    rows(conn, "service levels per day", &sql, |r| {
        Ok(SlaDay {
            day: r.get(0)?,
            met: r.get(1)?,
            breached: r.get(2)?,
            attainment: r.get(3)?,
        })
    })
}

fn sla_departments(conn: &Connection, period: &Period) -> Result<(Vec<SlaDepartment>, i64)> {
    let sql = format!(
        "WITH s AS (SELECT account, department_id, sum(items) AS chats, sum(met) AS met, \
                           sum(breached) AS breached, sum(business_s_sum) AS business_s, \
                           sum(answered) AS answered \
                    FROM {SLA_SCRATCH} WHERE metric = 'chat_first_answer' AND {} \
                    GROUP BY account, department_id) \
         SELECT s.department_id, d.title, CAST(s.chats AS BIGINT), CAST(s.met AS BIGINT), \
                CAST(s.breached AS BIGINT), \
                CAST(s.met AS DOUBLE) / nullif(s.met + s.breached, 0) AS attainment, \
                CAST(s.business_s AS DOUBLE) / nullif(s.answered, 0), \
                CAST(count(*) OVER () AS BIGINT) \
         FROM s LEFT JOIN departments d USING (account, department_id) \
         ORDER BY attainment ASC NULLS LAST, s.chats DESC, s.department_id NULLS LAST, s.account \
         LIMIT {TOP_DEPARTMENTS}",
        period.sql(),
    );
    let mut total = 0;
    let departments = rows(conn, "service levels by department", &sql, |r| {
        total = r.get(7)?;
        Ok(SlaDepartment {
            department_id: r.get(0)?,
            title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            chats: r.get(2)?,
            met: r.get(3)?,
            breached: r.get(4)?,
            attainment: r.get(5)?,
            mean_business_s: r.get(6)?,
        })
    })?;
    Ok((departments, total))
}

/// Per operator from `sla_chats` (`sla_operators` has no period nor filter): the chats of
/// the period, their first-answer outcome (breached: answered late or never, past the
/// target) and DuckDB's `quantile_cont` of the business first-answer time (answered
/// chats), as `sla_operators` computes them over all time.
fn sla_operators(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<(Vec<SlaOperator>, i64)> {
    let sql = format!(
        "WITH c AS (SELECT account, employee_id, count(*) AS chats, \
                           count(*) FILTER (WHERE first_answer_status = 'met') AS met, \
                           count(*) FILTER (WHERE first_answer_status IN ('breached', 'unanswered_breached')) AS breached, \
                           quantile_cont(first_answer_business_s, 0.5) AS median_s, \
                           quantile_cont(first_answer_business_s, 0.9) AS p90_s \
                    FROM sla_chats WHERE {}{} AND employee_id IS NOT NULL GROUP BY account, employee_id) \
         SELECT c.employee_id, trim(concat_ws(' ', e.first_name, e.last_name)), \
                CAST(c.chats AS BIGINT), CAST(c.met AS BIGINT), CAST(c.breached AS BIGINT), \
                CAST(c.met AS DOUBLE) / nullif(c.met + c.breached, 0), \
                CAST(c.median_s AS DOUBLE), CAST(c.p90_s AS DOUBLE), \
                CAST(count(*) OVER () AS BIGINT) \
         FROM c LEFT JOIN employees e USING (account, employee_id) \
         ORDER BY c.breached DESC, c.chats DESC, c.employee_id, c.account LIMIT {TOP_OPERATORS}",
        period.sql(),
        filters.sql(),
    );
    let mut total = 0;
    let operators = rows(conn, "service levels by operator", &sql, |r| {
        total = r.get(8)?;
        Ok(SlaOperator {
            employee_id: r.get(0)?,
            name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            chats: r.get(2)?,
            met: r.get(3)?,
            breached: r.get(4)?,
            attainment: r.get(5)?,
            median_business_s: r.get(6)?,
            p90_business_s: r.get(7)?,
        })
    })?;
    Ok((operators, total))
}

fn sla_targets(conn: &Connection, filters: &Filters) -> Result<Vec<SlaTarget>> {
    let sql = format!(
        "SELECT metric, site_id, department_id, clock, CAST(target_s AS BIGINT) FROM sla_targets \
         WHERE true{} \
         ORDER BY {}, department_id IS NOT NULL, site_id IS NOT NULL, site_id, department_id",
        filters.targets_sql(),
        metric_order(),
    );
    rows(conn, "service-level targets", &sql, |r| {
        Ok(SlaTarget {
            metric: r.get(0)?,
            site_id: r.get(1)?,
            department_id: r.get(2)?,
            clock: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            target_s: r.get(4)?,
        })
    })
}

/// The schedule working time follows under the filters (the department's, else the
/// site's, else the default), and how many sites and departments have their own.
fn sla_schedule(conn: &Connection, filters: &Filters) -> Result<(Option<(String, String)>, i64)> {
    let mut scopes = String::from("scope = 'default'");
    if let Some(site) = filters.site {
        scopes.push_str(&format!(" OR (scope = 'site' AND site_id = {site})"));
    }
    if let Some(department) = filters.department {
        scopes.push_str(&format!(
            " OR (scope = 'department' AND department_id = {department})"
        ));
    }
    let filtered = filters.site.is_some() || filters.department.is_some();
    let sql = format!(
        "SELECT schedule, time_zone, \
                (SELECT CAST(count(*) AS BIGINT) FROM schedule_assignments WHERE scope <> 'default') \
         FROM schedule_assignments WHERE {scopes} \
         ORDER BY CASE scope WHEN 'department' THEN 0 WHEN 'site' THEN 1 ELSE 2 END LIMIT 1"
    );
    let mut others = 0;
    let schedule = rows(conn, "service-level targets", &sql, |r| {
        others = r.get(2)?;
        Ok((
            r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        ))
    })?
    .into_iter()
    .next();
    Ok((schedule, if filtered { 0 } else { others }))
}

/// The service-levels panel: `sla_daily` (tiles, days, departments) read once into
/// [`SLA_SCRATCH`], `sla_chats` for the operators, `sla_targets` for the promise.
fn service_levels(conn: &Connection, period: &Period, filters: &Filters) -> Result<ServiceLevels> {
    // DuckDB runs an ASOF join whose input it estimates small as a nested loop join and an
    // aggregate; on a small warehouse it picks that plan for the SLA models, and it is ten
    // times slower (2.5k chats: 2.9 s against 0.24 s for sla_chats). The setting changes
    // the plan, never a result, and is reset with the temporary table.
    exec(
        conn,
        "service levels",
        &format!(
            "SET asof_loop_join_threshold = 0; \
             CREATE OR REPLACE TEMP TABLE {SLA_SCRATCH} AS \
             SELECT * FROM sla_daily WHERE {}{};",
            period.with_previous().sql(),
            filters.sql()
        ),
    )?;
    let panel = (|| {
        let tiles = sla_tiles(conn, period, filters)?;
        let daily = sla_daily(conn, period)?;
        let (departments, departments_total) = sla_departments(conn, period)?;
        let (operators, operators_total) = sla_operators(conn, period, filters)?;
        let targets = sla_targets(conn, filters)?;
        let (schedule, other_schedules) = sla_schedule(conn, filters)?;
        Ok(ServiceLevels {
            tiles,
            daily,
            departments,
            departments_total,
            operators,
            operators_total,
            targets,
            schedule,
            other_schedules,
        })
    })();
    exec(
        conn,
        "service levels",
        &format!("DROP TABLE IF EXISTS temp.{SLA_SCRATCH}; RESET asof_loop_join_threshold;"),
    )?;
    panel
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
    let service_levels = service_levels(conn, &period, &filters)?;
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
        service_levels,
        health: health(conn)?,
        kpis,
    })
}
