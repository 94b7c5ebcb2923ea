//! The fast path: a parser written for this model, tried before serde.
//!
//! Through serde_json, parsing was most of the transform's instructions, most of it
//! serde's per-token visitor machinery. This parser reads the same model straight from
//! the bytes (datetimes go through a per-thread day cache, free-form values are checked
//! and sliced, not handed to serde), and is *strict*: whenever it meets anything it was not written
//! for (a duplicate key, a float, a surrogate escape, an invalid value for a field, ...)
//! it gives up ([`Bail`]) and the caller parses the record again with serde, which applies
//! every tolerance and reports errors with a field path.
//!
//! The contract, checked by tests that compare both parsers on simulator data and on
//! mutated records: **when the fast path returns a conversation, serde returns an equal
//! one**; it never accepts a record serde rejects. Tolerances it does apply (numbers and
//! booleans as strings, `""` datetimes, `[]`/`{}` for empty objects and arrays) call the
//! same functions of [`crate::de`] as the serde visitors. Free-form values are checked as
//! strictly as [`validate`] checks and kept as the text received ([`JsonText`], what serde's
//! `RawValue` gives too); unknown fields (kept in `extra` as `Value`s) are handed to
//! serde_json itself on the remaining input, so they are exactly what serde would produce.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::de;
use crate::{Conversation, JsonText};

/// "Not for the fast path": parse the record with serde instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// A fast-path result.
pub type R<T> = Result<T, Bail>;

/// Parses one conversation on the fast path; `None` means "use serde" (not "invalid").
pub fn conversation(raw: &str) -> Option<Conversation<'_>> {
    let mut p = Parser::new(raw);
    if p.peek().ok()? != b'{' {
        return None;
    }
    let conversation = <Conversation as FastMap>::fast_map(&mut p, false).ok()??;
    p.ws();
    (p.i == p.b.len()).then_some(conversation)
}

/// Whether `text` is exactly one JSON value (surrounding whitespace allowed), checked
/// strictly: `Some(true)` only for text serde_json accepts too; `None` when it could not
/// tell cheaply (surrogate escapes, nesting deeper than [`MAX_DEPTH`], ...): ask serde.
/// For the extractor, which checks every record before queueing it.
pub fn validate(text: &str) -> Option<bool> {
    validate_members(text, |_, _| {})
}

/// As [`validate`], and when `text` is an object, calls `member(key, value)` for each of
/// its top-level members in order: the key as written between its quotes (escapes not
/// decoded) and the value's JSON text. Lets a caller pick a few fields out of a record
/// in the same pass that checks it (meaningful only when the result is `Some(true)`).
pub fn validate_members<'a>(
    text: &'a str,
    mut member: impl FnMut(&'a str, &'a str),
) -> Option<bool> {
    let mut p = Parser::new(text);
    let checked = if p.peek() == Ok(b'{') {
        p.skip_members(&mut member)
    } else {
        p.skip_value(0)
    };
    match checked {
        Ok(()) => {
            p.ws();
            Some(p.i == p.b.len())
        }
        Err(Bail) => None,
    }
}

/// Nesting accepted by [`validate`] (serde_json's limit is 128).
const MAX_DEPTH: u32 = 100;

/// A cursor over JSON text (valid UTF-8, since it is a `&str`).
#[derive(Debug)]
pub struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Bytes that end a run of plain string content: `"`, `\` and control characters.
const fn special_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static SPECIAL: [bool; 256] = special_table();

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in each of the 8 bytes of `x` (little-endian) that is
/// `"`, `\` or below 0x20. Bytes above the first such byte may be flagged falsely (borrows
/// run upwards), so only the lowest set bit is exact, which is all [`Parser::scan`] uses.
#[inline]
fn special_mask(x: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_20 = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\'))) | below_20
}

