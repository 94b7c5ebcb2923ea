//! Credentials: a rejected token or password exits 3 and leaves the warehouse untouched,
//! no secret reaches the logs or the run record (through re-logins too), and `ltx validate`
//! checks the credentials against the API and the salt the shipped pipeline needs.

use std::path::Path;
use std::time::Duration;

use ltx_sim::{Faults, SimConfig};

use crate::common;
use common::sim::{stderr, stdout, sync, Scratch, Sim};
use common::{ltx, ok, snapshot_files, text};

#[test]
fn bad_token_exits_3() {
    let sim = Sim::small(50);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let o = ltx(
        s.path(),
        &[
            "sync",
            "--pipeline",
            &s.pipeline(),
            "--base-url",
            &sim.url(),
            "--warehouse",
            wh.to_str().unwrap(),
        ],
        &[("LIVETEX_API_TOKEN", "not-the-token")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!stderr(&o).contains("not-the-token"), "{}", text(&o));
    // an auth error is not retried: a handful of requests at most
    assert!(sim.handle.stats().requests <= 3, "{:?}", sim.handle.stats());
}

#[test]
fn wrong_password_exits_3_and_leaves_the_warehouse_untouched() {
    let sim = Sim::small(100);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let login = [("LIVETEX_LOGIN", sim.handle.login())];
    ok(sync(
        &s,
        &sim,
        &wh,
        &["--profile", "web-api"],
        &[login[0], ("LIVETEX_PASSWORD", sim.handle.password())],
    ));
    let before = snapshot_files(&wh);
    let o = sync(
        &s,
        &sim,
        &wh,
        &["--profile", "web-api"],
        &[login[0], ("LIVETEX_PASSWORD", "wrong-password")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!stderr(&o).contains("wrong-password"), "{}", text(&o));
    let after = snapshot_files(&wh);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files appeared or disappeared"
    );
    assert!(before == after, "file contents changed");
}

fn contains_issued_token(s: &str) -> Option<String> {
    // The simulator issues web-api tokens as `wa-<n>-<16 hex>`.
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(pos) = s[i..].find("wa-") {
        let start = i + pos + 3;
        let digits = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let rest = start + digits;
        if digits > 0 && bytes.get(rest) == Some(&b'-') {
            let hex = bytes[rest + 1..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if hex >= 16 {
                return Some(s[i + pos..rest + 1 + hex].to_owned());
            }
        }
        i = start;
    }
    None
}

#[test]
fn secrets_never_reach_logs() {
    // Tokens expire after 1 s and every response takes 40 ms, so the sync re-logs in.
    let sim = Sim::start(SimConfig {
        conversations: 300,
        seed: 3,
        history_days: 10,
        token_ttl: Duration::from_secs(1),
        faults: Faults {
            latency: Duration::from_millis(40),
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let s = Scratch::new();
    for format in ["text", "json"] {
        let wh = s.wh(&format!("wh-{format}"));
        let o = sync(
            &s,
            &sim,
            &wh,
            &[
                "--profile",
                "web-api",
                "--concurrency",
                "1",
                "--page-size",
                "10",
                "-v",
                "--log-format",
                format,
            ],
            &[
                ("LIVETEX_LOGIN", sim.handle.login()),
                ("LIVETEX_PASSWORD", sim.handle.password()),
            ],
        );
        assert!(o.status.success(), "{format}: {}", text(&o));
        let err = stderr(&o);
        assert!(
            !err.contains(sim.handle.password()),
            "{format}: password in logs"
        );
        assert_eq!(contains_issued_token(&err), None, "{format}: token in logs");
        assert!(
            !err.contains(sim.handle.token()),
            "{format}: v2 token in logs"
        );
        // the run record holds no secret either
        for (p, bytes) in snapshot_files(&wh.join("_ltx")) {
            let t = String::from_utf8_lossy(&bytes);
            assert!(
                !t.contains(sim.handle.password()),
                "password in {}",
                p.display()
            );
            assert_eq!(contains_issued_token(&t), None, "token in {}", p.display());
        }
    }
    assert!(
        sim.handle.stats().logins >= 2,
        "the short TTL must force a re-login: {:?}",
        sim.handle.stats()
    );
}

#[test]
fn validate_checks_the_credentials_against_the_api() {
    let sim = Sim::small(10);
    let s = Scratch::new();
    let (p, url) = (s.pipeline(), sim.url());
    let args = [
        "validate",
        "--pipeline",
        p.as_str(),
        "--base-url",
        url.as_str(),
    ];
    let o = ok(ltx(
        s.path(),
        &args,
        &[("LIVETEX_API_TOKEN", sim.handle.token())],
    ));
    assert!(
        stdout(&o).contains("accepted the credentials"),
        "{}",
        text(&o)
    );
    let o = ltx(s.path(), &args, &[("LIVETEX_API_TOKEN", "wrong-token")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = ltx(s.path(), &args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("LIVETEX_API_TOKEN"), "{}", text(&o));
    // The shipped production pipeline hashes personal data: no salt, no run.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/livetex.toml");
    let shipped = shipped.to_str().unwrap();
    let o = ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", shipped],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("LTX_PII_SALT"), "{}", text(&o));
    ok(ltx(
        s.path(),
        &["validate", "--offline", "--pipeline", shipped],
        &[("LTX_PII_SALT", "s3cret")],
    ));
}
