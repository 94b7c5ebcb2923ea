//! File source: conversations from files, for `ltx import` and raw-archive replay.
//!
//! Accepted content (detected from the JSON itself, so the name only decides the
//! compression): API page envelopes `{"total": N, "results": [...]}`, JSON arrays of
//! conversations, JSONL / concatenated JSON values (each a conversation or an
//! envelope) — plain, `.gz` or `.zst`. The file is streamed: each element is handed to
//! the callback as it is parsed, so memory stays bounded by one conversation (one block
//! of lines for JSON Lines), not the file. Output is the same [`Item`]s as the API
//! source, wrapped in [`FileItem::Record`]; a record without a readable `id`/`updated_at`
//! becomes [`Item::Unreadable`] with origin `FILE record N`. A JSON Lines file of
//! conversations is the exception: it is handed on in blocks of lines
//! ([`FileItem::Lines`]) that the transform checks as it parses them.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ltx_model::JsonLines;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::error::ExtractError;
use crate::item::{classify, Item, RawJson};

/// Records per [`FileItem::Lines`] block at most.
pub const BLOCK_RECORDS: usize = 32;

/// Bytes after which a block is handed on with fewer records (a file of huge records).
const BLOCK_BYTES: usize = 1 << 20;

/// What the file reader hands on.
#[derive(Debug)]
pub enum FileItem {
    /// One record, read and checked as the API source reads its records.
    Record(Item),
    /// Up to [`BLOCK_RECORDS`] conversations of a JSON Lines file, not yet checked: the
    /// transform parses them anyway and checks them in the same pass, so the file's text
    /// is scanned once instead of twice (the reader's check was ~2/3 of its time). A line
    /// that is not a JSON object then fails the run there, naming the file and record.
    Lines(JsonLines),
}

impl From<Item> for FileItem {
    fn from(item: Item) -> Self {
        FileItem::Record(item)
    }
}

/// Items for a channel that should hold about `records` records of files: blocks count
/// as [`BLOCK_RECORDS`] each.
pub fn channel_items(records: usize) -> usize {
    records.div_ceil(BLOCK_RECORDS).max(2)
}

/// Counts of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// Records read (conversations + unreadable).
    pub records: u64,
    /// Records handed on as conversations (including the lines of [`FileItem::Lines`]
    /// blocks, which the transform may still reject).
    pub conversations: u64,
    /// Records sent as `Item::Unreadable`.
    pub unreadable: u64,
}

/// The file's text: decompressed as its name says, without a leading UTF-8 byte order
/// mark (Windows tools write one; JSON parsers reject it).
fn open_decoded(path: &Path) -> Result<Box<dyn BufRead>, ExtractError> {
    let io = |source| ExtractError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut reader: Box<dyn BufRead> = if name.ends_with(".gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            BufReader::new(file),
        )))
    } else if name.ends_with(".zst") || name.ends_with(".zstd") {
        Box::new(BufReader::new(
            zstd::stream::read::Decoder::new(file).map_err(io)?,
        ))
    } else {
        Box::new(BufReader::new(file))
    };
    // A read error here (corrupt compressed data) shows up again, with the record, on
    // the first read.
    if reader
        .fill_buf()
        .is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF"))
    {
        reader.consume(3);
    }
    Ok(reader)
}

struct Ctx<'a> {
    path: &'a Path,
    /// `path` as shown in origins, shared by every record's.
    source: Arc<str>,
    on_item: RefCell<&'a mut dyn FnMut(FileItem) -> Result<(), ExtractError>>,
    summary: RefCell<FileSummary>,
    /// Set when the callback failed (the serde error only says "stopped").
    failed: RefCell<Option<ExtractError>>,
    /// True once any envelope `results` array was seen.
    envelope: Cell<bool>,
}

const STOPPED: &str = "stopped by the consumer";

