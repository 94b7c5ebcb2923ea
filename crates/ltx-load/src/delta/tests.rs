#![allow(clippy::unwrap_used)]
//! The sync against hand-made manifests: it reads no data file, so none is written.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;
use crate::history::SUPERSEDED_CONVERSATIONS;
use crate::manifest::{FileEntry, TableFiles};

const DAY: Duration = Duration::from_secs(86_400);

fn entry(table: &str, partition: &str, name: &str, rows: u64) -> FileEntry {
    FileEntry {
        path: format!("data/{table}/{partition}/{name}.parquet"),
        partition: partition.to_owned(),
        rows,
        bytes: rows * 100,
        min_conversation_id: Some(rows as i64),
        max_conversation_id: Some(rows as i64 * 2),
        written_by: name.to_owned(),
        content_hash: None,
        deleted: None,
    }
}

/// A warehouse directory and the manifest a sequence of commits would have.
struct Fixture {
    _dir: tempfile::TempDir,
    layout: Layout,
    manifest: Manifest,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        layout.create_dirs().unwrap();
        let manifest = Manifest::empty(Utc::now());
        Self {
            _dir: dir,
            layout,
            manifest,
        }
    }

    /// Commit `g`: a new `chats` file each time, every third commit replaces the oldest one
    /// (a rewrite), every fifth adds a superseded-conversations file. `conversations`
    /// changes at the first commit only.
    fn commit(&mut self, g: u64) {
        let m = &mut self.manifest;
        m.generation = g;
        let chats = m.tables.entry("chats".to_owned()).or_default();
        chats
            .files
            .push(entry("chats", "2026-03", &format!("run{g}-00001"), g));
        if g.is_multiple_of(3) {
            chats.files.remove(0);
        }
        if g == 1 {
            m.tables.insert(
                "conversations".to_owned(),
                TableFiles {
                    files: vec![entry("conversations", "2026-02", "run1-00002", 7)],
                },
            );
        }
        if g.is_multiple_of(5) {
            m.tables
                .entry(SUPERSEDED_CONVERSATIONS.to_owned())
                .or_default()
                .files
                .push(entry(
                    SUPERSEDED_CONVERSATIONS,
                    "2026-02",
                    &format!("run{g}-00003"),
                    1,
                ));
        }
    }

    fn sync(&self, keep: Duration, now: DateTime<Utc>) -> SyncReport {
        let r = sync_at(
            &self.layout,
            &self.manifest,
            &CrashHook::disabled(),
            keep,
            now,
        )
        .unwrap();
        assert!(r.failed.is_empty(), "{:?}", r.failed);
        r
    }

    fn log_dir(&self, table: &str) -> PathBuf {
        table_root(self.layout.root(), table).join(LOG_DIR)
    }

    fn log_files(&self, table: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.log_dir(table))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Every stored table's log holds exactly the manifest's live files.
    fn assert_logs_equal_manifest(&self) {
        for (name, _) in stored_tables(&self.manifest) {
            let snap = read_table(self.layout.root(), &name).unwrap();
            let mut want: Vec<String> = self
                .manifest
                .files(&name)
                .iter()
                .map(|f| {
                    f.path
                        .strip_prefix(&format!("data/{name}/"))
                        .unwrap()
                        .to_owned()
                })
                .collect();
            want.sort();
            assert_eq!(snap.live_paths(), want, "live files of {name}");
            assert!(snap.metadata.is_some() && snap.protocol.is_some(), "{name}");
            assert!(
                snap.generation
                    .is_some_and(|g| g <= self.manifest.generation),
                "{name}: {:?}",
                snap.generation
            );
        }
    }
}

#[test]
fn replay_of_commits_and_checkpoints_equals_the_manifest() {
    let mut f = Fixture::new();
    let now = Utc::now();
    for g in 1..=23 {
        f.commit(g);
        let r = f.sync(DAY, now);
        let chats = &r.tables.iter().find(|(n, _)| n == "chats").unwrap().1;
        // One version per commit that changed the table, numbered from 0.
        assert_eq!(chats.committed, Some(g - 1), "generation {g}");
        let conversations = &r
            .tables
            .iter()
            .find(|(n, _)| n == "conversations")
            .unwrap()
            .1;
        assert_eq!(conversations.committed, (g == 1).then_some(0));
        f.assert_logs_equal_manifest();
    }
    // chats: versions 0..=22, checkpoints at 10 and 20 (every 10 versions).
    let chats = read_table(f.layout.root(), "chats").unwrap();
    assert_eq!(chats.version, Some(22));
    assert_eq!(chats.checkpoint, Some(20));
    assert_eq!(chats.generation, Some(23));
    let last = checkpoint::read_last(&f.log_dir("chats")).unwrap();
    assert_eq!(last.version, 20);
    // `size` is the checkpoint's number of actions.
    let checkpoint_path = f.log_dir("chats").join(log::checkpoint_name(20));
    assert_eq!(last.size, checkpoint::rows(&checkpoint_path).unwrap());
    assert_eq!(
        checkpoint::read("chats", &checkpoint_path).unwrap().len() as u64,
        last.size
    );
    assert!(f.log_files("chats").contains(&log::checkpoint_name(10)));
    // The same state without the checkpoints: replaying every JSON commit.
    let with_checkpoints = chats.clone();
    for v in [10, 20] {
        std::fs::remove_file(f.log_dir("chats").join(log::checkpoint_name(v))).unwrap();
    }
    let json_only = read_table(f.layout.root(), "chats").unwrap();
    assert_eq!(json_only.checkpoint, None);
    assert_eq!(json_only.files, with_checkpoints.files);
    assert_eq!(json_only.tombstones, with_checkpoints.tombstones);
    assert_eq!(json_only.metadata, with_checkpoints.metadata);
    assert_eq!(json_only.protocol, with_checkpoints.protocol);
    // Stats come from the manifest: rows and the conversation id range.
    let add = json_only.files.values().next().unwrap();
    let stats: serde_json::Value = serde_json::from_str(add.stats.as_deref().unwrap()).unwrap();
    assert!(stats["numRecords"].as_u64().unwrap() > 0);
    assert!(stats["minValues"]["conversation_id"].is_i64());
    // conversations has a timestamp without zone: reader 3 / writer 7 with timestampNtz.
    let conversations = read_table(f.layout.root(), "conversations").unwrap();
    let p = conversations.protocol.unwrap();
    assert_eq!((p.min_reader_version, p.min_writer_version), (3, 7));
    assert_eq!(p.reader_features, Some(vec!["timestampNtz".to_owned()]));
    // Empty tables are Delta tables too: a version 0 with protocol and metadata only.
    let sla = read_table(f.layout.root(), "sla_targets").unwrap();
    assert_eq!(sla.version, Some(0));
    assert!(sla.files.is_empty());
}

