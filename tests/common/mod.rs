//! Running the `ltx` binary, and reading the files it wrote, for the end-to-end test modules.

pub mod sim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ltx");

/// Gives `cmd` a clean LTX_/LIVETEX_ environment plus `envs` (a test's settings never
/// come from the shell that runs the tests).
pub fn clean_env(cmd: &mut Command, envs: &[(&str, &str)]) {
    for (k, _) in std::env::vars() {
        if k.starts_with("LTX_") || k.starts_with("LIVETEX_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
}

/// Runs `ltx` in `cwd` with a clean LTX_/LIVETEX_ environment plus `envs`.
/// The `sql` fenced blocks of `sql/README.md`, trimmed.
pub fn sql_readme_examples() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql/README.md"))
            .unwrap();
    readme
        .split("```sql\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_owned())
        .collect()
}

pub fn ltx(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).args(args);
    clean_env(&mut cmd, envs);
    cmd.output().expect("the ltx binary runs")
}

/// Exit status, stdout and stderr of a run, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `o`, after asserting that the run succeeded (its output shown otherwise).
pub fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// sha256-free checksum of every file under `dir` (path → bytes).
pub fn snapshot_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}
