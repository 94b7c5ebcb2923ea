//! Behaviour of the warehouse: replacement semantics, crash safety, locking, readers,
//! relocation, file format, compaction.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    batches, content, delta_behind, expected, opts, orphans, superseded, view_keys, Conv,
};
use ltx_load::{
    CrashHook, LoadError, LoadOptions, RunInfo, RunOutcome, RunStatus, Warehouse, CRASH_POINTS,
};

fn load(wh: &Warehouse, run_id: &str, convs: &[Conv]) -> ltx_load::CommitReport {
    let mut run = wh.begin_run(RunInfo::new(run_id, "livetex")).unwrap();
    run.write_all(batches(convs)).unwrap();
    run.commit(RunOutcome::default()).unwrap()
}

fn v1() -> Vec<Conv> {
    (1..=6).map(|id| Conv::new(id, 10)).collect()
}

/// v2: conversation 2 loses a message and a chat and changes attributes, 3 gets a new
/// message, 7 is new; the others are unchanged (same version).
fn v2() -> Vec<Conv> {
    let mut c2 = Conv::new(2, 20);
    c2.messages.retain(|m| *m != 201);
    c2.chats.pop();
    c2.quality_issue = false;
    let mut c3 = Conv::new(3, 25);
    c3.messages.push(399);
    vec![c2, c3, Conv::new(7, 20)]
}

fn final_versions() -> Vec<Conv> {
    let mut all: Vec<Conv> = v1()
        .into_iter()
        .filter(|c| c.id != 2 && c.id != 3)
        .collect();
    all.extend(v2());
    all
}

#[test]
fn v2_replaces_v1_and_removes_deleted_children() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let r1 = load(&wh, "run1", &v1());
    assert_eq!(r1.conversations_new, 6);
    let r2 = load(&wh, "run2", &v2());
    assert_eq!(r2.conversations_new, 1);
    assert_eq!(r2.conversations_replaced, 2);
    assert_eq!(r2.tables["chat_messages"].rows_removed, 8);
    assert_eq!(r2.tables["chat_messages"].rows_added, 3 + 5 + 4);

    assert_eq!(content(dir.path()), expected(&final_versions()));
    let db = wh.catalog_path();
    let msgs = view_keys(
        &db,
        "SELECT message_id::VARCHAR FROM chat_messages ORDER BY message_id",
    );
    let mut want: Vec<i64> = final_versions()
        .iter()
        .flat_map(|c| c.messages.clone())
        .collect();
    want.sort();
    assert_eq!(msgs, want.iter().map(|m| m.to_string()).collect::<Vec<_>>());
    assert!(
        !msgs.contains(&"201".to_string()),
        "deleted message is gone"
    );
    let chats = view_keys(
        &db,
        "SELECT count(*)::VARCHAR FROM chats WHERE conversation_id = 2",
    );
    assert_eq!(chats, ["1"]);
    let attr = view_keys(
        &db,
        "SELECT result FROM conversations WHERE conversation_id = 2",
    );
    assert_eq!(attr, ["result-v20-2"]);
    let checksum = view_keys(
        &db,
        "SELECT sum(hash(conversation_id, _source_updated_at))::VARCHAR FROM conversations",
    );
    let again = view_keys(
        &db,
        "SELECT sum(hash(conversation_id, _source_updated_at))::VARCHAR FROM (SELECT DISTINCT conversation_id, _source_updated_at FROM chat_messages)",
    );
    assert_eq!(checksum, again);
    assert!(orphans(dir.path()).is_empty());
}

#[test]
fn older_or_equal_version_replay_does_not_regress() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    load(&wh, "run1", &v1());
    load(&wh, "run2", &v2());
    let before = content(dir.path());
    // Replay v1 (older for 2 and 3, equal for the rest) and v2 (equal).
    let r = load(&wh, "run3", &v1());
    assert_eq!(r.conversations_unchanged, 6);
    assert_eq!(r.files_written, 0);
    let r = load(&wh, "run4", &v2());
    assert_eq!(r.conversations_unchanged, 3);
    assert_eq!(content(dir.path()), before);
    let n = view_keys(
        &wh.catalog_path(),
        "SELECT count(*)::VARCHAR FROM conversations",
    );
    assert_eq!(n, ["7"]);
}

#[test]
fn duplicates_within_one_run_keep_the_newest_once() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let mut convs = v1();
    // 2 arrives twice (old then new), 4 arrives twice with the same version.
    convs.push(v2()[0].clone());
    convs.push(Conv::new(4, 10));
    let r = load(&wh, "run1", &convs);
    assert_eq!(r.duplicates_in_run, 2);
    let mut want: Vec<Conv> = v1().into_iter().filter(|c| c.id != 2).collect();
    want.push(v2()[0].clone());
    assert_eq!(content(dir.path()), expected(&want));
    // Split across batches in the other order too: new version first.
    let dir2 = tempfile::tempdir().unwrap();
    let wh2 = Warehouse::open(dir2.path(), opts()).unwrap();
    let mut run = wh2.begin_run(RunInfo::new("r", "p")).unwrap();
    run.write_all(batches(&[v2()[0].clone()])).unwrap();
    run.write_all(batches(&v1())).unwrap();
    run.commit(RunOutcome::default()).unwrap();
    assert_eq!(content(dir2.path()), expected(&want));
}

