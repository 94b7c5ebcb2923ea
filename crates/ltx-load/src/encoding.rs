//! How data files are encoded: compression, row group size, page statistics, and per
//! column whether a dictionary, statistics or delta packing pay off. One
//! [`WriterProperties`] serves every data file (staged, merged and compacted alike). The
//! per-column choices come from the role the transform's schema declares with each column
//! ([`ColumnRole`]), never from its name: renaming a column keeps its encoding.

use arrow::datatypes::DataType;
use ltx_transform::{ColumnRole, Table};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

/// What the writer does differently from its defaults (dictionary, page statistics, plain
/// or RLE encoding) for one column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ColumnEncoding {
    /// Written without a dictionary.
    no_dictionary: bool,
    /// Written without statistics.
    no_statistics: bool,
    /// Written with `DELTA_BINARY_PACKED`.
    delta: bool,
}

impl ColumnEncoding {
    /// The encoding of a column with `role`; `integer`: its values are `Int64`.
    ///
    /// * **Free text and JSON documents** ([`ColumnRole::FreeText`]): no dictionary and no
    ///   statistics. Dictionary-encoding them only costs the loader CPU (every value is
    ///   hashed into the dictionary until it overflows) and memory (the dictionary and its
    ///   hash table per open column chunk), and zstd compresses their plain pages as well;
    ///   min/max of message texts or JSON documents prune nothing, yet cost a comparison per
    ///   value and two truncated values per page in the column index.
    /// * **Unique or nearly unique per row** (ids, instants, contact details): no
    ///   dictionary; they keep their statistics (ids and instants prune). Run lineage such
    ///   as `_synced_at` is one value per run: an [`ColumnRole::Attribute`], it keeps its
    ///   dictionary.
    /// * **Repeated long text** ([`ColumnRole::RepeatedText`], `_extra` is usually `{}`):
    ///   a dictionary, no statistics.
    /// * **Integer ids and creation instants**: `DELTA_BINARY_PACKED` instead of plain
    ///   8-byte values. Within a staging file they are nearly sorted (ids are allocated in
    ///   order, rows arrive by time), so the deltas pack into a few bits and the encoding
    ///   costs less than zstd saves on the bytes it no longer sees. Not
    ///   other instants ([`ColumnRole::Instant`]: `_source_updated_at`, `updated_at`…):
    ///   they jump back and forth between conversations, and delta-packing them doubled
    ///   their size. DuckDB, pyarrow and the `parquet` crate read this encoding in v1 data
    ///   pages.
    fn of(role: ColumnRole, integer: bool) -> Self {
        match role {
            ColumnRole::Attribute => Self::default(),
            ColumnRole::Id => Self {
                no_dictionary: true,
                delta: integer,
                ..Self::default()
            },
            ColumnRole::Created => Self {
                no_dictionary: true,
                delta: true,
                ..Self::default()
            },
            ColumnRole::Instant | ColumnRole::Contact => Self {
                no_dictionary: true,
                ..Self::default()
            },
            ColumnRole::FreeText => Self {
                no_dictionary: true,
                no_statistics: true,
                ..Self::default()
            },
            ColumnRole::RepeatedText => Self {
                no_statistics: true,
                ..Self::default()
            },
        }
    }
}

/// `(column name, encoding)` of every column of every table whose encoding is not the
/// default. Writer properties are per column name, which means the same in every table
/// (ltx-transform tests that a name has one role everywhere).
fn column_encodings() -> Vec<(&'static str, ColumnEncoding)> {
    let mut out: Vec<(&'static str, ColumnEncoding)> = Vec::new();
    for table in Table::ALL {
        let schema = table.schema();
        for (name, role) in table.column_roles() {
            let integer = schema
                .field_with_name(name)
                .is_ok_and(|f| f.data_type() == &DataType::Int64);
            let encoding = ColumnEncoding::of(role, integer);
            if encoding != ColumnEncoding::default() && !out.iter().any(|(n, _)| *n == name) {
                out.push((name, encoding));
            }
        }
    }
    out
}

/// Dictionary page limit: a column whose distinct values exceed this falls back to plain
/// encoding (the default, 1 MiB, lets a unique `Int64` column intern 131 072 values per
/// row group before giving up).
const DICTIONARY_PAGE_BYTES: usize = 128 << 10;

/// The settings of every data file that are not per column.
fn file_settings(row_group_rows: usize, zstd_level: i32) -> WriterPropertiesBuilder {
    let level = ZstdLevel::try_new(zstd_level).unwrap_or_default();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("ltx-load {}", env!("CARGO_PKG_VERSION")))
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
}

