//! Tolerant decoding of a list page: one record that is not JSON never costs the page.
//!
//! A page is `{"total": N, "results": [record, ...]}` and is first parsed whole, strictly,
//! by serde_json (the fast, common path). When that fails, [`salvage`] reads the page again
//! at the byte level, with a scanner that knows strings, escapes and nesting but does not
//! need valid UTF-8, and checks each record of `results` on its own:
//!
//! - a valid record goes on as usual;
//! - a record whose structure is intact but whose content is not JSON (an invalid UTF-8
//!   byte or a raw control character inside a string) is *quarantined*: it becomes a
//!   [`Piece::NotJson`] carrying its bytes (escaped by [`escape_bytes`], losslessly) and
//!   the reason, which the extractor turns into `Item::Unreadable` (→ `_rejected`);
//! - a record cut short (the next record's text then seems to be inside it, e.g. inside a
//!   string it never closes) is quarantined up to the point where the scan can
//!   *resynchronise*: the nearest `,` before the place the structure broke (then the
//!   following ones) after which a complete record starts and is followed by `,` or by the
//!   `]` that validly closes the page.
//!
//! The envelope itself must be intact. A body cut short at its end (a dropped connection,
//! a proxy) looks like its last record cut short and swallowing the envelope's end; the
//! two cannot be told apart, so that is an error ([`salvage`] returns `Err`) and the
//! request is retried as before: a broken transfer usually succeeds the next time.
//!
//! **An invalid UTF-8 byte inside a string quarantines its record** rather than being
//! repaired to U+FFFD: a lossy repair would load a conversation whose text differs from
//! what the source holds without anyone knowing (and hash a different phone or e-mail
//! under a personal-data policy), and the byte may sit in a key or an id as well as in a
//! message. Quarantined, the record keeps its exact bytes in `_rejected` (where it can be
//! inspected and replayed once the source is fixed) and the error names the byte and its
//! offset; the rest of the page loads and the cursor moves on.

use serde_json::value::RawValue;

/// One record of a salvaged page.
#[derive(Debug)]
pub(crate) enum Piece {
    /// A record that is valid JSON.
    Json(Box<RawValue>),
    /// A record that is not JSON: its bytes escaped by [`escape_bytes`], and why.
    NotJson {
        /// The record's bytes as text (invalid UTF-8 and NUL bytes written `\xNN`).
        raw: String,
        /// What is wrong, with the byte offset inside the record.
        error: String,
    },
}

/// A page read by [`salvage`].
#[derive(Debug)]
pub(crate) struct Salvaged {
    /// The envelope's `total`, read as the strict path reads it.
    pub total: Option<u64>,
    /// Every record, in page order.
    pub records: Vec<Piece>,
}

/// Reads a page whose strict parse failed. `Err` (with the byte offset) when the
/// envelope itself is broken: then the body as a whole is not a page.
pub(crate) fn salvage(body: &[u8]) -> Result<Salvaged, String> {
    let mut s = Salvager {
        b: body,
        budget: body.len().saturating_mul(RESYNC_BUDGET_FACTOR) + (1 << 20),
    };
    s.envelope()
        .map_err(|f| format!("{} at byte {} of the body", f.what, f.at))
}

/// Bytes a page's resynchronisations may scan, as a multiple of its length (a hostile
/// page full of commas cannot make the scan quadratic).
const RESYNC_BUDGET_FACTOR: usize = 16;

/// Where and why the structure of the body broke.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    at: usize,
    what: String,
}

fn fault(at: usize, what: impl Into<String>) -> Fault {
    Fault {
        at,
        what: what.into(),
    }
}

/// The first thing inside a string that is not JSON text although the structure is intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// A byte that does not start a valid UTF-8 sequence (or continues an invalid one).
    Utf8 { at: usize, byte: u8 },
    /// A raw (unescaped) control character U+0000..U+001F.
    Control { at: usize, byte: u8 },
}

