//! How a run's report is printed: the summary line, warnings and schema drift.

use std::collections::BTreeMap;

use ltx_pipeline::report::quality_by_check;
use ltx_pipeline::RunReport;
use ltx_transform::TransformStats;

/// One summary line of a run (then one `WARNING:` line per warning).
pub fn summary(report: &RunReport) -> String {
    let rows: u64 = report.commit.tables.values().map(|t| t.rows_added).sum();
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    let c = &report.commit;
    format!(
        "run {}: {} conversations ({} new, {} updated, {} unchanged), {} rows written, {} rejected, {}, in {:.2}s ({:.0} conversations/s){}",
        report.run_id,
        report.conversations,
        c.conversations_new,
        c.conversations_replaced,
        c.conversations_unchanged,
        rows,
        report.stats.rejected,
        quality_summary(&report.stats),
        report.elapsed.as_secs_f64(),
        report.conversations as f64 / secs,
        match report.window {
            Some((f, t)) => format!(
                ", window [{}, {})",
                f.format("%Y-%m-%dT%H:%M:%SZ"),
                t.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            None => String::new(),
        }
    ) + &pushed_line(c.pushed.as_ref())
        + &report
            .warnings
        .iter()
        .map(|w| format!("\nWARNING: {w}"))
        .collect::<String>()
}

/// `\npushed: commit 12, 34 objects, 5.6 MB` for a warehouse on object storage.
fn pushed_line(pushed: Option<&ltx_load::PushReport>) -> String {
    match pushed {
        None => String::new(),
        Some(p) => format!(
            "\npushed: commit {}, {} objects, {:.1} MB, {} Delta log objects, {} deleted",
            p.seq,
            p.uploaded,
            p.bytes as f64 / 1e6,
            p.delta_logs,
            p.deleted
        ),
    }
}

/// Prints the summary and the schema drift of a run to stdout.
pub fn print(report: &RunReport) {
    println!("{}", summary(report));
    for line in drift_lines(&report.stats.drift, 20) {
        println!("{line}");
    }
}

/// The schema drift of a run, one line per drifted field and kind, most frequent first
/// (at most `limit`, then a count of the rest); empty when there was none:
/// `  employees[].role: string where object expected, 1,912 conversations`.
pub fn drift_lines(drift: &BTreeMap<String, u64>, limit: usize) -> Vec<String> {
    if drift.is_empty() {
        return Vec::new();
    }
    let mut kinds: Vec<(&String, &u64)> = drift.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out = vec![
        "schema drift (typed column null, value as received in the row's _extra; rows in _quality_issues):"
            .to_owned(),
    ];
    for (kind, n) in kinds.iter().take(limit) {
        out.push(format!("  {kind}, {} conversations", thousands(**n)));
    }
    if kinds.len() > limit {
        out.push(format!("  … and {} more kinds", kinds.len() - limit));
    }
    out
}

/// `1912` → `1,912`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "0 quality issues", or "101 quality issues (message_count 98, chat_count 3)".
fn quality_summary(stats: &TransformStats) -> String {
    let by_check = quality_by_check(stats);
    let total: u64 = by_check.values().sum();
    if total == 0 {
        return "0 quality issues".to_owned();
    }
    let mut parts: Vec<(&String, &u64)> = by_check.iter().collect();
    parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = parts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{total} quality issues ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_lines_count_with_separators_most_frequent_first() {
        let drift = BTreeMap::from([
            ("a: string where object expected".to_owned(), 3),
            (
                "employees[].role: string where object expected".to_owned(),
                1912,
            ),
        ]);
        let lines = drift_lines(&drift, 1);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            "  employees[].role: string where object expected, 1,912 conversations"
        );
        assert_eq!(lines[2], "  … and 1 more kinds");
        assert!(drift_lines(&BTreeMap::new(), 20).is_empty());
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
