//! Hostile bodies for the fault knobs `inflate_body_mb` and `non_json_rate`.
//!
//! - [`inflating_gzip`]: a 200 answer sent gzip-compressed behind N MiB of spaces. Spaces
//!   before a JSON value are still that JSON value, so a client with room for it reads the
//!   same page; one without a limit holds N MiB. Deflate squeezes a run of spaces ~1000x,
//!   so 2 GiB is ~2 MB on the wire, and the stream repeats one compressed MiB: the
//!   simulator never holds more than that MiB, whatever N is.
//! - [`non_json_page`]: a conversations page in which some records are not JSON (an
//!   invalid UTF-8 byte or a raw control character inside a string, or the record cut
//!   short in the middle of a string), chosen per conversation id by [`non_json_kind`], so
//!   that the same conversations are broken in every answer.

use axum::body::{Body, Bytes};
use flate2::{Compress, Compression, Crc, FlushCompress};
use serde_json::Value;

/// One MiB.
const MIB: usize = 1 << 20;

/// How a conversation is rendered by the `non_json_rate` fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonJson {
    /// Byte 0xFF inside its last string.
    InvalidUtf8,
    /// A raw U+0001 inside its last string.
    ControlChar,
    /// Cut short inside its last string (the next record's text then seems to be inside
    /// it). The last record of a page is never cut: that would break the page's envelope,
    /// a different fault (`malformed_rate`); it gets an invalid UTF-8 byte instead.
    CutShort,
}

impl NonJson {
    /// The kind's name, for messages and tests.
    pub fn name(self) -> &'static str {
        match self {
            NonJson::InvalidUtf8 => "invalid-utf8",
            NonJson::ControlChar => "control-char",
            NonJson::CutShort => "cut-short",
        }
    }
}