impl Defect {
    /// The reason, with the offset relative to `start` (the record's first byte).
    fn describe(self, start: usize) -> String {
        match self {
            Defect::Utf8 { at, byte } => format!(
                "not valid JSON: invalid UTF-8 byte 0x{byte:02X} inside a string at byte {} of the record",
                at - start
            ),
            Defect::Control { at, byte } => format!(
                "not valid JSON: raw control character U+{byte:04X} inside a string at byte {} of the record",
                at - start
            ),
        }
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first non-whitespace byte at or after `i`.
fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// A container being scanned by [`value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// In an object, expecting a key (after `{` or `,`).
    Key { first: bool },
    /// In an object, after a member's value.
    ObjectNext,
    /// In an array, expecting a value (after `[` or `,`).
    Item { first: bool },
    /// In an array, after a value.
    ArrayNext,
}

/// Checks the string starting at `b[i] == '"'`; returns the index after its closing quote
/// and its first content defect. Structural faults: a bad escape, the end of the body.
fn string(b: &[u8], mut i: usize, defect: &mut Option<Defect>) -> Result<usize, Fault> {
    let open = i;
    i += 1;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(fault(open, "string never closed"));
        };
        match c {
            b'"' => return Ok(i + 1),
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => {
                        let hex = b.get(i + 2..i + 6).unwrap_or_default();
                        if hex.len() != 4 || !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(fault(i + 1, "invalid \\u escape"));
                        }
                        i += 6;
                    }
                    // Past the backslash: a resynchronising `,` may be that very byte.
                    _ => return Err(fault(i + 1, "invalid escape")),
                }
            }
            0x00..=0x1F => {
                defect.get_or_insert(Defect::Control { at: i, byte: c });
                i += 1;
            }
            0x20..=0x7F => i += 1,
            _ => {
                let end = (i + 4).min(b.len());
                let len = match std::str::from_utf8(&b[i..end]) {
                    Ok(s) => s.chars().next().map_or(1, char::len_utf8),
                    Err(e) if e.valid_up_to() > 0 => {
                        std::str::from_utf8(&b[i..i + e.valid_up_to()])
                            .ok()
                            .and_then(|s| s.chars().next())
                            .map_or(1, char::len_utf8)
                    }
                    Err(_) => {
                        defect.get_or_insert(Defect::Utf8 { at: i, byte: c });
                        1
                    }
                };
                i += len;
            }
        }
    }
}

/// Checks a number starting at `b[i]`; returns the index after it.
fn number(b: &[u8], mut i: usize) -> Result<usize, Fault> {
    let digits = |b: &[u8], mut i: usize| {
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - from)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i).0,
        _ => return Err(fault(i, "invalid number")),
    }
    if b.get(i) == Some(&b'.') {
        let (j, n) = digits(b, i + 1);
        if n == 0 {
            return Err(fault(j, "invalid number"));
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (j, n) = digits(b, i);
        if n == 0 {
            return Err(fault(j, "invalid number"));
        }
        i = j;
    }
    Ok(i)
}

