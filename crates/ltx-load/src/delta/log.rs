//! One table's `_delta_log/`: the names of its files, replaying it (the newest checkpoint,
//! then the JSON commits after it) into the table's live files, and writing a new version
//! with create-new semantics, so that a version is never written twice.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};

use super::actions::{ActionLine, Add, Metadata, Protocol, Remove};
use super::checkpoint;

/// The log directory's name inside a table root.
pub const LOG_DIR: &str = "_delta_log";

/// The file naming the newest checkpoint (`{"version":v,"size":n}`).
pub const LAST_CHECKPOINT: &str = "_last_checkpoint";

/// `<v>.json`, zero-padded to 20 digits as the protocol requires.
pub(crate) fn commit_name(version: u64) -> String {
    format!("{version:020}.json")
}

/// `<v>.checkpoint.parquet` (a single-part checkpoint).
pub(crate) fn checkpoint_name(version: u64) -> String {
    format!("{version:020}.checkpoint.parquet")
}

/// The version of a commit file name (`Ok`) or a checkpoint file name (`Err`); `None` for
/// any other name (`_last_checkpoint`, multi-part checkpoints, temporary files).
fn parse_name(name: &str) -> Option<std::result::Result<u64, u64>> {
    fn digits(s: &str) -> Option<&str> {
        (s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
    }
    if let Some(v) = name.strip_suffix(".checkpoint.parquet").and_then(digits) {
        return v.parse().ok().map(Err);
    }
    let v = name.strip_suffix(".json").and_then(digits)?;
    v.parse().ok().map(Ok)
}

/// The versioned files of a log directory.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Commit files by version.
    pub commits: BTreeMap<u64, PathBuf>,
    /// Checkpoint files by version.
    pub checkpoints: BTreeMap<u64, PathBuf>,
}

impl Listing {
    /// The newest version the log has (commit or checkpoint).
    pub fn latest(&self) -> Option<u64> {
        let c = self.commits.keys().next_back().copied();
        let k = self.checkpoints.keys().next_back().copied();
        c.max(k)
    }
}

/// Lists `log_dir` (missing: empty).
pub(crate) fn list(log_dir: &Path) -> Result<Listing> {
    let mut out = Listing::default();
    let entries = match fs::read_dir(log_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(log_dir)(e)),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        match parse_name(&name) {
            Some(Ok(v)) => {
                out.commits.insert(v, e.path());
            }
            Some(Err(v)) => {
                out.checkpoints.insert(v, e.path());
            }
            None => {}
        }
    }
    Ok(out)
}

/// A table's state at the newest version of its log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The newest version (`None`: no log yet).
    pub version: Option<u64>,
    /// The newest checkpoint the state was read from.
    pub checkpoint: Option<u64>,
    /// The table's protocol.
    pub protocol: Option<Protocol>,
    /// The table's metadata.
    pub metadata: Option<Metadata>,
    /// Live files by their `add.path` (relative to the table root, percent-encoded).
    pub files: BTreeMap<String, Add>,
    /// Removed files by path, with their removal instant.
    pub tombstones: BTreeMap<String, Remove>,
    /// The ltx generation of the newest commit ltx wrote (from its `commitInfo`).
    pub generation: Option<u64>,
}

impl Snapshot {
    /// Applies one action in log order.
    pub(crate) fn apply(&mut self, line: &ActionLine) {
        if let Some(p) = &line.protocol {
            self.protocol = Some(p.clone());
        }
        if let Some(m) = &line.meta_data {
            self.metadata = Some(m.clone());
        }
        if let Some(a) = &line.add {
            self.tombstones.remove(&a.path);
            self.files.insert(a.path.clone(), a.clone());
        }
        if let Some(r) = &line.remove {
            self.files.remove(&r.path);
            self.tombstones.insert(r.path.clone(), r.clone());
        }
        if let Some(g) = line.commit_info.as_ref().and_then(|c| c.ltx.as_ref()) {
            self.generation = Some(g.generation);
        }
    }

    /// The decoded paths of the live files, relative to the table root.
    pub fn live_paths(&self) -> Vec<String> {
        self.files.keys().map(|p| decode_path(p)).collect()
    }
}

/// The error for a log that is not what the protocol (or ltx) expects.
pub(crate) fn delta_err(table: &str, path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Delta {
        table: table.to_owned(),
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the actions of one commit file.
pub(crate) fn read_commit(table: &str, path: &Path) -> Result<Vec<ActionLine>> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let action = serde_json::from_str(line)
            .map_err(|e| delta_err(table, path, format!("line {}: {e}", i + 1)))?;
        out.push(action);
    }
    Ok(out)
}