/// Whether conversation `id` is rendered as a non-JSON record at `rate`, and how: a draw
/// from the seed and the id (the same answer every time), kinds cycling with the id.
pub fn non_json_kind(seed: u64, rate: f64, id: i64) -> Option<NonJson> {
    if rate <= 0.0 {
        return None;
    }
    // splitmix64 of the seed and the id: a uniform draw in [0, 1).
    let mut z = (seed ^ 0x4E4F_4A53).wrapping_add((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let draw = (z >> 11) as f64 / (1u64 << 53) as f64;
    (draw < rate).then(|| match id.rem_euclid(3) {
        0 => NonJson::InvalidUtf8,
        1 => NonJson::ControlChar,
        _ => NonJson::CutShort,
    })
}

/// Re-renders a conversations page (`{"total":..,"results":[..]}`) with the records that
/// `kind` picks broken. `None` when `body` is not such a page or nothing is broken.
pub(crate) fn non_json_page(body: &[u8], kind: impl Fn(i64) -> Option<NonJson>) -> Option<Vec<u8>> {
    let page: Value = serde_json::from_slice(body).ok()?;
    let results = page.get("results")?.as_array()?;
    let mut broken = false;
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(b"{\"total\":");
    out.extend_from_slice(serde_json::to_string(page.get("total")?).ok()?.as_bytes());
    out.extend_from_slice(b",\"results\":[");
    for (k, record) in results.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        let mut text = serde_json::to_vec(record).ok()?;
        let last = k + 1 == results.len();
        let id = record.get("id").and_then(Value::as_i64);
        if let (Some(kind), Some(q)) = (id.and_then(&kind), text.iter().rposition(|&c| c == b'"')) {
            // `q` is the closing quote of the record's last string.
            match kind {
                NonJson::ControlChar => text.insert(q, 0x01),
                NonJson::CutShort if !last => text.truncate(q),
                NonJson::InvalidUtf8 | NonJson::CutShort => text.insert(q, 0xFF),
            }
            broken = true;
        }
        out.extend_from_slice(&text);
    }
    out.extend_from_slice(b"]}");
    broken.then_some(out)
}

/// `body` gzip-compressed behind `mb` MiB of spaces, as a stream (see the module docs).
pub(crate) fn inflating_gzip(body: &[u8], mb: u64) -> Body {
    let spaces = vec![b' '; MIB];
    let mut deflate = Compress::new(Compression::best(), false);
    // One MiB of spaces, full-flushed: the compressor forgets it, so the same bytes encode
    // every further MiB and can be repeated as they are.
    let segment = Bytes::from(deflated(&mut deflate, &spaces, FlushCompress::Full));
    let tail = deflated(&mut deflate, body, FlushCompress::Finish);
    let mut mib_crc = Crc::new();
    mib_crc.update(&spaces);
    let mut crc = Crc::new();
    for _ in 0..mb {
        crc.combine(&mib_crc);
    }
    let mut body_crc = Crc::new();
    body_crc.update(body);
    crc.combine(&body_crc);
    let size = (mb as usize).wrapping_mul(MIB).wrapping_add(body.len()) as u32;
    // The gzip header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    let header = Bytes::from_static(&[0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]);
    let mut end = tail;
    end.extend_from_slice(&crc.sum().to_le_bytes());
    end.extend_from_slice(&size.to_le_bytes());
    let chunks = std::iter::once(header)
        .chain(std::iter::repeat_n(
            segment,
            usize::try_from(mb).unwrap_or(usize::MAX),
        ))
        .chain(std::iter::once(Bytes::from(end)))
        .map(Ok::<_, std::io::Error>);
    Body::from_stream(futures::stream::iter(chunks))
}

/// `input` through `deflate` with `flush`, all of its output.
fn deflated(deflate: &mut Compress, input: &[u8], flush: FlushCompress) -> Vec<u8> {
    let mut out = Vec::new();
    let start = deflate.total_in();
    let consumed = |d: &Compress| usize::try_from(d.total_in() - start).unwrap_or(input.len());
    loop {
        out.reserve(64 * 1024);
        let spare = out.capacity() - out.len();
        let before = out.len();
        let status = deflate.compress_vec(
            &input[consumed(deflate).min(input.len())..],
            &mut out,
            flush,
        );
        match status {
            Ok(flate2::Status::StreamEnd) => break,
            // All input in, and the flush left room to spare: it is complete.
            Ok(_) if consumed(deflate) >= input.len() && out.len() - before < spare => break,
            Ok(_) => {}
            // Cannot happen with valid input and room to write; stop rather than spin.
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;

    async fn collect(body: Body) -> Vec<u8> {
        axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn the_inflating_body_is_valid_gzip_of_spaces_then_the_page() {
        let page = br#"{"total":1,"results":[{"id":1}]}"#;
        let wire = collect(inflating_gzip(page, 3)).await;
        assert!(wire.len() < 20_000, "{} bytes on the wire", wire.len());
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&wire[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain.len(), 3 * MIB + page.len());
        assert!(plain[..3 * MIB].iter().all(|&c| c == b' '));
        assert_eq!(&plain[3 * MIB..], page);
        let v: Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(v["total"], 1);
    }

    #[test]
    fn two_gib_cost_about_two_megabytes_on_the_wire() {
        let mut deflate = Compress::new(Compression::best(), false);
        let segment = deflated(&mut deflate, &vec![b' '; MIB], FlushCompress::Full);
        assert!(
            segment.len() * 2048 < 4 << 20,
            "{} bytes per MiB",
            segment.len()
        );
    }

    #[test]
    fn broken_records_are_picked_per_id_and_rendered_as_asked() {
        let picked: Vec<i64> = (0..1000)
            .filter(|&id| non_json_kind(7, 0.1, id).is_some())
            .collect();
        assert!((60..140).contains(&picked.len()), "{}", picked.len());
        assert_eq!(non_json_kind(7, 0.0, picked[0]), None);
        assert_eq!(non_json_kind(7, 1.0, 3), Some(NonJson::InvalidUtf8));
        assert_eq!(non_json_kind(7, 1.0, 4), Some(NonJson::ControlChar));
        assert_eq!(non_json_kind(7, 1.0, 5), Some(NonJson::CutShort));
        let body = br#"{"results":[{"id":3,"s":"a"},{"id":4,"s":"b"},{"id":5,"s":"c"},{"id":6,"s":"d"},{"id":5,"s":"e"}],"total":5}"#;
        let kind = |id: i64| (id != 6).then(|| non_json_kind(7, 1.0, id)).flatten();
        let out = non_json_page(body, kind).unwrap();
        assert_eq!(
            out,
            b"{\"total\":5,\"results\":[{\"id\":3,\"s\":\"a\xFF\"},{\"id\":4,\"s\":\"b\x01\"},{\"id\":5,\"s\":\"c,{\"id\":6,\"s\":\"d\"},{\"id\":5,\"s\":\"e\xFF\"}]}"
                .to_vec()
        );
        assert_eq!(non_json_page(body, |_| None), None);
    }
}
