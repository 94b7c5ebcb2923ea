//! Running the `ltx` binary from the end-to-end test files.

pub mod sim;

use std::path::Path;
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