#[test]
fn duplicates_in_different_files_of_a_partition_are_kept_once() {
    // One staging file open at a time: each table's file is finished early when the next
    // table's opens, so the second copies of 2 (newer) and 4 (same version) land in second
    // files of the partition. The dedup of equal copies must span those files.
    let dir = tempfile::tempdir().unwrap();
    let o = LoadOptions {
        max_open_staging_files: 1,
        ..opts()
    };
    let wh = Warehouse::open(dir.path(), o).unwrap();
    let mut run = wh.begin_run(RunInfo::new("run1", "livetex")).unwrap();
    run.write_all(batches(&v1())).unwrap();
    run.write_all(batches(&[v2()[0].clone(), Conv::new(4, 10)]))
        .unwrap();
    let r = run.commit(RunOutcome::default()).unwrap();
    assert_eq!(r.duplicates_in_run, 2);
    let mut want: Vec<Conv> = v1().into_iter().filter(|c| c.id != 2).collect();
    want.push(v2()[0].clone());
    assert_eq!(content(dir.path()), expected(&want));
    let m: ltx_load::Manifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("_ltx/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m.files("conversations").len(), 2, "{m:?}");
    // A run on top replaces conversations held in both files.
    load(&wh, "run2", &v2());
    assert_eq!(content(dir.path()), expected(&final_versions()));
}

#[test]
fn cursor_moves_only_with_a_successful_commit() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let t1 = "2026-03-01T10:00:00Z".parse().unwrap();
    let mut run = wh.begin_run(RunInfo::new("run1", "livetex")).unwrap();
    run.write_all(batches(&v1())).unwrap();
    run.commit(RunOutcome {
        cursor: Some(t1),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(wh.cursor("default", "livetex").unwrap(), Some(t1));

    let info = RunInfo::new("run2", "livetex");
    let run = wh.begin_run(info.clone()).unwrap();
    drop(run);
    let rec = wh
        .record_failed_run(
            &info,
            &RunOutcome {
                http_requests: 3,
                ..Default::default()
            },
            "HTTP 500 from /v2/dialogs",
        )
        .unwrap();
    assert_eq!(rec.status, RunStatus::Failed);
    assert_eq!(wh.cursor("default", "livetex").unwrap(), Some(t1));
    let st = wh.status(10).unwrap();
    assert_eq!(st.runs.len(), 2);
    assert_eq!(st.runs[0].status, RunStatus::Failed);
    assert_eq!(st.runs[1].rows["conversations"], 6);
    assert_eq!(
        st.tables
            .iter()
            .find(|t| t.name == "conversations")
            .unwrap()
            .rows,
        6
    );
    assert_eq!(st.quality_issues_total, 3);
    let runs = view_keys(
        &wh.catalog_path(),
        "SELECT run_id || ':' || status FROM _ltx_runs ORDER BY started_at, run_id",
    );
    assert_eq!(runs, ["run1:success", "run2:failed"]);
    assert!(matches!(
        wh.begin_run(RunInfo::new("run1", "livetex")),
        Err(LoadError::DuplicateRun { .. })
    ));
}

#[test]
fn second_writer_is_locked_out_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    match Warehouse::open(dir.path(), opts()) {
        Err(LoadError::Locked { path, holder }) => {
            assert_eq!(path, dir.path());
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            );
            let msg = LoadError::Locked { path, holder }.to_string();
            assert!(msg.starts_with("another sync (pid "), "{msg}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // Read-only access does not need the lock.
    let ro = Warehouse::open_readonly(dir.path()).unwrap();
    assert!(matches!(
        ro.begin_run(RunInfo::new("x", "p")),
        Err(LoadError::ReadOnly { .. })
    ));
    drop(wh);
    Warehouse::open(dir.path(), opts()).unwrap();
}

#[test]
fn readers_keep_working_during_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    load(&wh, "run1", &v1());
    let db = wh.catalog_path();
    let ro = duckdb::Connection::open_with_flags(
        &db,
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .unwrap();
    let count = |c: &duckdb::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM chat_messages", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&ro), 24);
    let db2 = db.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (tx_done, rx_done) = std::sync::mpsc::channel::<i64>();
    let reader = std::thread::spawn(move || {
        let rw = duckdb::Connection::open(&db2).unwrap();
        let before: i64 = rw
            .query_row("SELECT count(*) FROM chat_messages", [], |r| r.get(0))
            .unwrap();
        tx_done.send(before).unwrap();
        rx.recv().unwrap();
        // After the commit: the old snapshot still answers.
        let after: i64 = rw
            .query_row("SELECT count(*) FROM chat_messages", [], |r| r.get(0))
            .unwrap();
        tx_done.send(after).unwrap();
    });
    assert_eq!(rx_done.recv().unwrap(), 24);
    load(&wh, "run2", &v2());
    tx.send(()).unwrap();
    assert_eq!(
        rx_done.recv().unwrap(),
        24,
        "read-write reader keeps its snapshot"
    );
    reader.join().unwrap();
    assert_eq!(count(&ro), 24, "read-only reader keeps its snapshot");
    let fresh = duckdb::Connection::open(&db).unwrap();
    let want: usize = final_versions().iter().map(|c| c.messages.len()).sum();
    assert_eq!(
        count(&fresh),
        want as i64,
        "a new connection sees the new data"
    );
}

#[test]
fn views_work_from_another_cwd_and_after_moving_with_register() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wh");
    {
        let wh = Warehouse::open(&dir, opts()).unwrap();
        load(&wh, "run1", &v1());
    }
    let other = tempfile::tempdir().unwrap();
    let old_cwd = std::env::current_dir().unwrap();
    std::env::set_current_dir(other.path()).unwrap();
    let n = view_keys(
        &dir.join("warehouse.duckdb"),
        "SELECT count(*)::VARCHAR FROM conversations",
    );
    std::env::set_current_dir(old_cwd).unwrap();
    assert_eq!(n, ["6"]);

    let moved = tmp.path().join("moved");
    std::fs::rename(&dir, &moved).unwrap();
    let conn = duckdb::Connection::open(moved.join("warehouse.duckdb")).unwrap();
    assert!(conn
        .query_row("SELECT count(*) FROM conversations", [], |r| r
            .get::<_, i64>(0))
        .is_err());
    drop(conn);
    // `open` notices the new directory and rebuilds; `register` adds the models.
    let wh = Warehouse::open(&moved, opts()).unwrap();
    let models = vec![(
        "daily".to_string(),
        "SELECT date_trunc('day', CAST(created_at AS TIMESTAMP)) AS day, count(*) AS n FROM conversations GROUP BY 1;"
            .to_string(),
    )];
    wh.register(&models).unwrap();
    let n = view_keys(
        &moved.join("warehouse.duckdb"),
        "SELECT sum(n)::VARCHAR FROM daily",
    );
    assert_eq!(n, ["6"]);
    let bad = vec![(
        "broken".to_string(),
        "SELECT nope FROM conversations".to_string(),
    )];
    match wh.register(&bad) {
        Err(LoadError::Model { name, .. }) => assert_eq!(name, "broken"),
        other => panic!("expected Model error, got {other:?}"),
    }
    // A model needing an extension that is not compiled in (ICU: time zone arithmetic on
    // TIMESTAMPTZ) fails at once naming the model; nothing is downloaded.
    let icu = vec![(
        "needs_icu".to_string(),
        "SELECT date_trunc('day', created_at) AS day FROM conversations".to_string(),
    )];
    match wh.register(&icu) {
        Err(LoadError::Model { name, message }) => {
            assert_eq!(name, "needs_icu");
            assert!(message.contains("icu"), "{message}");
        }
        other => panic!("expected Model error, got {other:?}"),
    }
    // The previous catalog (with `daily`) is still in place.
    let n = view_keys(
        &moved.join("warehouse.duckdb"),
        "SELECT sum(n)::VARCHAR FROM daily",
    );
    assert_eq!(n, ["6"]);
}

#[test]
fn views_work_under_a_directory_named_with_glob_characters() {
    // DuckDB reads `[`, `*` and `?` in a file path as a pattern: unescaped, a warehouse
    // under `wh[1]` had views that found no file.
    let tmp = tempfile::tempdir().unwrap();
    for name in ["wh[1]", "w*h", "it's [x]", "a]b"] {
        let dir = tmp.path().join(name);
        let wh = Warehouse::open(&dir, opts()).unwrap();
        load(&wh, "run1", &v1());
        load(&wh, "run2", &v2());
        let n = view_keys(
            &dir.join("warehouse.duckdb"),
            "SELECT count(*)::VARCHAR FROM conversations",
        );
        assert_eq!(n, ["7"], "{name}");
        let runs = view_keys(
            &dir.join("warehouse.duckdb"),
            "SELECT run_id FROM _ltx_runs ORDER BY run_id",
        );
        assert_eq!(runs, ["run1", "run2"], "{name}");
    }
    // DuckDB itself cannot keep a database under a `?` (it reads a URI query there):
    // refused at open, before anything is written.
    let dir = tmp.path().join("wh?");
    match Warehouse::open(&dir, opts()) {
        Err(LoadError::UnsupportedPath { path, .. }) => assert_eq!(path, dir),
        other => panic!("expected UnsupportedPath, got {:?}", other.map(|_| ())),
    }
    assert!(!dir.exists());
}

#[test]
fn a_new_warehouse_gets_its_catalog_with_its_first_commit_successful_or_failed() {
    let runs = |db: &std::path::Path| {
        view_keys(
            db,
            "SELECT run_id || ':' || status FROM _ltx_runs ORDER BY run_id",
        )
    };
    // Nothing committed yet: no catalog (it would hold views over empty placeholders).
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    assert!(!wh.catalog_path().exists());
    // A run killed before its commit still leaves none; the next open records it as
    // failed, which is a commit, and builds the catalog with it.
    let hook = CrashHook::error_at("staging.after_first_write");
    drop(wh);
    let wh = Warehouse::open(dir.path(), crash_options(hook.clone())).unwrap();
    assert!(second_run(&wh, "run1").is_err() && hook.fired());
    drop(wh);
    assert!(!dir.path().join("warehouse.duckdb").exists());
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    assert_eq!(runs(&wh.catalog_path()), ["run1:failed"]);
    drop(wh);

    // A first run that fails cleanly is recorded, and its record is in the new catalog.
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    wh.record_failed_run(
        &RunInfo::new("run1", "livetex"),
        &RunOutcome::default(),
        "HTTP 500",
    )
    .unwrap();
    assert_eq!(runs(&wh.catalog_path()), ["run1:failed"]);
    drop(wh);

    // A first run that succeeds: every table's view is there, with its rows.
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    load(&wh, "run1", &v1());
    assert_eq!(runs(&wh.catalog_path()), ["run1:success"]);
    let ids = view_keys(
        &wh.catalog_path(),
        "SELECT conversation_id::VARCHAR FROM conversations ORDER BY 1",
    );
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
}

#[test]
fn a_commit_whose_catalog_cannot_be_rebuilt_says_so_and_the_next_open_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let r1 = load(&wh, "run1", &v1());
    assert_eq!(r1.catalog_error, None);
    // Something takes the catalog's place between the open and the commit: a directory
    // the new catalog cannot be renamed over.
    let catalog = wh.catalog_path();
    std::fs::remove_file(&catalog).unwrap();
    std::fs::create_dir_all(catalog.join("in-the-way")).unwrap();
    let r2 = load(&wh, "run2", &v2());
    // The data is committed all the same, and the report says what went wrong.
    let error = r2.catalog_error.expect("a catalog error in the report");
    assert!(error.contains("warehouse.duckdb"), "{error}");
    assert_eq!(content(dir.path()), expected(&final_versions()));
    // The same for a compaction that commits.
    load(&wh, "run3", &[Conv::new(8, 30)]);
    let compacted = wh.compact().unwrap();
    assert!(compacted.files_merged > 0);
    assert!(compacted.catalog_error.is_some());
    assert_eq!(orphans(dir.path()), Vec::<String>::new());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("warehouse.duckdb.tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    drop(wh);

    // Once the way is clear, the next open rebuilds the catalog for the committed state.
    std::fs::remove_dir_all(&catalog).unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let runs = view_keys(
        &wh.catalog_path(),
        "SELECT run_id || ':' || status FROM _ltx_runs ORDER BY run_id",
    );
    assert_eq!(runs, ["run1:success", "run2:success", "run3:success"]);
    let ids = view_keys(
        &wh.catalog_path(),
        "SELECT conversation_id::VARCHAR FROM conversations ORDER BY conversation_id",
    );
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7", "8"]);
}

#[test]
fn a_run_that_died_before_its_commit_is_logged_as_failed_by_the_next_open() {
    // A killed run left only its temporary directory, which the next open deleted: it
    // never appeared in the run log. And its run record, written just before the manifest
    // rename, made `_ltx_runs` (a glob over the records) show it as a success meanwhile.
    for point in [
        "commit.after_renames",
        "commit.after_run_record",
        "staging.after_first_write",
    ] {
        let dir = tempfile::tempdir().unwrap();
        {
            let wh = Warehouse::open(dir.path(), crash_options(CrashHook::disabled())).unwrap();
            load(&wh, "run1", &v1());
        }
        {
            let hook = CrashHook::error_at(point);
            let wh = Warehouse::open(dir.path(), crash_options(hook.clone())).unwrap();
            let r = second_run(&wh, "run2");
            if !hook.fired() {
                continue; // a point this run does not pass
            }
            assert!(matches!(r, Err(LoadError::InjectedCrash { .. })), "{point}");
        }
        let log = |dir: &std::path::Path| {
            view_keys(
                &dir.join("warehouse.duckdb"),
                "SELECT run_id || ':' || status || ':' || coalesce(error, '') FROM _ltx_runs ORDER BY run_id",
            )
        };
        assert_eq!(log(dir.path()), ["run1:success:"], "{point}");
        let wh = Warehouse::open(dir.path(), crash_options(CrashHook::disabled())).unwrap();
        let runs = log(dir.path());
        assert_eq!(runs.len(), 2, "{point}: {runs:?}");
        assert!(
            runs[1].starts_with("run2:failed:interrupted before its commit"),
            "{point}: {runs:?}"
        );
        let st = wh.status(10).unwrap();
        let run2 = st.runs.iter().find(|r| r.run_id == "run2").unwrap();
        assert!(run2.finished_at >= run2.started_at, "{point}");
        assert!(run2.rows.is_empty());
        // The data is as before the run, nothing is left over, and the retry commits.
        assert_eq!(content(dir.path()), expected(&v1()), "{point}");
        assert_eq!(orphans(dir.path()), Vec::<String>::new(), "{point}");
        second_run(&wh, "run3").unwrap();
        assert_eq!(content(dir.path()), expected(&final_versions()), "{point}");
        drop(wh);
        // Found once: a further open records nothing more.
        let wh = Warehouse::open(dir.path(), crash_options(CrashHook::disabled())).unwrap();
        assert_eq!(wh.status(10).unwrap().runs.len(), 3, "{point}");
    }
}

#[test]
fn dimension_views_keep_the_latest_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    load(&wh, "run1", &v1());
    load(&wh, "run2", &v2());
    let db = wh.catalog_path();
    let emp = view_keys(&db, "SELECT employee_id::VARCHAR || ':' || _seen_in_conversation_id::VARCHAR FROM employees ORDER BY employee_id");
    // employee 902 (ids 2 and 5): conversation 2 at v20 is the latest snapshot.
    assert_eq!(emp.len(), 3);
    assert!(emp.contains(&"902:2".to_string()), "{emp:?}");
    let snapshots = view_keys(&db, "SELECT count(*)::VARCHAR FROM employees_snapshots");
    assert_eq!(snapshots, ["7"]);
    // 7 snapshots; a conversation's snapshots of an employee are equal within a version
    // of the test data, so each employee has its v10 version and its newer one.
    let hist = view_keys(
        &db,
        "SELECT employee_id::VARCHAR || ':' || is_current::VARCHAR || ':' || _seen_in_conversation_id::VARCHAR FROM employees_history ORDER BY employee_id, valid_from",
    );
    assert_eq!(
        hist,
        [
            "900:false:6",
            "900:true:3",
            "901:false:4",
            "901:true:7",
            "902:false:5",
            "902:true:2"
        ]
    );
    let empty = view_keys(&db, "SELECT count(*)::VARCHAR FROM _rejected");
    assert_eq!(empty, ["0"]);
}

#[test]
fn parquet_files_have_utc_timestamps_and_utf8_strings() {
    use arrow::datatypes::{DataType, TimeUnit};
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    load(&wh, "run1", &v1());
    let m = wh.state().unwrap();
    let f = &m.files("conversations")[0];
    assert!(
        f.path
            .starts_with("data/conversations/default/2026-03/run1-"),
        "{}",
        f.path
    );
    let file = std::fs::File::open(dir.path().join(&f.path)).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    assert_eq!(
        schema.field_with_name("created_at").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        schema
            .field_with_name("created_at_msk")
            .unwrap()
            .data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(
        schema.field_with_name("result").unwrap().data_type(),
        &DataType::Utf8
    );
    let md = builder.metadata();
    let col = md.row_group(0).column(0);
    assert_eq!(
        col.compression(),
        parquet::basic::Compression::ZSTD(Default::default())
    );
    assert!(col.statistics().is_some());
    let rows: i64 = md.row_groups().iter().map(|g| g.num_rows()).sum();
    assert_eq!(rows, 6);
}

#[test]
fn compaction_reduces_files_and_keeps_rows() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    for i in 0..4 {
        let convs: Vec<Conv> = (1..=3).map(|k| Conv::new(i * 10 + k, 10)).collect();
        load(&wh, &format!("run{i}"), &convs);
    }
    let before = content(dir.path());
    let files_before = wh.state().unwrap().files("chat_messages").len();
    assert_eq!(files_before, 4);
    let report = wh.compact().unwrap();
    assert!(report.files_merged >= 4 * 12, "{report:?}");
    assert_eq!(wh.state().unwrap().files("chat_messages").len(), 1);
    assert_eq!(content(dir.path()), before);
    let n = view_keys(
        &wh.catalog_path(),
        "SELECT count(*)::VARCHAR FROM conversations",
    );
    assert_eq!(n, ["12"]);
    // Nothing left to do.
    assert_eq!(wh.compact().unwrap().files_merged, 0);
}

#[test]
fn automatic_compaction_bounds_files_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(
        dir.path(),
        LoadOptions {
            compact_max_files: 3,
            ..opts()
        },
    )
    .unwrap();
    let mut all = Vec::new();
    for i in 0..6 {
        let convs: Vec<Conv> = (1..=2).map(|k| Conv::new(i * 10 + k, 10)).collect();
        all.extend(convs.clone());
        load(&wh, &format!("run{i}"), &convs);
        assert!(wh.state().unwrap().files("conversations").len() <= 3);
    }
    assert_eq!(content(dir.path()), expected(&all));
}

