//! The report on a small warehouse of simulated conversations: its numbers against
//! independent queries on the base tables, the service levels against the SLA item models
//! (`sla_chats`, `sla_leads`, `sla_complaints`) and `sla_operators`, the filters, the empty
//! states (no data, no target), every panel on the page, escaping, and nothing the page
//! would fetch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use duckdb::Connection;
use ltx_load::{LoadOptions, RunInfo, RunOutcome, Warehouse};
use ltx_transform::{TransformConfig, Transformer};

use super::*;
use crate::data::KPI_KEYS;

/// A warehouse of 600 simulated conversations over 60 days, with the reference tables
/// (business calendars, SLA targets) that `config` derives, as a sync writes them; `None`:
/// without them, as a warehouse last synced before they existed.
fn build(config: Option<&ltx_pipeline::Config>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ltx_sim::SimConfig {
        seed: 11,
        history_days: 60,
        ..ltx_sim::SimConfig::default()
    };
    let now = chrono::Utc::now();
    let mut t = Transformer::new(TransformConfig {
        account: "livetex".into(),
        ..TransformConfig::new("run-1", now)
    });
    for line in ltx_sim::jsonl_lines(&cfg, 600).unwrap() {
        t.push_json(&line);
    }
    let (batches, _) = t.finish();
    let wh = Warehouse::open(dir.path(), LoadOptions::default()).unwrap();
    let mut info = RunInfo::new("run-1", "test");
    // The account of the default configuration's reference batches (its name's).
    info.account = "livetex".into();
    let mut run = wh.begin_run(info).unwrap();
    run.write_all(batches).unwrap();
    if let Some(config) = config {
        run.write_all(config.reference_batches("run-1", now).unwrap())
            .unwrap();
    }
    run.commit(RunOutcome::default()).unwrap();
    dir
}

/// One warehouse for most tests of this module: the default configuration's calendar
/// and SLA targets (chat first answer 60 s, lead answer 4 h, complaint first action 8 h,
/// of working time).
fn warehouse() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| build(Some(&ltx_pipeline::Config::defaults().unwrap())))
        .path()
}

fn catalog() -> Connection {
    Warehouse::open_catalog_readonly(warehouse())
        .unwrap()
        .into_connection()
}

fn scalar(conn: &Connection, sql: &str) -> Option<f64> {
    conn.query_row(sql, [], |r| r.get::<_, Option<f64>>(0))
        .unwrap()
}

