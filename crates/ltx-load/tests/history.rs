//! History kept by the warehouse: replaced conversation versions (`conversations_history`),
//! with history on and off, through compaction; the generations `open_as_of` reads and how
//! long they (and the retired files they list) are retained.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{batches, content, generations, opts, orphans, superseded, Conv, SUPERSEDED};
use ltx_load::{AsOf, LoadError, LoadOptions, RunInfo, RunOutcome, Warehouse};

fn load(wh: &Warehouse, run_id: &str, convs: &[Conv]) -> ltx_load::CommitReport {
    let mut run = wh.begin_run(RunInfo::new(run_id, "livetex")).unwrap();
    run.write_all(batches(convs)).unwrap();
    run.commit(RunOutcome::default()).unwrap()
}

fn v1() -> Vec<Conv> {
    (1..=6).map(|id| Conv::new(id, 10)).collect()
}

/// Conversation 2 and 3 updated, 7 new.
fn v2() -> Vec<Conv> {
    vec![Conv::new(2, 20), Conv::new(3, 25), Conv::new(7, 20)]
}

/// The first column of every row of `sql`, as text.
fn column(conn: &duckdb::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn catalog(dir: &Path) -> duckdb::Connection {
    duckdb::Connection::open(dir.join("warehouse.duckdb")).unwrap()
}

/// The invariants of `conversations_history` that hold after every commit: intervals of a
/// conversation never overlap, each conversation has exactly one current row, and that row
/// is its `conversations` row, every column equal.
fn assert_history_invariants(conn: &duckdb::Connection) {
    let overlaps = column(
        conn,
        "SELECT count(*)::VARCHAR FROM conversations_history a JOIN conversations_history b \
         ON a.conversation_id = b.conversation_id AND a.valid_from < b.valid_from \
         AND (a.valid_to IS NULL OR a.valid_to > b.valid_from)",
    );
    assert_eq!(overlaps, ["0"], "overlapping intervals");
    let current = column(
        conn,
        "SELECT count(*)::VARCHAR FROM (SELECT conversation_id FROM conversations_history \
         GROUP BY 1 HAVING count(*) FILTER (is_current) <> 1)",
    );
    assert_eq!(
        current,
        ["0"],
        "conversations without exactly one current row"
    );
    let differ = column(
        conn,
        "SELECT count(*)::VARCHAR FROM (\
           (SELECT * EXCLUDE (valid_from, valid_to, is_current) FROM conversations_history WHERE is_current \
            EXCEPT ALL SELECT * FROM conversations) \
           UNION ALL \
           (SELECT * FROM conversations EXCEPT ALL \
            SELECT * EXCLUDE (valid_from, valid_to, is_current) FROM conversations_history WHERE is_current))",
    );
    assert_eq!(differ, ["0"], "current rows differ from conversations");
    let ends = column(
        conn,
        "SELECT count(*)::VARCHAR FROM conversations_history \
         WHERE (valid_to IS NULL) <> is_current OR valid_from <> updated_at",
    );
    assert_eq!(ends, ["0"], "valid_to NULL exactly for the current row");
}

#[test]
fn replaced_versions_are_kept_with_their_intervals_and_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let r1 = load(&wh, "run1", &v1());
    assert_eq!(r1.history_rows, 0, "a first import supersedes nothing");
    assert!(superseded(dir.path()).is_empty());
    assert_history_invariants(&catalog(dir.path()));

    let r2 = load(&wh, "run2", &v2());
    assert_eq!(r2.conversations_replaced, 2);
    assert_eq!(r2.history_rows, 2);
    let m = wh.state().unwrap();
    let files = m.files(SUPERSEDED);
    // The run marks the replaced rows deleted (merge-on-read); the compaction after it
    // folds them (a third of the file here, past the fold share) and moves them to the
    // stored superseded versions, in the same partition.
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .path
            .starts_with("data/_conversations_superseded/default/2026-03/compact-"),
        "{files:?}"
    );
    assert!(r2.compaction.is_some());
    // The kept rows are exactly the v1 rows of 2 and 3, lineage included (the test data
    // stamps `_run_id` with the version: `_run_id-v10-2`).
    let before = {
        let d = tempfile::tempdir().unwrap();
        let w = Warehouse::open(d.path(), opts()).unwrap();
        load(&w, "run1", &[Conv::new(2, 10), Conv::new(3, 10)]);
        content(d.path())["conversations"].clone()
    };
    assert_eq!(superseded(dir.path()), before);

    let conn = catalog(dir.path());
    assert_history_invariants(&conn);
    let two = column(
        &conn,
        "SELECT concat_ws(' ', epoch_us(valid_from) // 1000000 - 1772323200, \
           coalesce((epoch_us(valid_to) // 1000000 - 1772323200)::VARCHAR, '-'), is_current, _run_id, result) \
         FROM conversations_history WHERE conversation_id = 2 ORDER BY valid_from",
    );
    assert_eq!(
        two,
        [
            "10 20 false _run_id-v10-2 result-v10-2",
            "20 - true _run_id-v20-2 result-v20-2"
        ]
    );
    let n = column(&conn, "SELECT count(*)::VARCHAR FROM conversations_history");
    assert_eq!(n, ["9"]);
    drop(conn);

    // Replays (same and older versions) add nothing.
    let r = load(&wh, "run3", &v1());
    assert_eq!((r.conversations_unchanged, r.history_rows), (6, 0));
    let r = load(&wh, "run4", &v2());
    assert_eq!((r.conversations_unchanged, r.history_rows), (3, 0));
    assert_eq!(superseded(dir.path()), before);

    // A third version of 2: its second one is kept too.
    load(&wh, "run5", &[Conv::new(2, 30)]);
    let conn = catalog(dir.path());
    assert_history_invariants(&conn);
    let two = column(
        &conn,
        "SELECT _run_id FROM conversations_history WHERE conversation_id = 2 ORDER BY valid_from",
    );
    assert_eq!(two, ["_run_id-v10-2", "_run_id-v20-2", "_run_id-v30-2"]);
    assert!(orphans(dir.path()).is_empty());
}