#[test]
fn retired_files_are_deleted_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let o = LoadOptions {
        retire_grace: std::time::Duration::ZERO,
        retain_history: std::time::Duration::ZERO,
        ..opts()
    };
    let wh = Warehouse::open(dir.path(), o.clone()).unwrap();
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
    for r in &retired {
        assert!(
            dir.path().join(r).exists(),
            "kept until the next commit or open"
        );
    }
    drop(wh);
    let wh = Warehouse::open(dir.path(), o).unwrap();
    assert!(wh.state().unwrap().retired.is_empty());
    for r in &retired {
        assert!(
            !dir.path().join(r).exists(),
            "{r} deleted after the grace period"
        );
    }
    assert_eq!(content(dir.path()), expected(&final_versions()));
    assert!(orphans(dir.path()).is_empty());
}

#[test]
fn raw_archive_is_committed_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(
        dir.path(),
        LoadOptions {
            raw_lines_per_page: 2,
            ..opts()
        },
    )
    .unwrap();
    let mut info = RunInfo::new("run1", "p");
    info.keep_raw = true;
    let mut run = wh.begin_run(info).unwrap();
    for i in 0..5 {
        run.write_raw(&format!("{{\"id\": {i},\n \"x\": 1}}"))
            .unwrap();
    }
    run.write_all(batches(&v1())).unwrap();
    run.commit(RunOutcome::default()).unwrap();
    let st = wh.status(1).unwrap();
    let files = &st.runs[0].raw_files;
    assert_eq!(files.len(), 3);
    let lines: Vec<String> = files
        .iter()
        .flat_map(|f| ltx_load::read_raw_page(&dir.path().join(f)).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[4], "{\"id\": 4,  \"x\": 1}");
}

