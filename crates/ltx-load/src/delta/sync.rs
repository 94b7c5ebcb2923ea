//! Bringing one table's Delta log up to the manifest: the log is replayed, its live files
//! compared with the manifest's, and the difference written as the next version (removes
//! of the files no longer live, adds of the new ones, a new `metaData` when the schema
//! changed). A table whose log already equals the manifest gets no version, which is what
//! makes the sync idempotent and a repair after any crash.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use ltx_transform::Table;

use crate::columns::conversation_column;
use crate::crash::CrashHook;
use crate::error::Result;
use crate::layout::Layout;
use crate::manifest::FileEntry;

use super::actions::{
    ActionLine, Add, CommitInfo, DeletionVector, Format, LtxInfo, Metadata, Remove,
};
use super::log::{self, delta_err, Snapshot};
use super::{checkpoint, cleanup, schema, CHECKPOINT_INTERVAL};

/// What one table's sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSync {
    /// The version written (`None`: the log already matched the manifest).
    pub committed: Option<u64>,
    /// Files added and removed by that version.
    pub adds: usize,
    /// Files removed by that version.
    pub removes: usize,
    /// The checkpoint written, if any.
    pub checkpoint: Option<u64>,
    /// Log files deleted past retention.
    pub deleted: usize,
}

/// What every sync of a table needs besides the table.
pub(crate) struct Ctx<'a> {
    pub layout: &'a Layout,
    pub crash: &'a CrashHook,
    /// How long removed files (and the log versions listing them) stay.
    pub keep: Duration,
    /// The manifest generation the logs are brought up to.
    pub generation: u64,
    pub now: DateTime<Utc>,
}

/// Attempts at writing a version before giving up: a version that exists already was
/// written by an earlier attempt or another writer, and the log is re-read.
const ATTEMPTS: usize = 3;

/// Brings the log of the stored table `name` (whose files have `table`'s schema) up to the
/// manifest's live `files`.
pub(crate) fn sync_table(
    ctx: &Ctx<'_>,
    name: &str,
    table: Table,
    files: &[FileEntry],
) -> Result<TableSync> {
    let log_dir = super::table_root(ctx.layout.root(), name).join(log::LOG_DIR);
    let arrow_schema = table.schema();
    let schema_string = schema::schema_string(&arrow_schema)
        .map_err(|m| delta_err(name, &log_dir, format!("schema: {m}")))?;
    let want = wanted_files(ctx, name, table, files);
    let mut out = TableSync::default();
    let mut attempt = 0;
    let snap = loop {
        attempt += 1;
        let mut snap = log::replay(name, &log_dir)?;
        // Deletion vectors need a reader that knows them: declared once a file has one
        // (and kept, as Delta features are).
        let dvs = want.values().any(|a| a.deletion_vector.is_some())
            || snap
                .protocol
                .as_ref()
                .is_some_and(schema::has_deletion_vectors);
        let protocol = schema::protocol(&arrow_schema, dvs);
        let lines = catch_up(ctx, name, &snap, &want, &protocol, &schema_string);
        let Some(lines) = lines else {
            break snap;
        };
        let version = snap.version.map_or(0, |v| v + 1);
        if log::write_version(ctx.layout, name, &log_dir, version, &lines)? {
            for l in &lines {
                snap.apply(l);
            }
            snap.version = Some(version);
            out.committed = Some(version);
            out.adds = lines.iter().filter(|l| l.add.is_some()).count();
            out.removes = lines.iter().filter(|l| l.remove.is_some()).count();
            ctx.crash.check("delta.after_table_commit")?;
            break snap;
        }
        if attempt >= ATTEMPTS {
            return Err(delta_err(
                name,
                &log_dir,
                format!("version {version} kept appearing while writing it ({ATTEMPTS} attempts)"),
            ));
        }
        tracing::debug!(table = name, version, "Delta version exists: log re-read");
    };
    out.checkpoint = checkpoint_if_due(ctx, name, &log_dir, &snap)?;
    let listing = log::list(&log_dir)?;
    out.deleted = cleanup::cleanup(&log_dir, &listing, SystemTime::from(ctx.now), ctx.keep)?;
    Ok(out)
}

/// The manifest's live files of a table as the `add` actions the log should hold, by path.
fn wanted_files(
    ctx: &Ctx<'_>,
    name: &str,
    table: Table,
    files: &[FileEntry],
) -> BTreeMap<String, Add> {
    let prefix = format!("data/{name}/");
    let now_ms = ctx.now.timestamp_millis();
    let column = conversation_column(table);
    files
        .iter()
        .map(|f| {
            let path = match f.path.strip_prefix(&prefix) {
                Some(rel) => log::encode_path(rel),
                // Not under the table root (not written by this ltx): an absolute URI.
                None => format!(
                    "file://{}",
                    log::encode_path(&ctx.layout.abs(&f.path).to_string_lossy())
                ),
            };
            let add = Add {
                path: path.clone(),
                partition_values: BTreeMap::new(),
                size: i64::try_from(f.bytes).unwrap_or(i64::MAX),
                modification_time: now_ms,
                data_change: true,
                stats: Some(stats(f, column)),
                deletion_vector: f.deleted.as_ref().map(|d| DeletionVector {
                    storage_type: "i".to_owned(),
                    path_or_inline_dv: d.dv.clone(),
                    offset: None,
                    size_in_bytes: i32::try_from(d.dv_bytes).unwrap_or(i32::MAX),
                    cardinality: i64::try_from(d.rows).unwrap_or(i64::MAX),
                }),
            };
            (path, add)
        })
        .collect()
}