#[test]
fn a_version_replaced_within_its_own_run_is_not_kept() {
    // The warehouse never held it: the run keeps the newest version only.
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let mut first = v1();
    first.push(Conv::new(1, 5)); // an older copy of 1 in the same run
    let r = load(&wh, "run1", &first);
    assert_eq!((r.duplicates_in_run, r.history_rows), (1, 0));
    assert!(superseded(dir.path()).is_empty());
    // Stored v10 of 2; the run brings v15 and v20: v10 is kept, v15 is not.
    let r = load(&wh, "run2", &[Conv::new(2, 15), Conv::new(2, 20)]);
    assert_eq!((r.conversations_replaced, r.history_rows), (1, 1));
    let conn = catalog(dir.path());
    assert_history_invariants(&conn);
    let two = column(
        &conn,
        "SELECT result FROM conversations_history WHERE conversation_id = 2 ORDER BY valid_from",
    );
    assert_eq!(two, ["result-v10-2", "result-v20-2"]);
}

#[test]
fn with_history_off_replaced_versions_are_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let off = LoadOptions {
        history: false,
        ..opts()
    };
    let wh = Warehouse::open(dir.path(), off).unwrap();
    load(&wh, "run1", &v1());
    let r = load(&wh, "run2", &v2());
    assert_eq!((r.conversations_replaced, r.history_rows), (2, 0));
    assert!(wh.state().unwrap().files(SUPERSEDED).is_empty());
    assert!(!dir.path().join("data").join(SUPERSEDED).exists());
    let conn = catalog(dir.path());
    assert_history_invariants(&conn);
    // The view is there, with the current versions only.
    let n = column(
        &conn,
        "SELECT count(*)::VARCHAR || ' ' || count(*) FILTER (is_current)::VARCHAR FROM conversations_history",
    );
    assert_eq!(n, ["7 7"]);
    drop((conn, wh));
    // Turned on again: the next replacement is kept.
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let r = load(&wh, "run3", &[Conv::new(2, 30)]);
    assert_eq!(r.history_rows, 1);
    let two = column(
        &catalog(dir.path()),
        "SELECT _run_id FROM conversations_history WHERE conversation_id = 2 ORDER BY valid_from",
    );
    assert_eq!(two, ["_run_id-v20-2", "_run_id-v30-2"]);
}

