//! Brute-force protection for the secret keys: a client address that fails authentication as one identity
//! `max_failures` times within `lockout` of its first failure is locked out of that identity for `lockout`, and
//! one that fails [`ADDRESS_FACTOR`] times as often, whatever the identities, is locked out of all of them. So one
//! guesser behind a NAT or a proxy locks out only the identity it guesses at, not everyone behind the same
//! address, unless it sprays guesses over many. While locked out, credentials are refused unchecked, so guessing
//! stops, and each refusal is not written to the audit log (the lockout is, once), so failures cannot be turned
//! into a stream of fsyncs either.
//!
//! IPv6 clients are counted per /56, the block one site is normally given (a /64 per network within it), so that
//! an attacker holding a block cannot multiply its guesses by the networks in it. A success does not clear an
//! address's failures (a valid key of one's own must not reset the count of guesses at another's); they expire
//! with the window. Requests from inside the process (no address) are never throttled.
//!
//! The table is bounded. When it is full, expired entries are swept at most once a second; when none have expired,
//! new addresses are not tracked (logged as a warning), so a guessing campaign from more than [`MAX_TRACKED`]
//! addresses within one window gets `max_failures` guesses per address and then more, but the node stays up.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::net::client;

/// Most counts (an address as an identity, or over all) tracked at once (about 8 MiB at worst).
const MAX_TRACKED: usize = 100_000;
/// A full table is swept at most this often.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Longest lockout: a day.
const MAX_LOCKOUT: Duration = Duration::from_secs(86_400);
/// Failures of one address, over every identity, that lock it out of all: this many times `max_failures`.
pub const ADDRESS_FACTOR: u32 = 10;

/// What the table counts: an address's failures at one identity (a hash of its handle's key, so that a key costs
/// the same whatever a client sends), or over all of them (`None`).
type Key = (IpAddr, Option<u64>);

fn keys(ip: IpAddr, identity: &str) -> [Key; 2] {
    [(ip, Some(xxhash_rust::xxh3::xxh3_64(identity.as_bytes()))), (ip, None)]
}

/// The count of one address.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// When the counted failures began.
    since: Instant,
    failures: u32,
    /// Until when the address is locked out, once it is.
    locked_until: Option<Instant>,
}

/// Failed authentications by client address.
#[derive(Debug)]
pub struct Throttle {
    max_failures: u32,
    lockout: Duration,
    table: Mutex<Table>,
}

/// The tracked addresses.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Key, Entry>,
    swept: Option<Instant>,
}

/// What a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Counted; the address may try again.
    Counted,
    /// This failure locked the address out, for this many seconds.
    LockedOut(u64),
}

impl Throttle {
    /// Locks an address out for `lockout` (at most a day) after `max_failures` failures within `lockout`; 0
    /// failures: never.
    pub fn new(max_failures: u32, lockout: Duration) -> Self {
        Self { max_failures, lockout: lockout.min(MAX_LOCKOUT), table: Mutex::default() }
    }