fn kpi(data: &ReportData, key: &str) -> Option<f64> {
    data.kpis.iter().find(|k| k.key == key).unwrap().value
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

/// `created_at` of a base table within the period, spelled independently of the models.
fn within(p: &Period) -> String {
    format!(
        "CAST(CAST(created_at AS TIMESTAMP) AS DATE) BETWEEN DATE '{}' AND DATE '{}'",
        p.from, p.to
    )
}

#[test]
fn the_default_period_ends_at_the_last_day_with_data() {
    let conn = catalog();
    let p = resolve_period(&conn, &ReportOptions::default()).unwrap();
    let last = conn
        .query_row(
            "SELECT CAST(max(CAST(created_at AS TIMESTAMP)) AS DATE)::VARCHAR FROM conversations",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    assert_eq!(p.to.to_string(), last);
    assert_eq!(p.days(), data::DEFAULT_DAYS);
    let prev = p.previous();
    assert_eq!(prev.days(), p.days());
    assert_eq!(prev.to + chrono::Duration::days(1), p.from);
    // --from after --to is refused, naming both.
    let bad = ReportOptions {
        from: Some(p.to),
        to: Some(p.from),
        ..ReportOptions::default()
    };
    let e = resolve_period(&conn, &bad).unwrap_err().to_string();
    assert!(
        e.contains(&p.to.to_string()) && e.contains(&p.from.to_string()),
        "{e}"
    );
}

#[test]
fn kpis_equal_independent_queries_on_the_base_tables() {
    let conn = catalog();
    let data = collect(&conn, &ReportOptions::default()).unwrap();
    let keys: Vec<&str> = data.kpis.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(keys, KPI_KEYS);
    for (p, current) in [(data.period, true), (data.previous, false)] {
        let w = within(&p);
        let pick = |key: &str| {
            let k = data.kpis.iter().find(|k| k.key == key).unwrap();
            if current {
                k.value
            } else {
                k.previous
            }
        };
        let expect = [
            ("conversations", format!("SELECT count(*) FROM conversations WHERE {w}")),
            (
                "success_rate",
                format!("SELECT avg(CASE WHEN result = 'success' THEN 1 ELSE 0 END) FROM conversations WHERE {w}"),
            ),
            ("chats", format!("SELECT sum(chat_count) FROM conversations WHERE {w}")),
            ("calls", format!("SELECT sum(call_count) FROM conversations WHERE {w}")),
            ("leads", format!("SELECT sum(lead_count) FROM conversations WHERE {w}")),
            ("complaints", format!("SELECT sum(complaint_count) FROM conversations WHERE {w}")),
            (
                "median_first_answer_s",
                format!("SELECT median(first_answer_time_s) FROM chats WHERE {w}"),
            ),
        ];
        for (key, sql) in expect {
            let want = scalar(&conn, &sql);
            assert!(
                close(pick(key), want),
                "{key} (current: {current}): report {:?}, tables {want:?}",
                pick(key)
            );
        }
    }
    assert!(kpi(&data, "conversations").unwrap() > 0.0);
    assert!(kpi(&data, "median_first_answer_s").is_some());
    // The change is computed from the two values.
    let c = data.kpis.iter().find(|k| k.key == "conversations").unwrap();
    if let (Some(v), Some(p), Some(ch)) = (c.value, c.previous, c.change) {
        assert!((ch - (v - p) / p).abs() < 1e-9);
    }
    // The panels add up to the tiles.
    let daily: i64 = data.daily.iter().map(|d| d.conversations).sum();
    let heat: i64 = data.heatmap.iter().map(|c| c.conversations).sum();
    let channels: i64 = data.channels.iter().map(|c| c.conversations).sum();
    let n = kpi(&data, "conversations").unwrap() as i64;
    assert_eq!((daily, heat, channels), (n, n, n));
    assert_eq!(data.daily.len() as i64, data.period.days());
    let shares: f64 = data.channels.iter().map(|c| c.share).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    let leads_total = data.leads.iter().find(|l| l.lead_type.is_none()).unwrap();
    let want = scalar(
        &conn,
        &format!("SELECT count(*) FROM leads WHERE {}", within(&data.period)),
    );
    assert_eq!(Some(leads_total.leads as f64), want);
    assert!(!data.operators.is_empty());
    let top = &data.operators[0];
    let chats = scalar(
        &conn,
        &format!(
            "SELECT count(*) FROM chats WHERE employee_id = {} AND {}",
            top.employee_id,
            within(&data.period)
        ),
    );
    assert_eq!(Some(top.chats as f64), chats);
    assert!(data.operators.windows(2).all(|w| w[0].chats >= w[1].chats));
    // Run health: the one run of the fixture.
    assert_eq!(data.health.runs.len(), 1);
    assert_eq!(data.health.runs[0].status, "success");
    assert_eq!(data.health.runs_total, 1);
    assert!(data.health.last_success_at.is_some());
}

#[test]
fn the_heatmap_is_in_moscow_time() {
    let conn = catalog();
    let data = collect(&conn, &ReportOptions::default()).unwrap();
    let w = within(&data.period);
    let want: Vec<(u32, u32, i64)> = {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT isodow(created_at_msk)::INTEGER, hour(created_at_msk)::INTEGER, count(*)::BIGINT \
                 FROM conversations WHERE {w} GROUP BY ALL ORDER BY 1, 2"
            ))
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, i32>(0)? as u32,
                r.get::<_, i32>(1)? as u32,
                r.get(2)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let got: Vec<(u32, u32, i64)> = data
        .heatmap
        .iter()
        .map(|c| (c.weekday, c.hour, c.conversations))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn filters_narrow_every_panel() {
    let conn = catalog();
    let (site, department) = conn
        .query_row(
            "SELECT site_id, department_id FROM conversations WHERE department_id IS NOT NULL \
             GROUP BY ALL ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .unwrap();
    let all = collect(&conn, &ReportOptions::default()).unwrap();
    let options = ReportOptions {
        from: Some(all.period.from),
        to: Some(all.period.to),
        filters: Filters {
            site: Some(site),
            department: Some(department),
        },
    };
    let data = collect(&conn, &options).unwrap();
    let want = scalar(
        &conn,
        &format!(
            "SELECT count(*) FROM conversations WHERE site_id = {site} AND department_id = {department} AND {}",
            within(&data.period)
        ),
    );
    assert_eq!(kpi(&data, "conversations"), want);
    assert!(kpi(&data, "conversations") < kpi(&all, "conversations"));
    let heat: i64 = data.heatmap.iter().map(|c| c.conversations).sum();
    assert_eq!(Some(heat as f64), want);
    let want_fa = scalar(
        &conn,
        &format!(
            "SELECT median(first_answer_time_s) FROM chats WHERE site_id = {site} AND department_id = {department} AND {}",
            within(&data.period)
        ),
    );
    assert!(close(kpi(&data, "median_first_answer_s"), want_fa));
    assert!(
        data.department_label.is_some(),
        "the department's title is shown"
    );
    let page = html::render(&data, "now").unwrap();
    assert!(page.contains(&format!("data-filter=\"site\" data-id=\"{site}\"")));
    assert!(page.contains(&format!(
        "data-filter=\"department\" data-id=\"{department}\""
    )));
}

#[test]
fn the_page_has_every_panel_and_fetches_nothing() {
    let conn = catalog();
    let (data, page) = render(&conn, &ReportOptions::default()).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<meta charset=\"utf-8\">"));
    for (id, title) in html::PANELS {
        assert!(page.contains(&format!("data-panel=\"{id}\"")), "panel {id}");
        assert!(page.contains(title), "title {title}");
    }
    for key in KPI_KEYS {
        assert!(page.contains(&format!("data-kpi=\"{key}\"")), "KPI {key}");
    }
    // Five charts: daily, service levels, heatmap, channels, funnel.
    assert_eq!(page.matches("<svg").count(), 5);
    for banned in [
        "http://", "https://", "<script", "<link", "<img", "@import", "url(",
    ] {
        assert!(!page.contains(banned), "the page contains {banned:?}");
    }
    // Operators' names are Cyrillic, as the simulator makes them.
    let op = &data.operators[0];
    assert!(page.contains(&format::escape(&op.name)));
    assert!(data.operators.iter().any(|o| o
        .name
        .chars()
        .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))));
    // The file is written whole.
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("report.html");
    write_report(warehouse(), &ReportOptions::default(), &path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.ends_with("</html>\n"));
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn text_from_the_warehouse_is_escaped_everywhere() {
    let conn = catalog();
    let mut data = collect(&conn, &ReportOptions::default()).unwrap();
    let hostile = "<script>alert('x')</script> Ольга & \"Co\"";
    data.operators[0].name = hostile.to_owned();
    data.channels[0].widget_type = hostile.to_owned();
    data.leads[0].lead_type = Some(hostile.to_owned());
    data.health.runs[0].error = Some(hostile.to_owned());
    data.health.quality.push((hostile.to_owned(), 1, 1));
    data.service_levels.operators[0].name = hostile.to_owned();
    data.service_levels.departments[0].title = hostile.to_owned();
    data.service_levels.targets[0].clock = hostile.to_owned();
    data.service_levels.schedule = Some((hostile.to_owned(), hostile.to_owned()));
    data.filters.site = Some(1);
    data.site_label = Some(hostile.to_owned());
    let page = html::render(&data, hostile).unwrap();
    assert!(!page.contains("<script"), "unescaped text");
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Ольга &amp; &quot;Co&quot;")
    );
    // Inside the charts too (plotters escapes the SVG text it writes).
    let svg = charts::bars("test", &[(hostile.to_owned(), 3, "3".to_owned())]).unwrap();
    assert!(!svg.contains("<script"));
}

