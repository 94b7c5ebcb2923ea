//! A warehouse on object storage (`s3://bucket/prefix`): a local copy that every run works
//! on, pulled from the bucket before and pushed after, with one conditional write as the
//! commit.
//!
//! **Owns**: the remote layout, the commit log on the bucket, bringing a local copy up to
//! a remote state ([`pull`]) and publishing a local commit ([`push`]). **Does not own**:
//! what a commit contains (the rest of this crate writes the local copy exactly as it
//! writes any warehouse), the S3 settings (read from the usual `AWS_*` environment by
//! `object_store`).
//!
//! ```text
//! <prefix>/data/…, _ltx/runs/…, _ltx/generations/…   as in a local warehouse
//! <prefix>/data/<table>/_delta_log/…                    the Delta logs, as written locally
//! <prefix>/_ltx/commits/<seq, 20 digits>.json           the manifest of commit <seq>
//! <prefix>/_ltx/head.json                               {"seq": n}: a hint, may lag
//! ```
//!
//! *Why a local copy*: the merge reads and rewrites Parquet files, DuckDB needs files to
//! read, and a 15-minute sync from one machine finds its copy already current (one GET and
//! one HEAD); only what other writers committed is downloaded.
//!
//! *Why a commit log of numbered objects*: S3 has no rename and no lock, but it has
//! put-if-absent (`If-None-Match: *`). A run that started from commit `n` commits by
//! creating `commits/<n+1>.json`; of two writers that started from `n`, exactly one
//! creates it, the other gets 412 and deletes what it uploaded. Data files are uploaded
//! before the commit and are invisible until a commit lists them; the Delta logs, the
//! hint and the deletions of expired files follow the commit and are redone by the next
//! push if a crash cuts them short.

mod pull;
mod push;
mod state;
mod store;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use crate::crash::CrashHook;
use crate::error::{LoadError, Result};
use crate::layout::Layout;
use crate::manifest::Manifest;

pub use pull::PullReport;
pub use push::PushReport;

/// Old commit objects keep their full manifest this many commits back; older ones are
/// overwritten with a stub (they stay, so a stale writer's put-if-absent still fails).
const FULL_COMMITS_KEPT: u64 = 10;

/// A warehouse on object storage and the local copy runs work on.
pub struct RemoteWarehouse {
    url: String,
    prefix: String,
    spec: StoreSpec,
    crash: CrashHook,
    /// The remote manifest the local copy was last brought to (by a pull or a push).
    base: Mutex<Option<Manifest>>,
    /// Set when a push failed: the local copy is not the remote's any more.
    diverged: AtomicBool,
}

/// How to reach the store.
enum StoreSpec {
    /// S3 (or compatible) bucket; the client is built per operation, inside the runtime
    /// that uses it (reqwest's connections belong to one runtime).
    S3 { bucket: String },
    /// A store given by the caller (tests: `object_store::memory::InMemory`).
    Given(Arc<dyn ObjectStore>),
}

impl std::fmt::Debug for RemoteWarehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWarehouse")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Whether `location` names a remote warehouse (`s3://…`) rather than a directory.
pub fn is_remote(location: &str) -> bool {
    location.starts_with("s3://")
}

impl RemoteWarehouse {
    /// The S3 warehouse `url` (`s3://bucket/prefix`); endpoint, region and credentials come
    /// from the `AWS_*` environment when a request is made.
    pub fn s3(url: &str) -> Result<Self> {
        let (bucket, prefix) = split_url(url)?;
        Ok(Self::new(url, prefix, StoreSpec::S3 { bucket }))
    }

    /// A warehouse at `url` in a store the caller made (tests).
    pub fn with_store(url: &str, store: Arc<dyn ObjectStore>) -> Result<Self> {
        let (_, prefix) = split_url(url)?;
        Ok(Self::new(url, prefix, StoreSpec::Given(store)))
    }