#[test]
fn compaction_merges_history_files_and_keeps_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    load(&wh, "run1", &v1());
    for (i, version) in [20, 30, 40].into_iter().enumerate() {
        load(
            &wh,
            &format!("run{}", i + 2),
            &[Conv::new(1, version), Conv::new(4, version)],
        );
    }
    assert_eq!(wh.state().unwrap().files(SUPERSEDED).len(), 3);
    let before = superseded(dir.path());
    assert_eq!(before.len(), 6);
    let view = |dir: &Path| {
        column(
            &catalog(dir),
            "SELECT concat_ws(' ', conversation_id, epoch_us(valid_from), coalesce(epoch_us(valid_to)::VARCHAR, '-'), is_current, _run_id) \
             FROM conversations_history ORDER BY conversation_id, valid_from",
        )
    };
    let view_before = view(dir.path());
    let report = wh.compact().unwrap();
    assert!(report.files_merged >= 3, "{report:?}");
    let files = wh.state().unwrap().files(SUPERSEDED).to_vec();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (files[0].min_conversation_id, files[0].max_conversation_id),
        (Some(1), Some(4))
    );
    assert_eq!(superseded(dir.path()), before);
    assert_eq!(view(dir.path()), view_before);
    assert_history_invariants(&catalog(dir.path()));
    assert!(orphans(dir.path()).is_empty());
}

/// Options keeping retired files for `retain` and readers of older catalogs no time at all.
fn retaining(retain: Duration) -> LoadOptions {
    LoadOptions {
        retire_grace: Duration::ZERO,
        retain_history: retain,
        ..opts()
    }
}

#[test]
fn retired_files_stay_while_a_retained_generation_lists_them_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let hour = Duration::from_secs(3600);
    let wh = Warehouse::open(dir.path(), retaining(hour)).unwrap();
    load(&wh, "run1", &v1());
    load(&wh, "run2", &v2());
    let retired: Vec<String> = wh
        .state()
        .unwrap()
        .retired
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(!retired.is_empty());
    drop(wh);
    // An open after the grace period (zero here) keeps them: generation 1 lists them.
    // (Generation 3 is the compaction after run2, which folded the rows it replaced and
    // retired the files it rewrote.)
    let wh = Warehouse::open(dir.path(), retaining(hour)).unwrap();
    assert_eq!(generations(dir.path()), [1, 2, 3]);
    for r in &retired {
        assert!(dir.path().join(r).exists(), "{r} is listed by generation 1");
    }
    let at_run1 = Warehouse::open_as_of(dir.path(), &AsOf::Run("run1".into())).unwrap();
    assert_eq!(at_run1.generation(), 1);
    let n = column(
        at_run1.connection(),
        "SELECT count(*)::VARCHAR FROM conversations",
    );
    assert_eq!(n, ["6"]);
    let st = wh.status(1).unwrap();
    assert_eq!(st.history.generations, 3);
    assert_eq!(st.history.oldest_generation, Some(1));
    assert!(st.history.retired_bytes > 0);
    assert_eq!(st.history.superseded_conversations, 2);
    drop(wh);

    // Retention shortened to nothing: generation 1 goes, then the files only it listed.
    let wh = Warehouse::open(dir.path(), retaining(Duration::ZERO)).unwrap();
    assert!(wh.state().unwrap().retired.is_empty());
    for r in &retired {
        assert!(
            !dir.path().join(r).exists(),
            "{r} deleted with generation 1"
        );
    }
    let kept = generations(dir.path());
    assert_eq!(
        kept,
        [wh.state().unwrap().generation],
        "only the committed one"
    );
    match Warehouse::open_as_of(dir.path(), &AsOf::Run("run1".into())) {
        Err(e @ LoadError::AsOfNotRetained { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&format!("generation {}", kept[0])), "{text}");
            assert!(text.contains("run run1"), "{text}");
        }
        other => panic!("expected AsOfNotRetained, got {other:?}"),
    }
    assert!(orphans(dir.path()).is_empty());
    // The live data is untouched.
    assert_eq!(
        content(dir.path())["conversations"].len(),
        7,
        "7 conversations live"
    );
}