/// `add.stats`: the row count, and the range of the conversation column when the table
/// has one (the manifest knows it, so no file is read).
fn stats(f: &FileEntry, column: Option<&str>) -> String {
    let mut s = serde_json::json!({ "numRecords": f.rows });
    if f.deleted.is_some() {
        // The id range also covers the deleted rows.
        s["tightBounds"] = serde_json::json!(false);
    }
    if let (Some(col), Some(min), Some(max)) =
        (column, f.min_conversation_id, f.max_conversation_id)
    {
        s["minValues"] = serde_json::json!({ col: min });
        s["maxValues"] = serde_json::json!({ col: max });
    }
    s.to_string()
}

/// The actions of the version that brings `snap` to `want`, or `None` when it is there.
fn catch_up(
    ctx: &Ctx<'_>,
    name: &str,
    snap: &Snapshot,
    want: &BTreeMap<String, Add>,
    protocol: &super::actions::Protocol,
    schema_string: &str,
) -> Option<Vec<ActionLine>> {
    let now_ms = ctx.now.timestamp_millis();
    let mut lines = Vec::new();
    if snap.protocol.as_ref() != Some(protocol) {
        lines.push(ActionLine::protocol(protocol.clone()));
    }
    match &snap.metadata {
        Some(m) if m.schema_string == schema_string => {}
        Some(m) => lines.push(ActionLine::metadata(Metadata {
            schema_string: schema_string.to_owned(),
            ..m.clone()
        })),
        None => lines.push(ActionLine::metadata(Metadata {
            id: uuid::Uuid::new_v4().to_string(),
            name: Some(name.to_owned()),
            description: None,
            format: Format {
                provider: "parquet".to_owned(),
                options: BTreeMap::new(),
            },
            schema_string: schema_string.to_owned(),
            partition_columns: Vec::new(),
            configuration: BTreeMap::new(),
            created_time: Some(now_ms),
        })),
    }
    for (path, add) in &snap.files {
        let same = want
            .get(path)
            .is_some_and(|w| w.deletion_vector == add.deletion_vector);
        if !same {
            lines.push(ActionLine::remove(Remove {
                path: path.clone(),
                deletion_timestamp: Some(now_ms),
                data_change: true,
                extended_file_metadata: Some(true),
                partition_values: Some(BTreeMap::new()),
                size: Some(add.size),
                deletion_vector: add.deletion_vector.clone(),
            }));
        }
    }
    for (path, add) in want {
        let same = snap
            .files
            .get(path)
            .is_some_and(|s| s.deletion_vector == add.deletion_vector);
        if !same {
            lines.push(ActionLine::add(add.clone()));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let info = CommitInfo {
        timestamp: Some(now_ms),
        operation: Some("WRITE".to_owned()),
        operation_parameters: Some(BTreeMap::from([("mode".to_owned(), "Append".to_owned())])),
        engine_info: Some(format!("ltx-warehouse/{}", env!("CARGO_PKG_VERSION"))),
        ltx: Some(LtxInfo {
            generation: ctx.generation,
        }),
    };
    lines.insert(0, ActionLine::commit_info(info));
    Some(lines)
}

/// Writes a checkpoint at the newest version when [`CHECKPOINT_INTERVAL`] versions or more
/// followed the newest checkpoint (also after a crash that skipped one), and repairs
/// `_last_checkpoint` when it does not name the newest checkpoint. Returns the version of
/// the checkpoint written.
fn checkpoint_if_due(
    ctx: &Ctx<'_>,
    name: &str,
    log_dir: &Path,
    snap: &Snapshot,
) -> Result<Option<u64>> {
    let Some(latest) = snap.version else {
        return Ok(None);
    };
    let due = snap.checkpoint != Some(latest)
        && latest - snap.checkpoint.unwrap_or(0) >= CHECKPOINT_INTERVAL;
    if !due {
        if let Some(c) = snap.checkpoint {
            // A crash between a checkpoint and `_last_checkpoint`; readers trusting the
            // stale pointer would start from a checkpoint the clean-up may delete.
            if checkpoint::read_last(log_dir).map(|l| l.version) != Some(c) {
                let path = log_dir.join(log::checkpoint_name(c));
                let rows = checkpoint::rows(&path)?;
                checkpoint::write_last(ctx.layout, name, log_dir, c, rows)?;
            }
        }
        return Ok(None);
    }
    let lines = checkpoint_lines(ctx, snap);
    checkpoint::write(ctx.layout, name, log_dir, latest, &lines, ctx.crash)?;
    tracing::debug!(
        table = name,
        version = latest,
        actions = lines.len(),
        "Delta checkpoint written"
    );
    Ok(Some(latest))
}

/// A checkpoint's actions: protocol, metadata, the live files, and the tombstones removed
/// less than the retention ago (a reader of an older version may still need to know
/// them; older ones point at files already deleted).
fn checkpoint_lines(ctx: &Ctx<'_>, snap: &Snapshot) -> Vec<ActionLine> {
    let horizon_ms = ctx
        .now
        .timestamp_millis()
        .saturating_sub(i64::try_from(ctx.keep.as_millis()).unwrap_or(i64::MAX));
    let mut lines = Vec::with_capacity(2 + snap.files.len() + snap.tombstones.len());
    lines.extend(snap.protocol.clone().map(ActionLine::protocol));
    lines.extend(snap.metadata.clone().map(ActionLine::metadata));
    lines.extend(snap.files.values().cloned().map(ActionLine::add));
    lines.extend(
        snap.tombstones
            .values()
            .filter(|r| r.deletion_timestamp.unwrap_or(0) >= horizon_ms)
            .cloned()
            .map(ActionLine::remove),
    );
    lines
}
