//! A warehouse in an S3 bucket (issue #23): `moto` (PyPI, ≥ 5.2.5 for conditional writes)
//! serves the S3 API on loopback; the binary syncs the simulator into `s3://…` with the
//! endpoint and credentials in the usual `AWS_*` variables.
//!
//! - a sync into the bucket equals the simulator's truth, read back through a second,
//!   empty local copy (another machine), across an update sync;
//! - a sync killed at every step of the push, or at a random instant, and re-run, equals
//!   an uninterrupted one, and leaves no object that no commit lists;
//! - two syncs started together from one commit: one commits, the other exits 4 and leaves
//!   nothing of its run in the bucket.
//!
//! The moto server runs from the venv whose interpreter `LTX_PY_MOTO` names (`.ci/run`
//! makes it); without it the tests are skipped, except under CI, where they fail.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ltx_sim::{Faults, SimConfig};

use crate::common::sim::{assert_matches_truth, stderr, sync, Scratch, Sim};
use crate::common::{ltx, ok, text};

/// A moto S3 server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
    python: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl Moto {
    /// Starts moto with bucket `ltx`; `None` (skip) without the venv outside CI.
    fn start() -> Option<Moto> {
        let python = match std::env::var("LTX_PY_MOTO") {
            Ok(p) if Path::new(&p).exists() => p,
            _ => {
                assert!(
                    !ci(),
                    "CI is set but LTX_PY_MOTO names no moto venv; .ci/run makes it"
                );
                eprintln!("object_storage: skipped (no LTX_PY_MOTO)");
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            python,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.boto("s3.create_bucket(Bucket='ltx')");
        Some(moto)
    }

    /// Runs boto3 code with `s3` a client of this server; its stdout.
    fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
             aws_access_key_id='test', aws_secret_access_key='test')\n{code}\n",
            self.endpoint
        );
        let out = Command::new(&self.python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every key under `prefix/`, relative to it.
    fn keys(&self, prefix: &str) -> BTreeSet<String> {
        let out = self.boto(&format!(
            "keys = []\nfor page in s3.get_paginator('list_objects_v2').paginate(Bucket='ltx', Prefix='{prefix}/'):\n    keys += [o['Key'] for o in page.get('Contents', [])]\nprint(json.dumps(keys))"
        ));
        let keys: Vec<String> = serde_json::from_str(out.trim()).unwrap();
        keys.into_iter()
            .map(|k| k.trim_start_matches(&format!("{prefix}/")).to_owned())
            .collect()
    }

    /// The manifest of the last commit under `prefix/`: (seq, manifest).
    fn head(&self, prefix: &str) -> (u64, serde_json::Value) {
        let last = self
            .keys(prefix)
            .into_iter()
            .filter(|k| k.starts_with("_ltx/commits/"))
            .max()
            .expect("a commit");
        let seq = last["_ltx/commits/".len()..last.len() - ".json".len()]
            .parse()
            .unwrap();
        let out = self.boto(&format!(
            "print(s3.get_object(Bucket='ltx', Key='{prefix}/{last}')['Body'].read().decode())"
        ));
        (seq, serde_json::from_str(&out).unwrap())
    }

    /// Data objects no commit lists (there must never be any once a run ended).
    fn orphans(&self, prefix: &str) -> Vec<String> {
        let (_, m) = self.head(prefix);
        let mut kept = BTreeSet::new();
        for t in m["tables"].as_object().unwrap().values() {
            for f in t["files"].as_array().unwrap() {
                kept.insert(f["path"].as_str().unwrap().to_owned());
            }
        }
        for r in m["retired"].as_array().unwrap() {
            kept.insert(r["path"].as_str().unwrap().to_owned());
        }
        self.keys(prefix)
            .into_iter()
            .filter(|k| k.starts_with("data/") && !k.contains("/_delta_log/"))
            .filter(|k| !kept.contains(k))
            .collect()
    }

    /// The environment of a run with its local copies under `cache`.
    fn env<'a>(&'a self, cache: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("XDG_CACHE_HOME", cache),
        ]
    }
}

/// The local copy of `s3://ltx/<prefix>` under `cache`.
fn copy_dir(cache: &Path, prefix: &str) -> PathBuf {
    cache.join("ltx/remote/ltx").join(prefix)
}

/// A second machine: an empty cache brought to the bucket's last commit by `ltx status`.
fn fresh_copy(s: &Scratch, moto: &Moto, prefix: &str, name: &str) -> PathBuf {
    let cache = s.path().join(name);
    let c = cache.display().to_string();
    let url = format!("s3://ltx/{prefix}");
    ok(ltx(
        s.path(),
        &["status", "--pipeline", &s.pipeline(), "--warehouse", &url],
        &moto.env(&c),
    ));
    copy_dir(&cache, prefix)
}

#[test]
fn a_sync_into_a_bucket_equals_the_simulators_truth_from_another_machine() {
    let Some(moto) = Moto::start() else { return };
    let sim = Sim::small(250);
    let s = Scratch::new();
    let cache = s.path().join("cache-a").display().to_string();
    let url = "s3://ltx/team/wh".to_owned();
    let out = ok(sync(&s, &sim, Path::new(&url), &[], &moto.env(&cache)));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pushed: commit 1"),
        "{}",
        text(&out)
    );
    let b = fresh_copy(&s, &moto, "team/wh", "cache-b");
    assert_matches_truth(&sim, &b);
    sim.advance_hours(30);
    ok(sync(&s, &sim, Path::new(&url), &[], &moto.env(&cache)));
    let b = fresh_copy(&s, &moto, "team/wh", "cache-b");
    assert_matches_truth(&sim, &b);
    assert_matches_truth(&sim, &copy_dir(Path::new(&cache), "team/wh"));
    assert_eq!(moto.head("team/wh").0, 2);
    assert!(moto.orphans("team/wh").is_empty());
    // `ltx query` reads the local copy, brought up to date first.
    let q = ok(ltx(
        s.path(),
        &[
            "query",
            "--pipeline",
            &s.pipeline(),
            "--warehouse",
            &url,
            "SELECT count(*) AS n FROM conversations",
        ],
        &moto.env(&cache),
    ));
    let n = sim.handle.table_truth(sim.handle.now()).unwrap().tables["conversations"]
        .rows
        .len();
    assert!(
        String::from_utf8_lossy(&q.stdout).contains(&n.to_string()),
        "{}",
        text(&q)
    );
}