#[test]
fn missing_manifest_with_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wh = Warehouse::open(dir.path(), opts()).unwrap();
        load(&wh, "run1", &v1());
    }
    std::fs::remove_file(dir.path().join("_ltx/manifest.json")).unwrap();
    assert!(matches!(
        Warehouse::open(dir.path(), opts()),
        Err(LoadError::ManifestMissing { .. })
    ));
}

/// The scenario every crash test runs: v1 committed, then a run with v2 + a duplicate +
/// an old replay + raw archive (reaching every run crash point), auto-compaction on.
fn crash_options(hook: CrashHook) -> LoadOptions {
    LoadOptions {
        crash: hook,
        compact_max_files: 1,
        raw_lines_per_page: 1,
        retire_grace: std::time::Duration::ZERO,
        retain_history: std::time::Duration::ZERO,
        ..LoadOptions::default()
    }
}

fn second_run(wh: &Warehouse, run_id: &str) -> Result<(), LoadError> {
    let mut info = RunInfo::new(run_id, "livetex");
    info.keep_raw = true;
    let mut run = wh.begin_run(info)?;
    let mut convs = v2();
    convs.push(Conv::new(4, 5)); // older than stored: dropped
    convs.push(v2()[2].clone()); // duplicate of 7
    for c in &convs {
        run.write_raw(&format!("{{\"id\": {}}}", c.id))?;
    }
    run.write_all(batches(&convs))?;
    run.commit(RunOutcome {
        cursor: Some("2026-03-02T00:00:00Z".parse().unwrap()),
        ..Default::default()
    })?;
    Ok(())
}

