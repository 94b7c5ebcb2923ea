//! `ltx status`, `ltx compact`, `ltx register`: thin calls into the loader, printed.

use std::fmt::Write as _;
use std::io::Write;

use ltx_load::{Warehouse, WarehouseStatus};

use crate::cli::{OutputFormat, StatusArgs};
use crate::exit::UsageError;
use crate::Context;

/// `ltx status`: last runs, cursor, rows per table, quality issues, size.
pub fn command(ctx: &Context, args: &StatusArgs) -> anyhow::Result<()> {
    let dir = &ctx.config.destination.warehouse;
    if !Warehouse::exists(dir) {
        return Err(UsageError(format!(
            "no warehouse at {} (run `ltx sync` or `ltx demo` first, or pass --warehouse)",
            dir.display()
        ))
        .into());
    }
    // Read-only: status never waits for (or blocks) a running sync.
    let wh = Warehouse::open_readonly(dir)?;
    let status = wh.status(args.runs)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &status)?;
            writeln!(out)?;
        }
        OutputFormat::Table | OutputFormat::Csv => {
            // The catalog adds what only the views know; when it cannot be read (moved,
            // copied, not built) the figures come from the manifest and the reason is shown.
            let catalog = crate::query::open_catalog(dir);
            let (checks, visible) = match &catalog {
                Ok(conn) => (quality_by_check(conn), dimension_rows(conn)),
                Err(_) => Default::default(),
            };
            out.write_all(render(&status, &checks, &visible).as_bytes())?;
            if let Ok(conn) = &catalog {
                let drift = crate::summary::drift_lines(&drift_by_field(conn), 20);
                if !drift.is_empty() {
                    writeln!(out)?;
                }
                for line in drift {
                    writeln!(out, "{line}")?;
                }
            }
            if let Err(e) = catalog {
                writeln!(out, "\ncatalog    {e:#}")?;
            }
        }
    }
    Ok(())
}