/// Checks one JSON value starting at `i` (no leading whitespace); returns the index after
/// it and its first content defect, or where its structure breaks. Iterative: a hostile
/// nesting depth cannot overflow the stack.
fn value(b: &[u8], mut i: usize) -> Result<(usize, Option<Defect>), Fault> {
    let mut defect = None;
    let mut stack: Vec<Open> = Vec::new();
    loop {
        // A scalar or the opening of a container, at `i`.
        i = ws(b, i);
        match b.get(i) {
            Some(b'{') => {
                stack.push(Open::Key { first: true });
                i += 1;
            }
            Some(b'[') => {
                stack.push(Open::Item { first: true });
                i += 1;
            }
            Some(b'"') => i = string(b, i, &mut defect)?,
            Some(b'-' | b'0'..=b'9') => i = number(b, i)?,
            Some(b't') if b[i..].starts_with(b"true") => i += 4,
            Some(b'f') if b[i..].starts_with(b"false") => i += 5,
            Some(b'n') if b[i..].starts_with(b"null") => i += 4,
            Some(_) => return Err(fault(i, "expected a value")),
            None => return Err(fault(i, "the body ends where a value was expected")),
        }
        // Close containers and find where the next value starts.
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok((i, defect));
            };
            i = ws(b, i);
            let c = b.get(i).copied();
            match *top {
                Open::Key { first } => {
                    if first && c == Some(b'}') {
                        stack.pop();
                        i += 1;
                        continue;
                    }
                    if c != Some(b'"') {
                        return Err(fault(i, "expected an object key"));
                    }
                    i = ws(b, string(b, i, &mut defect)?);
                    if b.get(i) != Some(&b':') {
                        return Err(fault(i, "expected ':' after an object key"));
                    }
                    i += 1;
                    *top = Open::ObjectNext;
                    break;
                }
                Open::ObjectNext => match c {
                    Some(b',') => {
                        *top = Open::Key { first: false };
                        i += 1;
                    }
                    Some(b'}') => {
                        stack.pop();
                        i += 1;
                    }
                    _ => return Err(fault(i, "expected ',' or '}' in an object")),
                },
                Open::Item { first } => {
                    if first && c == Some(b']') {
                        stack.pop();
                        i += 1;
                        continue;
                    }
                    *top = Open::ArrayNext;
                    break;
                }
                Open::ArrayNext => match c {
                    Some(b',') => {
                        *top = Open::Item { first: false };
                        i += 1;
                    }
                    Some(b']') => {
                        stack.pop();
                        i += 1;
                    }
                    _ => return Err(fault(i, "expected ',' or ']' in an array")),
                },
            }
        }
    }
}

/// The envelope's `total` as the strict path reads it: a number, or a numeric string.
pub(crate) fn total_of(v: Option<serde_json::Value>) -> Option<u64> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

struct Salvager<'a> {
    b: &'a [u8],
    /// Bytes resynchronisation may still scan.
    budget: usize,
}

/// How a scanned element ends.
enum Next {
    /// `,`: another element follows at this index.
    Comma(usize),
    /// `]`: the array ends; the envelope continues at this index.
    Close(usize),
}

