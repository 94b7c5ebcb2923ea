//! `ltx demo`: the whole pipeline against the embedded simulator, in well under a minute.
//!
//! Starts `ltx_sim` on an ephemeral port, runs a full sync, advances the simulated clock,
//! runs an incremental sync, then prints rows per table, throughput and three BI queries,
//! and writes the HTML report (`ltx report`) beside the warehouse's catalog.

use std::time::{Duration, Instant};

use ltx_extract::{AuthConfig, Secret};
use ltx_sim::{SimConfig, SimServer};

use crate::cli::{DemoArgs, OutputFormat};
use ltx_pipeline::{parse_duration, Config, RunReport, SyncOptions};

use crate::exit::UsageError;
use crate::summary::summary;
use crate::sync::watched;

/// Days of simulated history before the simulator's clock.
const DEMO_HISTORY_DAYS: u32 = 14;

/// The simulated "now" of the demo: a Monday, 11:00 in Moscow, so that the hours the clock
/// advances before the incremental sync are busy ones (new conversations arrive).
fn demo_clock() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 2, 8, 0, 0)
        .single()
        .unwrap_or_else(ltx_sim::default_start_clock)
}

/// The example queries the demo prints (over the BI models).
pub const EXAMPLE_QUERIES: [(&str, &str); 4] = [
    (
        "Conversations and success rate per day (last 5 days)",
        "SELECT day_utc, sum(conversations) AS conversations, \
         round(sum(successful) / sum(conversations), 3) AS success_rate, sum(chats) AS chats \
         FROM daily_conversation_kpis GROUP BY day_utc ORDER BY day_utc DESC LIMIT 5",
    ),
    (
        "Top operators by chats",
        "SELECT employee_id, first_name, last_name, chats, avg_first_answer_time_s, \
         positive_votes, negative_votes FROM operator_performance ORDER BY chats DESC LIMIT 5",
    ),
    (
        "Channel mix",
        "SELECT widget_type, conversations, share, success_rate FROM channel_mix",
    ),
    (
        "Service levels: first answer within the target, in working time, per department",
        "SELECT department_id, sum(met) AS met, sum(breached) AS breached, \
         round(sum(met) / nullif(sum(met) + sum(breached), 0), 3) AS attainment, \
         round(sum(business_s_sum) / nullif(sum(answered), 0), 1) AS avg_business_s, \
         round(sum(calendar_s_sum) / nullif(sum(answered), 0), 1) AS avg_calendar_s \
         FROM sla_daily WHERE metric = 'chat_first_answer' GROUP BY department_id \
         ORDER BY sum(met) + sum(breached) DESC LIMIT 5",
    ),
];

/// Runs the demo.
pub async fn run(args: &DemoArgs, quiet: bool) -> anyhow::Result<()> {
    let advance =
        parse_duration(&args.advance).map_err(|e| UsageError(format!("--advance: {e}")))?;
    let started = Instant::now();
    // Two weeks of history: a busy enough account that a couple of simulated hours bring
    // new and updated conversations for the incremental sync to pick up.
    let sim = SimServer::start(SimConfig {
        history_days: DEMO_HISTORY_DAYS,
        seed: args.seed,
        conversations: args.conversations,
        start_clock: demo_clock(),
        ..SimConfig::default()
    })
    .await?;
    eprintln!(
        "simulator: {} conversations on {} (clock {})",
        args.conversations,
        sim.base_url(),
        sim.now().format("%Y-%m-%dT%H:%M:%SZ")
    );

    let mut config = Config::defaults()?;
    config.name = "demo".to_owned();
    config.source.base_url = sim.base_url();
    config.source.rate_limit_per_s = 0.0;
    config.source.concurrency = 8;
    // The simulated account's history starts `history_days` before its clock; a week-long
    // window keeps the number of (cheap, but sequentially planned) windows small.
    let history = chrono::Duration::days(i64::from(DEMO_HISTORY_DAYS) + 1);
    config.sync.start_date = (sim.now() - history)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    config.sync.window = "7d".to_owned();
    // The simulated clock stands still between syncs: nothing is still changing.
    config.sync.settle = "0s".to_owned();
    config.destination.warehouse = args.warehouse.clone();
    config.validate("ltx demo")?;
    let auth = AuthConfig::Token {
        token: Secret::new(sim.token()),
    };
    // A full refresh: re-running the demo on the same directory converges to the same rows.
    let full_refresh = SyncOptions {
        full_refresh: true,
        ..SyncOptions::default()
    };
    let full = watched("sync", true, quiet, |watch| {
        ltx_pipeline::sync(&config, auth.clone(), full_refresh, watch)
    })
    .await?;
    println!("full sync:        {}", summary(&full));
    crate::exit::catalog_rebuilt(full.commit.catalog_error.as_ref())?;
    sim.advance(chrono::Duration::from_std(advance).unwrap_or(chrono::Duration::hours(2)));
    let incr = watched("sync", true, quiet, |watch| {
        ltx_pipeline::sync(&config, auth, SyncOptions::default(), watch)
    })
    .await?;
    println!(
        "incremental sync: {} (after the simulated clock moved {})",
        summary(&incr),
        args.advance
    );
    crate::exit::catalog_rebuilt(incr.commit.catalog_error.as_ref())?;
    sim.shutdown().await;

    let warehouse = args.warehouse.clone();
    let total = started.elapsed();
    tokio::task::spawn_blocking(move || print_summary(&warehouse, &full, &incr, total)).await??;
    Ok(())
}

fn print_summary(
    warehouse: &std::path::Path,
    full: &RunReport,
    incr: &RunReport,
    total: Duration,
) -> anyhow::Result<()> {
    let conn = crate::query::open_catalog(warehouse)?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    let counts = ltx_transform::Table::ALL
        .iter()
        .map(|t| {
            format!(
                "SELECT '{0}' AS \"table\", count(*) AS \"rows\" FROM \"{0}\"",
                t.name()
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let (schema, batches) = crate::query::run(&conn, &counts)?;
    writeln!(out, "\nRows per table in {}:", warehouse.display())?;
    crate::query::write(&mut out, OutputFormat::Table, &schema, &batches)?;
    let fetched = full.conversations + incr.conversations;
    let sync_secs = (full.elapsed + incr.elapsed).as_secs_f64().max(1e-9);
    writeln!(
        out,
        "{fetched} conversation records fetched by 2 syncs ({} + {} of them new to the \
         warehouse) in {:.2}s ({:.0} conversations/s); demo total {:.2}s",
        full.commit.conversations_new,
        incr.commit.conversations_new,
        sync_secs,
        fetched as f64 / sync_secs,
        total.as_secs_f64()
    )?;
    for (title, sql) in EXAMPLE_QUERIES {
        writeln!(out, "\n-- {title}\n{sql};")?;
        let (schema, batches) = crate::query::run(&conn, sql)?;
        crate::query::write(&mut out, OutputFormat::Table, &schema, &batches)?;
    }
    writeln!(
        out,
        "\nMore: ltx query --warehouse {} \"SELECT * FROM hourly_load_heatmap WHERE clock = 'MSK'\"",
        warehouse.display()
    )?;
    let report = crate::report::demo_path(warehouse);
    crate::report::write(warehouse, &ltx_report::ReportOptions::default(), &report)?;
    writeln!(
        out,
        "\nReport: {} (open it in a browser; `ltx report --help` for periods and filters)",
        report.display()
    )?;
    Ok(())
}
