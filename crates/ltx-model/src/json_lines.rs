//! [`JsonLines`]: conversations from a JSON Lines file, in blocks, not yet parsed.

use std::ops::Range;
use std::sync::Arc;

/// A block of whole lines of a JSON Lines file of conversations, as read: neither
/// checked to be UTF-8 nor to be JSON yet.
///
/// The file reader only finds the lines; whoever parses them checks them in the same
/// pass (a record the parsers accept is valid JSON), so the text is scanned once, not
/// twice. A record that turns out not to be a UTF-8 JSON object is an error of the
/// file, named by [`JsonLines::source`] and the record's number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonLines {
    /// The lines, as read.
    pub text: Vec<u8>,
    /// Byte range of each record in `text`: its line without the line break and surrounding
    /// whitespace; blank lines are left out.
    pub records: Vec<Range<usize>>,
    /// Where the lines come from (the file's path), for errors.
    pub source: Arc<str>,
    /// 1-based number, in its file, of the first record (blank lines are not records).
    pub first_record: u64,
}

/// Where a record was read: its file and 1-based record number, shown as `FILE record N`.
/// Kept as the file's shared name and a number, so a record that parses costs no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOrigin {
    /// The file (its path as given).
    pub file: Arc<str>,
    /// 1-based number of the record in the file.
    pub record: u64,
}

impl std::fmt::Display for RecordOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} record {}", self.file, self.record)
    }
}

impl JsonLines {
    /// Records in the block.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the block holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Each record with its 1-based number in the file.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        (self.first_record..).zip(self.records.iter().map(|r| &self.text[r.clone()]))
    }
}

/// The message of serde_json's error on a record of a file, the same whichever crate read
/// it: a record cut short says the file is probably truncated.
pub fn json_error_message(e: &serde_json::Error) -> String {
    if e.is_eof() {
        format!("the record ends too early (truncated file?): {e}")
    } else {
        e.to_string()
    }
}

/// A line of a JSON Lines file as text; the error says where it is not UTF-8.
///
/// With simdutf8 (several times faster than std on the Cyrillic text of conversations);
/// only a line that fails is checked again by std, for the position.
pub fn line_text(line: &[u8]) -> Result<&str, String> {
    simdutf8::basic::from_utf8(line).map_err(|_| {
        let detail = std::str::from_utf8(line).err().map(|e| e.to_string());
        format!("the line is not UTF-8 text: {}", detail.unwrap_or_default())
    })
}
