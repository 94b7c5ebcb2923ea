//! Writes N simulated conversations as JSON Lines, the input of `ltx import` benchmarks
//! (e.g. the 1M-conversation warehouse `ltx report` is timed on, docs/BENCHMARKS.md).
//!
//! `cargo run --release -p ltx-sim --example write_jsonl -- 1000000 sim-1m.jsonl`
#![allow(missing_docs)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().ok_or("usage: write_jsonl N FILE")?.parse()?;
    let path = args.next().ok_or("usage: write_jsonl N FILE")?;
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let bytes = ltx_sim::write_jsonl(&ltx_sim::SimConfig::default(), file, n)?;
    eprintln!("{n} conversations, {bytes} bytes written to {path}");
    Ok(())
}