    fn new(url: &str, prefix: String, spec: StoreSpec) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            prefix,
            spec,
            crash: CrashHook::from_env(),
            base: Mutex::new(None),
            diverged: AtomicBool::new(false),
        }
    }

    /// The same warehouse with `crash` armed instead of `LTX_CRASH_AT` (tests).
    pub fn with_crash(mut self, crash: CrashHook) -> Self {
        self.crash = crash;
        self
    }

    /// The URL (without a trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Brings the local copy in `layout` to the remote's last commit. The caller holds the
    /// local copy's writer lock.
    pub(crate) fn pull(&self, layout: &Layout) -> Result<PullReport> {
        self.blocking(|store| pull::pull(self, store, layout))
    }

    /// Publishes the local copy's committed `manifest` as the next remote commit (nothing
    /// when it equals the remote's). Fails with [`LoadError::RemoteConflict`] when another
    /// writer committed first.
    pub(crate) fn push(&self, layout: &Layout, manifest: &Manifest) -> Result<PushReport> {
        if self.diverged.load(Ordering::SeqCst) {
            return Err(LoadError::RemoteDiverged {
                url: self.url.clone(),
                dir: layout.root().to_path_buf(),
            });
        }
        let pushed = self.blocking(|store| push::push(self, store, layout, manifest));
        if pushed.is_err() {
            self.diverged.store(true, Ordering::SeqCst);
        }
        pushed
    }

    /// Runs `work` on a runtime of its own, on a thread of its own: callers are sync code
    /// that may itself run inside a tokio runtime, where blocking on another is refused.
    fn blocking<T, F>(&self, work: impl FnOnce(Arc<dyn ObjectStore>) -> F + Send) -> Result<T>
    where
        T: Send,
        F: std::future::Future<Output = Result<T>>,
    {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| {
                            self.config_error(format!("cannot start an I/O runtime: {e}"))
                        })?;
                    let store = self.store()?;
                    runtime.block_on(work(store))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(self.config_error("the object storage thread panicked".into()))
                })
        })
    }

    fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        match &self.spec {
            StoreSpec::Given(store) => Ok(Arc::clone(store)),
            StoreSpec::S3 { bucket } => store::s3(bucket).map_err(|e| self.config_error(e)),
        }
    }

    fn config_error(&self, reason: String) -> LoadError {
        LoadError::RemoteConfig {
            url: self.url.clone(),
            reason,
        }
    }

    /// The object key of `rel` (a path relative to the warehouse root, `/`-separated).
    fn key(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// `rel` of an object key under the prefix (`None` for keys outside it).
    fn rel(&self, key: &ObjectPath) -> Option<String> {
        let key = key.as_ref();
        if self.prefix.is_empty() {
            return Some(key.to_owned());
        }
        key.strip_prefix(&self.prefix)
            .and_then(|r| r.strip_prefix('/'))
            .map(str::to_owned)
    }

    fn remote_err(
        &self,
        rel: &str,
        action: &'static str,
    ) -> impl FnOnce(object_store::Error) -> LoadError {
        let (url, key) = (self.url.clone(), rel.to_owned());
        move |source| LoadError::Remote {
            url,
            key,
            action,
            source: Box::new(source),
        }
    }

    fn set_base(&self, manifest: Option<Manifest>) {
        *self.base.lock().unwrap_or_else(|p| p.into_inner()) = manifest;
    }

    fn base(&self) -> Option<Manifest> {
        self.base.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// `s3://bucket/prefix/` → (`bucket`, `prefix`).
fn split_url(url: &str) -> Result<(String, String)> {
    let bad = |reason: &str| LoadError::RemoteConfig {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("only s3:// URLs are supported"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad("the URL names no bucket (s3://bucket/prefix)"));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
        return Err(bad("the prefix must not contain '.', '..' or empty parts"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// Every path (relative to the root) a manifest keeps: live and retired files.
fn kept_paths(m: &Manifest) -> BTreeSet<String> {
    m.all_live()
        .map(|f| f.path.clone())
        .chain(m.retired.iter().map(|r| r.path.clone()))
        .collect()
}

/// `_ltx/commits/<seq>.json`.
fn commit_rel(seq: u64) -> String {
    format!("_ltx/commits/{seq:020}.json")
}

/// `_ltx/head.json`.
const HEAD_REL: &str = "_ltx/head.json";