impl Ctx<'_> {
    fn emit<E: serde::de::Error>(&self, raw: impl Into<RawJson>) -> Result<(), E> {
        let record = self.summary.borrow().records + 1;
        let origin = ltx_model::RecordOrigin {
            file: Arc::clone(&self.source),
            record,
        };
        let mut item = classify(raw, || origin.to_string());
        if let Item::Conversation(c) = &mut item {
            c.origin = Some(origin);
        }
        {
            let mut s = self.summary.borrow_mut();
            s.records += 1;
            match &item {
                Item::Conversation(_) => s.conversations += 1,
                Item::Unreadable(_) => s.unreadable += 1,
            }
        }
        let mut f = self.on_item.borrow_mut();
        if let Err(e) = (*f)(FileItem::Record(item)) {
            *self.failed.borrow_mut() = Some(e);
            return Err(E::custom(STOPPED));
        }
        Ok(())
    }

    /// Hands on a block of lines (an error of the callback is returned as is).
    fn emit_lines(&self, lines: JsonLines) -> Result<(), ExtractError> {
        {
            let mut s = self.summary.borrow_mut();
            s.records += lines.len() as u64;
            s.conversations += lines.len() as u64;
        }
        let mut f = self.on_item.borrow_mut();
        (*f)(FileItem::Lines(lines))
    }
}

/// One top-level JSON value.
struct TopLevel<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a conversation object, an array of conversations or a {\"total\", \"results\"} envelope")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            self.0.emit(raw)?;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Either an envelope (its `results` array is streamed) or one conversation
        // (its fields are kept raw and re-assembled: bounded by one conversation).
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "results" && !streamed {
                map.next_value_seed(Results(self.0))?;
                streamed = true;
                self.0.envelope.set(true);
            } else {
                fields.push((key, map.next_value::<Box<RawValue>>()?));
            }
        }
        if streamed {
            return Ok(());
        }
        let mut json = String::with_capacity(
            fields
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum::<usize>()
                + 2,
        );
        json.push('{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&serde_json::to_string(k).map_err(serde::de::Error::custom)?);
            json.push(':');
            json.push_str(v.get());
        }
        json.push('}');
        let raw = RawValue::from_string(json).map_err(serde::de::Error::custom)?;
        self.0.emit(raw)
    }
}

/// The `results` array of an envelope, streamed element by element.
struct Results<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Results<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Results<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of conversations in `results`")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            self.0.emit(raw)?;
        }
        Ok(())
    }
}

/// Streams every conversation of one file to `on_item`.
///
/// Errors name the file and the 1-based record being read (e.g. a truncated file).
/// An error returned by `on_item` stops reading and is returned as is.
///
/// JSON Lines (one conversation, or one page envelope, per line — what `ltx sync
/// --keep-raw` writes and what exports usually are) take a fast path, decided by the
/// first line: conversations are handed on in blocks of whole lines, unchecked (see
/// [`FileItem::Lines`]); envelopes are parsed line by line from memory. Anything else
/// (arrays, pretty-printed JSON, one large envelope) is streamed through `serde_json`'s
/// reader, which is slower (it reads byte by byte) but holds at most one conversation in
/// memory.
pub fn read_file(
    path: &Path,
    on_item: &mut dyn FnMut(FileItem) -> Result<(), ExtractError>,
) -> Result<FileSummary, ExtractError> {
    let ctx = Ctx {
        path,
        source: path.display().to_string().into(),
        on_item: RefCell::new(on_item),
        summary: RefCell::new(FileSummary::default()),
        failed: RefCell::new(None),
        envelope: Cell::new(false),
    };
    if read_lines(&ctx)? {
        let summary = ctx.summary.into_inner();
        tracing::debug!(path = %path.display(), records = summary.records, envelope = ctx.envelope.get(), "JSON Lines file read");
        return Ok(summary);
    }
    read_stream(ctx)
}