impl Salvager<'_> {
    /// A key of the envelope at `i`: its text, and the index after its `:`.
    fn key(&self, i: usize) -> Result<(String, usize), Fault> {
        let b = self.b;
        if b.get(i) != Some(&b'"') {
            return Err(fault(i, "expected a key of the page object"));
        }
        let mut defect = None;
        let end = string(b, i, &mut defect)?;
        let key: String = match defect {
            None => serde_json::from_slice(&b[i..end]).map_err(|e| fault(i, e.to_string()))?,
            // A key of the envelope that is not text is not one we read.
            Some(_) => String::new(),
        };
        let j = ws(b, end);
        if b.get(j) != Some(&b':') {
            return Err(fault(j, "expected ':' after a key of the page object"));
        }
        Ok((key, ws(b, j + 1)))
    }

    /// A member value of the envelope other than `results` at `i`: `total` read, others
    /// checked (content defects there do not matter: nothing reads them).
    fn other(&self, key: &str, i: usize, total: &mut Option<u64>) -> Result<usize, Fault> {
        let (end, defect) = value(self.b, i)?;
        if key == "total" && defect.is_none() {
            *total = total_of(serde_json::from_slice(&self.b[i..end]).ok());
        }
        Ok(end)
    }

    fn envelope(&mut self) -> Result<Salvaged, Fault> {
        let b = self.b;
        let mut i = ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return Err(fault(i, "the page is not an object"));
        }
        i = ws(b, i + 1);
        let mut total = None;
        loop {
            let (key, at) = self.key(i)?;
            if key == "results" {
                let records = self.results(at, &mut total)?;
                return Ok(Salvaged { total, records });
            }
            i = ws(b, self.other(&key, at, &mut total)?);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => return Err(fault(i, "the page has no results array")),
                _ => return Err(fault(i, "expected ',' or '}' in the page object")),
            }
        }
    }

    /// The envelope after its `results` array (`i` just past the `]`): further members,
    /// the closing `}`, then nothing but whitespace.
    fn rest(&self, mut i: usize, total: &mut Option<u64>) -> Result<(), Fault> {
        let b = self.b;
        loop {
            i = ws(b, i);
            match b.get(i) {
                Some(b'}') => break,
                Some(b',') => {
                    let (key, at) = self.key(ws(b, i + 1))?;
                    if key == "results" {
                        return Err(fault(i, "the page has two results arrays"));
                    }
                    i = self.other(&key, at, total)?;
                }
                _ => return Err(fault(i, "expected ',' or '}' after the results array")),
            }
        }
        let end = ws(b, i + 1);
        if end != b.len() {
            return Err(fault(end, "bytes after the end of the page object"));
        }
        Ok(())
    }

    /// What follows an element ending at `end`: `,`, or a `]` closing a valid envelope.
    fn next(&self, end: usize) -> Option<Next> {
        let j = ws(self.b, end);
        match self.b.get(j) {
            Some(b',') => Some(Next::Comma(ws(self.b, j + 1))),
            Some(b']') => Some(Next::Close(j + 1)),
            _ => None,
        }
    }

    /// The records of the `results` array at `i` (its `[`), and the rest of the envelope.
    fn results(&mut self, i: usize, total: &mut Option<u64>) -> Result<Vec<Piece>, Fault> {
        let b = self.b;
        if b.get(i) != Some(&b'[') {
            return Err(fault(i, "results is not an array"));
        }
        let mut records = Vec::new();
        let mut p = ws(b, i + 1);
        if b.get(p) == Some(&b']') {
            self.rest(p + 1, total)?;
            return Ok(records);
        }
        loop {
            let scanned = value(b, p).map(|(end, defect)| (end, defect, self.next(end)));
            let next = match scanned {
                Ok((end, defect, Some(next))) => {
                    records.push(piece(b, p, end, defect));
                    next
                }
                // The structure broke inside this element (or it is not followed by `,`
                // or `]`): it was cut short. Quarantine it up to the next record.
                Ok((end, _, None)) => self.resync(p, end, &mut records, total)?,
                Err(f) => self.resync(p, f.at, &mut records, total)?,
            };
            match next {
                Next::Comma(q) => p = q,
                Next::Close(after) => {
                    self.rest(after, total)?;
                    return Ok(records);
                }
            }
        }
    }

    /// After the element starting at `p` broke at `broke`: finds the record the scan can
    /// continue with, pushes the broken bytes as one quarantined piece and that record, and
    /// returns what follows that record. Candidates are the `,`s from `broke`
    /// back to `p` (nearest first: a record cut short swallows the `,` and the start of the
    /// next one), then those after `broke`; one is taken when a complete value starting
    /// with `{` follows it (its content may be defective: it is then quarantined on its own)
    /// and is followed by `,` or by a `]` that validly ends the page.
    fn resync(
        &mut self,
        p: usize,
        broke: usize,
        records: &mut Vec<Piece>,
        total: &mut Option<u64>,
    ) -> Result<Next, Fault> {
        let b = self.b;
        let broke = broke.min(b.len());
        let before = (p + 1..=broke.min(b.len().saturating_sub(1))).rev();
        let after = broke + 1..b.len();
        for c in before.chain(after) {
            if b[c] != b',' {
                continue;
            }
            // A candidate before the break must contain it: one the broken element's own
            // scan read through without fault is part of that element (a nested object of
            // a body cut short at its end, say), not the next record.
            let backward = c <= broke;
            let q = ws(b, c + 1);
            if b.get(q) != Some(&b'{') {
                continue;
            }
            let scanned = value(b, q);
            let cost = match &scanned {
                Ok((end, _)) => end - q,
                Err(f) => f.at.saturating_sub(q),
            };
            self.budget = self.budget.checked_sub(cost).ok_or_else(|| {
                fault(
                    p,
                    "a record is not JSON and no following record could be found within the scan budget",
                )
            })?;
            let Ok((end, defect)) = scanned else {
                continue;
            };
            if backward && end <= broke {
                continue;
            }
            let next = match self.next(end) {
                Some(Next::Close(after)) if self.rest(after, &mut total.clone()).is_err() => {
                    continue
                }
                Some(next) => next,
                None => continue,
            };
            records.push(cut_piece(b, p, c, broke));
            records.push(piece(b, q, end, defect));
            return Ok(next);
        }
        Err(fault(
            broke,
            "a record is not JSON and no complete record follows it",
        ))
    }
}