impl<'a> Parser<'a> {
    /// A parser at the start of `s`.
    pub fn new(s: &'a str) -> Self {
        Parser {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    /// Skips JSON whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte (not consumed).
    #[inline]
    fn peek(&mut self) -> R<u8> {
        self.ws();
        self.b.get(self.i).copied().ok_or(Bail)
    }

    /// Consumes `lit` exactly (after whitespace).
    #[inline]
    fn literal(&mut self, lit: &[u8]) -> R<()> {
        self.ws();
        if self.b.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Index of the next special byte at or after `j` (or the end).
    #[inline]
    fn scan(&self, mut j: usize) -> usize {
        while let Some(chunk) = self.b.get(j..j + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let mask = special_mask(u64::from_le_bytes(word));
            if mask != 0 {
                return j + (mask.trailing_zeros() / 8) as usize;
            }
            j += 8;
        }
        while let Some(&c) = self.b.get(j) {
            if SPECIAL[usize::from(c)] {
                break;
            }
            j += 1;
        }
        j
    }

    /// A string value (at its opening quote): borrowed unless it has escapes.
    fn string(&mut self) -> R<Cow<'a, str>> {
        let start = self.i + 1;
        let j = self.scan(start);
        match self.b.get(j) {
            Some(b'"') => {
                self.i = j + 1;
                self.s.get(start..j).map(Cow::Borrowed).ok_or(Bail)
            }
            Some(b'\\') => self.string_escaped(start, j).map(Cow::Owned),
            _ => Err(Bail),
        }
    }

    /// The rest of a string with escapes: `start` is its first byte, `j` the first `\`.
    fn string_escaped(&mut self, start: usize, mut j: usize) -> R<String> {
        let mut out = String::with_capacity(j - start + 16);
        out.push_str(self.s.get(start..j).ok_or(Bail)?);
        loop {
            match self.b.get(j) {
                Some(b'"') => {
                    self.i = j + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let c = match self.b.get(j + 1).ok_or(Bail)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.s.get(j + 2..j + 6).ok_or(Bail)?;
                            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                                return Err(Bail);
                            }
                            let code = u32::from_str_radix(hex, 16).map_err(|_| Bail)?;
                            // Surrogates (pairs or lone) are serde's business.
                            let c = char::from_u32(code).ok_or(Bail)?;
                            j += 4;
                            c
                        }
                        _ => return Err(Bail),
                    };
                    out.push(c);
                    j += 2;
                }
                Some(_) => {
                    let end = self.scan(j);
                    if end == j {
                        return Err(Bail); // a control character
                    }
                    out.push_str(self.s.get(j..end).ok_or(Bail)?);
                    j = end;
                }
                None => return Err(Bail),
            }
        }
    }

    /// An object key and its `:`; only keys without escapes (others go to serde).
    #[inline]
    pub(crate) fn key(&mut self) -> R<&'a str> {
        if self.peek()? != b'"' {
            return Err(Bail);
        }
        let start = self.i + 1;
        let j = self.scan(start);
        if self.b.get(j) != Some(&b'"') {
            return Err(Bail);
        }
        let key = self.s.get(start..j).ok_or(Bail)?;
        self.i = j + 1;
        if self.peek()? != b':' {
            return Err(Bail);
        }
        self.i += 1;
        Ok(key)
    }

    /// Consumes `"key":` if the input continues with exactly that key (unescaped).
    #[inline]
    pub(crate) fn try_key(&mut self, key: &str) -> bool {
        let mut j = self.i;
        while matches!(self.b.get(j), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            j += 1;
        }
        let k = key.as_bytes();
        let end = j + 1 + k.len();
        if self.b.get(j) != Some(&b'"')
            || self.b.get(j + 1..end) != Some(k)
            || self.b.get(end) != Some(&b'"')
        {
            return false;
        }
        let mut c = end + 1;
        while matches!(self.b.get(c), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            c += 1;
        }
        if self.b.get(c) != Some(&b':') {
            return false;
        }
        self.i = c + 1;
        true
    }

    /// Consumes `{`; whether a key follows (else `}` was consumed too).
    #[inline]
    pub(crate) fn object_begin(&mut self) -> R<bool> {
        if self.peek()? != b'{' {
            return Err(Bail);
        }
        self.i += 1;
        if self.peek()? == b'}' {
            self.i += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After a member: `,` → another key follows; `}` → the object ended.
    #[inline]
    pub(crate) fn object_next(&mut self) -> R<bool> {
        let c = self.peek()?;
        self.i += 1;
        match c {
            b',' => Ok(true),
            b'}' => Ok(false),
            _ => Err(Bail),
        }
    }

    /// An integer as JSON writes it (`-?(0|[1-9][0-9]*)`, up to 18 digits); floats,
    /// `-0`, exponents and larger numbers go to serde.
    #[inline]
    fn int(&mut self) -> R<i64> {
        let neg = self.b.get(self.i) == Some(&b'-');
        let start = self.i + usize::from(neg);
        let mut j = start;
        let mut v: i64 = 0;
        while let Some(&c) = self.b.get(j) {
            if !c.is_ascii_digit() {
                break;
            }
            if j - start == 18 {
                return Err(Bail); // may not fit: serde's (it reads big numbers as floats)
            }
            v = v * 10 + i64::from(c - b'0');
            j += 1;
        }
        let digits = j - start;
        if digits == 0 || (digits > 1 && self.b.get(start) == Some(&b'0')) {
            return Err(Bail);
        }
        if matches!(self.b.get(j), Some(b'.' | b'e' | b'E')) || (neg && v == 0) {
            return Err(Bail);
        }
        self.i = j;
        Ok(if neg { -v } else { v })
    }

    /// Skips one JSON value, checking its grammar strictly (see [`validate`]).
    fn skip_value(&mut self, depth: u32) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Bail);
        }
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => {
                let mut more = self.object_begin()?;
                while more {
                    if self.peek()? != b'"' {
                        return Err(Bail);
                    }
                    self.skip_string()?;
                    if self.peek()? != b':' {
                        return Err(Bail);
                    }
                    self.i += 1;
                    self.skip_value(depth + 1)?;
                    more = self.object_next()?;
                }
                Ok(())
            }
            b'[' => {
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    let c = self.peek()?;
                    self.i += 1;
                    match c {
                        b',' => {}
                        b']' => return Ok(()),
                        _ => return Err(Bail),
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => Err(Bail),
        }
    }

    /// Skips the object at the cursor (depth 0), reporting each member (see
    /// [`validate_members`]).
    fn skip_members(&mut self, member: &mut impl FnMut(&'a str, &'a str)) -> R<()> {
        let mut more = self.object_begin()?;
        while more {
            if self.peek()? != b'"' {
                return Err(Bail);
            }
            let key_start = self.i + 1;
            self.skip_string()?;
            let key = self.s.get(key_start..self.i - 1).ok_or(Bail)?;
            if self.peek()? != b':' {
                return Err(Bail);
            }
            self.i += 1;
            let value_start = {
                self.ws();
                self.i
            };
            self.skip_value(1)?;
            member(key, self.s.get(value_start..self.i).ok_or(Bail)?);
            more = self.object_next()?;
        }
        Ok(())
    }

    /// Skips a string (at its opening quote), checking escapes; no surrogate escapes.
    fn skip_string(&mut self) -> R<()> {
        let mut j = self.i + 1;
        loop {
            j = self.scan(j);
            match self.b.get(j) {
                Some(b'"') => {
                    self.i = j + 1;
                    return Ok(());
                }
                Some(b'\\') => match self.b.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                    Some(b'u') => {
                        let hex = self.b.get(j + 2..j + 6).ok_or(Bail)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(Bail);
                        }
                        // Surrogates (D800–DFFF) are left to serde.
                        if matches!(hex[0], b'd' | b'D') && !matches!(hex[1], b'0'..=b'7') {
                            return Err(Bail);
                        }
                        j += 6;
                    }
                    _ => return Err(Bail),
                },
                _ => return Err(Bail), // a control character, or the end
            }
        }
    }

    /// Skips a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn skip_number(&mut self) -> R<()> {
        let digits = |p: &mut Self| {
            let start = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - start
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let first = self.b.get(self.i).copied();
        let n = digits(self);
        if n == 0 || (n > 1 && first == Some(b'0')) {
            return Err(Bail);
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(Bail);
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(Bail);
            }
        }
        Ok(())
    }

    /// A value of any JSON type read by serde_json from the rest of the input (free-form
    /// values and unknown fields: exactly what serde would make of them).
    fn serde<T: Deserialize<'a>>(&mut self) -> R<T> {
        let rest = self.s.get(self.i..).ok_or(Bail)?;
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        match stream.next() {
            Some(Ok(value)) => {
                self.i += stream.byte_offset();
                Ok(value)
            }
            _ => Err(Bail),
        }
    }

    /// An unknown field's value, for `extra`.
    pub fn extra_value(&mut self) -> R<serde_json::Value> {
        self.serde()
    }
}