    fn on(&self) -> bool {
        self.max_failures > 0 && !self.lockout.is_zero()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(seconds)` when `peer` is locked out of `identity` at `now`, with the whole seconds until it may try
    /// again.
    pub fn check(&self, peer: Option<IpAddr>, identity: &str, now: Instant) -> Result<(), u64> {
        let Some(ip) = peer.filter(|_| self.on()).map(client) else { return Ok(()) };
        let table = self.table();
        let until = keys(ip, identity).iter().filter_map(|k| table.entries.get(k)?.locked_until).max();
        match until {
            Some(until) if until > now => Err((until - now).as_secs_f64().ceil() as u64),
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication of `peer` as `identity` at `now`.
    pub fn failed(&self, peer: Option<IpAddr>, identity: &str, now: Instant) -> Failure {
        let Some(ip) = peer.filter(|_| self.on()).map(client) else { return Failure::Counted };
        let [one, all] = keys(ip, identity);
        let by_identity = self.count(one, self.max_failures, now);
        let by_address = self.count(all, self.max_failures.saturating_mul(ADDRESS_FACTOR), now);
        match (by_identity, by_address) {
            (Failure::LockedOut(secs), _) | (_, Failure::LockedOut(secs)) => Failure::LockedOut(secs),
            _ => Failure::Counted,
        }
    }

    /// Counts one failure at `key`, which is locked out at `max` failures.
    fn count(&self, key: Key, max: u32, now: Instant) -> Failure {
        let mut table = self.table();
        if table.entries.len() >= MAX_TRACKED && !table.entries.contains_key(&key) {
            if table.swept.is_some_and(|t| now.duration_since(t) < SWEEP_INTERVAL) {
                return Failure::Counted;
            }
            table.entries.retain(|_, e| !self.expired(e, now));
            table.swept = Some(now);
            if table.entries.len() >= MAX_TRACKED {
                tracing::warn!(tracked = MAX_TRACKED, "too many addresses failing authentication to track them all");
                return Failure::Counted;
            }
        }
        let e = table.entries.entry(key).or_insert(Entry { since: now, failures: 0, locked_until: None });
        if self.expired(e, now) {
            *e = Entry { since: now, failures: 0, locked_until: None };
        }
        e.failures += 1;
        if e.failures >= max && e.locked_until.is_none() {
            e.locked_until = Some(now + self.lockout);
            return Failure::LockedOut(self.lockout.as_secs());
        }
        Failure::Counted
    }

    /// Whether `e` no longer counts: its lockout is over, or its failures are older than the window.
    fn expired(&self, e: &Entry, now: Instant) -> bool {
        match e.locked_until {
            Some(until) => until <= now,
            None => now.duration_since(e.since) >= self.lockout,
        }
    }

    /// Addresses tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.table().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "300:0.NA/88.798.1";

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn locks_out_after_max_failures_for_the_lockout() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert_eq!(t.failed(a, ID, t0), Failure::Counted);
        assert_eq!(t.failed(a, ID, t0 + Duration::from_secs(1)), Failure::Counted);
        assert_eq!(t.check(a, ID, t0 + Duration::from_secs(2)), Ok(()));
        assert_eq!(t.failed(a, ID, t0 + Duration::from_secs(2)), Failure::LockedOut(60));
        assert_eq!(t.check(a, ID, t0 + Duration::from_secs(2)), Err(60));
        assert_eq!(t.check(a, ID, t0 + Duration::from_millis(61_500)), Err(1));
        // another address is not affected
        assert_eq!(t.check(ip("192.0.2.2"), ID, t0 + Duration::from_secs(2)), Ok(()));
        // the lockout ends, and the count starts again
        let later = t0 + Duration::from_secs(62);
        assert_eq!(t.check(a, ID, later), Ok(()));
        assert_eq!(t.failed(a, ID, later), Failure::Counted);
        assert_eq!(t.check(a, ID, later), Ok(()));
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock_out() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for i in 0..10 {
            assert_eq!(t.failed(a, ID, t0 + Duration::from_secs(31 * i)), Failure::Counted, "failure {i}");
        }
    }

    #[test]
    fn a_lockout_longer_than_a_day_is_a_day() {
        let t = Throttle::new(1, Duration::MAX);
        let t0 = Instant::now();
        assert_eq!(t.failed(ip("192.0.2.1"), ID, t0), Failure::LockedOut(86_400));
        assert_eq!(t.check(ip("192.0.2.1"), ID, t0), Err(86_400));
    }

    #[test]
    fn ipv6_counts_per_56_and_mapped_ipv4_as_ipv4() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        t.failed(ip("2001:db8:1:2::1"), ID, t0);
        assert_eq!(
            t.failed(ip("2001:db8:1:ff:ffff::9"), ID, t0),
            Failure::LockedOut(60),
            "another /64 of the same /56"
        );
        assert_eq!(t.check(ip("2001:db8:1:100::1"), ID, t0), Ok(()));
        t.failed(ip("::ffff:192.0.2.7"), ID, t0);
        assert_eq!(t.failed(ip("192.0.2.7"), ID, t0), Failure::LockedOut(60));
    }

    #[test]
    fn internal_requests_and_a_disabled_throttle_are_never_locked_out() {
        let t0 = Instant::now();
        let t = Throttle::new(1, Duration::from_secs(60));
        assert_eq!(t.failed(None, ID, t0), Failure::Counted);
        assert_eq!(t.check(None, ID, t0), Ok(()));
        let off = Throttle::new(0, Duration::ZERO);
        for _ in 0..100 {
            assert_eq!(off.failed(ip("192.0.2.1"), ID, t0), Failure::Counted);
        }
        assert_eq!(off.check(ip("192.0.2.1"), ID, t0), Ok(()));
        assert_eq!(off.tracked(), 0);
    }

    #[test]
    fn the_table_is_bounded_and_expired_entries_make_room() {
        let t = Throttle::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED as u32 {
            t.failed(Some(IpAddr::V4(i.into())), ID, t0);
        }
        assert_eq!(t.tracked(), MAX_TRACKED);
        let extra = Some(IpAddr::V4(u32::MAX.into()));
        t.failed(extra, ID, t0);
        assert_eq!(t.tracked(), MAX_TRACKED, "full of live entries: the new address is not tracked");
        t.failed(extra, ID, t0 + Duration::from_millis(500));
        assert_eq!(t.tracked(), MAX_TRACKED, "swept at most once a second");
        t.failed(extra, ID, t0 + Duration::from_secs(61));
        assert_eq!(t.tracked(), 2, "the expired entries were swept: the new address's two counts remain");
    }

    /// Issue 15 (minor finding): the lockout was per address, so one guesser behind a NAT locked out everyone
    /// behind it. Now it locks out the identity guessed at, and the whole address only at ten times the failures.
    #[test]
    fn a_guesser_behind_a_nat_locks_out_only_what_it_guesses_at() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let (nat, t0) = (ip("203.0.113.9"), Instant::now());
        for _ in 0..3 {
            t.failed(nat, "300:0.NA/88.798.1", t0);
        }
        assert_eq!(t.check(nat, "300:0.NA/88.798.1", t0), Err(60));
        assert_eq!(t.check(nat, "300:0.NA/88.798.2", t0), Ok(()), "a colleague behind the same address");
        // Spraying guesses over many identities locks the address out of all of them.
        for i in 0..3 * ADDRESS_FACTOR - 4 {
            assert_eq!(t.failed(nat, &format!("300:0.NA/88.798.{}", 100 + i), t0), Failure::Counted);
        }
        assert_eq!(t.check(nat, "300:0.NA/88.798.2", t0), Ok(()));
        assert_eq!(t.failed(nat, "300:0.NA/88.798.99", t0), Failure::LockedOut(60), "the address's 30th failure");
        assert_eq!(t.check(nat, "300:0.NA/88.798.2", t0), Err(60));
        assert_eq!(t.check(ip("203.0.113.10"), "300:0.NA/88.798.1", t0), Ok(()));
    }
}
