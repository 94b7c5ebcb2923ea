//! `ltx validate`: the configuration loads and validates (done before we get here), the
//! credentials are present, and the API answers with them.

use crate::cli::ValidateArgs;
use crate::Context;

/// Prints the effective configuration (never a secret) and probes the API unless `--offline`.
pub async fn command(ctx: &Context, args: &ValidateArgs) -> anyhow::Result<()> {
    let c = &ctx.config;
    match &ctx.pipeline_file {
        Some(f) => println!("pipeline file: {} (valid)", f.display()),
        None => println!("pipeline file: none (built-in defaults)"),
    }
    println!(
        "source: profile {}, mode {}, {} (page_size {}, concurrency {})",
        c.source.profile.name(),
        c.source.mode.name(),
        c.source.effective_base_url(),
        c.source.page_size,
        c.source.concurrency
    );
    match &c.destination.remote {
        Some(url) => println!(
            "warehouse: {url} (local copy {})",
            c.destination.warehouse.display()
        ),
        None => println!("warehouse: {}", c.destination.warehouse.display()),
    }
    ltx_pipeline::credentials::require_pii_salt(c)?;
    if args.offline {
        println!("API: not checked (--offline)");
        return Ok(());
    }
    let auth = ltx_pipeline::auth_from_env(c.source.profile)?;
    let ecfg = c.extract_config(auth)?;
    let metrics = std::sync::Arc::new(ltx_extract::Metrics::default());
    let client = ltx_extract::Client::new(&ecfg, metrics)?;
    let now = client.server_now().await?;
    println!(
        "API: {} accepted the credentials; source clock {}",
        c.source.effective_base_url(),
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );
    Ok(())
}
