//! The command line itself: `--help` of every subcommand (snapshots; no env value shown),
//! bad configuration and usage (exit 2, naming the key), `ltx demo` printing the
//! warehouse's own numbers, the README's Quickstart run as written, and `ltx sim` serving
//! what it prints and stopping on Ctrl-C.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common;
use common::sim::{catalog, stderr, stdout, Scratch};
use common::{ltx, ok, text, BIN};

#[test]
fn demo_runs_and_shows_models() {
    let s = Scratch::new();
    let wh = s.wh("demo-wh");
    let o = ok(ltx(
        s.path(),
        &[
            "demo",
            "--warehouse",
            wh.to_str().unwrap(),
            "--conversations",
            "300",
        ],
        &[],
    ));
    let out = stdout(&o);
    for needle in [
        "full sync",
        "incremental sync",
        "Rows per table",
        "conversations/s",
        "Channel mix",
        "Top operators",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(wh.join("warehouse.duckdb").exists());

    // The printed numbers are the warehouse's: every row count of the "Rows per table"
    // block equals count(*) through a separate DuckDB connection on the catalog file...
    let printed = printed_row_counts(&out);
    assert_eq!(printed.len(), ltx_transform::Table::ALL.len(), "{out}");
    let conn = catalog(&wh);
    for (table, rows) in &printed {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, *rows, "{table}: printed {rows}, DuckDB says {n}");
    }
    // ... and the syncs' "N new" add up to the conversations stored; the incremental sync,
    // after two busy simulated hours, found new conversations.
    let new: Vec<i64> = out
        .lines()
        .filter(|l| l.contains("sync") && l.contains(" new, "))
        .map(|l| {
            let before = &l[..l.find(" new, ").unwrap()];
            before[before.rfind('(').unwrap() + 1..].parse().unwrap()
        })
        .collect();
    assert_eq!(new.len(), 2, "{out}");
    assert!(new[1] > 0, "the incremental sync found nothing new:\n{out}");
    assert_eq!(new[0] + new[1], printed["conversations"], "{out}");
}

/// The `| table | rows |` lines of the demo's "Rows per table" block.
fn printed_row_counts(out: &str) -> BTreeMap<String, i64> {
    let block = &out[out.find("Rows per table").unwrap()..];
    block
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty() && (l.starts_with('|') || l.starts_with('+')))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let rows = cells.get(2)?.parse().ok()?;
            Some((cells[1].to_owned(), rows))
        })
        .collect()
}

