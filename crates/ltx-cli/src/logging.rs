//! Logging setup: `tracing` to stderr, as text or JSON lines; results go to stdout.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use ltx_pipeline::LogFormat;

/// Installs the global subscriber. `level` is a tracing filter (`info`, `ltx_extract=debug`);
/// `-v` / `-q` override it, `LTX_LOG` overrides the configured one.
pub fn init(format: LogFormat, level: &str, verbose: u8, quiet: bool) {
    let directives = if quiet {
        "warn".to_owned()
    } else if verbose >= 2 {
        "trace".to_owned()
    } else if verbose == 1 {
        "debug".to_owned()
    } else {
        std::env::var("LTX_LOG").unwrap_or_else(|_| level.to_owned())
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init`: a second call (tests, demo) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
    };
}