/// The JSON Lines fast path. Returns `Ok(false)`, having emitted nothing, when the first
/// non-empty line is not a complete JSON object (the caller then streams the file).
fn read_lines(ctx: &Ctx<'_>) -> Result<bool, ExtractError> {
    let path = ctx.path;
    let mut reader = BufReader::with_capacity(READ_BYTES, open_decoded(path)?);
    // Bytes, checked as UTF-8 by `line_text`: `read_line`'s check was a third of the
    // reading thread's time outside the JSON check itself.
    let mut line: Vec<u8> = Vec::new();
    let mut envelopes = false;
    let file_error = |ctx: &Ctx<'_>, message: String| ExtractError::File {
        path: path.to_owned(),
        record: ctx.summary.borrow().records + 1,
        message,
    };
    loop {
        line.clear();
        let n =
            read_line_bytes(&mut reader, &mut line).map_err(|e| file_error(ctx, read_error(&e)))?;
        if n == 0 {
            return Ok(true);
        }
        let text = ltx_model::line_text(&line).map_err(|message| file_error(ctx, message))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if !envelopes {
            // The first line decides: a whole object, then an envelope or a conversation.
            match RawJson::parse(text) {
                Ok(_) if text.starts_with('{') => {}
                _ => return Ok(false),
            }
            if !is_envelope(text) {
                read_blocks(ctx, &mut reader, &line)?;
                return Ok(true);
            }
            envelopes = true;
            ctx.envelope.set(true);
        } else if !text.starts_with('{') {
            return Err(file_error(
                ctx,
                "expected a JSON object on this line".into(),
            ));
        }
        // serde checks the line while it streams the envelope's results: no separate check.
        let mut de = serde_json::Deserializer::from_str(text);
        if let Err(e) = TopLevel(ctx).deserialize(&mut de).and_then(|()| de.end()) {
            if let Some(failed) = ctx.failed.borrow_mut().take() {
                return Err(failed);
            }
            return Err(file_error(ctx, json_error(&e)));
        }
    }
}

/// The message of a failed read: with a compressed file, a cut or damaged stream.
fn read_error(e: &dyn std::fmt::Display) -> String {
    format!("read error (corrupt or truncated compressed data?): {e}")
}

/// The message of serde_json's error reading a file: a failed read, a cut file or bad JSON.
fn json_error(e: &serde_json::Error) -> String {
    if e.io_error_kind().is_some() {
        read_error(e)
    } else {
        ltx_model::json_error_message(e)
    }
}

/// Bytes read from the file at a time into a block: the capacity of the reader's buffer
/// too, so that these reads go straight into the block instead of through that buffer.
const READ_BYTES: usize = 64 << 10;

/// The rest of a JSON Lines file of conversations, from its first record's line on, in
/// blocks of whole lines: the reader only finds lines (see [`FileItem::Lines`]).
///
/// The file is read straight into the block's text (no copy out of a read buffer: that
/// copy was a third of this thread's time); the part of a line that a read cut off moves
/// to the next block with it.
fn read_blocks(
    ctx: &Ctx<'_>,
    reader: &mut impl Read,
    first_line: &[u8],
) -> Result<(), ExtractError> {
    let new_block = |first_record: u64, bytes: usize| JsonLines {
        text: Vec::with_capacity(bytes),
        records: Vec::with_capacity(BLOCK_RECORDS),
        source: Arc::clone(&ctx.source),
        first_record,
    };
    let mut block = new_block(
        ctx.summary.borrow().records + 1,
        first_line.len() + 2 * READ_BYTES,
    );
    block.text.extend_from_slice(first_line);
    // `block.text[..split]` is cut into records; the rest is a line still being read, with
    // no line break in `block.text[split..scanned]` (a line longer than a read is searched
    // once, not again after every read).
    let (mut split, mut scanned) = (0, 0);
    loop {
        while let Some(i) = memchr::memchr(b'\n', &block.text[scanned..]) {
            let end = scanned + i + 1;
            add_record(&mut block, split..end);
            (split, scanned) = (end, end);
            if block.len() >= BLOCK_RECORDS || split >= BLOCK_BYTES {
                let mut next = new_block(
                    block.first_record + block.len() as u64,
                    split + split / 8 + READ_BYTES,
                );
                next.text.extend_from_slice(&block.text[split..]);
                block.text.truncate(split);
                ctx.emit_lines(std::mem::replace(&mut block, next))?;
                (split, scanned) = (0, 0);
            }
        }
        scanned = block.text.len();
        block.text.reserve(READ_BYTES);
        let n = (&mut *reader)
            .take(READ_BYTES as u64)
            .read_to_end(&mut block.text)
            .map_err(|e| ExtractError::File {
                path: ctx.path.to_owned(),
                record: block.first_record + block.len() as u64,
                message: read_error(&e),
            })?;
        if n == 0 {
            break;
        }
    }
    // The last line, if the file does not end with a line break.
    let end = block.text.len();
    add_record(&mut block, split..end);
    if !block.is_empty() {
        ctx.emit_lines(block)?;
    }
    Ok(())
}