#[test]
fn bad_config_exits_2_and_names_the_key() {
    let s = Scratch::new();
    std::fs::write(s.path().join("bad.toml"), "[source]\nmode = \"lst\"\n").unwrap();
    let o = ltx(
        s.path(),
        &["sync", "--pipeline", "bad.toml"],
        &[("LIVETEX_API_TOKEN", "x")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml") && e.contains("source.mode") && e.contains("discover"),
        "{e}"
    );

    std::fs::write(s.path().join("bad2.toml"), "[source]\npage_sise = 10\n").unwrap();
    let o = ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", "bad2.toml"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("page_sise"), "{}", text(&o));

    // a named pipeline that does not exist
    let o = ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", "nope.toml"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // clap usage errors
    let o = ltx(s.path(), &["sync", "--no-such-flag"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = ltx(s.path(), &["sync", "--mode", "sideways"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // env values are validated too (and never echoed in --help)
    let o = ltx(
        s.path(),
        &["validate", "--offline"],
        &[("LTX_CONCURRENCY", "1000")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("source.concurrency"), "{}", text(&o));
    // missing token
    let o = ltx(s.path(), &["sync", "--pipeline", &s.pipeline()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("LIVETEX_API_TOKEN"), "{}", text(&o));
    // the shipped pipelines validate offline (given the salt their hashing needs)
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for p in ["pipelines/livetex.toml", "pipelines/livetex-webapi.toml"] {
        let o = ltx(
            &root,
            &["validate", "--offline", "--pipeline", p],
            &[("LTX_PII_SALT", "s3cret")],
        );
        assert!(o.status.success(), "{p}: {}", text(&o));
    }
}

#[test]
fn help_of_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let o = ltx(dir.path(), &["--help"], &[]);
    assert!(o.status.success());
    insta::assert_snapshot!("help", stdout(&o));
    for cmd in [
        "demo", "sync", "status", "query", "report", "import", "compact", "register", "sim",
        "validate",
    ] {
        // Set env values to prove they are not shown.
        let o = ltx(
            dir.path(),
            &[cmd, "--help"],
            &[
                ("LTX_BASE_URL", "http://secret.example"),
                ("LTX_WAREHOUSE", "/secret/wh"),
            ],
        );
        assert!(o.status.success(), "{cmd}: {}", text(&o));
        let out = stdout(&o);
        assert!(!out.contains("secret"), "{cmd} --help shows an env value");
        insta::assert_snapshot!(format!("help_{cmd}"), out);
    }
    let o = ltx(dir.path(), &["--version"], &[]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("ltx "));
}

/// `GET path` on `base` (http://127.0.0.1:PORT) with plain HTTP/1.0; returns the body.
fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    body.to_owned()
}

#[test]
fn sim_serves_what_it_prints_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let s = Scratch::new();
    let mut child = Command::new(BIN)
        .current_dir(s.path())
        .args(["sim", "--port", "0", "--conversations", "300"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("Ctrl-C stops");
        printed.push(line);
        if last {
            break;
        }
    }
    let banner = printed.join("\n");
    // The suggested sync command, run as printed (from the scratch directory).
    let suggested = printed
        .iter()
        .find(|l| l.contains("ltx sync"))
        .unwrap_or_else(|| panic!("no sync command in\n{banner}"));
    let words: Vec<&str> = suggested.split_whitespace().collect();
    let (token_var, rest) = (words[0], &words[2..]);
    let (k, v) = token_var.split_once('=').unwrap();
    assert_eq!(words[1], "ltx", "{banner}");
    let o = ltx(s.path(), rest, &[(k, v)]);
    assert!(o.status.success(), "{banner}\n{}", text(&o));
    // Everything the simulator holds before the sync's window end is in the warehouse.
    let summary = stdout(&o);
    let to = summary
        .split("window [")
        .nth(1)
        .and_then(|w| w.split(", ").nth(1))
        .map(|t| t.trim_end_matches([')', '\n']).to_owned())
        .unwrap_or_else(|| panic!("no window in {summary}"));
    let base = words[words.iter().position(|w| *w == "--base-url").unwrap() + 1];
    let truth = http_get(base, "/_sim/truth");
    let expected = truth
        .split("\"updated_at\":\"")
        .skip(1)
        .filter(|t| t[..20] < *to.as_str())
        .count() as i64;
    assert!(expected > 250, "{expected} of 300 before {to}");
    let wh = s
        .path()
        .join(rest[rest.iter().position(|w| *w == "--warehouse").unwrap() + 1]);
    let n: i64 = catalog(&wh)
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, expected, "{summary}");
    // Ctrl-C (SIGINT) stops it cleanly.
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "ltx sim exited with {status:?}");
}

/// Splits a shell command line into words (double and single quotes, `#` comments).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if !in_word => break,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[test]
fn the_readme_quickstart_commands_work() {
    // Every `cargo run --release -p ltx-cli -- …` line of the README's Quickstart, in order,
    // run as the built binary in a fresh directory (as a new user would, from a clone).
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let quickstart = readme
        .split("## Quickstart")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let prefix = "cargo run --release -p ltx-cli -- ";
    let commands: Vec<Vec<String>> = quickstart
        .lines()
        .filter_map(|l| l.trim().strip_prefix(prefix))
        .map(shell_words)
        .collect();
    assert!(commands.len() >= 3, "{quickstart}");
    assert_eq!(commands[0][0], "demo");
    let s = Scratch::new();
    for words in &commands {
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let o = ltx(s.path(), &args, &[]);
        assert!(o.status.success(), "ltx {}\n{}", words.join(" "), text(&o));
        assert!(
            !stdout(&o).trim().is_empty(),
            "ltx {}: no output",
            words.join(" ")
        );
    }
}
