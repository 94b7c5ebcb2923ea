//! Raw page archive (`--keep-raw`): the conversations exactly as received, one JSON per
//! line, zstd-compressed, so a run can be re-transformed later without the API.
//!
//! Files are written under the run's staging dir and renamed to `_ltx/raw/<run_id>/` in
//! step 2 of the commit, so an archive exists only for committed runs and its run record
//! lists it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::crash::CrashHook;
use crate::error::{io_err, Result};

type Encoder = zstd::stream::write::Encoder<'static, BufWriter<File>>;

/// Streaming writer of `page-<n>.jsonl.zst` files.
pub struct RawArchive {
    dir: PathBuf,
    lines_per_page: usize,
    page: usize,
    lines: usize,
    current: Option<(PathBuf, Encoder)>,
    files: Vec<PathBuf>,
    crash: CrashHook,
}

impl std::fmt::Debug for RawArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawArchive")
            .field("dir", &self.dir)
            .field("page", &self.page)
            .finish_non_exhaustive()
    }
}

impl RawArchive {
    /// New archive writing into `dir` (created on first write).
    pub(crate) fn new(dir: PathBuf, lines_per_page: usize, crash: CrashHook) -> Self {
        Self {
            dir,
            lines_per_page: lines_per_page.max(1),
            page: 0,
            lines: 0,
            current: None,
            files: Vec::new(),
            crash,
        }
    }

    /// Appends one conversation's raw JSON as a line.
    pub fn write(&mut self, raw_json: &str) -> Result<()> {
        if self.current.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
            self.page += 1;
            let path = self.dir.join(format!("page-{:06}.jsonl.zst", self.page));
            let file = File::create(&path).map_err(io_err(&path))?;
            let enc = Encoder::new(BufWriter::new(file), 3).map_err(io_err(&path))?;
            self.current = Some((path, enc));
            self.lines = 0;
        }
        if let Some((path, enc)) = self.current.as_mut() {
            // One record per line: JSON text never contains a raw newline outside strings,
            // but pretty-printed input might, so flatten it.
            let line = raw_json.replace('\n', " ");
            enc.write_all(line.as_bytes()).map_err(io_err(path))?;
            enc.write_all(b"\n").map_err(io_err(path))?;
        }
        self.lines += 1;
        if self.lines >= self.lines_per_page {
            self.close_page()?;
        }
        Ok(())
    }

    fn close_page(&mut self) -> Result<()> {
        if let Some((path, enc)) = self.current.take() {
            let buf = enc.finish().map_err(io_err(&path))?;
            let file = buf
                .into_inner()
                .map_err(|e| io_err(&path)(e.into_error()))?;
            file.sync_all().map_err(io_err(&path))?;
            self.files.push(path);
            self.crash.check("raw.after_page")?;
        }
        Ok(())
    }

    /// Closes the last page; returns the staged files.
    pub(crate) fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.close_page()?;
        Ok(std::mem::take(&mut self.files))
    }

    /// The staging directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Reads every line of a `page-<n>.jsonl.zst` file (for tests and re-processing).
pub fn read_raw_page(path: &Path) -> Result<Vec<String>> {
    use std::io::BufRead;
    let file = File::open(path).map_err(io_err(path))?;
    let dec = zstd::stream::read::Decoder::new(file).map_err(io_err(path))?;
    std::io::BufReader::new(dec)
        .lines()
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err(path))
}
