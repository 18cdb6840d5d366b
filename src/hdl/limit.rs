//! Answer-rate limiting of Handle UDP, against reflection: a spoofed 80-byte request can draw a full answer of
//! several 512-byte packets towards the victim whose address it carries. Each source block (IPv4 /24, IPv6 /56,
//! as DNS response-rate limiting counts them) gets a budget of answer bytes per second, refilled continuously
//! with one second of burst; an answer goes out in full only if the budget left covers it. Beyond the budget,
//! answers go out truncated: 44 bytes, less than any request, that tell a real client to ask again over TCP,
//! which cannot be spoofed. Nothing is dropped, and once a block's budget is spent, the node sends it fewer bytes
//! than were sent in its name. Sources in the exempt networks (loopback by default, and the operator's trusted
//! networks) are not counted.
//!
//! The table is sharded by source block with a per-process random hash (so that an attacker cannot aim at the
//! shard of a victim), and bounded: when a shard is full of active sources, a new source's answers go out
//! truncated until refilled entries make room, so a flood of random spoofed sources cannot grow it.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::net::{Network, block};

/// Shards of the table.
const SHARDS: usize = 64;
/// Source blocks tracked per shard at most.
const SHARD_CAPACITY: usize = 4096;
/// A full shard is swept of refilled entries at most this often, so that a flood of new sources costs a sweep
/// per interval, not per packet.
const SWEEP_INTERVAL: Duration = Duration::from_millis(250);

/// The budget of one source block.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Bytes that may still be sent; below zero after a large answer.
    tokens: f64,
    last: Instant,
}

/// Answer bytes per second per source block.
#[derive(Debug)]
pub struct SourceLimit {
    /// Bytes per second; 0: no limit.
    rate: f64,
    exempt: Vec<Network>,
    shards: Vec<Mutex<Shard>>,
    hasher: std::hash::RandomState,
}

/// Part of the table.
#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<IpAddr, Bucket>,
    swept: Option<Instant>,
}

impl SourceLimit {
    /// `bytes_per_sec` of answers per source block (0: no limit), not counting sources in `exempt`.
    pub fn new(bytes_per_sec: u64, exempt: Vec<Network>) -> Self {
        let shards = if bytes_per_sec == 0 { 0 } else { SHARDS };
        Self {
            rate: bytes_per_sec as f64,
            exempt,
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Whether an answer of `bytes` to `source` may go out in full; if so, it is charged.
    pub fn allow(&self, source: IpAddr, bytes: usize) -> bool {
        // An exempt source, or no limit at all, costs no clock read and no lock.
        self.shards.is_empty()
            || self.exempt.iter().any(|n| n.contains(source))
            || self.charge(source, bytes, Instant::now())
    }

    /// Whether an answer of `bytes` to `source` at `now` fits its block's budget; if so, it is charged.
    fn charge(&self, source: IpAddr, bytes: usize, now: Instant) -> bool {
        let key = block(source, 24, 56);
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if shard.buckets.len() >= SHARD_CAPACITY && !shard.buckets.contains_key(&key) {
            if shard.swept.is_some_and(|t| now.duration_since(t) < SWEEP_INTERVAL) {
                return false;
            }
            // Entries whose budget has refilled are as good as new: forgetting them changes nothing.
            let rate = self.rate;
            shard.buckets.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < rate);
            shard.swept = Some(now);
            if shard.buckets.len() >= SHARD_CAPACITY {
                return false;
            }
        }
        let b = shard.buckets.entry(key).or_insert(Bucket { tokens: self.rate, last: now });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate).min(self.rate);
        b.last = now;
        if b.tokens < bytes as f64 {
            return false;
        }
        b.tokens -= bytes as f64;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_block_gets_its_budget_per_second_then_truncated_answers() {
        let l = SourceLimit::new(1000, vec![]);
        let t0 = Instant::now();
        // 1,000 bytes of burst: answers of 400 bytes go out while the budget left covers them.
        let sent: Vec<bool> = (0..4).map(|_| l.charge(ip("192.0.2.1"), 400, t0)).collect();
        assert_eq!(sent, [true, true, false, false]);
        // a small answer still fits in the 200 bytes left
        assert!(l.charge(ip("192.0.2.1"), 150, t0));
        // the same /24 shares the budget; another block has its own
        assert!(!l.charge(ip("192.0.2.200"), 400, t0));
        assert!(l.charge(ip("192.0.3.1"), 400, t0));
        // refilled at 1,000 bytes a second
        assert!(!l.charge(ip("192.0.2.1"), 400, t0 + Duration::from_millis(300)), "50 bytes short");
        assert!(l.charge(ip("192.0.2.1"), 400, t0 + Duration::from_millis(400)));
        // never more than one second of burst
        let later = t0 + Duration::from_secs(60);
        let sent = (0..5).filter(|_| l.charge(ip("192.0.2.1"), 400, later)).count();
        assert_eq!(sent, 2);
        // an answer larger than the whole budget never goes out in full
        assert!(!l.charge(ip("192.0.4.1"), 1001, later));
    }

    #[test]
    fn ipv6_counts_per_56_exempt_networks_and_zero_are_unlimited() {
        let t0 = Instant::now();
        let l = SourceLimit::new(1000, vec!["127.0.0.0/8".parse().unwrap(), "2001:db8:ff::/48".parse().unwrap()]);
        assert!(l.charge(ip("2001:db8:1:100::1"), 600, t0));
        assert!(!l.charge(ip("2001:db8:1:1ff::2"), 600, t0), "same /56");
        assert!(l.charge(ip("2001:db8:1:200::1"), 600, t0), "another /56");
        for _ in 0..100 {
            assert!(l.allow(ip("127.0.0.1"), 10_000));
            assert!(l.allow(ip("2001:db8:ff:1::1"), 10_000));
        }
        let off = SourceLimit::new(0, vec![]);
        assert!((0..100).all(|_| off.allow(ip("192.0.2.1"), 10_000)));
    }

    #[test]
    fn the_table_is_bounded_and_idle_blocks_make_room() {
        let l = SourceLimit::new(1000, vec![]);
        let t0 = Instant::now();
        let mut refused = 0;
        for i in 0..(SHARDS * SHARD_CAPACITY * 2) as u32 {
            refused += usize::from(!l.charge(IpAddr::V4((i << 8).into()), 10, t0));
        }
        assert!(refused >= SHARDS * SHARD_CAPACITY, "new sources beyond the bound get truncated answers: {refused}");
        let tracked: usize = l.shards.iter().map(|s| s.lock().unwrap().buckets.len()).sum();
        assert_eq!(tracked, SHARDS * SHARD_CAPACITY);
        assert!(l.charge(ip("198.51.100.1"), 10, t0 + Duration::from_secs(2)), "idle entries were swept");
    }
}
