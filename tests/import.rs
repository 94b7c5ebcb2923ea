//! `ltx import`: JSON and gzip'd JSONL files take the sync's path into the warehouse (a
//! record that cannot be versioned is a `_rejected` row naming file and record); a
//! truncated or corrupt file fails naming the record and commits nothing; quality findings
//! per check reach the summary and the run log.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common;
use common::sim::{assert_matches_truth, catalog, import_generated, stderr, stdout, Scratch, Sim};
use common::{ltx, ok, text};

/// conversation_id → updated_at (ms) as the warehouse's view shows it; asserts no duplicates.
fn warehouse_truth(wh: &Path) -> BTreeMap<i64, i64> {
    let conn = catalog(wh);
    let mut stmt = conn
        .prepare(
            "SELECT conversation_id, epoch_ms(CAST(updated_at AS TIMESTAMP)) \
             FROM conversations ORDER BY 1",
        )
        .unwrap();
    let rows: Vec<(i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let n = rows.len();
    let map: BTreeMap<i64, i64> = rows.into_iter().collect();
    assert_eq!(
        map.len(),
        n,
        "duplicate conversation ids in the conversations view"
    );
    map
}

#[test]
fn import_files_through_the_same_path() {
    let sim = Sim::small(120);
    let s = Scratch::new();
    // A JSON array file and a gzip'd JSONL file, split between them.
    let all: Vec<serde_json::Value> = sim
        .handle
        .ground_truth_conversations(sim.handle.now())
        .collect();
    let (a, b) = all.split_at(all.len() / 2);
    std::fs::write(s.path().join("a.json"), serde_json::to_vec(a).unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for v in b {
        use std::io::Write;
        serde_json::to_writer(&mut gz, v).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    std::fs::write(s.path().join("b.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let wh = s.wh("wh");
    ok(ltx(
        s.path(),
        &[
            "import",
            "--pipeline",
            &s.pipeline(),
            "--warehouse",
            wh.to_str().unwrap(),
            "a.json",
            "b.jsonl.gz",
        ],
        &[],
    ));
    assert_matches_truth(&sim, &wh);
    // A conversation of an array file that cannot be versioned (its `updated_at` does not
    // read): a `_rejected` row whose error says where it was read.
    let mut bad = all[0].clone();
    bad["updated_at"] = "yesterday".into();
    let c = [all[1].clone(), bad, all[2].clone()];
    std::fs::write(s.path().join("c.json"), serde_json::to_vec(&c).unwrap()).unwrap();
    let w = wh.to_str().unwrap();
    ok(ltx(s.path(), &["import", "--warehouse", w, "c.json"], &[]));
    let error: String = catalog(&wh)
        .query_row("SELECT error FROM _rejected", [], |r| r.get(0))
        .unwrap();
    assert!(error.ends_with("(c.json record 2)"), "{error}");
    let o = ltx(s.path(), &["import", "--warehouse", w, "missing.json"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_truncated_or_corrupt_jsonl_import_fails_naming_the_record_and_commits_nothing() {
    let sim = Sim::small(120);
    let s = Scratch::new();
    let lines: Vec<String> = sim
        .handle
        .ground_truth_conversations(sim.handle.now())
        .map(|v| v.to_string())
        .collect();
    let (first, rest) = lines.split_at(lines.len() / 2);
    assert!(rest.len() > 50);
    let wh = s.wh("wh");
    let import = |file: &str| {
        ltx(
            s.path(),
            &["import", "--warehouse", wh.to_str().unwrap(), file],
            &[],
        )
    };
    std::fs::write(s.path().join("first.jsonl"), first.join("\n")).unwrap();
    ok(import("first.jsonl"));
    let before = warehouse_truth(&wh);
    assert_eq!(before.len(), first.len());
    // An export cut short in its 50th record (blank lines do not count as records).
    let cut = &rest[49][..rest[49].len() / 2];
    let text_cut = format!("\n{}\n\n{cut}", rest[..49].join("\n"));
    std::fs::write(s.path().join("cut.jsonl"), text_cut).unwrap();
    // A byte that is not UTF-8 in the 3rd record.
    let mut bytes = rest.join("\n").into_bytes();
    let at = rest[0].len() + rest[1].len() + 2 + 20;
    bytes[at] = 0xff;
    std::fs::write(s.path().join("bad.jsonl"), bytes).unwrap();
    for (file, expected) in [("cut.jsonl", "record 50: "), ("bad.jsonl", "record 3: ")] {
        let o = import(file);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = stderr(&o);
        assert!(err.contains(file) && err.contains(expected), "{err}");
        assert_eq!(
            warehouse_truth(&wh),
            before,
            "{file}: nothing may be committed"
        );
    }
}

#[test]
fn quality_findings_per_check_reach_the_summary_and_the_run_log() {
    // The summary printed no quality figure and `_ltx_runs` had only a total.
    let s = Scratch::new();
    let (wh, o) = import_generated(&s, 2000);
    // A first run: every conversation is new, so the findings equal the table's rows.
    let (issues, by_check): (i64, String) = catalog(&wh)
        .query_row(
            "SELECT (SELECT count(*) FROM _quality_issues), quality_by_check::VARCHAR FROM _ltx_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        issues > 0,
        "the generator should produce counter mismatches"
    );
    let by_check: BTreeMap<String, i64> = serde_json::from_str(&by_check).unwrap();
    assert_eq!(by_check.values().sum::<i64>(), issues, "{by_check:?}");
    let summary = stdout(&o);
    assert!(
        summary.contains(&format!("{issues} quality issues (")),
        "{summary}"
    );
    for (check, n) in &by_check {
        assert!(*n > 0, "{by_check:?}");
        assert!(summary.contains(&format!("{check} {n}")), "{summary}");
    }
    // Checks that found nothing are not listed.
    assert!(
        !summary.contains(" 0,") && !summary.contains(" 0)"),
        "{summary}"
    );
}
