//! `ltx sim`: serves the simulated LiveTex API until Ctrl-C.

use std::time::Duration;

use ltx_sim::{SimConfig, SimServer};

use crate::cli::SimArgs;

/// Starts the simulator, prints how to reach it, waits for Ctrl-C.
pub async fn run(args: &SimArgs) -> anyhow::Result<()> {
    let mut cfg = SimConfig {
        seed: args.seed,
        conversations: args.conversations,
        realtime: args.realtime,
        ..SimConfig::default()
    };
    if let Some(ttl) = args.token_ttl {
        cfg.token_ttl = Duration::from_secs(ttl);
    }
    cfg.faults.drift_rate = args.drift_rate;
    cfg.faults.bad_record_rate = args.bad_record_rate;
    cfg.faults.ignore_offset = args.ignore_offset;
    cfg.faults.repeat_page_rate = args.repeat_page_rate;
    cfg.faults.total_inflate = args.total_inflate;
    cfg.faults.total_growing = args.total_growing;
    cfg.faults.show_404_rate = args.show_404_rate;
    cfg.faults.redirect_to = args.redirect_to.clone();
    cfg.faults.rate_limited_rate = args.rate_limited_rate;
    cfg.faults.retry_after = args.retry_after.clone();
    cfg.faults.clock_skew = chrono::TimeDelta::try_seconds(args.clock_skew_s).unwrap_or_default();
    cfg.faults.inflate_body_mb = args.inflate_body_mb;
    cfg.faults.non_json_rate = args.non_json_rate;
    let handle =
        SimServer::start_on(cfg, std::net::SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    let url = handle.base_url();
    println!("LiveTex simulator listening on {url}");
    println!("  v2 profile:      {url}/v2   token: {}", handle.token());
    println!(
        "  web-api profile: {url}      login: {}   password: {}",
        handle.login(),
        handle.password()
    );
    println!(
        "  simulated clock: {}",
        handle.now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    println!();
    println!("Try:");
    println!(
        "  curl -H 'Authorization: Bearer {}' '{url}/v2/conversations?limit=1'",
        handle.token()
    );
    println!(
        "  LIVETEX_API_TOKEN={} ltx sync --base-url {url} --warehouse ./sim-warehouse",
        handle.token()
    );
    println!("  curl -X POST '{url}/_sim/advance?seconds=3600'   # move the clock one hour");
    println!("Ctrl-C stops.");
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
