//! `ltx report`: the HTML file of a synced warehouse, rendered by headless Chromium — a
//! full-page screenshot (`docs/report.png` with `LTX_WRITE_DOCS=1`), in light and dark mode,
//! no console message, no request leaving the page, every panel in the rendered DOM and
//! none wider than its box, and KPI and service-level tiles equal to `ltx query` on the
//! same warehouse. Exit codes of bad periods and missing warehouses; `ltx demo` writing the
//! report.
//!
//! Chromium: `LTX_CHROMIUM`, else `chromium`/`chromium-browser`/`google-chrome` on `PATH`.
//! Without one the browser part is skipped with a message, except under `CI=true`, where
//! it fails (`.ci/run` installs Debian's `chromium`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ltx_sim::SimConfig;

use crate::common;
use common::sim::{stdout, sync, Scratch, Sim};
use common::{ltx, ok, text};

/// The KPI tiles: `data-kpi` → `data-value` (empty = NULL) of `html`, in page order.
fn kpi_tiles(html: &str) -> Vec<(String, Option<f64>)> {
    html.split("data-kpi=\"")
        .skip(1)
        .map(|rest| {
            let key = rest[..rest.find('"').unwrap()].to_owned();
            let v = rest.split("data-value=\"").nth(1).unwrap();
            let v = &v[..v.find('"').unwrap()];
            (key, (!v.is_empty()).then(|| v.parse().unwrap()))
        })
        .collect()
}

/// The value of `attr="…"` on the first element that has it.
fn attr(html: &str, attr: &str) -> String {
    let rest = html.split(&format!("{attr}=\"")).nth(1).unwrap();
    rest[..rest.find('"').unwrap()].to_owned()
}

/// One number from `ltx query --format json` (`null` → None).
fn query_number(s: &Scratch, wh: &str, sql: &str) -> Option<f64> {
    let o = ok(ltx(
        s.path(),
        &["query", "--warehouse", wh, "--format", "json", sql],
        &[],
    ));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let cell = v[0].as_object().unwrap().values().next().unwrap().clone();
    match cell {
        serde_json::Value::Null => None,
        serde_json::Value::Number(n) => n.as_f64(),
        // DECIMAL and HUGEINT results come as strings.
        serde_json::Value::String(s) => Some(s.parse().unwrap()),
        other => panic!("{sql}: {other}"),
    }
}

/// Asserts that every KPI tile of `html` equals an independent `ltx query` for the period
/// of its header (`where_models` filters the models, `where_chats` the chats table).
fn assert_kpis_match_ltx_query(s: &Scratch, wh: &str, html: &str, filter: &str) {
    let (from, to) = (attr(html, "data-from"), attr(html, "data-to"));
    let days = format!("day_utc BETWEEN DATE '{from}' AND DATE '{to}'{filter}");
    let chat_days = format!(
        "CAST(CAST(created_at AS TIMESTAMP) AS DATE) BETWEEN DATE '{from}' AND DATE '{to}'{filter}"
    );
    let sum =
        |col: &str| format!("SELECT sum({col}) AS v FROM daily_conversation_kpis WHERE {days}");
    let expected = [
        ("conversations", sum("conversations")),
        (
            "success_rate",
            format!("SELECT sum(successful) / sum(conversations) AS v FROM daily_conversation_kpis WHERE {days}"),
        ),
        ("chats", sum("chats")),
        ("calls", sum("calls")),
        ("leads", sum("leads")),
        ("complaints", sum("complaints")),
        (
            "median_first_answer_s",
            format!("SELECT median(first_answer_time_s) AS v FROM chats WHERE {chat_days}"),
        ),
    ];
    let tiles = kpi_tiles(html);
    assert_eq!(
        tiles.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    for ((key, shown), (_, sql)) in tiles.iter().zip(&expected) {
        let want = query_number(s, wh, sql);
        let same = match (shown, want) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            (None, None) => true,
            _ => false,
        };
        assert!(same, "KPI {key}: page {shown:?}, ltx query {want:?}\n{sql}");
    }
    assert!(tiles[0].1.unwrap() > 0.0, "no conversations in the period");
}