/// A model type read on the fast path (implemented by `types.rs`'s macro).
pub trait FastMap<'a>: Sized {
    /// Reads the object at the cursor (which is at `{`); with `empty_is_none`, `{}` is `None`.
    fn fast_map(p: &mut Parser<'a>, empty_is_none: bool) -> R<Option<Self>>;
}

/// What reads a field's value on the fast path: implemented by the seeds of [`crate::de`],
/// with the same output type.
pub trait FastSeed<'a> {
    /// The field's type.
    type Out;
    /// Reads the value at the cursor.
    fn fast(self, p: &mut Parser<'a>) -> R<Self::Out>;
}

/// Maps a tolerance function's error to [`Bail`] (serde will report it).
fn tolerate<T>(r: Result<T, serde::de::value::Error>) -> R<T> {
    r.map_err(|_| Bail)
}

impl<'a> FastSeed<'a> for de::OptI64 {
    type Out = Option<i64>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<i64>> {
        match p.peek()? {
            b'-' | b'0'..=b'9' => p.int().map(Some),
            b'n' => p.literal(b"null").map(|()| None),
            b'"' => {
                let s = p.string()?;
                tolerate(de::str_to_i64(&s))
            }
            _ => Err(Bail),
        }
    }
}

impl<'a> FastSeed<'a> for de::ReqI64 {
    type Out = i64;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<i64> {
        de::OptI64.fast(p)?.ok_or(Bail)
    }
}

