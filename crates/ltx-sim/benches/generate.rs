//! Generation cost: building the index and rendering conversations.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ltx_sim::{Account, SimConfig, FIRST_CONVERSATION_ID};

fn bench(c: &mut Criterion) {
    let cfg = SimConfig {
        conversations: 1_000,
        ..SimConfig::default()
    };
    c.bench_function("index_1000", |b| b.iter(|| Account::new(&cfg)));
    let account = Account::new(&cfg);
    c.bench_function("conversation_json_1000", |b| {
        b.iter(|| {
            let mut n = 0;
            for id in FIRST_CONVERSATION_ID..FIRST_CONVERSATION_ID + 1_000 {
                n += account.conversation_json(id, cfg.start_clock).is_some() as usize;
            }
            n
        })
    });
    c.bench_function("write_jsonl_1000", |b| {
        b.iter(|| ltx_sim::write_jsonl(&cfg, std::io::sink(), 1_000))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
