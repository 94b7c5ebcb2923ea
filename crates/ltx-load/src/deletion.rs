//! Deleted rows of a data file: which rows of an immutable file no longer count, as a set
//! of row positions, kept in the manifest entry of the file ([`DeletedRows`]).
//!
//! A newer version of a conversation supersedes the rows of the old one in every table.
//! Instead of rewriting the files holding them (copy-on-write), a run marks those rows
//! deleted (merge-on-read, see `commit`) and compaction folds the marks into rewritten
//! files later (see `compact`). The positions are encoded exactly as a Delta Lake
//! *deletion vector* stored inline: a `RoaringBitmapArray` (magic number, then a portable
//! 64-bit Roaring treemap) in Z85, so the Delta log carries the manifest's string as it is
//! and every Delta reader skips the same rows (see `delta`). DuckDB's views do not read it:
//! they anti-join the delete records by conversation and version (see `catalog`).

use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::manifest::FileEntry;

/// The deleted rows of one data file: an inline Delta deletion vector.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeletedRows {
    /// How many rows are deleted (the vector's cardinality).
    pub rows: u64,
    /// The row positions as Delta's `RoaringBitmapArray`, Z85-encoded (padded to a multiple
    /// of 4 bytes with zeros).
    pub dv: String,
    /// The length of the encoded bitmap before padding (Delta's `sizeInBytes`).
    pub dv_bytes: u32,
}

/// Why a stored vector could not be read.
#[derive(Debug, thiserror::Error)]
#[error("deletion vector: {0}")]
pub struct DvError(pub String);

/// The deleted positions of a manifest entry's file, sorted (empty when it has none).
pub(crate) fn positions_of_entry(f: &FileEntry) -> Result<Vec<u64>, LoadError> {
    match &f.deleted {
        Some(d) => d.positions().map_err(|e| entry_err(f, e)),
        None => Ok(Vec::new()),
    }
}

/// The entry's deleted positions with `more` added (`None`: still none).
pub(crate) fn with_more(f: &FileEntry, more: &[u64]) -> Result<Option<DeletedRows>, LoadError> {
    DeletedRows::union(f.deleted.as_ref(), more).map_err(|e| entry_err(f, e))
}

fn entry_err(f: &FileEntry, e: DvError) -> LoadError {
    LoadError::DeletedRows {
        path: f.path.clone(),
        message: e.0,
    }
}

/// Delta's `RoaringBitmapArray` magic number.
const MAGIC: i32 = 1_681_511_377;
/// Portable Roaring format cookie without run containers.
const COOKIE_NO_RUNS: u32 = 12_346;
/// Portable Roaring format cookie with run containers.
const COOKIE_RUNS: u16 = 12_347;
/// Containers with more values than this are bitmaps.
const ARRAY_MAX: usize = 4096;

impl DeletedRows {
    /// The vector of `positions` (any order, duplicates allowed); `None` when empty.
    pub fn from_positions(positions: &[u64]) -> Option<Self> {
        Self::from_vec(positions.to_vec())
    }

    /// [`DeletedRows::from_positions`], taking the positions' vector.
    fn from_vec(mut sorted: Vec<u64>) -> Option<Self> {
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.is_empty() {
            return None;
        }
        let bytes = encode(&sorted);
        Some(Self {
            rows: sorted.len() as u64,
            dv_bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            dv: z85_encode(&bytes),
        })
    }

    /// The deleted positions, sorted.
    pub fn positions(&self) -> Result<Vec<u64>, DvError> {
        let mut bytes = z85_decode(&self.dv)?;
        bytes.truncate(self.dv_bytes as usize);
        decode(&bytes)
    }

    /// This vector with `more` positions added.
    pub fn union(this: Option<&Self>, more: &[u64]) -> Result<Option<Self>, DvError> {
        let mut all = match this {
            Some(d) => d.positions()?,
            None => Vec::new(),
        };
        all.extend_from_slice(more);
        Ok(Self::from_vec(all))
    }
}