/// Quality issues per check, from the catalog (empty when it cannot be read).
fn quality_by_check(conn: &duckdb::Connection) -> Vec<(String, i64)> {
    let Ok(mut stmt) =
        conn.prepare("SELECT \"check\", count(*) FROM _quality_issues GROUP BY 1 ORDER BY 2 DESC")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

/// Schema drift in the warehouse: conversations per drifted field and kind
/// (`employees[].role: string where object expected`), from the catalog.
fn drift_by_field(conn: &duckdb::Connection) -> std::collections::BTreeMap<String, u64> {
    let sql =
        "SELECT field || ': ' || received_type || ' where ' || expected_type || ' expected', \
               count(DISTINCT conversation_id) FROM _quality_issues \
               WHERE \"check\" = 'schema_drift' GROUP BY 1";
    let Ok(mut stmt) = conn.prepare(sql) else {
        return Default::default();
    };
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map(|rows| {
            rows.flatten()
                .map(|(k, n)| (k, u64::try_from(n).unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Rows the dimension views show (the latest row per key; their files hold one row per
/// conversation that mentioned the key) and distinct `_rejected` records (their files
/// hold one row per sync that saw the record).
fn dimension_rows(conn: &duckdb::Connection) -> std::collections::BTreeMap<String, i64> {
    use ltx_transform::Table;
    [
        Table::Employees,
        Table::Visitors,
        Table::Sites,
        Table::Departments,
        Table::Rejected,
    ]
    .iter()
    .filter_map(|t| {
        let n = conn
            .query_row(&format!("SELECT count(*) FROM \"{}\"", t.name()), [], |r| {
                r.get::<_, i64>(0)
            })
            .ok()?;
        Some((t.name().to_owned(), n))
    })
    .collect()
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn ts(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// The human-readable status report.
///
/// `visible` holds the view's row count where it differs from the rows stored in files
/// (dimensions); other tables show the stored count, which their views show too.
pub fn render(
    s: &WarehouseStatus,
    checks: &[(String, i64)],
    visible: &std::collections::BTreeMap<String, i64>,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "warehouse  {}", s.dir.display());
    let _ = writeln!(
        o,
        "generation {} committed {}, {} on disk, {} retired files awaiting deletion",
        s.generation,
        s.committed_at.format("%Y-%m-%dT%H:%M:%SZ"),
        human_bytes(s.size_on_disk_bytes),
        s.retired_files
    );
    let h = &s.history;
    let oldest = match (h.oldest_generation, h.oldest_committed_at) {
        (Some(g), Some(t)) => format!(", the oldest generation {g} committed {}", ts(Some(t))),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "history    {} generations readable with --as-of{oldest}; {} of retired files kept for them, {} replaced conversation versions ({})",
        h.generations,
        human_bytes(h.retired_bytes),
        h.superseded_conversations,
        human_bytes(h.superseded_bytes)
    );
    let _ = writeln!(o, "\npipelines");
    if s.pipelines.is_empty() {
        let _ = writeln!(o, "  (none yet)");
    }
    for (name, p) in &s.pipelines {
        let _ = writeln!(
            o,
            "  {name:<16} cursor {}  last success {} ({})",
            ts(p.cursor),
            ts(p.last_success_at),
            p.last_success_run.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(o, "\ntables");
    let _ = writeln!(
        o,
        "  {:<24} {:>10} {:>12} {:>6} {:>10} {:>10}",
        "table", "rows", "stored rows", "files", "partitions", "size"
    );
    for t in &s.tables {
        let shown = visible
            .get(&t.name)
            .map_or_else(|| t.rows.to_string(), i64::to_string);
        let _ = writeln!(
            o,
            "  {:<24} {:>10} {:>12} {:>6} {:>10} {:>10}",
            t.name,
            shown,
            t.rows,
            t.files,
            t.partitions,
            human_bytes(t.bytes)
        );
    }
    let _ = writeln!(
        o,
        "\nquality    {} issues, {} rejected records",
        s.quality_issues_total, s.rejected_total
    );
    for (check, n) in checks {
        let _ = writeln!(o, "  {check:<24} {n:>10}");
    }
    let _ = writeln!(o, "\nlast runs (newest first)");
    if s.runs.is_empty() {
        let _ = writeln!(o, "  (none yet)");
    }
    for r in &s.runs {
        let rows: u64 = r.rows.values().sum();
        let status = format!("{:?}", r.status).to_lowercase();
        let _ = writeln!(
            o,
            "  {}  {:<7} {:<10} window [{}, {})  {} conversations ({} new, {} replaced), {} rows, {} requests, {:.1}s",
            r.run_id,
            status,
            r.pipeline,
            ts(r.window_from),
            ts(r.window_to),
            r.conversations,
            r.conversations_new,
            r.conversations_replaced,
            rows,
            r.http_requests,
            (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0
        );
        if let Some(e) = &r.error {
            let _ = writeln!(o, "      error: {e}");
        }
    }
    o
}

/// `ltx compact`.
pub fn compact(ctx: &Context) -> anyhow::Result<()> {
    let wh = Warehouse::open(&ctx.config.destination.warehouse, ctx.config.load_options())?;
    let r = wh.compact()?;
    println!(
        "compacted {} partitions: {} files merged into {}, {} rows rewritten (generation {})",
        r.partitions, r.files_merged, r.files_written, r.rows, r.generation
    );
    crate::exit::catalog_rebuilt(r.catalog_error.as_ref())?;
    Ok(())
}

/// `ltx register`.
pub fn register(ctx: &Context) -> anyhow::Result<()> {
    let wh = Warehouse::open(&ctx.config.destination.warehouse, ctx.config.load_options())?;
    let models = wh.rebuild_catalog()?;
    println!(
        "registered the table views and {models} models in {}",
        wh.catalog_path().display()
    );
    Ok(())
}
