//! The simulator and scratch pipeline the end-to-end test files share.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use ltx_sim::{SimConfig, SimHandle, SimServer};

use super::ltx;

/// A simulator running on its own runtime while the test thread drives the binary.
pub struct Sim {
    pub handle: SimHandle,
    _rt: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(cfg: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.block_on(SimServer::start(cfg)).unwrap();
        Sim { handle, _rt: rt }
    }

    pub fn small(conversations: u64) -> Sim {
        Sim::start(SimConfig {
            conversations,
            seed: 7,
            history_days: 20,
            ..SimConfig::default()
        })
    }

    pub fn url(&self) -> String {
        self.handle.base_url()
    }

    pub fn truth(&self) -> BTreeMap<i64, i64> {
        self.handle
            .ground_truth(self.handle.now())
            .into_iter()
            .map(|(id, t)| (id, t.timestamp_millis()))
            .collect()
    }

    pub fn advance_hours(&self, h: i64) {
        self.handle.advance(chrono::Duration::hours(h));
    }
}

/// A scratch directory with a pipeline file tuned for tests (no rate limit, settle 0:
/// the simulated clock does not move during a sync).
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("e2e.toml"),
            "name = \"e2e\"\n[source]\nrate_limit_per_s = 0.0\nconcurrency = 4\n\
             [sync]\nstart_date = \"2026-01-01\"\nwindow = \"30d\"\nsettle = \"0s\"\n",
        )
        .unwrap();
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn wh(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn pipeline(&self) -> String {
        self.dir.path().join("e2e.toml").display().to_string()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `ltx sync` (v2 token) against `sim` into `wh`.
pub fn sync(s: &Scratch, sim: &Sim, wh: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    let (pipeline, url, w) = (s.pipeline(), sim.url(), wh.display().to_string());
    let mut args = vec![
        "sync",
        "--pipeline",
        &pipeline,
        "--base-url",
        &url,
        "--warehouse",
        &w,
    ];
    args.extend_from_slice(extra);
    let mut all = vec![("LIVETEX_API_TOKEN", sim.handle.token())];
    all.extend_from_slice(envs);
    ltx(s.path(), &args, &all)
}