/// `RoaringBitmapArray` of sorted, unique positions.
fn encode(sorted: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + sorted.len() * 2);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    // Group by the high 32 bits: one 32-bit bitmap each.
    let groups = group_by_high(sorted.iter().map(|&p| ((p >> 32) as u32, p as u32)));
    out.extend_from_slice(&(groups.len() as i64).to_le_bytes());
    for (hi, values) in &groups {
        out.extend_from_slice(&hi.to_le_bytes());
        encode32(values, &mut out);
    }
    out
}

/// Sorted `(high, low)` pairs as runs of one high part: `(high, lows)`.
fn group_by_high<H: PartialEq, L>(pairs: impl Iterator<Item = (H, L)>) -> Vec<(H, Vec<L>)> {
    let mut groups: Vec<(H, Vec<L>)> = Vec::new();
    for (hi, lo) in pairs {
        match groups.last_mut() {
            Some((h, v)) if *h == hi => v.push(lo),
            _ => groups.push((hi, vec![lo])),
        }
    }
    groups
}

/// A portable 32-bit Roaring bitmap (no run containers) of sorted, unique values.
fn encode32(values: &[u32], out: &mut Vec<u8>) {
    let containers = group_by_high(values.iter().map(|&v| ((v >> 16) as u16, v as u16)));
    let start = out.len();
    out.extend_from_slice(&COOKIE_NO_RUNS.to_le_bytes());
    out.extend_from_slice(&(containers.len() as u32).to_le_bytes());
    for (key, c) in &containers {
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&((c.len() - 1) as u16).to_le_bytes());
    }
    // Offsets of each container from the start of this bitmap.
    let mut offset = out.len() - start + 4 * containers.len();
    for (_, c) in &containers {
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += if c.len() > ARRAY_MAX {
            8192
        } else {
            2 * c.len()
        };
    }
    for (_, c) in &containers {
        if c.len() > ARRAY_MAX {
            let mut words = [0u64; 1024];
            for &v in c {
                words[usize::from(v >> 6)] |= 1 << (v & 63);
            }
            for w in words {
                out.extend_from_slice(&w.to_le_bytes());
            }
        } else {
            for v in c {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// A little-endian reader over a byte slice.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DvError> {
        let end = self.at + N;
        let slice = self
            .data
            .get(self.at..end)
            .ok_or_else(|| DvError(format!("truncated at byte {}", self.at)))?;
        self.at = end;
        let mut a = [0u8; N];
        a.copy_from_slice(slice);
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, DvError> {
        self.take::<2>().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, DvError> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, DvError> {
        self.take::<8>().map(u64::from_le_bytes)
    }
}

/// Sorted positions of a `RoaringBitmapArray`.
fn decode(bytes: &[u8]) -> Result<Vec<u64>, DvError> {
    let mut r = Bytes { data: bytes, at: 0 };
    if r.u32()? as i32 != MAGIC {
        return Err(DvError(
            "not a RoaringBitmapArray (magic number)".to_owned(),
        ));
    }
    let n = r.u64()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let hi = u64::from(r.u32()?);
        for lo in decode32(&mut r)? {
            out.push((hi << 32) | u64::from(lo));
        }
    }
    Ok(out)
}

/// Values of a portable 32-bit Roaring bitmap without run containers (the ones ltx writes).
fn decode32(r: &mut Bytes<'_>) -> Result<Vec<u32>, DvError> {
    let cookie = r.u32()?;
    if cookie as u16 == COOKIE_RUNS {
        return Err(DvError("run containers are not supported".to_owned()));
    }
    if cookie != COOKIE_NO_RUNS {
        return Err(DvError(format!("unknown Roaring cookie {cookie}")));
    }
    let n = r.u32()? as usize;
    let mut header = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.u16()?;
        let card = usize::from(r.u16()?) + 1;
        header.push((key, card));
    }
    for _ in 0..n {
        r.u32()?; // offsets: the containers follow in order
    }
    let mut out = Vec::new();
    for (key, card) in header {
        let base = u32::from(key) << 16;
        if card > ARRAY_MAX {
            for w in 0..1024u32 {
                let word = r.u64()?;
                for b in 0..64u32 {
                    if (word >> b) & 1 == 1 {
                        out.push(base | (w << 6) | b);
                    }
                }
            }
        } else {
            for _ in 0..card {
                out.push(base | u32::from(r.u16()?));
            }
        }
    }
    Ok(out)
}

/// The Z85 alphabet (ZeroMQ RFC 32), which Delta uses for inline vectors.
const Z85: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Z85 of `bytes`, padded with zero bytes to a multiple of 4.
fn z85_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(4) * 5);
    for chunk in bytes.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        let mut n = u32::from_be_bytes(word);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = Z85[(n % 85) as usize];
            n /= 85;
        }
        out.extend(digits.iter().map(|&d| d as char));
    }
    out
}