/// A structurally complete element `b[p..end]`.
fn piece(b: &[u8], p: usize, end: usize, defect: Option<Defect>) -> Piece {
    let bytes = &b[p..end];
    if let Some(d) = defect {
        return Piece::NotJson {
            raw: escape_bytes(bytes),
            error: with_id(d.describe(p), bytes),
        };
    }
    // Checked above: valid UTF-8 and JSON. serde decides anyway (it has a nesting limit).
    let parsed = std::str::from_utf8(bytes)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Box<RawValue>>(text).map_err(|e| e.to_string()));
    match parsed {
        Ok(raw) => Piece::Json(raw),
        Err(e) => Piece::NotJson {
            raw: escape_bytes(bytes),
            error: with_id(format!("not valid JSON: {e}"), bytes),
        },
    }
}

/// The bytes of a record cut short, `b[p..comma]`.
fn cut_piece(b: &[u8], p: usize, comma: usize, broke: usize) -> Piece {
    // Everything up to the `,`: whitespace before it may be inside the cut string.
    let end = comma;
    let bytes = &b[p..end];
    let why = if broke >= end {
        format!(
            "not valid JSON: the record is cut short (its structure breaks at byte {} of its text, inside the next record)",
            broke - p
        )
    } else {
        format!(
            "not valid JSON: the record's structure breaks at byte {} (of {})",
            broke - p,
            end - p
        )
    };
    Piece::NotJson {
        raw: escape_bytes(bytes),
        error: with_id(why, bytes),
    }
}

/// Appends the record's top-level `id`, when a byte scan finds one, so that `_rejected`
/// names the conversation although the record cannot be parsed.
fn with_id(error: String, record: &[u8]) -> String {
    match top_level_id(record) {
        Some(id) => format!("{error}; its top-level \"id\" reads {id}"),
        None => error,
    }
}

/// The value of a top-level `"id"` member, found by a byte scan ([`ltx_model::scan_id`]).
pub(crate) fn top_level_id(b: &[u8]) -> Option<i64> {
    ltx_model::scan_id(b)
}