/// Parquet writer settings shared by every data file.
pub(crate) fn writer_props(row_group_rows: usize, zstd_level: i32) -> WriterProperties {
    let mut b = file_settings(row_group_rows, zstd_level);
    for (name, e) in column_encodings() {
        if e.no_dictionary {
            b = b.set_column_dictionary_enabled(ColumnPath::from(name), false);
        }
        if e.no_statistics {
            b = b.set_column_statistics_enabled(ColumnPath::from(name), EnabledStatistics::None);
        }
        if e.delta {
            b = b.set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
        }
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-column writer settings before they came from roles: the reference the
    /// roles must reproduce.
    mod by_name {
        use super::*;

        /// Free text and JSON columns: written without a dictionary and without statistics.
        /// Dictionary-encoding them only costs the loader CPU (every value is hashed into the
        /// dictionary until it overflows) and memory (the dictionary and its hash table per open
        /// column chunk), and zstd compresses their plain pages as well; min/max of message texts
        /// or JSON documents prune nothing, yet cost a comparison per value and two truncated
        /// values per page in the column index.
        pub(super) const FREE_TEXT: &[&str] = &[
            "text",
            "answer_text",
            "raw_json",
            "events",
            "event_text",
            "visitor_variables",
            "prechat_fields",
            "prechats_chat",
            "prechats_hidden",
            "search_query",
            "ext_referer",
            "int_referer",
            "entry_page",
            "page",
            "comment",
            "error",
        ];

        /// Further columns written without a dictionary: unique or nearly unique per row (keys,
        /// instants, contact details). They keep their statistics (keys and instants prune).
        /// `_synced_at` is one value per run: it keeps its dictionary.
        pub(super) const ALSO_NO_DICTIONARY: &[&str] = &[
            "conversation_id",
            "_seen_in_conversation_id",
            "chat_id",
            "message_id",
            "call_id",
            "lead_id",
            "complaint_id",
            "first_message_id",
            "visitor_id",
            "created_at",
            "created_at_msk",
            "updated_at",
            "completed_at",
            "last_visit_at",
            "banned_at",
            "_source_updated_at",
            "last_ip",
            "email",
            "phone",
            "name",
            "nickname",
        ];

        /// Further columns written without statistics but with a dictionary (mostly repeated
        /// values: `_extra` is usually `{}`).
        pub(super) const ALSO_NO_STATISTICS: &[&str] = &[
            "department_ids",
            "_extra",
            "last_user_agent",
            "employee_remark",
        ];

        /// Integer keys and creation instants written with `DELTA_BINARY_PACKED` instead of plain
        /// 8-byte values (they have no dictionary, see [`ALSO_NO_DICTIONARY`]). Within a staging
        /// file they are nearly sorted (ids are allocated in order, rows arrive by time), so the
        /// deltas pack into a few bits and the encoding costs less than zstd saves on the bytes
        /// it no longer sees. Not `_source_updated_at` nor `updated_at`-like instants: they jump back and forth
        /// between conversations, and delta-packing them doubled their size. DuckDB, pyarrow and
        /// the `parquet` crate read this encoding in v1 data pages.
        pub(super) const DELTA_ENCODED: &[&str] = &[
            "conversation_id",
            "_seen_in_conversation_id",
            "chat_id",
            "message_id",
            "first_message_id",
            "call_id",
            "lead_id",
            "created_at",
        ];

        /// The writer properties as they were built from the lists above.
        pub(super) fn writer_props(row_group_rows: usize, zstd_level: i32) -> WriterProperties {
            let mut b = file_settings(row_group_rows, zstd_level);
            for c in FREE_TEXT.iter().chain(ALSO_NO_DICTIONARY) {
                b = b.set_column_dictionary_enabled(ColumnPath::from(*c), false);
            }
            for c in FREE_TEXT.iter().chain(ALSO_NO_STATISTICS) {
                b = b.set_column_statistics_enabled(ColumnPath::from(*c), EnabledStatistics::None);
            }
            for c in DELTA_ENCODED {
                b = b.set_column_encoding(ColumnPath::from(*c), Encoding::DELTA_BINARY_PACKED);
            }
            b.build()
        }
    }

    /// For every column of every table, the settings derived from its role are the ones
    /// the old list of column names gave it.
    #[test]
    fn roles_give_every_column_the_encoding_its_name_had() {
        let new = writer_props(1000, 3);
        let old = by_name::writer_props(1000, 3);
        let mut columns = 0;
        // The reference tables came after the lists: their columns have roles only.
        for table in Table::ALL
            .into_iter()
            .filter(|t| t.kind() != ltx_transform::TableKind::Reference)
        {
            for field in table.schema().fields() {
                let path = ColumnPath::from(field.name().as_str());
                let at = format!("{}.{}", table.name(), field.name());
                assert_eq!(
                    new.dictionary_enabled(&path),
                    old.dictionary_enabled(&path),
                    "{at}"
                );
                assert_eq!(
                    new.statistics_enabled(&path),
                    old.statistics_enabled(&path),
                    "{at}"
                );
                assert_eq!(new.encoding(&path), old.encoding(&path), "{at}");
                assert_eq!(new.compression(&path), old.compression(&path), "{at}");
                assert_eq!(
                    new.bloom_filter_properties(&path),
                    old.bloom_filter_properties(&path),
                    "{at}"
                );
                columns += 1;
            }
        }
        assert!(columns > 200, "{columns} columns");
        // Every name of the old lists is a column of some table, so the loop covered them.
        let names: Vec<String> = Table::ALL
            .iter()
            .flat_map(|t| {
                t.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        for c in by_name::FREE_TEXT
            .iter()
            .chain(by_name::ALSO_NO_DICTIONARY)
            .chain(by_name::ALSO_NO_STATISTICS)
            .chain(by_name::DELTA_ENCODED)
        {
            assert!(names.iter().any(|n| n == c), "{c} is no column");
        }
        // And the file-wide settings are the same.
        assert_eq!(new.max_row_group_row_count(), old.max_row_group_row_count());
        assert_eq!(
            new.dictionary_page_size_limit(),
            old.dictionary_page_size_limit()
        );
        assert_eq!(new.created_by(), old.created_by());
        assert_eq!(new.writer_version(), old.writer_version());
        assert_eq!(new.data_page_size_limit(), old.data_page_size_limit());
    }
}