#[test]
fn crash_at_every_point_then_rerun_equals_uninterrupted_run() {
    let reference = tempfile::tempdir().unwrap();
    {
        let wh = Warehouse::open(reference.path(), crash_options(CrashHook::disabled())).unwrap();
        load(&wh, "run1", &v1());
        second_run(&wh, "run2").unwrap();
    }
    let want = content(reference.path());
    assert_eq!(want, expected(&final_versions()));
    // v2 replaced the v1 versions of conversations 2 and 3: kept in the same transaction.
    let want_history = superseded(reference.path());
    assert_eq!(want_history.len(), 2);

    // These runs write no reference table; its crash point has a test of its own
    // (a_crash_after_writing_a_reference_table_leaves_the_previous_one) and the e2e one.
    // Nor do they reach a Delta checkpoint (10 versions): tests/delta.rs crashes there.
    let points: Vec<&str> = CRASH_POINTS
        .iter()
        .copied()
        .filter(|p| *p != "reference.after_write" && *p != "delta.after_checkpoint")
        .collect();
    std::thread::scope(|s| {
        let chunks: Vec<Vec<&str>> = points
            .chunks(points.len().div_ceil(2))
            .map(|c| c.to_vec())
            .collect();
        for chunk in chunks {
            let (want, want_history) = (&want, &want_history);
            s.spawn(move || {
                for point in chunk {
                    crash_scenario(point, want, want_history);
                }
            });
        }
    });
}

