//! The page: one HTML document with its stylesheet and inline SVG charts, nothing fetched
//! (no script, no font, no image file), readable in light and dark mode.

use std::fmt::Write as _;

use crate::charts;
use crate::data::{Kpi, ReportData, ServiceLevels, SlaTarget, SlaTile, Unit, SLA_METRICS};
use crate::error::Result;
use crate::format::{age, change, count, escape, percent, seconds, target};

/// The panels, in page order: `(id, title)`. Each is a `<section data-panel="id">`.
pub const PANELS: [(&str, &str); 8] = [
    ("kpis", "Key figures"),
    ("daily", "Conversations and success rate per day"),
    ("sla", "Service levels"),
    ("heatmap", "Load by hour of the week (Moscow time)"),
    ("channels", "Channel mix"),
    ("funnel", "Lead funnel"),
    ("operators", "Operators"),
    ("health", "Data quality and run health"),
];

/// The stylesheet. Chart colours are plotters' marker colours (see `charts`) remapped to
/// the theme; CSS rules win over SVG presentation attributes.
const STYLE: &str = r##"
:root{--bg:#f5f6f8;--card:#fff;--fg:#1f2328;--muted:#5c6670;--border:#dde2e7;--grid:#e8ebef;
--axis:#9aa3ad;--accent:#2563eb;--accent2:#ea7a0c;--good:#1a7f37;--bad:#c9252d;--empty:#eef1f4;
--pill-ok:#dafbe1;--pill-bad:#ffe1e1;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--card:#171b21;--fg:#e6edf3;--muted:#9ba4ae;
--border:#2d333b;--grid:#252b33;--axis:#5d6570;--accent:#4c8dff;--accent2:#f59e3b;--good:#3fb950;
--bad:#ff6b6b;--empty:#1e242c;--pill-ok:#12361f;--pill-bad:#43191b}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 20px 40px}
header{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:8px 24px;margin-bottom:18px}
h1{font-size:22px;margin:0;font-weight:650;letter-spacing:-.01em}
h2{font-size:15px;margin:0 0 12px;font-weight:600}
.sub{color:var(--muted)}
.filters span{display:inline-block;border:1px solid var(--border);border-radius:999px;padding:1px 10px;margin-left:6px;background:var(--card)}
.panel{background:var(--card);border:1px solid var(--border);border-radius:10px;padding:16px 18px;margin-bottom:16px}
.panel>.note{color:var(--muted);font-size:12px;margin:-8px 0 10px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid2>.panel{margin-bottom:0}
.row{margin-bottom:16px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}.grid2>.panel{margin-bottom:16px}}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(145px,1fr));gap:12px}
.kpi{border:1px solid var(--border);border-radius:8px;padding:10px 12px}
.kpi{border-top:3px solid var(--accent)}
.kpi .label{color:var(--muted);font-size:12.5px;font-weight:500;white-space:nowrap}
.kpi .value{font-size:24px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.kpi .delta{font-size:12px;color:var(--muted);font-variant-numeric:tabular-nums}
.delta.up{color:var(--good)}.delta.down{color:var(--bad)}
svg{display:block;width:100%;height:auto}
svg text[fill="#000000"]{fill:var(--muted)}
svg [stroke="#010101"]{stroke:var(--axis)}
svg [stroke="#020202"]{stroke:var(--grid)}
svg [fill="#030303"]{fill:var(--empty)}
svg [fill="#2563EB"]{fill:var(--accent)}
svg [stroke="#EA7A0C"]{stroke:var(--accent2)}
svg [fill="#EA7A0C"]{fill:var(--accent2)}
.legend{display:flex;gap:18px;color:var(--muted);font-size:12px;margin:-4px 0 6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.legend .bar{background:var(--accent)}.legend .line{background:var(--accent2);height:3px;vertical-align:3px}
.legend .met{background:var(--good)}.legend .breached{background:var(--bad)}
svg [fill="#1A7F37"]{fill:var(--good)}
svg [fill="#C9252D"]{fill:var(--bad)}
h3{font-size:13.5px;margin:16px 0 8px;font-weight:600}
.kpi .value.none{font-size:17px;color:var(--muted);margin:8px 0 5px}
.kpi .counts{font-size:12px;color:var(--muted);margin-top:4px;font-variant-numeric:tabular-nums}
.kpi .counts b{font-weight:600;color:var(--fg)}
.targets{margin:-6px 0 12px;padding:0;list-style:none;color:var(--muted);font-size:12.5px}
.targets b{color:var(--fg);font-weight:600}
.hint{color:var(--muted);font-size:12px;margin:-4px 0 8px}
.grid2.split{grid-template-columns:5fr 7fr}
@media (max-width:900px){.grid2.split{grid-template-columns:1fr}}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{text-align:right;padding:6px 8px;border-bottom:1px solid var(--border);white-space:nowrap}
th{color:var(--muted);font-weight:600;font-size:12px}
th:first-child,td:first-child,.left{text-align:left}
tbody tr:last-child td{border-bottom:0}
td.name{white-space:normal}
.rank{color:var(--muted);width:28px}
.pill{display:inline-block;border-radius:999px;padding:0 8px;font-size:12px;font-weight:600}
.pill.ok{background:var(--pill-ok);color:var(--good)}.pill.bad{background:var(--pill-bad);color:var(--bad)}
.facts{display:grid;grid-template-columns:repeat(3,1fr);gap:12px 18px;margin-bottom:16px}
.facts div{border-left:3px solid var(--border);padding-left:10px}
.facts b{display:block;font-size:15px;font-weight:600;font-variant-numeric:tabular-nums}
.facts b span{font-weight:400}
.facts span{color:var(--muted);font-size:12px}
.error{color:var(--bad);white-space:normal;text-align:left;max-width:360px;font-size:12px}
.empty{color:var(--muted);padding:12px 0}
footer{color:var(--muted);font-size:12px;margin-top:8px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
"##;

fn kpi_label(key: &str) -> (&'static str, Unit, bool) {
    // (label, unit, whether a rise is good)
    match key {
        "conversations" => ("Conversations", Unit::Count, true),
        "success_rate" => ("Success rate", Unit::Ratio, true),
        "chats" => ("Chats", Unit::Count, true),
        "calls" => ("Calls", Unit::Count, true),
        "leads" => ("Leads", Unit::Count, true),
        "complaints" => ("Complaints", Unit::Count, false),
        "median_first_answer_s" => ("First answer, median", Unit::Seconds, false),
        _ => ("", Unit::Count, true),
    }
}

fn value_text(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "–".to_owned(),
        (Some(v), Unit::Count) => count(v.round() as i64),
        (Some(v), Unit::Ratio) => percent(v),
        (Some(v), Unit::Seconds) => seconds(v),
    }
}

/// A number as a `data-` attribute value: what DuckDB returned, or empty for NULL.
fn data_number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The change line of a tile: `(class, text)`; a rise is green when `rise_is_good`.
fn delta(
    change_value: Option<f64>,
    previous: Option<f64>,
    unit: Unit,
    rise_is_good: bool,
) -> (&'static str, String) {
    match change_value {
        None if previous.unwrap_or(0.0) == 0.0 => ("", "no data in the previous period".to_owned()),
        None => ("", String::new()),
        Some(c) => {
            let small = c.abs() < 0.0005;
            let class = if small {
                ""
            } else if (c > 0.0) == rise_is_good {
                " up"
            } else {
                " down"
            };
            (class, change(c, unit == Unit::Ratio))
        }
    }
}

/// ` <span class="sub">vs …</span>` after a change, nothing without one.
fn versus(change_value: Option<f64>, previous: Option<f64>, unit: Unit) -> String {
    if change_value.is_some() {
        format!(
            " <span class=\"sub\">vs {}</span>",
            value_text(previous, unit)
        )
    } else {
        String::new()
    }
}

fn kpi_tile(out: &mut String, k: &Kpi, previous_label: &str) {
    let (label, unit, rise_is_good) = kpi_label(&k.key);
    let (class, delta) = delta(k.change, k.previous, unit, rise_is_good);
    let _ = write!(
        out,
        "<div class=\"kpi\" data-kpi=\"{key}\" data-value=\"{value}\" data-previous=\"{previous}\">\
         <div class=\"label\">{label}</div><div class=\"value\">{shown}</div>\
         <div class=\"delta{class}\" title=\"{prev_title}: {prev_shown}\">{delta}{vs}</div></div>",
        key = escape(&k.key),
        value = data_number(k.value),
        previous = data_number(k.previous),
        shown = value_text(k.value, unit),
        prev_title = escape(previous_label),
        prev_shown = value_text(k.previous, unit),
        delta = escape(&delta),
        vs = versus(k.change, k.previous, unit),
    );
}

/// `(tile label, the items)` of an SLA metric.
fn sla_names(metric: &str) -> (&'static str, &'static str) {
    match metric {
        "chat_first_answer" => ("Chat first answer", "chats"),
        "lead_answer" => ("Lead answer", "leads"),
        "complaint_first_action" => ("Complaint first action", "complaints"),
        _ => ("", "items"),
    }
}

/// `<b>60 s</b> of working time for site 3`: one target, as the reader is promised it.
fn promise(t: &SlaTarget) -> String {
    let clock = match t.clock.as_str() {
        "business" => "working time".to_owned(),
        "calendar" => "calendar time".to_owned(),
        other => format!("{} time", escape(other)),
    };
    let scope = match (t.site_id, t.department_id) {
        (None, None) => String::new(),
        (Some(s), None) => format!(" for site {s}"),
        (None, Some(d)) => format!(" for department {d}"),
        (Some(s), Some(d)) => format!(" for site {s}, department {d}"),
    };
    format!("<b>{}</b> of {clock}{scope}", escape(&target(t.target_s)))
}

/// The promise under the panel's title: each metric's targets, and the working time.
fn sla_promises(o: &mut String, sl: &ServiceLevels) {
    o.push_str("<ul class=\"targets\" data-targets>");
    for metric in SLA_METRICS {
        let (label, _) = sla_names(metric);
        let targets: Vec<String> = sl
            .targets
            .iter()
            .filter(|t| t.metric == metric)
            .map(promise)
            .collect();
        if targets.is_empty() {
            let _ = write!(
                o,
                "<li data-target=\"{metric}\">{label}: <b>no target</b> (set one under <code>[sla]</code> in the configuration)</li>"
            );
        } else {
            let _ = write!(
                o,
                "<li data-target=\"{metric}\">{label} within {}</li>",
                targets.join("; ")
            );
        }
    }
    let schedule = match &sl.schedule {
        Some((name, tz)) => format!(
            "Working time: the schedule <code>{}</code> ({}){}.",
            escape(name),
            escape(tz),
            match sl.other_schedules {
                0 => String::new(),
                1 => "; 1 site or department follows a schedule of its own".to_owned(),
                n => format!("; {n} sites or departments follow schedules of their own"),
            }
        ),
        None => "Working time: no schedule is configured.".to_owned(),
    };
    let _ = write!(
        o,
        "<li>{schedule} Attainment = met / (met + breached); breached counts the items \
         answered late and those left unanswered past the target; pending (abandoned chats, \
         open items still within the target) waits outside the ratio.</li></ul>"
    );
}

/// The state of an SLA tile: `no-target`, `no-data` (nothing with a target in the
/// period) or `ok`.
fn sla_state(t: &SlaTile) -> &'static str {
    if t.targets == 0 && t.items == 0 {
        "no-target"
    } else if t.items == 0 {
        "no-data"
    } else {
        "ok"
    }
}

fn sla_tile(o: &mut String, t: &SlaTile, previous_label: &str) {
    let (label, items) = sla_names(&t.metric);
    let state = sla_state(t);
    let _ = write!(
        o,
        "<div class=\"kpi\" data-sla=\"{metric}\" data-state=\"{state}\" data-value=\"{value}\" \
         data-previous=\"{previous}\" data-items=\"{}\" data-met=\"{}\" data-breached=\"{}\" \
         data-pending=\"{}\"><div class=\"label\">{label}</div>",
        t.items,
        t.met,
        t.breached,
        t.pending,
        metric = escape(&t.metric),
        value = data_number(t.attainment),
        previous = data_number(t.previous),
    );
    match state {
        "no-target" => {
            let _ = write!(
                o,
                "<div class=\"value none\">no target</div><div class=\"delta\">none applies to these {items}</div>"
            );
        }
        "no-data" => {
            let _ = write!(
                o,
                "<div class=\"value none\">no data</div><div class=\"delta\">no {items} with a target in the period</div>"
            );
        }
        _ => {
            let (class, text) = match t.attainment {
                None => ("", "nothing decided yet".to_owned()),
                Some(_) => delta(t.change, t.previous, Unit::Ratio, true),
            };
            let _ = write!(
                o,
                "<div class=\"value\">{shown}</div><div class=\"delta{class}\" title=\"{prev_title}: {prev_shown}\">{text}{vs}</div>",
                shown = value_text(t.attainment, Unit::Ratio),
                prev_title = escape(previous_label),
                prev_shown = value_text(t.previous, Unit::Ratio),
                text = escape(&text),
                vs = versus(t.change, t.previous, Unit::Ratio),
            );
        }
    }
    if state == "ok" {
        let _ = write!(
            o,
            "<div class=\"counts\"><b>{}</b> met · <b>{}</b> breached · <b>{}</b> pending</div>",
            count(t.met),
            count(t.breached),
            count(t.pending)
        );
    }
    o.push_str("</div>");
}

/// The service-levels panel: the promise, a tile per metric, chat first answer per day,
/// departments and operators.
fn service_levels(o: &mut String, sl: &ServiceLevels, previous_label: &str) -> Result<()> {
    section_open(o, "sla", "");
    sla_promises(o, sl);
    o.push_str("<div class=\"kpis\">");
    for t in &sl.tiles {
        sla_tile(o, t, previous_label);
    }
    o.push_str("</div>");

    // Why the chat parts may have nothing to show.
    let chat = sl.tiles.iter().find(|t| t.metric == "chat_first_answer");
    let chat_state = chat.map_or("no-target", sla_state);
    let chat_empty = match chat_state {
        "no-target" => Some("No chat first-answer target applies: nothing to measure."),
        "no-data" => Some("No chats with a first-answer target in the period."),
        _ => None,
    };

    o.push_str("<h3>Chat first answer per day</h3>");
    let decided: i64 = sl.daily.iter().map(|d| d.met + d.breached).sum();
    match chat_empty {
        Some(why) => {
            let _ = write!(o, "<p class=\"empty\">{why}</p>");
        }
        None if decided == 0 => {
            o.push_str("<p class=\"empty\">No chat was decided against its target in the period (all pending).</p>");
        }
        None => {
            o.push_str(
                "<div class=\"legend\"><span><i class=\"met\"></i>met the target (left axis)</span>\
                 <span><i class=\"breached\"></i>breached (left axis)</span>\
                 <span><i class=\"line\"></i>attainment (right axis)</span></div>",
            );
            o.push_str(&charts::sla_daily(&sl.daily)?);
        }
    }

    o.push_str(
        "<div class=\"grid2 split\"><div><h3>Departments by chat first-answer attainment</h3>",
    );
    match chat_empty {
        Some(why) => {
            let _ = write!(o, "<p class=\"empty\">{why}</p>");
        }
        None => {
            let _ = write!(
                o,
                "<p class=\"hint\">Worst first: {} of {} departments. First answer: mean working time of the answered chats.</p>",
                sl.departments.len(),
                count(sl.departments_total)
            );
            o.push_str(
                "<table><thead><tr><th>department</th><th>chats</th><th>breached</th>\
                 <th>attainment</th><th>first answer</th></tr></thead><tbody>",
            );
            for d in &sl.departments {
                let name = match (d.department_id, d.title.is_empty()) {
                    (None, _) => "no department".to_owned(),
                    (Some(id), true) => format!("department {id}"),
                    (Some(_), false) => d.title.clone(),
                };
                let id = d.department_id.map(|i| i.to_string()).unwrap_or_default();
                let _ = write!(
                    o,
                    "<tr data-department=\"{id}\" data-attainment=\"{att}\" data-met=\"{met}\">\
                     <td class=\"name\">{name}{tag}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    count(d.chats),
                    count(d.breached),
                    d.attainment.map(percent).unwrap_or_else(|| "–".into()),
                    d.mean_business_s.map(seconds).unwrap_or_else(|| "–".into()),
                    att = data_number(d.attainment),
                    met = d.met,
                    name = escape(&name),
                    tag = if id.is_empty() {
                        String::new()
                    } else {
                        format!(" <span class=\"sub\">#{id}</span>")
                    },
                );
            }
            o.push_str("</tbody></table>");
        }
    }

    o.push_str("</div><div><h3>Operators with the most breached chats</h3>");
    if sl.schedule.is_none() {
        // Without business_intervals every working time would read 0 s.
        o.push_str(
            "<p class=\"empty\">No working-time schedule in the warehouse yet (the next \
             <code>ltx sync</code> or <code>ltx import</code> writes it).</p>",
        );
    } else if sl.operators.is_empty() {
        o.push_str("<p class=\"empty\">No chats assigned to an operator in the period.</p>");
    } else {
        let _ = write!(
            o,
            "<p class=\"hint\">{} of {} operators with chats in the period. First answer in working time, \
             answered chats: median and 90th percentile.</p>",
            sl.operators.len(),
            count(sl.operators_total)
        );
        o.push_str(
            "<table><thead><tr><th class=\"rank\">#</th><th class=\"left\">operator</th><th>chats</th>\
             <th>breached</th><th>attainment</th><th>median</th><th>p90</th></tr></thead><tbody>",
        );
        let measured = chat_state != "no-target";
        for (i, op) in sl.operators.iter().enumerate() {
            let name = if op.name.is_empty() {
                format!("employee {}", op.employee_id)
            } else {
                op.name.clone()
            };
            let _ = write!(
                o,
                "<tr data-sla-employee=\"{id}\" data-attainment=\"{att}\" data-median=\"{med}\" data-p90=\"{p90}\">\
                 <td class=\"rank\">{rank}</td><td class=\"name left\" title=\"employee {id}\">{name}</td>\
                 <td>{chats}</td><td>{breached}</td><td>{attainment}</td><td>{median}</td><td>{p90_shown}</td></tr>",
                id = op.employee_id,
                att = data_number(op.attainment),
                med = data_number(op.median_business_s),
                p90 = data_number(op.p90_business_s),
                rank = i + 1,
                name = escape(&name),
                chats = count(op.chats),
                breached = if measured { count(op.breached) } else { "–".into() },
                attainment = op.attainment.map(percent).unwrap_or_else(|| "–".into()),
                median = op.median_business_s.map(seconds).unwrap_or_else(|| "–".into()),
                p90_shown = op.p90_business_s.map(seconds).unwrap_or_else(|| "–".into()),
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</div></div></section>\n");
    Ok(())
}

fn section_open(out: &mut String, id: &str, extra_class: &str) {
    let title = PANELS.iter().find(|(p, _)| *p == id).map_or("", |(_, t)| t);
    let _ = write!(
        out,
        "<section class=\"panel{extra_class}\" id=\"{id}\" data-panel=\"{id}\"><h2>{}</h2>",
        escape(title)
    );
}

fn human_period(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!("{} – {}", from.format("%-d %b %Y"), to.format("%-d %b %Y"))
}

/// Renders the whole page.
pub fn render(d: &ReportData, generated_at: &str) -> Result<String> {
    let mut o = String::with_capacity(256 * 1024);
    let period = human_period(d.period.from, d.period.to);
    let previous = human_period(d.previous.from, d.previous.to);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>LiveTex support report · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&period)
    );
    // Header: period, comparison, filters.
    let mut filters = String::new();
    if let Some(site) = d.filters.site {
        let name = d.site_label.clone().unwrap_or_default();
        let _ = write!(
            filters,
            "<span data-filter=\"site\" data-id=\"{site}\">site {site} {}</span>",
            escape(&name)
        );
    }
    if let Some(dep) = d.filters.department {
        let name = d.department_label.clone().unwrap_or_default();
        let _ = write!(
            filters,
            "<span data-filter=\"department\" data-id=\"{dep}\">department {dep} {}</span>",
            escape(&name)
        );
    }
    if filters.is_empty() {
        filters.push_str("<span>all sites and departments</span>");
    }
    let _ = writeln!(
        o,
        "<header data-from=\"{from}\" data-to=\"{to}\" data-previous-from=\"{pfrom}\" data-previous-to=\"{pto}\">\
         <div><h1>Support report</h1><div class=\"sub\">{period} · {days} days (UTC) · compared with {previous}</div></div>\
         <div class=\"filters sub\">{filters}</div></header>",
        from = d.period.from,
        to = d.period.to,
        pfrom = d.previous.from,
        pto = d.previous.to,
        period = escape(&period),
        days = d.period.days(),
        previous = escape(&previous),
    );

    // KPI tiles.
    section_open(&mut o, "kpis", " row");
    o.push_str("<div class=\"kpis\">");
    for k in &d.kpis {
        kpi_tile(&mut o, k, &previous);
    }
    o.push_str("</div></section>\n");

    // Daily chart.
    section_open(&mut o, "daily", "");
    o.push_str(
        "<div class=\"legend\"><span><i class=\"bar\"></i>conversations (left axis)</span>\
         <span><i class=\"line\"></i>success rate (right axis)</span></div>",
    );
    o.push_str(&charts::daily(&d.daily)?);
    o.push_str("</section>\n");

    // Service levels.
    service_levels(&mut o, &d.service_levels, &previous)?;

    // Heatmap.
    section_open(&mut o, "heatmap", "");
    o.push_str("<p class=\"note\">Conversations created in each hour, Moscow wall clock, over the period.</p>");
    o.push_str(&charts::heatmap(&d.heatmap)?);
    o.push_str("</section>\n");

    // Channel mix and lead funnel side by side.
    o.push_str("<div class=\"grid2 row\">");
    section_open(&mut o, "channels", "");
    o.push_str(
        "<p class=\"note\">Conversations by entry point (widget type), with their share.</p>",
    );
    if d.channels.is_empty() {
        o.push_str("<p class=\"empty\">No conversations in the period.</p>");
    } else {
        let rows = charts::share_rows(
            d.channels
                .iter()
                .map(|c| (c.widget_type.clone(), c.conversations, Some(c.share))),
        );
        o.push_str(&charts::bars("channel mix", &rows)?);
        o.push_str("<table><thead><tr><th>channel</th><th>conversations</th><th>share</th><th>success rate</th></tr></thead><tbody>");
        for c in &d.channels {
            let _ = write!(
                o,
                "<tr data-channel=\"{w}\"><td>{w}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                count(c.conversations),
                percent(c.share),
                c.success_rate.map(percent).unwrap_or_else(|| "–".into()),
                w = escape(&c.widget_type),
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</section>");
    section_open(&mut o, "funnel", "");
    o.push_str("<p class=\"note\">Conversations, the leads created in the period, and of those the completed.</p>");
    let total = d.leads.iter().find(|l| l.lead_type.is_none());
    let (leads, completed) = total.map_or((0, 0), |t| (t.leads, t.completed));
    let conversion = total.and_then(|t| t.completion_rate);
    let completed_note = match conversion {
        Some(r) => format!("{} · {} of leads", count(completed), percent(r)),
        None => count(completed),
    };
    let rows = vec![
        (
            "Conversations".to_owned(),
            d.funnel_conversations,
            count(d.funnel_conversations),
        ),
        ("Leads".to_owned(), leads, count(leads)),
        ("Completed".to_owned(), completed, completed_note),
    ];
    o.push_str(&charts::bars("lead funnel", &rows)?);
    o.push_str("<table><thead><tr><th>lead type</th><th>leads</th><th>completed</th><th>completion</th></tr></thead><tbody>");
    for l in &d.leads {
        let name = l.lead_type.clone().unwrap_or_else(|| "all types".into());
        let _ =
            write!(
            o,
            "<tr data-lead-type=\"{n}\"{strong}><td>{n}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            count(l.leads),
            count(l.completed),
            l.completion_rate.map(percent).unwrap_or_else(|| "–".into()),
            n = escape(&name),
            strong = if l.lead_type.is_none() { " style=\"font-weight:600\"" } else { "" },
        );
    }
    o.push_str("</tbody></table></section></div>\n");

    // Operators.
    section_open(&mut o, "operators", "");
    let _ = write!(
        o,
        "<p class=\"note\">Top {} of {} operators by chats in the period. First answer: mean over answered chats; \
         satisfaction: positive of all votes.</p>",
        d.operators.len(),
        count(d.operators_total)
    );
    if d.operators.is_empty() {
        o.push_str("<p class=\"empty\">No operator activity in the period.</p>");
    } else {
        o.push_str(
            "<table><thead><tr><th class=\"rank\">#</th><th class=\"left\">operator</th><th>chats</th><th>missed</th><th>calls</th>\
             <th>first answer</th><th>votes +</th><th>votes −</th><th>satisfaction</th><th>complaints</th></tr></thead><tbody>",
        );
        for (i, op) in d.operators.iter().enumerate() {
            let name = if op.name.is_empty() {
                format!("employee {}", op.employee_id)
            } else {
                op.name.clone()
            };
            let _ = write!(
                o,
                "<tr data-employee=\"{id}\"><td class=\"rank\">{rank}</td><td class=\"name left\">{name} <span class=\"sub\">#{id}</span></td>\
                 <td>{chats}</td><td>{missed}</td><td>{calls}</td><td>{fa}</td><td>{pos}</td><td>{neg}</td><td>{sat}</td><td>{compl}</td></tr>",
                id = op.employee_id,
                rank = i + 1,
                name = escape(&name),
                chats = count(op.chats),
                missed = count(op.missed_chats),
                calls = count(op.calls),
                fa = op.avg_first_answer_time_s.map(seconds).unwrap_or_else(|| "–".into()),
                pos = count(op.positive_votes),
                neg = count(op.negative_votes),
                sat = op.satisfaction.map(percent).unwrap_or_else(|| "–".into()),
                compl = count(op.complaints),
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</section>\n");

    // Health.
    let h = &d.health;
    section_open(&mut o, "health", "");
    o.push_str("<p class=\"note\">The whole warehouse, whatever the period and filters.</p><div class=\"facts\">");
    let last_ok = match (&h.last_success_at, h.last_success_age_min) {
        (Some(at), Some(m)) => format!("{} UTC <span>({})</span>", escape(at), escape(&age(m))),
        (Some(at), None) => format!("{} UTC", escape(at)),
        _ => "never".to_owned(),
    };
    let facts = [
        ("last-success", "last successful run", last_ok),
        (
            "cursor",
            "cursor (newest window synced)",
            h.cursor
                .as_deref()
                .map_or_else(|| "–".to_owned(), |c| format!("{} UTC", escape(c))),
        ),
        (
            "newest-day",
            "newest day with conversations",
            h.newest_day
                .as_deref()
                .map_or_else(|| "–".to_owned(), escape),
        ),
        (
            "runs",
            "runs recorded / failed",
            format!("{} / {}", count(h.runs_total), count(h.runs_failed)),
        ),
        ("rejected", "rejected records", count(h.rejected)),
        (
            "quality-issues",
            "quality issues",
            count(h.quality.iter().map(|q| q.1).sum()),
        ),
    ];
    for (key, label, value) in facts {
        let _ = write!(
            o,
            "<div data-fact=\"{key}\"><b>{value}</b><span>{label}</span></div>"
        );
    }
    o.push_str("</div>");
    o.push_str("<div class=\"grid2\"><div><h2>Last runs</h2>");
    if h.runs.is_empty() {
        o.push_str("<p class=\"empty\">No runs recorded.</p>");
    } else {
        o.push_str("<table><thead><tr><th>started (UTC)</th><th>status</th><th>duration</th><th>conversations</th><th>rejected</th><th>quality</th></tr></thead><tbody>");
        for r in &h.runs {
            let ok = r.status == "success";
            let _ = write!(
                o,
                "<tr data-run=\"{id}\" title=\"{id} ({pipeline})\"><td>{started}</td><td><span class=\"pill {class}\">{status}</span></td>\
                 <td>{duration}</td><td>{conv}</td><td>{rej}</td><td>{q}</td></tr>",
                id = escape(&r.run_id),
                pipeline = escape(&r.pipeline),
                started = escape(&r.started_at),
                class = if ok { "ok" } else { "bad" },
                status = escape(&r.status),
                duration = r.duration_s.map(seconds).unwrap_or_else(|| "–".into()),
                conv = count(r.conversations),
                rej = count(r.rejected),
                q = count(r.quality_issues),
            );
            if let Some(e) = &r.error {
                let _ = write!(
                    o,
                    "<tr><td colspan=\"6\" class=\"error\">{}</td></tr>",
                    escape(e)
                );
            }
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</div><div><h2>Quality issues by check</h2>");
    if h.quality.is_empty() {
        o.push_str("<p class=\"empty\">No quality issues recorded.</p>");
    } else {
        o.push_str("<table><thead><tr><th>check</th><th>rows</th><th>conversations</th></tr></thead><tbody>");
        for (check, rows, conversations) in &h.quality {
            let _ = write!(
                o,
                "<tr data-check=\"{c}\"><td><code>{c}</code></td><td>{}</td><td>{}</td></tr>",
                count(*rows),
                count(*conversations),
                c = escape(check),
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</div></div></section>\n");

    let _ = write!(
        o,
        "<footer>Generated {} by <code>ltx report</code>. Every number is computed by DuckDB from the warehouse's \
         BI models (<code>daily_conversation_kpis</code>, <code>first_answer_times</code>, <code>hourly_conversations</code>, \
         <code>daily_channel_mix</code>, <code>lead_funnel</code>, <code>daily_operator_performance</code>, \
         <code>sla_daily</code>, <code>sla_chats</code>, <code>sla_targets</code>, <code>schedule_assignments</code>) and \
         <code>_ltx_runs</code>, <code>_quality_issues</code>, <code>_rejected</code>. Days are UTC days.</footer>\n\
         </main>\n</body>\n</html>\n",
        escape(generated_at)
    );
    Ok(o)
}
