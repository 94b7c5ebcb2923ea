//! The file source: envelopes, arrays and JSONL, plain, gzip and zstd; truncated files.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use ltx_extract::files::{read_file, FileItem, BLOCK_RECORDS};
use ltx_extract::{ExtractError, Item};

fn conv(id: i64) -> String {
    format!(
        r#"{{"id":{id},"created_at":"2026-03-14T18:02:11","updated_at":"2026-03-14T18:31:{:02}","chats":[{{"id":{},"messages":[{{"text":"привет, \"мир\""}}]}}],"results_like":null}}"#,
        id % 60,
        id * 10
    )
}

fn records(n: i64) -> Vec<String> {
    let mut v: Vec<String> = (1..=n).map(conv).collect();
    // One record without a readable id: must come out as Unreadable, not vanish.
    v.push(r#"{"id":"abc","updated_at":"2026-03-14T18:31:40"}"#.to_owned());
    v
}

fn content(format: &str, recs: &[String]) -> String {
    match format {
        "envelope" => format!(
            r#"{{"total": {}, "results": [{}]}}"#,
            recs.len(),
            recs.join(",\n")
        ),
        "array" => format!("[\n{}\n]\n", recs.join(",\n")),
        "jsonl" => recs.join("\n") + "\n",
        // As Windows tools write it: a byte order mark, CRLF, a blank line.
        "jsonl-windows" => format!("\u{feff}{}\r\n\r\n", recs.join("\r\n")),
        "array-bom" => format!("\u{feff}[\n{}\n]\n", recs.join(",\n")),
        "envelopes-jsonl" => recs
            .chunks(3)
            .map(|c| format!(r#"{{"results":[{}],"total":{}}}"#, c.join(","), c.len()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => unreachable!(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let bytes = text.as_bytes();
    if name.ends_with(".gz") {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    } else if name.ends_with(".zst") {
        std::fs::write(&path, zstd::encode_all(bytes, 3).unwrap()).unwrap();
    } else {
        std::fs::write(&path, bytes).unwrap();
    }
    path
}

/// What a file yields: conversations with their id, and the records without a readable
/// id (unreadable items, or lines of a block whose id is not an integer).
#[derive(Debug, Default)]
struct Read {
    got: Vec<(i64, String)>,
    bad: usize,
    /// Numbers of block lines that are not a UTF-8 JSON object: left for the transform.
    unchecked_bad: Vec<u64>,
}

fn read_all(path: &Path) -> Result<Read, ExtractError> {
    let mut r = Read::default();
    let mut records = 0;
    read_file(path, &mut |item| {
        match item {
            FileItem::Record(Item::Conversation(c)) => {
                // Named in `_rejected` should the conversation not fit the model.
                let want = format!("{} record {}", path.display(), records + 1);
                assert_eq!(c.origin.map(|o| o.to_string()), Some(want));
                r.got.push((c.id, c.raw.get().to_owned()));
            }
            FileItem::Record(Item::Unreadable(u)) => {
                assert!(u.origin.contains("record"), "{}", u.origin);
                r.bad += 1;
            }
            FileItem::Lines(lines) => {
                assert!(!lines.is_empty() && lines.len() <= BLOCK_RECORDS);
                assert_eq!(lines.first_record, records + 1, "numbered on");
                assert_eq!(&*lines.source, path.display().to_string());
                for (_, line) in lines.iter() {
                    records += 1;
                    let value = std::str::from_utf8(line)
                        .ok()
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
                    match value {
                        Some(v) if v.is_object() => match v["id"].as_i64() {
                            Some(id) => r.got.push((id, v.to_string())),
                            None => r.bad += 1,
                        },
                        _ => r.unchecked_bad.push(records),
                    }
                }
                return Ok(());
            }
        }
        records += 1;
        Ok(())
    })?;
    Ok(r)
}

#[test]
fn every_format_and_compression_streams_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(250);
    let formats = [
        "envelope",
        "array",
        "jsonl",
        "envelopes-jsonl",
        "jsonl-windows",
        "array-bom",
    ];
    for format in formats {
        for ext in ["json", "json.gz", "json.zst"] {
            let path = write(
                dir.path(),
                &format!("{format}.{ext}"),
                &content(format, &recs),
            );
            let Read {
                got,
                bad,
                unchecked_bad,
            } = read_all(&path).unwrap();
            assert_eq!(got.len(), 250, "{format}.{ext}");
            assert_eq!(bad, 1, "{format}.{ext}");
            assert!(unchecked_bad.is_empty());
            for (k, (id, raw)) in got.iter().enumerate() {
                assert_eq!(*id, k as i64 + 1);
                // The raw JSON is the record as written (semantically identical).
                let a: serde_json::Value = serde_json::from_str(raw).unwrap();
                let b: serde_json::Value = serde_json::from_str(&recs[k]).unwrap();
                assert_eq!(a, b, "{format}.{ext} record {k}");
            }
        }
    }
}

#[test]
fn a_truncated_file_names_the_file_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(40);
    for format in ["envelope", "array", "jsonl", "envelopes-jsonl"] {
        for ext in ["json", "json.gz", "json.zst"] {
            let text = content(format, &recs);
            // Cut in the middle of record 21.
            let cut = text.find(&recs[20]).unwrap() + recs[20].len() / 2;
            let name = format!("cut-{format}.{ext}");
            let path = write(dir.path(), &name, &text[..cut]);
            if format == "jsonl" {
                // Lines are handed on unchecked; the transform's parse names the file and
                // record 21 (see ltx-transform's pool tests and the e2e import test).
                let read = read_all(&path).unwrap();
                assert_eq!(read.unchecked_bad, [21], "{name}");
                assert_eq!(read.got.len(), 20, "{name}");
                continue;
            }
            let err = read_all(&path).unwrap_err();
            match &err {
                ExtractError::File {
                    path: p, record, ..
                } => {
                    assert_eq!(p, &path);
                    assert_eq!(*record, 21, "{name}: {err}");
                }
                other => panic!("{name}: unexpected error {other:?}"),
            }
            assert!(err.to_string().contains(&name), "{err}");
            // The same words as the transform's for a cut JSON Lines record.
            assert!(err.to_string().contains("truncated file?"), "{err}");
        }
    }
    // A gzip stream cut short is an error too, not a silent end.
    let text = content("jsonl", &recs);
    let path = write(dir.path(), "full.jsonl.gz", &text);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    assert!(matches!(read_all(&path), Err(ExtractError::File { .. })));
}

#[test]
fn a_line_that_is_not_utf8_names_the_file_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(5);
    // Corrupts a byte just after the `nth` line break of `text`.
    let corrupt = |text: String, nth: usize| {
        let mut bytes = text.into_bytes();
        let at = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(nth)
            .map(|(i, _)| i + 10)
            .unwrap();
        bytes[at] = 0xff;
        bytes
    };
    // Envelope lines are read here: the second line holds records 4 to 6.
    let path = dir.path().join("bad-envelopes.jsonl");
    std::fs::write(&path, corrupt(content("envelopes-jsonl", &recs), 0)).unwrap();
    match read_all(&path) {
        Err(ExtractError::File {
            path: p,
            record,
            message,
        }) => {
            assert_eq!(p, path);
            assert_eq!(record, 4);
            assert!(message.contains("UTF-8"), "{message}");
        }
        other => panic!("unexpected {:?}", other.map(|r| r.got)),
    }
    // Conversation lines are handed on as bytes: record 3 is left for the transform.
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, corrupt(content("jsonl", &recs), 1)).unwrap();
    let read = read_all(&path).unwrap();
    assert_eq!(read.unchecked_bad, [3]);
    assert_eq!(read.got.len(), 4);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = read_all(Path::new("/nonexistent/x.jsonl")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.jsonl"));
}

#[test]
fn the_consumer_can_stop_reading() {
    let dir = tempfile::tempdir().unwrap();
    // Records one by one, and JSON Lines in blocks (four of them here).
    let blocks = records(4 * BLOCK_RECORDS as i64 - 1);
    for (name, recs) in [("a.json", records(10)), ("b.jsonl", blocks)] {
        let format = if name.ends_with("jsonl") {
            "jsonl"
        } else {
            "array"
        };
        let path = write(dir.path(), name, &content(format, &recs));
        let mut n = 0;
        let err = read_file(&path, &mut |_| {
            n += 1;
            if n == 3 {
                Err(ExtractError::ChannelClosed)
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert!(matches!(err, ExtractError::ChannelClosed), "{name}");
        assert_eq!(n, 3, "{name}");
    }
}

#[test]
fn a_bad_envelope_line_names_the_file_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let good = content("envelopes-jsonl", &records(5));
    // The second line holds records 4 to 6.
    for (name, second) in [
        ("trailing.jsonl", r#"{"results":[],"total":0} x"#),
        ("array.jsonl", "[1, 2]"),
        ("cut.jsonl", r#"{"results":[{"id":4"#),
    ] {
        let first = good.lines().next().unwrap();
        let path = write(dir.path(), name, &format!("{first}\n{second}\n"));
        match read_all(&path) {
            Err(ExtractError::File {
                path: p, record, ..
            }) => {
                assert_eq!((p, record), (path, 4), "{name}");
            }
            other => panic!("{name}: unexpected {:?}", other.map(|r| r.got)),
        }
    }
}

/// JSON Lines are read in chunks straight into blocks: records of every size, cut by the
/// chunk boundaries anywhere (also a record longer than a chunk, and one longer than a
/// block's byte limit), with blank lines, CRLF and no line break at the end, come out
/// whole, in order and numbered on.
#[test]
fn json_lines_records_cut_by_reads_come_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Sizes from a few bytes to 1.5 MB, stepping so that lines end at every offset.
    let sizes = (0..400u64)
        .map(|k| (k * 7919) % 9000)
        .chain([70_000, 65_536, 1_500_000, 0, 131_071]);
    let recs: Vec<String> = sizes
        .enumerate()
        .map(|(k, pad)| {
            format!(
                r#"{{"id":{},"updated_at":"2026-03-14T18:31:40","pad":"{}"}}"#,
                k + 1,
                "ж".repeat(pad as usize / 2)
            )
        })
        .collect();
    let mut text = String::new();
    for (k, r) in recs.iter().enumerate() {
        text.push_str(r);
        text.push_str(match k % 5 {
            0 => "\r\n",
            1 => "\n\n   \n",
            _ => "\n",
        });
    }
    let text = text.trim_end().to_owned(); // no line break after the last record
    for ext in ["jsonl", "jsonl.gz", "jsonl.zst"] {
        let path = write(dir.path(), &format!("cut.{ext}"), &text);
        let read = read_all(&path).unwrap();
        assert_eq!(read.got.len(), recs.len(), "{ext}");
        assert!(read.unchecked_bad.is_empty() && read.bad == 0, "{ext}");
        for (k, (id, raw)) in read.got.iter().enumerate() {
            assert_eq!(*id, k as i64 + 1, "{ext}");
            let want: serde_json::Value = serde_json::from_str(&recs[k]).unwrap();
            assert_eq!(raw, &want.to_string(), "{ext} record {}", k + 1);
        }
    }
}