impl<'a> FastSeed<'a> for de::OptBool {
    type Out = Option<bool>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<bool>> {
        match p.peek()? {
            b't' => p.literal(b"true").map(|()| Some(true)),
            b'f' => p.literal(b"false").map(|()| Some(false)),
            b'n' => p.literal(b"null").map(|()| None),
            b'-' | b'0'..=b'9' => match p.int()? {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(Bail),
            },
            b'"' => {
                let s = p.string()?;
                tolerate(de::str_to_bool(&s))
            }
            _ => Err(Bail),
        }
    }
}

impl<'a> FastSeed<'a> for de::OptString {
    type Out = Option<Cow<'a, str>>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<Cow<'a, str>>> {
        match p.peek()? {
            b'"' => p.string().map(Some),
            b'n' => p.literal(b"null").map(|()| None),
            b't' => p.literal(b"true").map(|()| Some(Cow::Borrowed("true"))),
            b'f' => p.literal(b"false").map(|()| Some(Cow::Borrowed("false"))),
            b'-' | b'0'..=b'9' => p.int().map(|v| Some(Cow::Owned(v.to_string()))),
            _ => Err(Bail),
        }
    }
}

impl<'a> FastSeed<'a> for de::OptEnum {
    type Out = Option<Cow<'a, str>>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<Cow<'a, str>>> {
        match de::OptString.fast(p)? {
            Some(s) if !self.knows(&s) => Err(Bail),
            v => Ok(v),
        }
    }
}