/// Bytes as text, losslessly: valid UTF-8 is kept as is, every byte of an invalid
/// sequence and the NUL byte (the end of a string for many readers) become `\xNN`, and a
/// backslash that is followed by `x` becomes `\x5C` (so that `\xNN` in the output always
/// means an escaped byte). [`unescape_bytes`] inverts it. JSON text never holds `\x`, so a
/// record's escapes stand out and everything else reads as received.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    let push_text = |out: &mut String, text: &str, next_is_x: bool| {
        // A backslash followed by `x` (in this valid run, or as the first byte of what
        // comes next) is escaped.
        let mut chars = text.char_indices().peekable();
        while let Some((_, ch)) = chars.next() {
            match ch {
                '\0' => out.push_str("\\x00"),
                '\\' if chars.peek().map_or(next_is_x, |&(_, n)| n == 'x') => out.push_str("\\x5C"),
                _ => out.push(ch),
            }
        }
    };
    let chunks: Vec<_> = bytes.utf8_chunks().collect();
    for chunk in &chunks {
        // After a valid run comes an invalid byte (never `x`), so `next_is_x` is false.
        push_text(&mut out, chunk.valid(), false);
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

/// The bytes [`escape_bytes`] was given.
#[cfg(test)]
pub(crate) fn unescape_bytes(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(byte) = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The records of a salvaged page: `Ok(json)` or `Err((raw, error))`.
    fn records(body: &[u8]) -> Vec<Result<String, (String, String)>> {
        salvage(body)
            .unwrap()
            .records
            .into_iter()
            .map(|p| match p {
                Piece::Json(r) => Ok(r.get().to_owned()),
                Piece::NotJson { raw, error } => Err((raw, error)),
            })
            .collect()
    }

    fn page(records: &[&[u8]]) -> Vec<u8> {
        let mut b = br#"{"total":3,"results":["#.to_vec();
        for (k, r) in records.iter().enumerate() {
            if k > 0 {
                b.push(b',');
            }
            b.extend_from_slice(r);
        }
        b.extend_from_slice(b"]}");
        b
    }

    const A: &[u8] =
        br#"{"id":1,"updated_at":"2026-01-01T00:00:00","chats":[{"id":7,"t":"a,b"},{"id":8}]}"#;
    const C: &[u8] = br#"{"id":3,"updated_at":"2026-01-01T00:00:02","s":"x\"y\\"}"#;

    #[test]
    fn a_good_page_salvages_to_what_serde_reads() {
        let body = page(&[A, C]);
        let got = records(&body);
        assert_eq!(
            got,
            vec![
                Ok(String::from_utf8(A.to_vec()).unwrap()),
                Ok(String::from_utf8(C.to_vec()).unwrap())
            ]
        );
        assert_eq!(salvage(&body).unwrap().total, Some(3));
        // An empty page, whitespace everywhere, total after the results.
        let s = salvage(b" { \"results\" : [ ] , \"total\" : \"12\" } \n").unwrap();
        assert!(s.records.is_empty());
        assert_eq!(s.total, Some(12));
    }

    #[test]
    fn an_invalid_utf8_byte_in_a_string_quarantines_only_its_record() {
        let bad = b"{\"id\":2,\"updated_at\":\"2026-01-01T00:00:01\",\"text\":\"caf\xFF\xFEe\"}";
        let got = records(&page(&[A, bad, C]));
        assert!(got[0].is_ok() && got[2].is_ok(), "{got:?}");
        let (raw, error) = got[1].clone().unwrap_err();
        assert_eq!(
            raw,
            r#"{"id":2,"updated_at":"2026-01-01T00:00:01","text":"caf\xFF\xFEe"}"#
        );
        assert_eq!(unescape_bytes(&raw), bad.to_vec());
        assert!(error.contains("invalid UTF-8 byte 0xFF"), "{error}");
        assert!(error.contains("at byte 54 of the record"), "{error}");
        assert!(error.contains("\"id\" reads 2"), "{error}");
    }

    #[test]
    fn a_raw_control_character_in_a_string_quarantines_only_its_record() {
        let bad = b"{\"id\":2,\"updated_at\":\"2026-01-01T00:00:01\",\"text\":\"a\x01b\tc\"}";
        let got = records(&page(&[A, bad, C]));
        assert_eq!(got.len(), 3);
        let (raw, error) = got[1].clone().unwrap_err();
        assert_eq!(raw.as_bytes(), bad);
        assert!(error.contains("raw control character U+0001"), "{error}");
        // A NUL byte is escaped (many readers end a string there).
        let nul = b"{\"id\":2,\"s\":\"a\x00b\"}";
        let (raw, _) = records(&page(&[nul]))[0].clone().unwrap_err();
        assert_eq!(raw, "{\"id\":2,\"s\":\"a\\x00b\"}");
    }

    #[test]
    fn a_record_cut_short_inside_a_string_is_quarantined_and_the_next_one_read() {
        let cut = br#"{"id":2,"updated_at":"2026-01-01T00:00:01","chats":[{"id":9},{"id":10}],"text":"hel"#;
        let got = records(&page(&[A, cut, C]));
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].is_ok());
        let (raw, error) = got[1].clone().unwrap_err();
        assert_eq!(raw.as_bytes(), cut);
        assert!(error.contains("cut short"), "{error}");
        assert!(error.contains("\"id\" reads 2"), "{error}");
        assert_eq!(got[2], Ok(String::from_utf8(C.to_vec()).unwrap()));
        // Cut after a key, after a colon, in a number, after a backslash, in a literal.
        for cut in [
            &br#"{"id":2,"text""#[..],
            br#"{"id":2,"text":"#,
            br#"{"id":2,"n":12"#,
            br#"{"id":2,"n":-"#,
            br#"{"id":2,"s":"a\"#,
            br#"{"id":2,"b":tr"#,
            br#"{"id":2,"a":[{"x":1},{"y":"#,
        ] {
            let got = records(&page(&[A, cut, C]));
            assert_eq!(got.len(), 3, "{}: {got:?}", String::from_utf8_lossy(cut));
            assert_eq!(got[1].clone().unwrap_err().0.as_bytes(), cut);
            assert_eq!(got[2], Ok(String::from_utf8(C.to_vec()).unwrap()));
        }
    }

    #[test]
    fn every_kind_in_one_page_and_bad_records_next_to_each_other() {
        let utf8 = &b"{\"id\":2,\"s\":\"\xC3\"}"[..];
        let ctl = &b"{\"id\":4,\"s\":\"\x1F\"}"[..];
        let cut = &br#"{"id":5,"s":"ab"#[..];
        let got = records(&page(&[cut, utf8, ctl, A, cut, C, utf8]));
        let kinds: Vec<bool> = got.iter().map(Result::is_ok).collect();
        assert_eq!(
            kinds,
            vec![false, false, false, true, false, true, false],
            "{got:?}"
        );
        // Two records cut short in a row are one quarantined piece (both ids in its bytes).
        let cut2 = &br#"{"id":6,"s":"cd"#[..];
        let got = records(&page(&[A, cut, cut2, C]));
        assert_eq!(got.len(), 3, "{got:?}");
        let raw = got[1].clone().unwrap_err().0;
        assert!(
            raw.contains(r#""id":5"#) && raw.contains(r#""id":6"#),
            "{raw}"
        );
    }

    #[test]
    fn a_broken_envelope_is_an_error() {
        let body = page(&[A, C]);
        // Cut anywhere: never a page (the last record would swallow the envelope's end).
        for cut in 1..body.len() - 1 {
            assert!(salvage(&body[..cut]).is_err(), "{}", cut);
        }
        let last_cut = page(&[A, br#"{"id":2,"s":"ab"#]);
        assert!(salvage(&last_cut).is_err());
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"total":1}"#,
            br#"{"results":{}}"#,
            br#"{"results":[],"results":[]}"#,
            br#"{"results":[]} x"#,
            br#"{"results":[{"id":1} {"id":2}]}"#,
            b"",
        ] {
            assert!(salvage(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn hostile_nesting_and_comma_floods_stay_bounded() {
        // A million open brackets: no stack overflow, an envelope error.
        let deep = [&b"{\"results\":["[..], &vec![b'['; 1_000_000], b"]}"].concat();
        assert!(salvage(&deep).is_err());
        // Deep but complete: read as serde reads it.
        let nested = [vec![b'['; 200], vec![b']'; 200]].concat();
        let got = records(&page(&[A, &nested, b"{\"s\":\"\x01\"}"]));
        assert_eq!(got[1], Ok(String::from_utf8(nested).unwrap()));
        // A broken record followed by a flood of commas and braces: the budget ends the scan.
        // Every candidate `{` opens a structure that runs to the end of the body.
        let flood = [
            &br#"{"results":[{"id":1,"s":"x"#[..],
            &br#",{"a":[1"#.repeat(200_000),
            b"]}",
        ]
        .concat();
        let started = std::time::Instant::now();
        assert!(salvage(&flood).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn ids_are_found_at_the_top_level_only() {
        assert_eq!(top_level_id(br#"{"a":{"id":1},"id":2}"#), Some(2));
        assert_eq!(top_level_id(br#"{"s":"\"id\":3","id":"4"}"#), Some(4));
        assert_eq!(top_level_id(br#"{"a":[{"id":1}]}"#), None);
        assert_eq!(top_level_id(br#"{"id":"x"}"#), None);
        assert_eq!(top_level_id(b"{\"id\":-12,\"s\":\"\xFF"), Some(-12));
    }

    #[test]
    fn escaping_is_lossless_and_leaves_text_alone() {
        for bytes in [
            &b"plain {\"a\":\"\\n\"}"[..],
            b"\\x41 and \\\\x and \\",
            b"\xFF\xFEx\\x\xC3\xA9\xC3",
            b"\x00\x01\\\x00",
            "кириллица \\u0416".as_bytes(),
        ] {
            let text = escape_bytes(bytes);
            assert_eq!(unescape_bytes(&text), bytes, "{text}");
        }
        assert_eq!(escape_bytes(b"{\"a\":\"\\n\"}"), "{\"a\":\"\\n\"}");
        assert_eq!(escape_bytes(b"a\xFFb"), "a\\xFFb");
        assert_eq!(escape_bytes(b"\\x41"), "\\x5Cx41");
    }

    proptest::proptest! {
        #[test]
        fn escaping_round_trips_any_bytes(bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'\\', b'x', b'A', b'0', 0x00, 0xC3, 0xA9, 0xFF, b'"']),
            0..40,
        )) {
            proptest::prop_assert_eq!(unescape_bytes(&escape_bytes(&bytes)), bytes);
        }
    }

    /// A JSON value made of strings full of quotes, backslashes, commas and brackets.
    fn tricky_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            "[\"\\\\{}\\[\\],:a-cé\u{1}\n ]{0,12}".prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[\"\\\\{},a]{0,5}", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any page of valid records salvages to exactly the records serde reads.
        #[test]
        fn any_page_of_valid_records_round_trips(
            values in proptest::collection::vec(tricky_value(), 0..6),
            pretty in proptest::prelude::any::<bool>(),
        ) {
            let results = serde_json::Value::Array(values);
            let envelope = serde_json::json!({"total": 5, "results": results});
            let body = if pretty {
                serde_json::to_vec_pretty(&envelope).unwrap()
            } else {
                serde_json::to_vec(&envelope).unwrap()
            };
            #[derive(serde::Deserialize)]
            struct Strict {
                results: Vec<Box<RawValue>>,
            }
            let strict: Strict = serde_json::from_slice(&body).unwrap();
            let want: Vec<_> = strict.results.iter().map(|r| Ok(r.get().to_owned())).collect();
            proptest::prop_assert_eq!(records(&body), want);
        }

        /// A page with one record damaged (a byte replaced by an invalid UTF-8 byte or a
        /// control character, or the record cut short) keeps every other record.
        #[test]
        fn one_damaged_record_costs_only_itself(
            values in proptest::collection::vec(tricky_value(), 1..5),
            which in proptest::prelude::any::<proptest::sample::Index>(),
            kind in 0u8..3,
        ) {
            let mut texts: Vec<Vec<u8>> = values
                .iter()
                .enumerate()
                .map(|(k, v)| serde_json::to_vec(&serde_json::json!({"id": k, "v": v, "s": "abc"})).unwrap())
                .collect();
            texts.push(br#"{"id":99}"#.to_vec());
            let k = which.index(texts.len() - 1);
            let t = &mut texts[k];
            // The last string of the record is "abc" or ends there: damage it.
            let q = t.iter().rposition(|&c| c == b'"').unwrap();
            match kind {
                0 => t.insert(q, 0xFF),
                1 => t.insert(q, 0x02),
                _ => t.truncate(q),
            }
            let refs: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
            let body = page(&refs);
            let got = records(&body);
            proptest::prop_assert_eq!(got.len(), texts.len(), "{:?}", got);
            for (i, r) in got.iter().enumerate() {
                if i == k {
                    let (raw, _) = r.clone().unwrap_err();
                    proptest::prop_assert_eq!(unescape_bytes(&raw), texts[k].clone());
                } else {
                    proptest::prop_assert_eq!(r.clone(), Ok(String::from_utf8(texts[i].clone()).unwrap()));
                }
            }
        }
    }
}