fn crash_scenario(
    point: &str,
    want: &std::collections::BTreeMap<String, Vec<String>>,
    want_history: &[String],
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    {
        let wh = Warehouse::open(path, crash_options(CrashHook::disabled())).unwrap();
        load(&wh, "run1", &v1());
    }
    let hook = CrashHook::error_at(point);
    let mut rerun_needed = true;
    if point.starts_with("cleanup.") {
        // Leave orphans behind first, then crash while cleaning them up.
        let pre = CrashHook::error_at("commit.after_renames");
        let wh = Warehouse::open(path, crash_options(pre.clone())).unwrap();
        assert!(second_run(&wh, "run2").is_err());
        drop(wh);
        let r = Warehouse::open(path, crash_options(hook.clone()));
        assert!(
            matches!(r, Err(LoadError::InjectedCrash { .. })),
            "{point}: {r:?}"
        );
    } else if point.starts_with("failed_run.") {
        let wh = Warehouse::open(path, crash_options(hook.clone())).unwrap();
        let r = wh.record_failed_run(
            &RunInfo::new("failed1", "livetex"),
            &RunOutcome::default(),
            "boom",
        );
        assert!(
            matches!(r, Err(LoadError::InjectedCrash { .. })),
            "{point}: {r:?}"
        );
    } else if point.starts_with("retire.") {
        // A run marks replaced rows deleted and retires nothing; the compaction after it
        // retires the files it rewrote. The next commit deletes them (grace zero here).
        {
            let wh = Warehouse::open(path, crash_options(CrashHook::disabled())).unwrap();
            second_run(&wh, "run2").unwrap();
            assert!(!wh.state().unwrap().retired.is_empty(), "{point}");
        }
        let r = Warehouse::open(path, crash_options(hook.clone()))
            .and_then(|wh| second_run(&wh, "run3"));
        assert!(
            matches!(r, Err(LoadError::InjectedCrash { .. })),
            "{point}: {r:?}"
        );
        rerun_needed = false;
    } else {
        let wh = Warehouse::open(path, crash_options(hook.clone())).unwrap();
        let r = second_run(&wh, "run2");
        assert!(
            matches!(r, Err(LoadError::InjectedCrash { .. })),
            "{point}: {r:?}"
        );
        // A crash after the manifest rename means run2 is committed; re-running is a no-op.
        rerun_needed = true;
    }
    assert!(hook.fired(), "crash point {point} was never reached");
    // Restart: open cleans up, the sync is re-run with a new run id.
    let wh = Warehouse::open(path, crash_options(CrashHook::disabled())).unwrap();
    if rerun_needed {
        second_run(&wh, "run2-retry").unwrap();
    }
    assert_eq!(&content(path), want, "content after crash at {point}");
    // The replaced versions went with the rewrite: both or neither, then the re-run's.
    assert_eq!(
        superseded(path),
        want_history,
        "history after crash at {point}"
    );
    // Orphans include generation snapshots of uncommitted transactions and ones listing a
    // deleted file.
    assert_eq!(
        orphans(path),
        Vec::<String>::new(),
        "orphans after crash at {point}"
    );
    assert_eq!(
        delta_behind(path),
        Vec::<String>::new(),
        "Delta logs after crash at {point}"
    );
    let history = view_keys(
        &wh.catalog_path(),
        "SELECT count(*)::VARCHAR FROM conversations_history WHERE NOT is_current",
    );
    assert_eq!(
        history,
        ["2"],
        "conversations_history after crash at {point}"
    );
    let n = view_keys(
        &wh.catalog_path(),
        "SELECT count(*)::VARCHAR FROM chat_messages",
    );
    assert_eq!(
        n,
        [want["chat_messages"].len().to_string()],
        "catalog after crash at {point}"
    );
    assert_eq!(
        wh.cursor("default", "livetex").unwrap(),
        Some("2026-03-02T00:00:00Z".parse().unwrap()),
        "cursor after crash at {point}"
    );
}

