//! The `ltx` binary; everything lives in the `ltx_cli` library so it can be unit-tested.
fn main() -> std::process::ExitCode {
    ltx_cli::main_entry()
}
