//! Bounded open files (issue #19): an import and a sync spanning 20 years of history, run
//! by the built binary under `ulimit -n 256`.
//!
//! The loader used to keep one staging file open per table and month until the commit; an
//! import of 12 years failed with "Too many open files" under that limit. 3,000 simulated
//! conversations over 7,300 days touch every month of 20 years, ~2,500 (table, month)
//! partitions: ten times the limit.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::sim::{assert_tables_match, stdout, sync, Scratch, Sim};
use common::{ok, text, BIN};
use ltx_sim::SimConfig;

/// The soft limit on open files every `ltx` of these tests runs under.
const LIMIT: u32 = 256;

/// Conversations over [`HISTORY_DAYS`]: about 12 a month.
const CONVERSATIONS: u64 = 3_000;

/// Twenty years.
const HISTORY_DAYS: u32 = 7_300;

/// `ltx args` under `ulimit -n LIMIT`, with a clean LTX_/LIVETEX_ environment plus `envs`.
/// Through `sh`: setting the limit in the child ourselves (`pre_exec`) needs `unsafe`,
/// which the workspace forbids.
fn ltx_limited(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.current_dir(cwd)
        .arg("-c")
        .arg(format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    common::clean_env(&mut cmd, envs);
    cmd.output().expect("sh runs the ltx binary")
}

/// Distinct (table, month) partitions holding live files.
fn partitions(wh: &Path) -> usize {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(wh.join("_ltx/manifest.json")).unwrap())
            .unwrap();
    let mut out = BTreeSet::new();
    for (table, t) in m["tables"].as_object().unwrap() {
        for f in t["files"].as_array().unwrap() {
            out.insert((table.clone(), f["partition"].as_str().unwrap().to_owned()));
        }
    }
    out.len()
}

#[test]
fn twenty_years_of_history_import_and_sync_under_ulimit_256() {
    let s = Scratch::new();
    // The limit really applies to the child.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {LIMIT} && ulimit -n"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), LIMIT.to_string());

    let cfg = SimConfig {
        conversations: CONVERSATIONS,
        seed: 19,
        history_days: HISTORY_DAYS,
        ..SimConfig::default()
    };
    let sim = Sim::start(cfg.clone());
    let input = s.path().join("history.jsonl");
    let file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    ltx_sim::write_jsonl(&cfg, file, CONVERSATIONS).unwrap();
    let wh = s.wh("wh");
    let w = wh.to_str().unwrap();
    let import = || {
        ltx_limited(
            s.path(),
            // The account of the sync below (its pipeline's name): the same conversations.
            &[
                "import",
                "--account",
                "e2e",
                "--warehouse",
                w,
                input.to_str().unwrap(),
            ],
            &[],
        )
    };

    // The import: every conversation of 20 years with all its child rows.
    let o = ok(import());
    let truth = sim.handle.table_truth(sim.handle.now()).unwrap();
    assert_eq!(
        truth.tables["conversations"].rows.len() as u64,
        CONVERSATIONS
    );
    assert_tables_match(&wh, &truth);
    let parts = partitions(&wh);
    assert!(
        parts > 8 * LIMIT as usize,
        "the test needs far more (table, month) partitions than the limit: {parts}\n{}",
        text(&o)
    );

    // The same import again: every conversation unchanged, every staged file read back.
    let o = ok(import());
    assert!(
        stdout(&o).contains(&format!("(0 new, 0 updated, {CONVERSATIONS} unchanged)")),
        "{}",
        text(&o)
    );
    assert_tables_match(&wh, &truth);

    // A sync on top, two days later: new and updated conversations.
    sim.advance_hours(48);
    let (pipeline, url) = (s.pipeline(), sim.url());
    let o = ok(ltx_limited(
        s.path(),
        &[
            "sync",
            "--pipeline",
            &pipeline,
            "--base-url",
            &url,
            "--warehouse",
            w,
        ],
        &[("LIVETEX_API_TOKEN", sim.handle.token())],
    ));
    assert!(!stdout(&o).contains("(0 new,"), "{}", text(&o));
    let truth = sim.handle.table_truth(sim.handle.now()).unwrap();
    assert!(truth.tables["conversations"].rows.len() as u64 > CONVERSATIONS);
    assert_tables_match(&wh, &truth);
    // ... and a sync with nothing to do: the helper's unlimited run agrees.
    ok(sync(&s, &sim, &wh, &[], &[]));
    assert_tables_match(&wh, &truth);

    // Readers under the limit: queries over every file of 20 years through the views and
    // a BI model joining several tables.
    let query = |sql: &str| {
        let o = ltx_limited(
            s.path(),
            &["query", "--warehouse", w, "--format", "csv", sql],
            &[],
        );
        stdout(&ok(o))
    };
    let want =
        truth.tables["chat_messages"].rows.len() + truth.tables["conversation_events"].rows.len();
    assert_eq!(
        query("SELECT (SELECT count(*) FROM chat_messages) + (SELECT count(*) FROM conversation_events) AS n"),
        format!("n\n{want}\n")
    );
    // A LIMIT stops a scan part-way through its files (DuckDB issue 18831: open files).
    assert_eq!(
        query("SELECT count(*) AS n FROM (SELECT * FROM chat_messages LIMIT 1000)"),
        "n\n1000\n"
    );
    let years = query("SELECT count(DISTINCT year(day_utc)) AS n FROM daily_conversation_kpis");
    let years: usize = years.trim_start_matches("n\n").trim().parse().unwrap();
    assert!(years >= 20, "{years} years with conversations in the model");
}