#[test]
fn the_catalog_opens_read_only_with_the_models_and_refuses_a_moved_warehouse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wh");
    assert!(matches!(
        Warehouse::open_catalog_readonly(&dir),
        Err(LoadError::CatalogMissing { .. })
    ));
    {
        let wh = Warehouse::open(&dir, opts()).unwrap();
        load(&wh, "run1", &v1());
    }
    let catalog = Warehouse::open_catalog_readonly(&dir).unwrap();
    assert_eq!(catalog.behind(), None);
    let conn = catalog.connection();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 6);
    // The default options carry the embedded BI models.
    for (name, _) in ltx_load::models::MODELS {
        conn.execute_batch(&format!("SELECT * FROM {name} LIMIT 0"))
            .unwrap();
    }
    drop(catalog);
    // The manifest one generation ahead of the catalog, as after a failed rebuild.
    let manifest = dir.join("_ltx/manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let g = m["generation"].as_u64().unwrap();
    m["generation"] = (g + 1).into();
    std::fs::write(&manifest, serde_json::to_string(&m).unwrap()).unwrap();
    let catalog = Warehouse::open_catalog_readonly(&dir).unwrap();
    assert_eq!(catalog.behind(), Some((g, g + 1)));
    drop(catalog);
    let moved = tmp.path().join("moved");
    std::fs::rename(&dir, &moved).unwrap();
    match Warehouse::open_catalog_readonly(&moved) {
        Err(LoadError::CatalogElsewhere { dir: d, built_for }) => {
            assert_eq!(d, moved);
            assert!(built_for.ends_with("wh"), "{built_for}");
        }
        other => panic!("expected CatalogElsewhere, got {other:?}"),
    }
}

/// `(storage version tag, employees rows, operator_performance rows)` of the catalog of
/// `dir` attached read-only under `alias` (another name than the one it was built under),
/// as a BI tool opening it as its main database would see it.
fn catalog_as(dir: &std::path::Path, alias: &str) -> (String, i64, i64) {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let path = dir.join("warehouse.duckdb");
    conn.execute_batch(&format!(
        "ATTACH '{}' AS {alias} (READ_ONLY); USE {alias}",
        path.display()
    ))
    .unwrap();
    let tag: String = conn
        .query_row(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = ?",
            [alias],
            |r| r.get(0),
        )
        .unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    (
        tag,
        // employees reads employees_history; the model reads employees and the facts.
        count("SELECT count(*) FROM employees"),
        count("SELECT count(*) FROM operator_performance"),
    )
}

#[test]
fn the_catalog_is_written_in_the_configured_storage_version_and_resolves_under_any_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wh");
    {
        let wh = Warehouse::open(&dir, opts()).unwrap();
        load(&wh, "run1", &v1());
    }
    // v1.1.0 by default: DuckDB tags storage format 64 (DuckDB 1.0 to 1.1) "v1.0.0+".
    let (tag, employees, models) = catalog_as(&dir, "warehouse");
    assert_eq!(tag, "v1.0.0+");
    assert!(employees > 0 && models > 0, "{employees} {models}");
    // Views that read views bind in their own database, whatever it is called.
    assert_eq!(
        catalog_as(&dir, "some_other_name"),
        (tag.clone(), employees, models)
    );
    let stored: String = view_keys(
        &dir.join("warehouse.duckdb"),
        "SELECT storage_version FROM _ltx_catalog",
    )
    .remove(0);
    assert_eq!(stored, ltx_load::DEFAULT_STORAGE_VERSION);
    // Another version: the next open rebuilds the catalog in it, without a commit.
    let newer = || LoadOptions {
        duckdb_storage_version: "v1.4.0".to_owned(),
        ..opts()
    };
    drop(Warehouse::open(&dir, newer()).unwrap());
    let (tag, e, m) = catalog_as(&dir, "warehouse");
    assert_ne!(tag, "v1.0.0+");
    assert_eq!((e, m), (employees, models));
    // A version DuckDB does not know fails the build with its message; the catalog stays.
    let bad = LoadOptions {
        duckdb_storage_version: "v9.0.0".to_owned(),
        ..opts()
    };
    let err = Warehouse::open(&dir, bad).unwrap_err().to_string();
    assert!(
        err.contains("storage version v9.0.0") && err.contains("not a known DuckDB version"),
        "{err}"
    );
    assert_eq!(catalog_as(&dir, "warehouse").0, tag);
}