#[test]
fn a_resync_writes_nothing() {
    let mut f = Fixture::new();
    let now = Utc::now();
    for g in 1..=12 {
        f.commit(g);
        f.sync(DAY, now);
    }
    let before: BTreeMap<String, Vec<String>> = stored_tables(&f.manifest)
        .into_iter()
        .map(|(n, _)| (n.clone(), f.log_files(&n)))
        .collect();
    let r = f.sync(DAY, now);
    assert!(
        r.tables.iter().all(|(_, t)| *t == TableSync::default()),
        "{:?}",
        r.tables
    );
    let after: BTreeMap<String, Vec<String>> = stored_tables(&f.manifest)
        .into_iter()
        .map(|(n, _)| (n.clone(), f.log_files(&n)))
        .collect();
    assert_eq!(before, after);
    assert!(!log::tmp_dir(&f.layout).exists(), "temporary files left");
}

#[test]
fn a_log_behind_the_manifest_catches_up_in_one_version() {
    let mut f = Fixture::new();
    let now = Utc::now();
    f.commit(1);
    f.sync(DAY, now);
    // Three commits whose syncs failed: one version brings the log up to the third.
    for g in 2..=4 {
        f.commit(g);
    }
    let r = f.sync(DAY, now);
    let chats = &r.tables.iter().find(|(n, _)| n == "chats").unwrap().1;
    assert_eq!(chats.committed, Some(1));
    assert_eq!((chats.adds, chats.removes), (3, 1));
    f.assert_logs_equal_manifest();
    // A checkpoint that a crash kept from `_last_checkpoint` is named by the next sync.
    for g in 5..=20 {
        f.commit(g);
        f.sync(DAY, now);
    }
    let log_dir = f.log_dir("chats");
    std::fs::remove_file(log_dir.join(LAST_CHECKPOINT)).unwrap();
    f.sync(DAY, now);
    assert!(checkpoint::read_last(&log_dir).is_some());
}

#[test]
fn cleanup_keeps_the_newest_checkpoint_and_the_retention() {
    let mut f = Fixture::new();
    let start = Utc::now();
    for g in 1..=25 {
        f.commit(g);
        f.sync(DAY, start);
    }
    let all = f.log_files("chats");
    assert!(all.contains(&log::commit_name(0)));
    // Within the retention nothing goes.
    let r = f.sync(DAY, start + chrono::Duration::hours(1));
    assert!(r.tables.iter().all(|(_, t)| t.deleted == 0));
    assert_eq!(f.log_files("chats"), all);
    // Two days later everything before the newest checkpoint (20) goes, the checkpoint and
    // the versions after it stay, and the table opens from it.
    let r = f.sync(DAY, start + chrono::Duration::days(2));
    let chats = &r.tables.iter().find(|(n, _)| n == "chats").unwrap().1;
    assert_eq!(chats.deleted, 20 + 1, "JSON 0..=19 and checkpoint 10");
    let left = f.log_files("chats");
    let mut want: Vec<String> = (20..=24).map(log::commit_name).collect();
    want.push(log::checkpoint_name(20));
    want.push(LAST_CHECKPOINT.to_owned());
    want.sort();
    assert_eq!(left, want);
    f.assert_logs_equal_manifest();
    // The tombstones of files removed before the retention are gone from later checkpoints.
    let later = start + chrono::Duration::days(2);
    for g in 26..=31 {
        f.commit(g);
        f.sync(DAY, later);
    }
    let chats = read_table(f.layout.root(), "chats").unwrap();
    assert_eq!(chats.checkpoint, Some(30));
    // Removed at generations 27 and 30 (two days after the others): those two only.
    assert_eq!(chats.tombstones.len(), 2, "{:?}", chats.tombstones.keys());
    assert!(chats
        .tombstones
        .values()
        .all(|r| r.deletion_timestamp == Some(later.timestamp_millis())));
}

#[test]
fn a_table_without_a_checkpoint_is_never_cleaned() {
    let mut f = Fixture::new();
    let start = Utc::now();
    f.commit(1);
    f.sync(DAY, start);
    f.commit(2);
    let r = f.sync(Duration::ZERO, start + chrono::Duration::days(400));
    assert!(r.tables.iter().all(|(_, t)| t.deleted == 0));
    f.assert_logs_equal_manifest();
}
