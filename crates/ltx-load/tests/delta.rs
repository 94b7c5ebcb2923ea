//! The Delta logs follow the manifest through crashes and failures: a crash between the
//! manifest rename and the logs, or in the middle of them, is repaired by the next open
//! without a duplicate version; a log that cannot be written does not fail the run.
#![allow(clippy::unwrap_used)]

mod common;

use common::{batches, delta_behind, opts, orphans, Conv};
use ltx_load::{CrashHook, LoadError, LoadOptions, RunInfo, RunOutcome, Warehouse};

fn options(crash: CrashHook) -> LoadOptions {
    LoadOptions { crash, ..opts() }
}

fn run(wh: &Warehouse, run_id: &str, convs: &[Conv]) -> Result<(), LoadError> {
    let mut run = wh.begin_run(RunInfo::new(run_id, "livetex"))?;
    run.write_all(batches(convs))?;
    run.commit(RunOutcome::default()).map(|_| ())
}

/// Conversation versions of commit `n`: a new conversation, and the previous one updated
/// (so the commit rewrites a file and retires one).
fn convs(n: i64) -> Vec<Conv> {
    vec![Conv::new(n, 10 + n), Conv::new(n + 1, 10 + n)]
}

/// The versions of a table's log (commit files), ascending.
fn versions(dir: &std::path::Path, table: &str) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir.join("data").join(table).join("_delta_log"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json")?.parse().ok()
        })
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn a_crash_between_manifest_and_delta_commits_is_repaired_by_the_next_open() {
    for point in [
        "commit.after_manifest_rename",
        "commit.after_tmp_cleanup",
        "delta.after_table_commit",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        {
            let wh = Warehouse::open(path, opts()).unwrap();
            run(&wh, "run1", &convs(1)).unwrap();
        }
        assert_eq!(delta_behind(path), Vec::<String>::new());
        assert_eq!(versions(path, "chats"), [0]);
        let hook = CrashHook::error_at(point);
        {
            let wh = Warehouse::open(path, options(hook.clone())).unwrap();
            let r = run(&wh, "run2", &convs(2));
            assert!(
                matches!(r, Err(LoadError::InjectedCrash { .. })),
                "{point}: {r:?}"
            );
        }
        assert!(hook.fired(), "{point} never reached");
        // The manifest committed run2; its logs lag behind (all or all but the first).
        assert!(
            !delta_behind(path).is_empty(),
            "{point}: logs already up to date"
        );
        let wh = Warehouse::open(path, opts()).unwrap();
        assert_eq!(
            delta_behind(path),
            Vec::<String>::new(),
            "after crash at {point}"
        );
        assert_eq!(
            orphans(path),
            Vec::<String>::new(),
            "after crash at {point}"
        );
        // One version for run2, whoever wrote it.
        assert_eq!(versions(path, "chats"), [0, 1], "after crash at {point}");
        let generation = wh.state().unwrap().generation;
        let chats = ltx_load::delta::read_table(path, "chats").unwrap();
        assert_eq!(chats.generation, Some(generation), "{point}");
        // Opening again writes nothing.
        drop(wh);
        drop(Warehouse::open(path, opts()).unwrap());
        assert_eq!(versions(path, "chats"), [0, 1], "{point}: reopened");
    }
}

#[test]
fn a_crash_between_a_checkpoint_and_last_checkpoint_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let hook = CrashHook::error_at("delta.after_checkpoint");
    {
        let wh = Warehouse::open(path, options(hook.clone())).unwrap();
        let mut crashed_at = None;
        for n in 1..=12 {
            if let Err(e) = run(&wh, &format!("run{n}"), &convs(n)) {
                assert!(matches!(e, LoadError::InjectedCrash { .. }), "{e:?}");
                crashed_at = Some(n);
                break;
            }
        }
        // Every table gets a version per run (and one per compaction after it folding
        // the replaced rows): version 10, the first checkpoint, is met first by
        // `conversations` (tables are synced in schema order).
        assert!(crashed_at.is_some_and(|n| n <= 11), "{crashed_at:?}");
    }
    let log = path.join("data/conversations/_delta_log");
    assert!(log.join("00000000000000000010.checkpoint.parquet").exists());
    assert!(!log.join("_last_checkpoint").exists());
    drop(Warehouse::open(path, opts()).unwrap());
    assert_eq!(delta_behind(path), Vec::<String>::new());
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    assert_eq!(last["version"], 10);
    for table in ["conversations", "chats"] {
        let snap = ltx_load::delta::read_table(path, table).unwrap();
        assert_eq!(
            (snap.version, snap.checkpoint),
            (Some(10), Some(10)),
            "{table}"
        );
    }
}

#[test]
fn a_log_that_cannot_be_written_does_not_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let wh = Warehouse::open(path, opts()).unwrap();
    run(&wh, "run1", &convs(1)).unwrap();
    // `chats` cannot have a log directory: a file stands in its place.
    let log = path.join("data/chats/_delta_log");
    std::fs::remove_dir_all(&log).unwrap();
    std::fs::write(&log, b"not a directory").unwrap();
    run(&wh, "run2", &convs(2)).unwrap();
    let behind = delta_behind(path);
    assert_eq!(behind.len(), 1, "{behind:?}");
    assert!(behind[0].starts_with("chats:"), "{behind:?}");
    // Once it can, the next open brings it up: from scratch, as it was lost.
    drop(wh);
    std::fs::remove_file(&log).unwrap();
    drop(Warehouse::open(path, opts()).unwrap());
    assert_eq!(delta_behind(path), Vec::<String>::new());
    assert_eq!(versions(path, "chats"), [0]);
}