/// The value of `name="…"` in one opening tag.
fn tag_attr(tag: &str, name: &str) -> String {
    let rest = tag.split(&format!(" {name}=\"")).nth(1).unwrap();
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The service-level tiles: `data-sla` → its opening tag, in page order.
fn sla_tiles(html: &str) -> Vec<(String, String)> {
    html.split("data-sla=\"")
        .skip(1)
        .map(|rest| {
            let key = rest[..rest.find('"').unwrap()].to_owned();
            (key, format!(" {}", &rest[..rest.find('>').unwrap()]))
        })
        .collect()
}

/// The rows of `ltx query --format json`.
fn query_rows(s: &Scratch, wh: &str, sql: &str) -> Vec<serde_json::Value> {
    let o = ok(ltx(
        s.path(),
        &["query", "--warehouse", wh, "--format", "json", sql],
        &[],
    ));
    serde_json::from_str::<serde_json::Value>(&stdout(&o))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Asserts that the service-level tiles of `html` (met, breached, pending, attainment) equal
/// one `ltx query` over the item models `sla_chats`, `sla_leads` and `sla_complaints` for
/// the period of its header, with the statuses as sql/README.md defines the parts.
fn assert_sla_matches_ltx_query(s: &Scratch, wh: &str, html: &str, filter: &str) {
    let (from, to) = (attr(html, "data-from"), attr(html, "data-to"));
    let part = |metric: &str, model: &str, status: &str| {
        format!(
            "SELECT '{metric}' AS metric, \
                    count(*) FILTER (WHERE {status} = 'met') AS met, \
                    count(*) FILTER (WHERE {status} IN ('breached', 'unanswered_breached', 'open_breached')) AS breached, \
                    count(*) FILTER (WHERE {status} IN ('abandoned', 'open')) AS pending \
             FROM {model} WHERE day_utc BETWEEN DATE '{from}' AND DATE '{to}'{filter}"
        )
    };
    let sql = [
        part("chat_first_answer", "sla_chats", "first_answer_status"),
        part("lead_answer", "sla_leads", "answer_status"),
        part("complaint_first_action", "sla_complaints", "action_status"),
    ]
    .join(" UNION ALL ");
    let want = query_rows(s, wh, &sql);
    let tiles = sla_tiles(html);
    assert_eq!(
        tiles.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        ["chat_first_answer", "lead_answer", "complaint_first_action"]
    );
    for (key, tag) in &tiles {
        let row = want.iter().find(|r| r["metric"] == key.as_str()).unwrap();
        let n = |k: &str| row[k].as_i64().unwrap();
        let (met, breached, pending) = (n("met"), n("breached"), n("pending"));
        let shown = |k: &str| tag_attr(tag, k).parse::<i64>().unwrap();
        assert_eq!(
            (
                shown("data-met"),
                shown("data-breached"),
                shown("data-pending")
            ),
            (met, breached, pending),
            "SLA tile {key}\n{sql}"
        );
        let value = tag_attr(tag, "data-value");
        match met + breached {
            0 => assert_eq!(value, "", "SLA tile {key}: nothing decided"),
            decided => {
                let v: f64 = value.parse().unwrap();
                let want = met as f64 / decided as f64;
                assert!(
                    (v - want).abs() < 1e-9,
                    "SLA tile {key}: page {v}, ltx query {want}"
                );
            }
        }
    }
    // The default configuration has a target for each metric, and the account has chats.
    assert_eq!(tag_attr(&tiles[0].1, "data-state"), "ok");
    assert!(tag_attr(&tiles[0].1, "data-met").parse::<i64>().unwrap() > 0);
}

/// Static check: the file refers to nothing outside itself.
fn assert_self_contained(html: &str) {
    for banned in [
        "http://", "https://", "ws://", "wss://", "//cdn", "<script", "<link", "<img", "<iframe",
        "@import",
    ] {
        assert!(!html.contains(banned), "the report contains {banned:?}");
    }
    for needle in ["src=", "href=", "url("] {
        for (i, _) in html.match_indices(needle) {
            let target = html[i + needle.len()..].trim_start_matches(['"', '\'']);
            assert!(
                target.starts_with("data:") || target.starts_with('#'),
                "{needle} refers outside the file: {}",
                &html[i..(i + 60).min(html.len())]
            );
        }
    }
    assert!(html.contains("<meta charset=\"utf-8\">"));
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LTX_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium with `args` on `page`, killed after two minutes. Its output goes
/// through files: a `--dump-dom` page is larger than a pipe's buffer.
fn headless(browser: &Path, profile: &Path, args: &[&str], page: &Path) -> Output {
    let out_path = profile.with_extension("stdout");
    let err_path = profile.with_extension("stderr");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 2 minutes: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

/// URLs the *page* asked the network for, from a Chromium net log: requests the browser
/// makes for itself (time sync, component updates) have no origin as initiator; a page
/// opened from disk is the opaque origin `null`.
fn page_requests(net_log: &Path) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net_log).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| e["params"]["initiator"] != "not an origin")
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// Width and height of a PNG file (its IHDR chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[1..4], b"PNG", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// The rendered page in Chromium: height, screenshots, console, network, DOM.
fn check_in_chromium(browser: &Path, s: &Scratch, wh: &str, report: &Path) {
    let work = s.wh("chromium");
    std::fs::create_dir_all(&work).unwrap();
    let profile = work.join("profile");
    // The page's full height, and the panels wider than their box: a copy of the page
    // (this one only) reports them as its title, at the screenshot's width and a narrow one
    // (where the side-by-side panels stack).
    let html = std::fs::read_to_string(report).unwrap();
    let measure = work.join("measure.html");
    std::fs::write(
        &measure,
        html.replace("</body>", &format!("{MEASURE}</body>")),
    )
    .unwrap();
    let mut height = 0;
    for width in [1280, 820] {
        let o = headless(
            browser,
            &profile,
            &[&format!("--window-size={width},900"), "--dump-dom"],
            &measure,
        );
        let dom = stdout(&o);
        let title = attr_title(&dom);
        let (h, overflow) = title.split_once(";overflow:").unwrap();
        assert_eq!(
            overflow, "",
            "wider than their box at {width} px: {overflow}"
        );
        if width == 1280 {
            height = h.parse().unwrap();
        }
    }
    assert!(height > 1000, "page height {height}");
    // The overflow check can see one: a block too wide for its panel is caught.
    let wide = work.join("wide.html");
    std::fs::write(
        &wide,
        std::fs::read_to_string(&measure).unwrap().replacen(
            "<h3>Chat first answer per day</h3>",
            "<div style=\"width:2000px\">wide</div>",
            1,
        ),
    )
    .unwrap();
    let o = headless(
        browser,
        &profile,
        &["--window-size=1280,900", "--dump-dom"],
        &wide,
    );
    assert!(
        attr_title(&stdout(&o)).ends_with(";overflow:sla,page"),
        "{}",
        attr_title(&stdout(&o))
    );

    // The page itself: no console message at all (it has no script: any message is an
    // error such as a blocked load), no request, every panel and tile in the DOM.
    let net_log = work.join("net-log.json");
    let o = headless(
        browser,
        &profile,
        &[
            "--window-size=1280,900",
            "--dump-dom",
            &format!("--log-net-log={}", net_log.display()),
        ],
        report,
    );
    let console: Vec<&str> = std::str::from_utf8(&o.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let requests = page_requests(&net_log);
    assert!(requests.is_empty(), "the page requested {requests:?}");
    let dom = stdout(&o);
    for (id, title) in ltx_report::html::PANELS {
        assert!(
            dom.contains(&format!("data-panel=\"{id}\"")),
            "panel {id} not rendered"
        );
        assert!(dom.contains(title), "panel title {title:?} not rendered");
    }
    assert_eq!(dom.matches("<svg").count(), 5, "five charts");
    assert!(dom.contains("Load by hour of the week (Moscow time)"));
    assert_kpis_match_ltx_query(s, wh, &dom, "");
    assert_sla_matches_ltx_query(s, wh, &dom, "");
    assert!(dom.contains("Chat first answer within <b>60 s</b> of working time"));

    // The request check can see a request: a page with one external image is caught.
    let leaky = work.join("leaky.html");
    std::fs::write(
        &leaky,
        "<html><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .unwrap();
    let leaky_log = work.join("leaky-net-log.json");
    headless(
        browser,
        &profile,
        &[
            "--dump-dom",
            &format!("--log-net-log={}", leaky_log.display()),
        ],
        &leaky,
    );
    assert_eq!(page_requests(&leaky_log), ["http://127.0.0.1:9/x.png"]);

    // Full-page screenshots, light and dark.
    let docs = std::env::var("LTX_WRITE_DOCS").is_ok_and(|v| v == "1");
    let light = if docs {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.png")
    } else {
        work.join("report.png")
    };
    let dark = work.join("report-dark.png");
    let size = format!("--window-size=1280,{height}");
    for (png, extra) in [
        (&light, vec![]),
        (
            &dark,
            vec![
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ],
        ),
    ] {
        let _ = std::fs::remove_file(png);
        let shot = format!("--screenshot={}", png.display());
        let mut args = vec![size.as_str(), shot.as_str()];
        args.extend(extra);
        let o = headless(browser, &profile, &args, report);
        assert!(
            png.exists(),
            "no screenshot {}: {}",
            png.display(),
            text(&o)
        );
        assert_eq!(png_size(png), (1280, height));
    }
    eprintln!(
        "report screenshots: {} and {}",
        light.display(),
        dark.display()
    );
}

/// A script for the measuring copy of the page: its title becomes `height:<px>;overflow:`
/// followed by the panels (`data-panel`) that are wider than their box or have an element
/// sticking out of it (SVG contents aside: the SVG clips them), and `page` when the page
/// scrolls sideways.
const MEASURE: &str = "<script>\
var over=[],root=document.documentElement;\
document.querySelectorAll('[data-panel]').forEach(function(p){\
var r=p.getBoundingClientRect(),bad=p.scrollWidth>p.clientWidth+1;\
p.querySelectorAll('*').forEach(function(e){\
if(e.parentElement.closest('svg'))return;\
var q=e.getBoundingClientRect();\
if(q.width>0&&(q.right>r.right+1||q.left<r.left-1))bad=true;});\
if(bad)over.push(p.dataset.panel);});\
if(root.scrollWidth>root.clientWidth+1)over.push('page');\
document.title='height:'+root.scrollHeight+';overflow:'+over.join(',');\
</script>";

fn attr_title(dom: &str) -> String {
    let t = dom.split("<title>").nth(1).unwrap();
    t[..t.find("</title>").unwrap()]
        .trim_start_matches("height:")
        .to_owned()
}

#[test]
fn report_renders_in_chromium_and_matches_ltx_query() {
    // 75 days of history: the 30-day period has a previous period to compare with.
    let sim = Sim::start(SimConfig {
        conversations: 4000,
        seed: 21,
        history_days: 75,
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    let w = wh.to_str().unwrap();
    let out = s.wh("report.html");
    let o = ok(ltx(
        s.path(),
        &["report", "--warehouse", w, "--out", out.to_str().unwrap()],
        &[],
    ));
    assert!(stdout(&o).contains(out.to_str().unwrap()), "{}", text(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert_self_contained(&html);
    for (id, _) in ltx_report::html::PANELS {
        assert!(html.contains(&format!("data-panel=\"{id}\"")), "panel {id}");
    }
    assert_kpis_match_ltx_query(&s, w, &html, "");
    assert_sla_matches_ltx_query(&s, w, &html, "");
    // The previous period had data: the tiles show a change.
    assert!(
        !attr(&html, "data-previous").is_empty(),
        "no previous value"
    );

    // Filters: one site and department.
    let site = query_number(
        &s,
        w,
        "SELECT site_id FROM conversations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .unwrap() as i64;
    let department = query_number(&s, w, &format!("SELECT department_id FROM conversations WHERE site_id = {site} AND department_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).unwrap() as i64;
    let filtered = s.wh("filtered.html");
    ok(ltx(
        s.path(),
        &[
            "report",
            "--warehouse",
            w,
            "--out",
            filtered.to_str().unwrap(),
            "--site",
            &site.to_string(),
            "--department",
            &department.to_string(),
        ],
        &[],
    ));
    let fhtml = std::fs::read_to_string(&filtered).unwrap();
    assert_kpis_match_ltx_query(
        &s,
        w,
        &fhtml,
        &format!(" AND site_id = {site} AND department_id = {department}"),
    );
    assert!(kpi_tiles(&fhtml)[0].1 < kpi_tiles(&html)[0].1);
    assert_sla_matches_ltx_query(
        &s,
        w,
        &fhtml,
        &format!(" AND site_id = {site} AND department_id = {department}"),
    );

    // The default --out is inside the warehouse; an explicit period is honoured.
    let o = ok(ltx(
        s.path(),
        &[
            "report",
            "--warehouse",
            w,
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-07",
        ],
        &[],
    ));
    let default_out = wh.join("report.html");
    assert!(
        stdout(&o).contains(default_out.to_str().unwrap()),
        "{}",
        text(&o)
    );
    let week = std::fs::read_to_string(&default_out).unwrap();
    assert_eq!(
        (attr(&week, "data-from"), attr(&week, "data-to")),
        ("2026-10-01".into(), "2026-10-07".into())
    );
    assert_eq!(attr(&week, "data-previous-from"), "2026-09-24");

    match chromium() {
        Some(browser) => check_in_chromium(&browser, &s, w, &out),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no Chromium found (apt-get install chromium, or set LTX_CHROMIUM)")
        }
        None => eprintln!(
            "SKIPPED the browser part of the report test: no Chromium (apt-get install chromium, or set LTX_CHROMIUM)"
        ),
    }
}

#[test]
fn bad_periods_and_missing_warehouses_are_usage_errors() {
    let s = Scratch::new();
    let (wh, _) = common::sim::import_generated(&s, 20);
    let w = wh.to_str().unwrap();
    let o = ltx(
        s.path(),
        &[
            "report",
            "--warehouse",
            w,
            "--from",
            "2026-02-01",
            "--to",
            "2026-01-01",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("2026-02-01") && text(&o).contains("2026-01-01"),
        "{}",
        text(&o)
    );
    let o = ltx(
        s.path(),
        &["report", "--warehouse", w, "--from", "2026-13-01"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = ltx(
        s.path(),
        &["report", "--warehouse", s.wh("nowhere").to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("ltx sync"), "{}", text(&o));
    // An output directory that does not exist: the run fails (1) and names the file.
    let out = s.wh("no/such/dir/r.html");
    let o = ltx(
        s.path(),
        &["report", "--warehouse", w, "--out", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("r.html"), "{}", text(&o));
}

#[test]
fn demo_writes_the_report_and_prints_its_path() {
    let s = Scratch::new();
    let wh = s.wh("demo-wh");
    let o = ok(ltx(
        s.path(),
        &[
            "demo",
            "-q",
            "--warehouse",
            wh.to_str().unwrap(),
            "--conversations",
            "200",
        ],
        &[],
    ));
    let report = wh.join("report.html");
    assert!(
        stdout(&o).contains(&format!("Report: {}", report.display())),
        "{}",
        text(&o)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&html);
    assert_kpis_match_ltx_query(&s, wh.to_str().unwrap(), &html, "");
    assert_sla_matches_ltx_query(&s, wh.to_str().unwrap(), &html, "");
}