impl<'a> FastSeed<'a> for de::StringId {
    type Out = Cow<'a, str>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Cow<'a, str>> {
        match de::OptString.fast(p)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(Bail),
        }
    }
}

impl<'a> FastSeed<'a> for de::OptDateTime {
    type Out = Option<DateTime<Utc>>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<DateTime<Utc>>> {
        match p.peek()? {
            b'"' => {
                // `"YYYY-MM-DDTHH:MM:SS"` read in place (no escape can hide in 19 digits and
                // separators): the string, trim and zero-date checks below are for the rest.
                if p.b.get(p.i + 20) == Some(&b'"') {
                    let text = p.b.get(p.i + 1..p.i + 20).unwrap_or_default();
                    if let Some(utc) = crate::time::naive_moscow_fast(text) {
                        p.i += 21;
                        return Ok(Some(utc));
                    }
                }
                let s = p.string()?;
                de::str_to_datetime(&s).map_err(|_| Bail)
            }
            b'n' => p.literal(b"null").map(|()| None),
            _ => Err(Bail),
        }
    }
}

impl<'a> FastSeed<'a> for de::ReqDateTime {
    type Out = DateTime<Utc>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<DateTime<Utc>> {
        de::OptDateTime.fast(p)?.ok_or(Bail)
    }
}

impl<'a, T: FastMap<'a>> FastSeed<'a> for de::Seq<T> {
    type Out = Vec<T>;
    fn fast(self, p: &mut Parser<'a>) -> R<Vec<T>> {
        match p.peek()? {
            b'[' => {
                p.i += 1;
                if p.peek()? == b']' {
                    p.i += 1;
                    return Ok(Vec::new());
                }
                let mut out = Vec::with_capacity(8);
                loop {
                    // An element is a required object (serde's `Struct`): `{}` reads as an
                    // object with its required fields missing, i.e. an error (→ serde).
                    if p.peek()? != b'{' {
                        return Err(Bail);
                    }
                    out.push(T::fast_map(p, false)?.ok_or(Bail)?);
                    let c = p.peek()?;
                    p.i += 1;
                    match c {
                        b',' => {}
                        b']' => return Ok(out),
                        _ => return Err(Bail),
                    }
                }
            }
            b'n' => p.literal(b"null").map(|()| Vec::new()),
            b'{' => {
                // `{}` is PHP's empty array; anything in it is serde's error to report.
                if p.object_begin()? {
                    return Err(Bail);
                }
                Ok(Vec::new())
            }
            _ => Err(Bail),
        }
    }
}

impl<'a, T: FastMap<'a>> FastSeed<'a> for de::Object<T> {
    type Out = Option<T>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<T>> {
        match p.peek()? {
            b'{' => T::fast_map(p, true),
            b'n' => p.literal(b"null").map(|()| None),
            b'[' => {
                // `[]` is PHP's empty object.
                p.i += 1;
                p.literal(b"]").map(|()| None)
            }
            _ => Err(Bail),
        }
    }
}

impl<'a, T: FastMap<'a>> FastSeed<'a> for de::Boxed<T> {
    type Out = Option<Box<T>>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<Box<T>>> {
        de::Object::<T>::default().fast(p).map(|o| o.map(Box::new))
    }
}

impl<'a> FastSeed<'a> for de::Plain<Option<JsonText<'a>>> {
    type Out = Option<JsonText<'a>>;
    #[inline]
    fn fast(self, p: &mut Parser<'a>) -> R<Option<JsonText<'a>>> {
        if p.peek()? == b'n' {
            return p.literal(b"null").map(|()| None);
        }
        // Checked as strictly as `validate` (serde takes what it cannot tell).
        let start = p.i;
        p.skip_value(1)?;
        p.s.get(start..p.i)
            .map(|text| Some(JsonText::checked(text)))
            .ok_or(Bail)
    }
}