#[test]
fn an_empty_period_renders_with_empty_panels() {
    let conn = catalog();
    let options = ReportOptions {
        from: Some(NaiveDate::from_ymd_opt(2001, 1, 1).unwrap()),
        to: Some(NaiveDate::from_ymd_opt(2001, 1, 7).unwrap()),
        ..ReportOptions::default()
    };
    let (data, page) = render(&conn, &options).unwrap();
    assert_eq!(kpi(&data, "conversations"), Some(0.0));
    assert_eq!(kpi(&data, "success_rate"), None);
    assert_eq!(data.daily.len(), 7);
    assert!(data.operators.is_empty());
    assert!(page.contains("No conversations in the period."));
}

/// `(model, status column)` of the item model behind an SLA metric.
fn item_model(metric: &str) -> (&'static str, &'static str) {
    match metric {
        "chat_first_answer" => ("sla_chats", "first_answer_status"),
        "lead_answer" => ("sla_leads", "answer_status"),
        "complaint_first_action" => ("sla_complaints", "action_status"),
        other => panic!("unknown metric {other}"),
    }
}

/// `(items, met, breached, pending, attainment)` of `metric` straight from its item model,
/// with the statuses as sql/README.md defines the parts (not through `sla_daily`).
fn sla_expect(
    conn: &Connection,
    metric: &str,
    p: &Period,
    filter: &str,
) -> (i64, i64, i64, i64, Option<f64>) {
    let (model, status) = item_model(metric);
    conn.query_row(
        &format!(
            "WITH s AS (SELECT {status} AS s FROM {model} \
                        WHERE day_utc BETWEEN DATE '{}' AND DATE '{}'{filter}), \
                  c AS (SELECT count(s) AS items, \
                               count(*) FILTER (WHERE s = 'met') AS met, \
                               count(*) FILTER (WHERE s IN ('breached', 'unanswered_breached', 'open_breached')) AS breached, \
                               count(*) FILTER (WHERE s IN ('abandoned', 'open')) AS pending FROM s) \
             SELECT items, met, breached, pending, met::DOUBLE / nullif(met + breached, 0) FROM c",
            p.from, p.to
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .unwrap()
}

/// The `<section>` of the service-levels panel in `page`.
fn sla_section(page: &str) -> &str {
    let start = page.find("data-panel=\"sla\"").unwrap();
    let end = start + page[start..].find("</section>").unwrap();
    &page[start..end]
}

#[test]
fn service_level_tiles_equal_the_item_models() {
    let conn = catalog();
    let (data, page) = render(&conn, &ReportOptions::default()).unwrap();
    let sl = &data.service_levels;
    let metrics: Vec<&str> = sl.tiles.iter().map(|t| t.metric.as_str()).collect();
    assert_eq!(metrics, data::SLA_METRICS);
    for t in &sl.tiles {
        let (items, met, breached, pending, attainment) =
            sla_expect(&conn, &t.metric, &data.period, "");
        assert_eq!(
            (t.items, t.met, t.breached, t.pending),
            (items, met, breached, pending),
            "{}",
            t.metric
        );
        assert!(
            close(t.attainment, attainment),
            "{}: {:?} {attainment:?}",
            t.metric,
            t.attainment
        );
        let previous = sla_expect(&conn, &t.metric, &data.previous, "").4;
        assert!(close(t.previous, previous), "{} previous", t.metric);
        if let (Some(a), Some(p)) = (attainment, previous) {
            assert!(close(t.change, Some(a - p)));
        }
        // One general target per metric in the default configuration.
        assert_eq!(t.targets, 1, "{}", t.metric);
        // sla_daily, which the panel reads, adds up to the same.
        let daily = scalar(
            &conn,
            &format!(
                "SELECT sum(met) FROM sla_daily WHERE metric = '{}' AND day_utc BETWEEN DATE '{}' AND DATE '{}'",
                t.metric, data.period.from, data.period.to
            ),
        );
        assert_eq!(daily.unwrap_or(0.0) as i64, met);
        // The page carries the same numbers.
        assert!(
            page.contains(&format!(
                "data-sla=\"{}\" data-state=\"ok\" data-value=\"{}\"",
                t.metric,
                t.attainment.map(|v| v.to_string()).unwrap_or_default()
            )),
            "tile {}",
            t.metric
        );
    }
    // The fixture has something to measure: chats met and breached, in both periods.
    let chat = &sl.tiles[0];
    assert!(chat.met > 0 && chat.breached > 0 && chat.pending > 0);
    assert!(chat.previous.is_some());
    // The promise, as configured.
    let section = sla_section(&page);
    for promise in [
        "Chat first answer within <b>60 s</b> of working time",
        "Lead answer within <b>4 h</b> of working time",
        "Complaint first action within <b>8 h</b> of working time",
        "the schedule <code>moscow</code> (Europe/Moscow)",
    ] {
        assert!(section.contains(promise), "{promise}");
    }
    assert_eq!(
        sl.schedule,
        Some(("moscow".to_owned(), "Europe/Moscow".to_owned()))
    );
    assert_eq!(section.matches("<svg").count(), 1, "the chart per day");
    // The temporary table is gone with the panel: the connection is as it was.
    let left = scalar(
        &conn,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ltx_report_sla_daily'",
    );
    assert_eq!(left, Some(0.0));
}

#[test]
fn service_levels_per_day_department_and_operator_equal_the_item_models() {
    let conn = catalog();
    let data = collect(&conn, &ReportOptions::default()).unwrap();
    let sl = &data.service_levels;
    let days = format!(
        "day_utc BETWEEN DATE '{}' AND DATE '{}'",
        data.period.from, data.period.to
    );

    // Per day: every day of the period, met and breached chats.
    assert_eq!(sl.daily.len() as i64, data.period.days());
    let mut stmt = conn
        .prepare(&format!(
            "SELECT CAST(day_utc AS VARCHAR), count(*) FILTER (WHERE first_answer_status = 'met'), \
                    count(*) FILTER (WHERE first_answer_status IN ('breached', 'unanswered_breached')) \
             FROM sla_chats WHERE {days} GROUP BY day_utc"
        ))
        .unwrap();
    let want: std::collections::BTreeMap<String, (i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for d in &sl.daily {
        let (met, breached) = want.get(&d.day).copied().unwrap_or((0, 0));
        assert_eq!((d.met, d.breached), (met, breached), "{}", d.day);
        let rate = (met + breached > 0).then(|| met as f64 / (met + breached) as f64);
        assert!(close(d.attainment, rate), "{}", d.day);
    }

    // Departments, worst attainment first.
    assert!(!sl.departments.is_empty());
    let att = |a: Option<f64>| a.unwrap_or(f64::INFINITY);
    assert!(sl
        .departments
        .windows(2)
        .all(|w| att(w[0].attainment) <= att(w[1].attainment)));
    for d in &sl.departments {
        let dep = d
            .department_id
            .map_or("department_id IS NULL".to_owned(), |id| {
                format!("department_id = {id}")
            });
        let (chats, met, breached, mean): (i64, i64, i64, Option<f64>) = conn
            .query_row(
                &format!(
                    "SELECT count(first_answer_status), \
                            count(*) FILTER (WHERE first_answer_status = 'met'), \
                            count(*) FILTER (WHERE first_answer_status IN ('breached', 'unanswered_breached')), \
                            avg(first_answer_business_s) FILTER (WHERE first_answer_status IS NOT NULL) \
                     FROM sla_chats WHERE {days} AND {dep}"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (d.chats, d.met, d.breached),
            (chats, met, breached),
            "{dep}"
        );
        assert!(close(d.mean_business_s, mean), "{dep}");
        if d.department_id.is_some() {
            assert!(!d.title.is_empty(), "{dep} has a title");
        }
    }
    let departments = scalar(
        &conn,
        &format!("SELECT count(DISTINCT coalesce(department_id, -1)) FROM sla_chats WHERE {days} AND first_answer_status IS NOT NULL"),
    );
    assert_eq!(Some(sl.departments_total as f64), departments);

    // Operators, most breaches first, with DuckDB's median and 90th percentile.
    assert!(!sl.operators.is_empty());
    assert!(sl
        .operators
        .windows(2)
        .all(|w| (w[0].breached, w[0].chats) >= (w[1].breached, w[1].chats)));
    for op in &sl.operators {
        let (chats, met, breached, median, p90): (i64, i64, i64, Option<f64>, Option<f64>) = conn
            .query_row(
                &format!(
                    "SELECT count(*), count(*) FILTER (WHERE first_answer_status = 'met'), \
                            count(*) FILTER (WHERE first_answer_status IN ('breached', 'unanswered_breached')), \
                            median(first_answer_business_s)::DOUBLE, \
                            quantile_cont(first_answer_business_s, 0.9)::DOUBLE \
                     FROM sla_chats WHERE {days} AND employee_id = {}",
                    op.employee_id
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(
            (op.chats, op.met, op.breached),
            (chats, met, breached),
            "employee {}",
            op.employee_id
        );
        assert!(close(op.median_business_s, median), "{}", op.employee_id);
        assert!(close(op.p90_business_s, p90), "{}", op.employee_id);
        assert!(!op.name.is_empty());
    }
    let operators = scalar(
        &conn,
        &format!("SELECT count(DISTINCT employee_id) FROM sla_chats WHERE {days}"),
    );
    assert_eq!(Some(sl.operators_total as f64), operators);
}

#[test]
fn over_all_days_the_operators_equal_sla_operators() {
    // sla_operators has no period: over every day the panel's figures are its figures.
    let conn = catalog();
    let (from, to) = conn
        .query_row(
            "SELECT min(day_utc)::VARCHAR, max(day_utc)::VARCHAR FROM sla_chats",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap();
    let options = ReportOptions {
        from: Some(from.parse().unwrap()),
        to: Some(to.parse().unwrap()),
        ..ReportOptions::default()
    };
    let data = collect(&conn, &options).unwrap();
    let sl = &data.service_levels;
    assert_eq!(
        Some(sl.operators_total as f64),
        scalar(
            &conn,
            "SELECT count(*) FROM sla_operators WHERE employee_id IS NOT NULL AND chats > 0"
        )
    );
    for op in &sl.operators {
        let (met, breached, attainment, median, p90): (i64, i64, Option<f64>, Option<f64>, Option<f64>) = conn
            .query_row(
                &format!(
                    "SELECT chats_met, chats_breached, chat_attainment::DOUBLE, \
                            median_first_answer_business_s::DOUBLE, p90_first_answer_business_s::DOUBLE \
                     FROM sla_operators WHERE employee_id = {}",
                    op.employee_id
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!((op.met, op.breached), (met, breached), "{}", op.employee_id);
        // sla_operators rounds: attainment to 4 decimals, seconds to 1.
        let near = |a: Option<f64>, b: Option<f64>, tol: f64| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= tol,
            (None, None) => true,
            _ => false,
        };
        assert!(
            near(op.attainment, attainment, 0.00005),
            "{}",
            op.employee_id
        );
        assert!(
            near(op.median_business_s, median, 0.05),
            "{}",
            op.employee_id
        );
        assert!(near(op.p90_business_s, p90, 0.05), "{}", op.employee_id);
    }
}

#[test]
fn service_levels_follow_the_filters() {
    let conn = catalog();
    let (site, department) = conn
        .query_row(
            "SELECT site_id, department_id FROM sla_chats WHERE department_id IS NOT NULL \
             GROUP BY ALL ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .unwrap();
    let all = collect(&conn, &ReportOptions::default()).unwrap();
    let options = ReportOptions {
        from: Some(all.period.from),
        to: Some(all.period.to),
        filters: Filters {
            site: Some(site),
            department: Some(department),
        },
    };
    let data = collect(&conn, &options).unwrap();
    let sl = &data.service_levels;
    let filter = format!(" AND site_id = {site} AND department_id = {department}");
    for t in &sl.tiles {
        let (items, met, breached, pending, attainment) =
            sla_expect(&conn, &t.metric, &data.period, &filter);
        assert_eq!(
            (t.items, t.met, t.breached, t.pending),
            (items, met, breached, pending),
            "{}",
            t.metric
        );
        assert!(close(t.attainment, attainment), "{}", t.metric);
        let previous = sla_expect(&conn, &t.metric, &data.previous, &filter).4;
        assert!(close(t.previous, previous), "{} previous", t.metric);
    }
    assert!(sl.tiles[0].items < all.service_levels.tiles[0].items);
    assert_eq!(sl.departments.len(), 1);
    assert_eq!(sl.departments[0].department_id, Some(department));
    let operators = scalar(
        &conn,
        &format!(
            "SELECT count(DISTINCT employee_id) FROM sla_chats \
             WHERE day_utc BETWEEN DATE '{}' AND DATE '{}'{filter}",
            data.period.from, data.period.to
        ),
    );
    assert_eq!(Some(sl.operators_total as f64), operators);
    let daily: i64 = sl.daily.iter().map(|d| d.met).sum();
    assert_eq!(daily, sl.tiles[0].met);
}

#[test]
fn an_empty_period_says_no_data_in_the_service_levels() {
    let conn = catalog();
    let options = ReportOptions {
        from: Some(NaiveDate::from_ymd_opt(2001, 1, 1).unwrap()),
        to: Some(NaiveDate::from_ymd_opt(2001, 1, 7).unwrap()),
        ..ReportOptions::default()
    };
    let (data, page) = render(&conn, &options).unwrap();
    let sl = &data.service_levels;
    for t in &sl.tiles {
        assert_eq!(
            (t.targets, t.items, t.attainment),
            (1, 0, None),
            "{}",
            t.metric
        );
    }
    assert!(sl.operators.is_empty() && sl.departments.is_empty());
    let section = sla_section(&page);
    assert_eq!(section.matches("data-state=\"no-data\"").count(), 3);
    assert!(section.contains("no chats with a target in the period"));
    assert!(section.contains("No chats with a first-answer target in the period."));
    assert!(section.contains("No chats assigned to an operator in the period."));
    assert!(!section.contains("<svg"), "no empty chart");
    // The promise is stated all the same.
    assert!(section.contains("Chat first answer within <b>60 s</b> of working time"));
}

#[test]
fn a_warehouse_without_targets_says_no_target() {
    // Written before the reference tables existed: no calendar, no target.
    let dir = build(None);
    let conn = Warehouse::open_catalog_readonly(dir.path())
        .unwrap()
        .into_connection();
    let (data, page) = render(&conn, &ReportOptions::default()).unwrap();
    let sl = &data.service_levels;
    for t in &sl.tiles {
        assert_eq!(
            (t.targets, t.items, t.attainment),
            (0, 0, None),
            "{}",
            t.metric
        );
    }
    assert!(sl.targets.is_empty() && sl.schedule.is_none());
    let section = sla_section(&page);
    assert_eq!(section.matches("data-state=\"no-target\"").count(), 3);
    assert_eq!(
        section.matches("<b>no target</b> (set one under").count(),
        3
    );
    assert!(section.contains("No chat first-answer target applies: nothing to measure."));
    assert!(section.contains("No working-time schedule in the warehouse yet"));
    assert!(!section.contains("<svg"));
    // The other panels do not depend on it.
    assert!(kpi(&data, "conversations").unwrap() > 0.0);
}

#[test]
fn targets_of_one_metric_and_one_department() {
    // Only a chat target, and a stricter one on calendar time for department 303.
    let mut config = ltx_pipeline::Config::defaults().unwrap();
    config
        .sla
        .targets
        .retain(|t| t.metric == ltx_transform::SlaMetric::ChatFirstAnswer);
    let mut strict = config.sla.targets[0].clone();
    strict.department_id = Some(303);
    strict.target = "2m".to_owned();
    strict.clock = ltx_transform::SlaClock::Calendar;
    config.sla.targets.push(strict);
    let dir = build(Some(&config));
    let conn = Warehouse::open_catalog_readonly(dir.path())
        .unwrap()
        .into_connection();
    assert_eq!(
        scalar(
            &conn,
            "SELECT count(*) FROM sla_chats WHERE department_id = 303"
        )
        .map(|n| n > 0.0),
        Some(true),
        "the simulator has a department 303"
    );

    let (data, page) = render(&conn, &ReportOptions::default()).unwrap();
    let sl = &data.service_levels;
    let states: Vec<(&str, i64)> = sl
        .tiles
        .iter()
        .map(|t| (t.metric.as_str(), t.targets))
        .collect();
    assert_eq!(
        states,
        [
            ("chat_first_answer", 2),
            ("lead_answer", 0),
            ("complaint_first_action", 0)
        ]
    );
    let chat = sla_expect(&conn, "chat_first_answer", &data.period, "");
    assert_eq!(sl.tiles[0].met, chat.1);
    let section = sla_section(&page);
    assert!(section.contains(
        "Chat first answer within <b>60 s</b> of working time; <b>2 min</b> of calendar time for department 303"
    ));
    assert!(section.contains("Lead answer: <b>no target</b>"));
    assert!(section.contains("Complaint first action: <b>no target</b>"));
    assert_eq!(section.matches("data-state=\"no-target\"").count(), 2);
    assert_eq!(section.matches("<svg").count(), 1);

    // Another department: only the general target can apply.
    let other = conn
        .query_row(
            "SELECT department_id FROM sla_chats WHERE department_id <> 303 LIMIT 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    let options = ReportOptions {
        filters: Filters {
            site: None,
            department: Some(other),
        },
        ..ReportOptions::default()
    };
    let data = collect(&conn, &options).unwrap();
    let sl = &data.service_levels;
    assert_eq!(sl.tiles[0].targets, 1);
    assert_eq!(sl.targets.len(), 1);
    assert_eq!(sl.targets[0].department_id, None);
    let filtered = sla_expect(
        &conn,
        "chat_first_answer",
        &data.period,
        &format!(" AND department_id = {other}"),
    );
    assert_eq!(
        (sl.tiles[0].met, sl.tiles[0].breached),
        (filtered.1, filtered.2)
    );
}