#[test]
fn as_of_shows_each_generation_as_its_catalog_did() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let queries = [
        "SELECT count(*)::VARCHAR FROM conversations",
        "SELECT count(*)::VARCHAR FROM chat_messages",
        "SELECT count(*)::VARCHAR FROM conversations_history",
        "SELECT count(*)::VARCHAR FROM employees_history",
        "SELECT string_agg(run_id || ':' || status, ',' ORDER BY run_id) FROM _ltx_runs",
        "SELECT sum(hash(conversation_id, _source_updated_at))::VARCHAR FROM conversations",
        "SELECT sum(conversations)::VARCHAR FROM daily_conversation_kpis",
    ];
    let answers = |conn: &duckdb::Connection| -> Vec<Vec<String>> {
        queries.iter().map(|q| column(conn, q)).collect()
    };
    let mut seen = Vec::new();
    let mut failed = None;
    let steps: [(&str, Vec<Conv>); 3] = [
        ("run1", v1()),
        ("run2", v2()),
        ("run3", vec![Conv::new(2, 30), Conv::new(8, 30)]),
    ];
    for (run_id, convs) in steps {
        load(&wh, run_id, &convs);
        let committed = wh.state().unwrap();
        seen.push((
            run_id,
            committed.committed_at,
            answers(&catalog(dir.path())),
        ));
        if run_id == "run2" {
            let info = RunInfo::new("failed1", "livetex");
            wh.record_failed_run(&info, &RunOutcome::default(), "HTTP 500")
                .unwrap();
            failed = Some((
                wh.state().unwrap().committed_at,
                answers(&catalog(dir.path())),
            ));
        }
    }
    for (run_id, committed_at, want) in &seen {
        let by_run = Warehouse::open_as_of(dir.path(), &AsOf::Run((*run_id).into())).unwrap();
        assert_eq!(&answers(by_run.connection()), want, "--as-of {run_id}");
        let by_instant = Warehouse::open_as_of(dir.path(), &AsOf::Instant(*committed_at)).unwrap();
        // The compaction after a run's commit (folding the rows it marked deleted) is a
        // generation of its own, with the same rows: the instant after it may name it.
        assert!(by_instant.generation() >= by_run.generation(), "{run_id}");
        assert_eq!(
            &answers(by_instant.connection()),
            want,
            "--as-of {committed_at}"
        );
    }
    // Between run2 and run3 the failed run committed a generation of its own: an instant
    // there shows run2's data and the failed run in the log.
    let (failed_at, want) = failed.unwrap();
    let between = Warehouse::open_as_of(dir.path(), &AsOf::Instant(failed_at)).unwrap();
    let got = answers(between.connection());
    assert_eq!(got, want);
    assert_eq!(got[4], ["failed1:failed,run1:success,run2:success"]);
    assert_eq!(got[..4], seen[1].2[..4]);
    match Warehouse::open_as_of(dir.path(), &AsOf::Run("failed1".into())) {
        Err(LoadError::AsOfFailedRun { run_id, error }) => {
            assert_eq!((run_id.as_str(), error.as_str()), ("failed1", "HTTP 500"));
        }
        other => panic!("expected AsOfFailedRun, got {other:?}"),
    }
    assert!(matches!(
        Warehouse::open_as_of(dir.path(), &AsOf::Run("nope".into())),
        Err(LoadError::AsOfUnknownRun { .. })
    ));
    let before = seen[0].1 - chrono::Duration::microseconds(1);
    match Warehouse::open_as_of(dir.path(), &AsOf::Instant(before)) {
        Err(e @ LoadError::AsOfNotRetained { .. }) => {
            let text = e.to_string();
            assert!(text.contains("generation 1 committed at"), "{text}");
            assert!(text.contains("the oldest run available is run1"), "{text}");
        }
        other => panic!("expected AsOfNotRetained, got {other:?}"),
    }
    // Nothing of the catalog was touched, and as-of readers wrote nothing.
    assert!(orphans(dir.path()).is_empty());
}

#[test]
fn a_snapshot_of_a_generation_never_committed_is_removed_on_open() {
    // A commit that died after writing its generation's snapshot but before the manifest
    // rename: the next open deletes the snapshot, and an as-of never sees it.
    let dir = tempfile::tempdir().unwrap();
    {
        let wh = Warehouse::open(dir.path(), opts()).unwrap();
        load(&wh, "run1", &v1());
    }
    let hook = ltx_load::CrashHook::error_at("commit.before_manifest_tmp");
    {
        let wh = Warehouse::open(
            dir.path(),
            LoadOptions {
                crash: hook.clone(),
                ..opts()
            },
        )
        .unwrap();
        let mut run = wh.begin_run(RunInfo::new("run2", "livetex")).unwrap();
        run.write_all(batches(&v2())).unwrap();
        assert!(matches!(
            run.commit(RunOutcome::default()),
            Err(LoadError::InjectedCrash { .. })
        ));
    }
    assert!(hook.fired());
    assert_eq!(
        generations(dir.path()),
        [1, 2],
        "the snapshot of the commit that died"
    );
    let latest = Warehouse::open_as_of(dir.path(), &AsOf::Instant(chrono::Utc::now())).unwrap();
    assert_eq!(latest.generation(), 1, "a reader never takes it");
    drop(latest);
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    // Open recorded run2 as failed (generation 2, a snapshot of its own).
    assert_eq!(wh.state().unwrap().generation, 2);
    assert!(orphans(dir.path()).is_empty());
    assert!(
        superseded(dir.path()).is_empty(),
        "nothing of run2 was kept"
    );
}