/// Key prediction for the macro in `types.rs`.
pub(crate) mod key_order {
    use std::cell::Cell;

    /// More fields than any model type has.
    pub const MAX_FIELDS: usize = 62;
    /// "Not a field of this type" (an unknown key, kept in `extra`).
    pub const UNKNOWN: usize = MAX_FIELDS;
    /// The position "before the first key".
    pub const START: usize = MAX_FIELDS + 1;

    /// For each field (and [`START`], [`UNKNOWN`]): the field whose key followed it the
    /// last time this thread read this type. An API writes an object's keys in the same
    /// order every time, so the next key is usually predicted: comparing the input with
    /// one expected key is much cheaper than scanning the key and matching it against
    /// every field name. A wrong guess costs one comparison, then the full path runs
    /// (and the guess is updated), so any order (or none) is read correctly.
    #[derive(Debug)]
    pub struct Successors([Cell<u8>; MAX_FIELDS + 2]);

    impl Successors {
        /// No predictions yet.
        pub const fn new() -> Self {
            Successors([const { Cell::new(u8::MAX) }; MAX_FIELDS + 2])
        }
        /// The field predicted after `prev` (≥ the type's field count when none).
        #[inline]
        pub fn get(&self, prev: usize) -> usize {
            self.0
                .get(prev)
                .map_or(usize::MAX, |c| usize::from(c.get()))
        }
        /// Records that `idx` followed `prev`.
        #[inline]
        pub fn set(&self, prev: usize, idx: usize) {
            if let (Some(cell), Ok(idx)) = (self.0.get(prev), u8::try_from(idx)) {
                cell.set(idx);
            }
        }
    }

    impl Default for Successors {
        fn default() -> Self {
            Self::new()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_the_first_special_byte_exactly() {
        // Every byte value at every lane, behind every other byte value in the lanes before
        // and after it: the scan must stop exactly at the first special byte.
        let fill = [
            b'a', b' ', 0x7f, 0x80, 0xa0, 0xd0, 0xff, b'!', b'#', b'[', b']',
        ];
        for lane in 0..8 {
            for byte in 0..=255u8 {
                for &f in &fill {
                    for &after in &[f, b'"', b'\\', 0] {
                        let mut w = vec![f; 20];
                        w[lane] = byte;
                        for x in &mut w[lane + 1..] {
                            *x = after;
                        }
                        let want = w
                            .iter()
                            .position(|&c| SPECIAL[usize::from(c)])
                            .unwrap_or(w.len());
                        // Not UTF-8 in general: the scan only looks at bytes.
                        let p = Parser { s: "", b: &w, i: 0 };
                        assert_eq!(
                            p.scan(0),
                            want,
                            "lane {lane} byte {byte:#x} fill {f:#x} after {after:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn strings_unescape_as_serde_does() {
        for text in [
            r#""plain""#,
            r#""Привет, мир""#,
            r#""a\"b\\c\/d\n\t\r\b\f""#,
            r#""\u0041\u00e9\u0416""#,
            r#""long line with an escape near the end of it, past the first words\n""#,
        ] {
            let mut p = Parser::new(text);
            let fast = p.string().unwrap();
            let serde: String = serde_json::from_str(text).unwrap();
            assert_eq!(fast, serde, "{text}");
            assert_eq!(p.i, text.len());
        }
        for bad in [r#""\ud83d\ude00""#, "\"a\u{1}b\"", r#""\x""#, r#""open"#] {
            assert_eq!(Parser::new(bad).string(), Err(Bail), "{bad}");
        }
    }

    #[test]
    fn integers_are_strict() {
        for (text, want) in [("0", 0), ("-7", -7), ("10000010001", 10_000_010_001)] {
            assert_eq!(Parser::new(text).int(), Ok(want));
        }
        for bad in ["01", "-0", "1.0", "1e3", "-", "1234567890123456789"] {
            assert_eq!(Parser::new(bad).int(), Err(Bail), "{bad}");
        }
    }
}
