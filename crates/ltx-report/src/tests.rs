//! The report on a small warehouse of simulated conversations: its numbers against
//! independent queries on the base tables, the filters, every panel on the page, escaping,
//! and nothing the page would fetch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use duckdb::Connection;
use ltx_load::{LoadOptions, RunInfo, RunOutcome, Warehouse};
use ltx_transform::{TransformConfig, Transformer};

use super::*;
use crate::data::KPI_KEYS;

/// One warehouse for every test of this module: 600 simulated conversations over 60 days.
fn warehouse() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ltx_sim::SimConfig {
            seed: 11,
            history_days: 60,
            ..ltx_sim::SimConfig::default()
        };
        let mut t = Transformer::new(TransformConfig::new("run-1", chrono::Utc::now()));
        for line in ltx_sim::jsonl_lines(&cfg, 600).unwrap() {
            t.push_json(&line);
        }
        let (batches, _) = t.finish();
        let wh = Warehouse::open(dir.path(), LoadOptions::default()).unwrap();
        let mut run = wh.begin_run(RunInfo::new("run-1", "test")).unwrap();
        run.write_all(batches).unwrap();
        run.commit(RunOutcome::default()).unwrap();
        dir
    })
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
    // Four charts: daily, heatmap, channels, funnel.
    assert_eq!(page.matches("<svg").count(), 4);
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