/// Notes the line at `line` of the block's text as a record, trimmed of whitespace; a
/// blank line is no record.
fn add_record(block: &mut JsonLines, line: Range<usize>) {
    let text = &block.text[line.clone()];
    let record = text.trim_ascii();
    if record.is_empty() {
        return;
    }
    let from = line.start + (text.len() - text.trim_ascii_start().len());
    block.records.push(from..from + record.len());
}

/// `BufRead::read_until(b'\n')` with the `memchr` crate's SIMD search, which costs the
/// reading thread noticeably fewer instructions than std's byte search.
fn read_line_bytes(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(read);
        }
        let (used, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..used]);
        reader.consume(used);
        read += used;
        if done {
            return Ok(read);
        }
    }
}

/// True when the object has a top-level `results` key (a page envelope).
fn is_envelope(object: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        results: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Probe>(object).is_ok_and(|p| p.results.is_some())
}

/// The streaming path: any JSON layout, through `serde_json`'s reader.
fn read_stream(ctx: Ctx<'_>) -> Result<FileSummary, ExtractError> {
    let path = ctx.path;
    let reader = open_decoded(path)?;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = loop {
        match de.end() {
            Ok(()) => break Ok(()),
            // Trailing characters = another top-level value follows (JSONL).
            Err(e) if e.classify() == serde_json::error::Category::Syntax => {}
            Err(e) => break Err(e),
        }
        if let Err(e) = TopLevel(&ctx).deserialize(&mut de) {
            break Err(e);
        }
    };
    if let Some(e) = ctx.failed.borrow_mut().take() {
        return Err(e);
    }
    let summary = ctx.summary.into_inner();
    result.map_err(|e| ExtractError::File {
        path: path.to_owned(),
        record: summary.records + 1,
        message: json_error(&e),
    })?;
    tracing::debug!(path = %path.display(), records = summary.records, envelope = ctx.envelope.get(), "file read");
    Ok(summary)
}

/// Reads `paths` one after another on a blocking thread, sending each item to `tx`
/// (backpressure: the reader waits when the channel is full).
/// Size the channel with [`channel_items`].
pub fn spawn_files(
    paths: Vec<PathBuf>,
    tx: mpsc::Sender<FileItem>,
) -> tokio::task::JoinHandle<Result<FileSummary, ExtractError>> {
    tokio::task::spawn_blocking(move || {
        let mut total = FileSummary::default();
        for path in &paths {
            let s = read_file(path, &mut |item| {
                tx.blocking_send(item)
                    .map_err(|_| ExtractError::ChannelClosed)
            })?;
            total.records += s.records;
            total.conversations += s.conversations;
            total.unreadable += s.unreadable;
        }
        Ok(total)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_read_until_splits_them() {
        let text = "{\"id\":1}\n\n{\"a\":\"Привет\"}\r\nlast line without a newline";
        // Buffers smaller than a line, so lines straddle refills.
        for capacity in [1, 2, 3, 7, 64] {
            let mut ours = BufReader::with_capacity(capacity, text.as_bytes());
            let mut std_reader = BufReader::with_capacity(capacity, text.as_bytes());
            loop {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let n = read_line_bytes(&mut ours, &mut a).unwrap();
                let m = std::io::BufRead::read_until(&mut std_reader, b'\n', &mut b).unwrap();
                assert_eq!((n, &a), (m, &b), "capacity {capacity}");
                if n == 0 {
                    break;
                }
            }
        }
    }
}
