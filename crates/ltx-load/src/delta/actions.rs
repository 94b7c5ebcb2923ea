//! The Delta Lake actions ltx writes and reads back (`protocol`, `metaData`, `add`,
//! `remove`, `commitInfo`), as the Delta PROTOCOL spells them in a commit's JSON lines and
//! in a checkpoint's columns. One [`ActionLine`] is one line of a commit file and one row
//! of a checkpoint: exactly one of its fields is set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `protocol`: the reader and writer versions (and table features) a client needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Reader version (1, or 3 with `readerFeatures`).
    pub min_reader_version: i32,
    /// Writer version (2, or 7 with `writerFeatures`).
    pub min_writer_version: i32,
    /// Table features a reader must support (reader version 3 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_features: Option<Vec<String>>,
    /// Table features a writer must support (writer version 7 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_features: Option<Vec<String>>,
}

/// `metaData.format`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Format {
    /// Always `parquet`.
    pub provider: String,
    /// No options.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// `metaData`: the table's id, schema and partitioning.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Unique id of the table, kept for its life.
    pub id: String,
    /// The stored table's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The data files' format.
    pub format: Format,
    /// The schema as Delta's JSON (see `schema`).
    pub schema_string: String,
    /// Always empty: partition directories are ours, every file holds every column.
    #[serde(default)]
    pub partition_columns: Vec<String>,
    /// Table properties (none).
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
    /// When the table was created (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
}

/// `add`: a data file that becomes part of the table.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// Path relative to the table root, percent-encoded (see `log::encode_path`).
    pub path: String,
    /// Always empty (no partition columns).
    #[serde(default)]
    pub partition_values: BTreeMap<String, Option<String>>,
    /// File size in bytes.
    pub size: i64,
    /// When the action was written (ms since the epoch).
    pub modification_time: i64,
    /// Always true: adds and removes of ltx change the table's rows.
    pub data_change: bool,
    /// Per-file statistics as a JSON string (`numRecords`, id range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// The file's deleted rows (merge-on-read), stored inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVector>,
}

/// `deletionVector`: the rows of a data file that are not part of the table. ltx writes
/// them inline (`storageType` `i`): the manifest's [`crate::deletion::DeletedRows`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeletionVector {
    /// `i`: inline.
    pub storage_type: String,
    /// The Z85-encoded `RoaringBitmapArray`.
    pub path_or_inline_dv: String,
    /// Unused for inline vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
    /// Length of the bitmap before encoding.
    pub size_in_bytes: i32,
    /// Number of deleted rows.
    pub cardinality: i64,
}

/// `remove`: a data file that is no longer part of the table (a tombstone).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    /// Path relative to the table root, as its `add` wrote it.
    pub path: String,
    /// When it was removed (ms since the epoch): tombstones are kept in checkpoints until
    /// the retention after this instant has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    /// Always true.
    pub data_change: bool,
    /// True: `partitionValues` and `size` are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_file_metadata: Option<bool>,
    /// Always empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<BTreeMap<String, Option<String>>>,
    /// File size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// The deletion vector of the `add` this removes: a file is identified by its path and
    /// its vector, so a file whose deleted rows grow is removed and added again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVector>,
}

/// What ltx records of itself in a commit's `commitInfo`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LtxInfo {
    /// The manifest generation the commit brought the table up to.
    pub generation: u64,
}

/// `commitInfo`: provenance, free-form for readers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// When the commit was written (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// `WRITE` (a run's commit or a compaction: ltx's generations carry the difference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// No parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_parameters: Option<BTreeMap<String, String>>,
    /// `ltx-warehouse/<version>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_info: Option<String>,
    /// ltx's own record (absent in commits of other writers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ltx: Option<LtxInfo>,
}

/// One action: a line of a commit file, a row of a checkpoint. Exactly one field is set;
/// other action types (`txn`, `cdc`, …) are never written by ltx and ignored on reading.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActionLine {
    /// `protocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// `metaData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Metadata>,
    /// `add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<Add>,
    /// `remove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<Remove>,
    /// `commitInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_info: Option<CommitInfo>,
}

impl ActionLine {
    /// A `protocol` line.
    pub fn protocol(p: Protocol) -> Self {
        Self {
            protocol: Some(p),
            ..Self::default()
        }
    }
    /// A `metaData` line.
    pub fn metadata(m: Metadata) -> Self {
        Self {
            meta_data: Some(m),
            ..Self::default()
        }
    }
    /// An `add` line.
    pub fn add(a: Add) -> Self {
        Self {
            add: Some(a),
            ..Self::default()
        }
    }
    /// A `remove` line.
    pub fn remove(r: Remove) -> Self {
        Self {
            remove: Some(r),
            ..Self::default()
        }
    }
    /// A `commitInfo` line.
    pub fn commit_info(c: CommitInfo) -> Self {
        Self {
            commit_info: Some(c),
            ..Self::default()
        }
    }
}
