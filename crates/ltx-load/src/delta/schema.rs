//! A stored table's Arrow schema as Delta's `schemaString`, and the protocol it needs.
//!
//! Only the Arrow types the transform writes are mapped (see `ltx_transform::Table::schema`);
//! any other type is an error naming the column, so a new column type cannot silently
//! produce a table Delta readers misread.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, Schema, TimeUnit};
use serde::Serialize;

use super::actions::Protocol;

/// The Delta primitive type of an Arrow type, or `None` for a type ltx does not write.
fn delta_type(t: &DataType) -> Option<&'static str> {
    Some(match t {
        DataType::Utf8 => "string",
        DataType::Int64 => "long",
        DataType::Int32 => "integer",
        DataType::Boolean => "boolean",
        DataType::Float64 => "double",
        DataType::Date32 => "date",
        // Delta's `timestamp` is an instant stored in µs and read back in UTC; a
        // timestamp without a zone (a wall clock, `conversations.created_at_msk`) is
        // `timestamp_ntz`, which needs the table feature of the same name.
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => "timestamp",
        DataType::Timestamp(TimeUnit::Microsecond, None) => "timestamp_ntz",
        _ => return None,
    })
}

#[derive(Serialize)]
struct StructType<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    fields: Vec<StructField<'a>>,
}

#[derive(Serialize)]
struct StructField<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    nullable: bool,
    metadata: BTreeMap<String, String>,
}

/// `schemaString` of `schema`; `Err(column)` names the first column whose type has no
/// mapping.
pub fn schema_string(schema: &Schema) -> Result<String, String> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let kind = delta_type(f.data_type())
            .ok_or_else(|| format!("column {} has type {}", f.name(), f.data_type()))?;
        fields.push(StructField {
            name: f.name(),
            kind,
            // Every column is nullable for Delta, whatever the transform's schema says:
            // files written before a column was added (`_quality_issues.path`, …) read as
            // NULL there, and a reader holding Delta's `nullable: false` would refuse them.
            nullable: true,
            metadata: BTreeMap::new(),
        });
    }
    serde_json::to_string(&StructType {
        kind: "struct",
        fields,
    })
    .map_err(|e| e.to_string())
}

/// The protocol a table of `schema` needs: the oldest (reader 1, writer 2) unless a column
/// is a timestamp without a zone (`timestampNtz`) or a file has deleted rows
/// (`deletionVectors`, when `deletion_vectors`), which need reader 3 / writer 7 with those
/// features.
pub fn protocol(schema: &Schema, deletion_vectors: bool) -> Protocol {
    let ntz = schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Timestamp(_, None)));
    let mut features = Vec::new();
    if deletion_vectors {
        features.push(DELETION_VECTORS.to_owned());
    }
    if ntz {
        features.push("timestampNtz".to_owned());
    }
    if features.is_empty() {
        return Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        };
    }
    Protocol {
        min_reader_version: 3,
        min_writer_version: 7,
        reader_features: Some(features.clone()),
        writer_features: Some(features),
    }
}

/// The table feature of deletion vectors.
const DELETION_VECTORS: &str = "deletionVectors";

/// Whether a protocol declares deletion vectors.
pub fn has_deletion_vectors(p: &Protocol) -> bool {
    p.reader_features
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == DELETION_VECTORS))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ltx_transform::Table;

    /// The schema of every table as Delta sees it: one line per column. A change here is a
    /// change of what every Delta reader sees.
    #[test]
    fn every_table_maps_to_delta_types() {
        let mut out = String::new();
        for table in Table::ALL {
            let s: serde_json::Value =
                serde_json::from_str(&schema_string(&table.schema()).unwrap()).unwrap();
            assert_eq!(s["type"], "struct");
            let fields = s["fields"].as_array().unwrap();
            assert_eq!(fields.len(), table.schema().fields().len());
            for f in fields {
                assert_eq!(f["metadata"], serde_json::json!({}));
            }
            let p = protocol(&table.schema(), false);
            out.push_str(&format!(
                "{} (reader {}, writer {}):",
                table.name(),
                p.min_reader_version,
                p.min_writer_version
            ));
            for f in fields {
                out.push_str(&format!(
                    " {}:{}",
                    f["name"].as_str().unwrap(),
                    f["type"].as_str().unwrap(),
                ));
                assert_eq!(f["nullable"], true);
            }
            out.push('\n');
        }
        let conversations = out
            .lines()
            .find(|l| l.starts_with("conversations "))
            .unwrap();
        assert!(conversations.starts_with("conversations (reader 3, writer 7):"));
        assert!(conversations.contains(" created_at_msk:timestamp_ntz"));
        assert!(conversations.contains(" created_at:timestamp"));
        assert!(conversations.contains(" conversation_id:long"));
        let intervals = out
            .lines()
            .find(|l| l.starts_with("business_intervals "))
            .unwrap();
        assert!(intervals.contains(":date"), "{intervals}");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn unmapped_types_name_the_column() {
        let schema = Schema::new(vec![arrow::datatypes::Field::new(
            "x",
            DataType::Float16,
            true,
        )]);
        assert!(schema_string(&schema).unwrap_err().contains("column x"));
    }

    #[test]
    fn protocol_without_ntz_is_the_oldest() {
        let p = protocol(&Table::Chats.schema(), false);
        assert_eq!((p.min_reader_version, p.min_writer_version), (1, 2));
        assert!(p.reader_features.is_none());
    }
}