/// Replays `log_dir` of `table`: the newest checkpoint, then every commit after it, which
/// must follow each other without a gap (the log is ltx's own: a gap means lost files).
pub(crate) fn replay(table: &str, log_dir: &Path) -> Result<Snapshot> {
    let listing = list(log_dir)?;
    let mut snap = Snapshot::default();
    let Some(latest) = listing.latest() else {
        return Ok(snap);
    };
    let start = match listing.checkpoints.iter().next_back() {
        Some((&v, path)) => {
            for line in checkpoint::read(table, path)? {
                snap.apply(&line);
            }
            // A checkpoint holds no `commitInfo`: the generation is in its version's
            // commit, which the clean-up keeps with the checkpoint.
            if let Some(commit) = listing.commits.get(&v) {
                for line in read_commit(table, commit)? {
                    if line.commit_info.is_some() {
                        snap.apply(&line);
                    }
                }
            }
            snap.checkpoint = Some(v);
            v + 1
        }
        None => 0,
    };
    for v in start..=latest {
        let Some(path) = listing.commits.get(&v) else {
            return Err(delta_err(
                table,
                log_dir,
                format!("version {v} is missing (log replayed from version {start} to {latest})"),
            ));
        };
        for line in read_commit(table, path)? {
            snap.apply(&line);
        }
    }
    snap.version = Some(latest);
    Ok(snap)
}

/// Writes version `version` of the log: the actions go to a temporary file first (fsynced),
/// which is then hard-linked to its name. The link fails when the name exists, so a
/// version is never overwritten, and readers never see a partial commit. Returns false when
/// the version already exists (another writer, or an earlier attempt): the caller re-reads
/// the log and recomputes. On a file system without hard links the file is created with
/// `create_new` instead.
pub(crate) fn write_version(
    layout: &Layout,
    table: &str,
    log_dir: &Path,
    version: u64,
    lines: &[ActionLine],
) -> Result<bool> {
    let mut bytes = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut bytes, l).map_err(|source| LoadError::Json {
            path: log_dir.join(commit_name(version)),
            source,
        })?;
        bytes.push(b'\n');
    }
    ensure_dir(log_dir)?;
    let tmp = tmp_path(layout, &format!("{table}-{}", commit_name(version)))?;
    write_synced(&tmp, &bytes)?;
    let dst = log_dir.join(commit_name(version));
    let written = match fs::hard_link(&tmp, &dst) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(_) => create_new(&dst, &bytes)?,
    };
    layout::remove_file_if_exists(&tmp)?;
    if written {
        layout::fsync_dir(log_dir)?;
    }
    Ok(written)
}

/// `create_new` + write + fsync; false when `path` exists.
fn create_new(path: &Path, bytes: &[u8]) -> Result<bool> {
    let mut f = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(io_err(path)(e)),
    };
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    Ok(true)
}

/// Writes and fsyncs `path` (truncating).
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Creates the log directory (and the table root) if needed, durably.
pub(crate) fn ensure_dir(log_dir: &Path) -> Result<()> {
    if log_dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(log_dir).map_err(io_err(log_dir))?;
    if let Some(root) = log_dir.parent() {
        layout::fsync_dir(root)?;
        if let Some(data) = root.parent() {
            layout::fsync_dir(data)?;
        }
    }
    Ok(())
}

/// The directory temporary log files are written in before they are linked or renamed into
/// a log: `_ltx/tmp/delta/`, which the next open wipes with the rest of `_ltx/tmp/`.
pub(crate) fn tmp_dir(layout: &Layout) -> PathBuf {
    layout.tmp_dir().join("delta")
}

/// A temporary file `name` in [`tmp_dir`] (created if needed).
pub(crate) fn tmp_path(layout: &Layout, name: &str) -> Result<PathBuf> {
    let dir = tmp_dir(layout);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    Ok(dir.join(name))
}

/// Percent-encodes a relative path for `add.path` (a URI reference): every byte but ASCII
/// letters, digits, `-_.~` and the `/` separators. ltx's names need none of it; a partition
/// or file name from elsewhere might.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode_path`] (any `%XX`; a malformed escape is kept as it is).
pub(crate) fn decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |k: usize| bytes.get(k).and_then(|b| (*b as char).to_digit(16));
        if bytes[i] == b'%' {
            if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                // Two hex digits: at most 0xFF.
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(commit_name(7), "00000000000000000007.json");
        assert_eq!(parse_name(&commit_name(7)), Some(Ok(7)));
        assert_eq!(parse_name(&checkpoint_name(10)), Some(Err(10)));
        for other in [
            "_last_checkpoint",
            "7.json",
            "00000000000000000010.checkpoint.0000000001.0000000002.parquet",
            "00000000000000000007.json.tmp",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn paths_are_percent_encoded_and_decoded() {
        assert_eq!(
            encode_path("2026-03/run_1-00001.parquet"),
            "2026-03/run_1-00001.parquet"
        );
        let odd = "acme corp/2026-03/ä%.parquet";
        let enc = encode_path(odd);
        assert_eq!(enc, "acme%20corp/2026-03/%C3%A4%25.parquet");
        assert_eq!(decode_path(&enc), odd);
        assert_eq!(decode_path("a%2"), "a%2");
    }

    #[test]
    fn a_version_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        layout.create_dirs().unwrap();
        let log_dir = layout.data_dir().join("t").join(LOG_DIR);
        let line = ActionLine::protocol(Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        });
        assert!(write_version(&layout, "t", &log_dir, 0, std::slice::from_ref(&line)).unwrap());
        assert!(!write_version(&layout, "t", &log_dir, 0, &[line.clone(), line]).unwrap());
        let got = read_commit("t", &log_dir.join(commit_name(0))).unwrap();
        assert_eq!(got.len(), 1, "the first write stays");
        assert_eq!(replay("t", &log_dir).unwrap().version, Some(0));
    }
}