/// The bytes of a Z85 string (a multiple of 5 characters).
fn z85_decode(text: &str) -> Result<Vec<u8>, DvError> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(5) {
        return Err(DvError("Z85 text length is not a multiple of 5".to_owned()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for chunk in bytes.chunks(5) {
        let mut n: u64 = 0;
        for &c in chunk {
            let d = Z85
                .iter()
                .position(|&z| z == c)
                .ok_or_else(|| DvError(format!("not a Z85 character: {:?}", c as char)))?;
            n = n * 85 + d as u64;
        }
        let n = u32::try_from(n).map_err(|_| DvError("Z85 group out of range".to_owned()))?;
        out.extend_from_slice(&n.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn positions_round_trip_through_arrays_bitmaps_and_high_keys() {
        let mut cases: Vec<Vec<u64>> = vec![
            vec![1, 3],
            vec![0],
            (0..5000).map(|i| i * 3).collect(), // a bitmap container, then arrays
            vec![7, 65_536, 65_537, 1 << 32, (1 << 32) + 9],
        ];
        cases.push((0..70_000).collect());
        for positions in cases {
            let d = DeletedRows::from_positions(&positions).unwrap();
            assert_eq!(d.rows, positions.len() as u64);
            assert_eq!(d.positions().unwrap(), positions);
            assert_eq!(d.dv.len() % 5, 0);
        }
        assert_eq!(DeletedRows::from_positions(&[]), None);
    }

    #[test]
    fn union_adds_positions_once() {
        let a = DeletedRows::from_positions(&[5, 1]).unwrap();
        let b = DeletedRows::union(Some(&a), &[1, 9]).unwrap().unwrap();
        assert_eq!(b.positions().unwrap(), vec![1, 5, 9]);
        assert_eq!(b.rows, 3);
    }

    /// The bytes Delta readers were checked against (deltalake's query engine, polars and
    /// ClickHouse skipped rows 1 and 3 of a ten-row file with this inline vector).
    #[test]
    fn encoding_is_delta_s_inline_format() {
        let d = DeletedRows::from_positions(&[1, 3]).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(&MAGIC.to_le_bytes());
        expected.extend_from_slice(&1i64.to_le_bytes());
        expected.extend_from_slice(&0u32.to_le_bytes());
        expected.extend_from_slice(&12_346u32.to_le_bytes());
        expected.extend_from_slice(&1u32.to_le_bytes());
        expected.extend_from_slice(&[0, 0, 1, 0]);
        expected.extend_from_slice(&16u32.to_le_bytes());
        expected.extend_from_slice(&[1, 0, 3, 0]);
        assert_eq!(d.dv_bytes as usize, expected.len());
        assert_eq!(d.dv, z85_encode(&expected));
        assert_eq!(z85_encode(&[0x86, 0x4F, 0xD2, 0x6F]), "Hello");
        assert!(z85_decode("Hell").is_err());
    }
}