#[test]
fn a_sync_killed_at_any_step_and_rerun_equals_an_uninterrupted_one() {
    let Some(moto) = Moto::start() else { return };
    let sim = Sim::small(200);
    let s = Scratch::new();
    // Every step of the push, and the instants around the local commit.
    let points = ltx_load::REMOTE_CRASH_POINTS
        .iter()
        .copied()
        .chain(["commit.after_manifest_rename", "catalog.before_build"]);
    for (i, point) in points.enumerate() {
        let prefix = format!("crash/{i}");
        let url = format!("s3://ltx/{prefix}");
        let cache = s.path().join(format!("cache-{i}")).display().to_string();
        let mut env = moto.env(&cache);
        ok(sync(&s, &sim, Path::new(&url), &[], &env));
        sim.advance_hours(6);
        env.push(("LTX_CRASH_AT", point));
        let crashed = sync(&s, &sim, Path::new(&url), &[], &env);
        assert!(!crashed.status.success(), "{point}: {}", text(&crashed));
        env.pop();
        ok(sync(&s, &sim, Path::new(&url), &[], &env));
        assert!(
            moto.orphans(&prefix).is_empty(),
            "{point}: {:?}",
            moto.orphans(&prefix)
        );
        let fresh = fresh_copy(&s, &moto, &prefix, &format!("fresh-{i}"));
        assert_matches_truth(&sim, &fresh);
    }
    // Killed at random instants of a slow sync (SIGKILL: no cleanup of any kind).
    let slow = Sim::start(SimConfig {
        conversations: 300,
        seed: 11,
        history_days: 20,
        faults: Faults {
            latency: Duration::from_millis(60),
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    for (i, delay_ms) in [400u64, 900, 1500, 2500].into_iter().enumerate() {
        let prefix = format!("kill/{i}");
        let url = format!("s3://ltx/{prefix}");
        let cache = s.path().join(format!("kill-{i}")).display().to_string();
        let env = moto.env(&cache);
        let (pipeline, base) = (s.pipeline(), slow.url());
        let mut cmd = Command::new(crate::common::BIN);
        cmd.current_dir(s.path())
            .args([
                "sync",
                "--pipeline",
                &pipeline,
                "--base-url",
                &base,
                "--warehouse",
                &url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        crate::common::clean_env(&mut cmd, &env);
        cmd.env("LIVETEX_API_TOKEN", slow.handle.token());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        ok(sync(&s, &slow, Path::new(&url), &[], &env));
        let fresh = fresh_copy(&s, &moto, &prefix, &format!("kill-fresh-{i}"));
        assert_matches_truth(&slow, &fresh);
        assert!(moto.orphans(&prefix).is_empty(), "kill after {delay_ms} ms");
    }
}

#[test]
fn of_two_syncs_started_together_one_commits_and_the_other_exits_4_leaving_nothing() {
    let Some(moto) = Moto::start() else { return };
    // Slow pages: both syncs are still reading the API when the other commits.
    let sim = Sim::start(SimConfig {
        conversations: 200,
        seed: 5,
        history_days: 20,
        faults: Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let url = "s3://ltx/race".to_owned();
    let (ca, cb) = (
        s.path().join("cache-a").display().to_string(),
        s.path().join("cache-b").display().to_string(),
    );
    ok(sync(&s, &sim, Path::new(&url), &[], &moto.env(&ca)));
    let before = moto.keys("race");
    sim.advance_hours(10);
    let spawn = |cache: &str| {
        let (pipeline, base) = (s.pipeline(), sim.url());
        let mut cmd = Command::new(crate::common::BIN);
        cmd.current_dir(s.path()).args([
            "sync",
            "--pipeline",
            &pipeline,
            "--base-url",
            &base,
            "--warehouse",
            &url,
        ]);
        crate::common::clean_env(&mut cmd, &moto.env(cache));
        cmd.env("LIVETEX_API_TOKEN", sim.handle.token());
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&ca), spawn(&cb));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes == [Some(0), Some(4)] || codes == [Some(4), Some(0)],
        "{codes:?}\nA: {}\nB: {}",
        text(&a),
        text(&b)
    );
    let loser = if codes[0] == Some(4) { &a } else { &b };
    assert!(
        stderr(loser).contains("committed to s3://ltx/race first"),
        "{}",
        text(loser)
    );
    assert_eq!(moto.head("race").0, 2, "exactly one commit after the first");
    assert!(
        moto.orphans("race").is_empty(),
        "{:?}",
        moto.orphans("race")
    );
    // Nothing of the losing run: no run record, no data file beyond the winner's.
    let after = moto.keys("race");
    let runs: Vec<_> = after
        .difference(&before)
        .filter(|k| k.starts_with("_ltx/runs/"))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    // The loser's next sync starts from the winner's commit and ends equal to the truth.
    let loser_cache = if codes[0] == Some(4) { &ca } else { &cb };
    ok(sync(&s, &sim, Path::new(&url), &[], &moto.env(loser_cache)));
    assert_matches_truth(&sim, &copy_dir(Path::new(loser_cache), "race"));
}
