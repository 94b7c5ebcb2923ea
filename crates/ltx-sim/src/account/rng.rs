//! The deterministic random streams every draw of the account comes from: one ChaCha
//! stream per `(seed, key, stream)`, so that adding a draw in one place never changes the
//! values drawn elsewhere.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub(super) const DAY: i64 = 86_400;

// RNG streams: each kind of draw has its own stream so that adding a draw in one place
// never changes the values drawn elsewhere.
pub(super) const S_TIMELINE: u64 = 1;
pub(super) const S_FUTURE: u64 = 2;
pub(super) const S_INDEX: u64 = 3;
pub(super) const S_CONTENT: u64 = 4;
pub(super) const S_QUIRK: u64 = 5;
pub(super) const S_VISITOR: u64 = 6;
pub(super) const S_POOLS: u64 = 7;
pub(super) const S_DRIFT: u64 = 8;
pub(super) const S_PLAN: u64 = 9;
pub(super) const S_PRUNE: u64 = 10;
pub(super) const S_VERSION: u64 = 100;
pub(super) const S_MUTATION: u64 = 1_000;

pub(super) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub(super) fn rng_for(seed: u64, key: i64, stream: u64) -> ChaCha8Rng {
    let s = splitmix(
        seed ^ splitmix(key as u64 ^ splitmix(stream.wrapping_mul(0xA24B_AED4_963E_E407))),
    );
    ChaCha8Rng::seed_from_u64(s)
}