#[test]
fn storage_versions_are_checked_with_duckdb() {
    for ok in ["v1.1.0", "v1.2.0", "v1.4.0"] {
        ltx_load::check_storage_version(ok).unwrap();
    }
    for (bad, why) in [
        ("1.1.0", "expected vX.Y.Z"),
        ("v1.1", "expected vX.Y.Z"),
        ("v1.1.0.0", "expected vX.Y.Z"),
        ("latest", "expected vX.Y.Z"),
        ("v1.0.0", "older than v1.1.0"),
        // DuckDB's own message lists the versions it knows.
        ("v1.1.9", "v1.1.3"),
        ("v9.0.0", "not a known DuckDB version"),
    ] {
        match ltx_load::check_storage_version(bad) {
            Err(e @ LoadError::StorageVersion { .. }) => {
                let text = e.to_string();
                assert!(text.contains(why) && text.contains(bad), "{bad}: {text}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// A batch of the reference table `sla_targets` with one target per `(metric, seconds)`,
/// stamped with `run_id`.
fn sla_targets(run_id: &str, targets: &[(&str, i64)]) -> ltx_transform::TableBatch {
    use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;
    let table = ltx_transform::Table::SlaTargets;
    let n = targets.len();
    let strs = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let columns: Vec<ArrayRef> = vec![
        strs(vec!["default"; n]),
        strs(targets.iter().map(|t| t.0).collect()),
        strs(vec!["chat"; n]),
        Arc::new(Int64Array::from(vec![None::<i64>; n])),
        Arc::new(Int64Array::from(vec![None::<i64>; n])),
        strs(vec!["business"; n]),
        Arc::new(Int64Array::from_iter_values(targets.iter().map(|t| t.1))),
        Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_000_000; n]).with_timezone("UTC"),
        ),
        strs(vec![run_id; n]),
    ];
    ltx_transform::TableBatch {
        table,
        partition: "default/all".to_owned(),
        batch: arrow::array::RecordBatch::try_new(table.schema(), columns).unwrap(),
    }
}

fn reference_files(dir: &std::path::Path) -> Vec<String> {
    let m: ltx_load::Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("_ltx/manifest.json")).unwrap()).unwrap();
    m.files("sla_targets")
        .iter()
        .map(|f| f.path.clone())
        .collect()
}

fn load_reference(wh: &Warehouse, run_id: &str, targets: &[(&str, i64)]) -> ltx_load::CommitReport {
    let mut run = wh.begin_run(RunInfo::new(run_id, "livetex")).unwrap();
    run.write_all(batches(&v1())).unwrap();
    run.write(sla_targets(run_id, targets)).unwrap();
    run.commit(RunOutcome::default()).unwrap()
}

#[test]
fn a_reference_table_is_replaced_only_when_its_content_changes() {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    let first = load_reference(&wh, "r1", &[("chat_first_answer", 60)]);
    assert_eq!(first.tables["sla_targets"].rows_added, 1);
    let files = reference_files(dir.path());
    assert_eq!(files.len(), 1);

    // Same content, another run (its lineage differs): nothing rewritten.
    let second = load_reference(&wh, "r2", &[("chat_first_answer", 60)]);
    assert!(!second.tables.contains_key("sla_targets"), "{second:?}");
    assert_eq!(reference_files(dir.path()), files);

    // A changed target replaces the file whole; the old one is retired, not kept live.
    let third = load_reference(
        &wh,
        "r3",
        &[("chat_first_answer", 30), ("lead_answer", 14400)],
    );
    assert_eq!(third.tables["sla_targets"].rows_added, 2);
    assert_eq!(third.tables["sla_targets"].rows_removed, 1);
    let now = reference_files(dir.path());
    assert_eq!(now.len(), 1);
    assert_ne!(now, files);
    let conn = Warehouse::open_catalog_readonly(dir.path())
        .unwrap()
        .into_connection();
    let rows: Vec<(String, i64, String)> = conn
        .prepare("SELECT metric, target_s, _run_id FROM sla_targets ORDER BY metric")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![
            ("chat_first_answer".to_owned(), 30, "r3".to_owned()),
            ("lead_answer".to_owned(), 14400, "r3".to_owned())
        ]
    );
}

#[test]
fn a_crash_after_writing_a_reference_table_leaves_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wh = Warehouse::open(dir.path(), opts()).unwrap();
        load_reference(&wh, "r1", &[("chat_first_answer", 60)]);
    }
    let files = reference_files(dir.path());
    {
        let crashing = LoadOptions {
            crash: CrashHook::error_at("reference.after_write"),
            ..opts()
        };
        let wh = Warehouse::open(dir.path(), crashing).unwrap();
        let mut run = wh.begin_run(RunInfo::new("r2", "livetex")).unwrap();
        run.write(sla_targets("r2", &[("chat_first_answer", 5)]))
            .unwrap();
        assert!(run.commit(RunOutcome::default()).is_err());
    }
    let wh = Warehouse::open(dir.path(), opts()).unwrap();
    assert_eq!(reference_files(dir.path()), files);
    assert!(orphans(dir.path()).is_empty(), "{:?}", orphans(dir.path()));
    drop(wh);
}
