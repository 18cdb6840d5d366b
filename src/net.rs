//! Client addresses as the node counts them: IPv4-mapped IPv6 as IPv4, masked to a block (a site's IPv6 /56, an
//! IPv4 /24), and networks in CIDR notation. The authentication lockout, the statistics reports' queue, the
//! Handle TCP listener and the UDP answer budget count clients this way; [`PerClient`] caps what each holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// A network in CIDR notation, such as `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    len: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a network such as 10.0.0.0/8 or 2001:db8::/32");
        let (ip, len) = s.split_once('/').ok_or_else(bad)?;
        let base: IpAddr = ip.parse().map_err(|_| bad())?;
        let mut len: u8 = len.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(bad());
        }
        // An IPv4-mapped network (`::ffff:10.0.0.0/104`) is the IPv4 network, as addresses are compared.
        let base = match base {
            IpAddr::V6(v6) if len >= 96 && v6.to_ipv4_mapped().is_some() => {
                len -= 96;
                canonical(base)
            }
            other => other,
        };
        Ok(Self { base: mask(base, len), len })
    }
}

impl Network {
    /// Whether `ip` is in the network (IPv4-mapped IPv6 addresses as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.base.is_ipv4() && mask(ip, self.len) == self.base
    }
}

/// The block `ip` is counted in: its first `v4` bits for IPv4 (IPv4-mapped IPv6 included), `v6` bits for IPv6.
pub fn block(ip: IpAddr, v4: u8, v6: u8) -> IpAddr {
    let ip = canonical(ip);
    mask(ip, if ip.is_ipv4() { v4 } else { v6 })
}

/// One client: an IPv4 address, or an IPv6 /56 (a site, which holds a /64 per network).
pub fn client(ip: IpAddr) -> IpAddr {
    block(ip, 32, 56)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)).into()),
        IpAddr::V6(v6) => {
            IpAddr::V6((u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)).into())
        }
    }
}

/// A cap on what each client ([`client`]) holds at once: its open connections, its queued reports.
#[derive(Debug)]
pub struct PerClient {
    max: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// What one client holds of a [`PerClient`], given back when dropped.
#[derive(Debug)]
pub struct ClientPlace {
    cap: Arc<PerClient>,
    client: Option<IpAddr>,
}

impl PerClient {
    /// At most `max` places per client.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self { max, held: Mutex::default() })
    }

    /// A place for `ip` (none: from inside the process, never capped), unless its client holds `max` already.
    pub fn enter(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<ClientPlace> {
        let client = ip.map(client);
        if let Some(c) = client {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            let n = held.entry(c).or_default();
            if *n >= self.max {
                return None;
            }
            *n += 1;
        }
        Some(ClientPlace { cap: self.clone(), client })
    }
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        let Some(c) = self.client else { return };
        let mut held = self.cap.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = held.get_mut(&c) {
            *n -= 1;
            if *n == 0 {
                held.remove(&c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        let n: Network = "10.1.2.3/8".parse().unwrap();
        assert!(n.contains(ip("10.200.0.1")) && !n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.0.0.9")), "IPv4-mapped");
        let mapped: Network = "::ffff:10.0.0.0/104".parse().unwrap();
        assert!(
            mapped.contains(ip("10.1.1.1"))
                && mapped.contains(ip("::ffff:10.2.0.1"))
                && !mapped.contains(ip("11.0.0.1"))
        );
        let one: Network = "::1/128".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")) && !one.contains(ip("0.0.0.1")));
        assert!("0.0.0.0/0".parse::<Network>().unwrap().contains(ip("192.0.2.1")));
        for bad in ["10.0.0.0", "10.0.0.0/33", "::/129", "x/8", "10.0.0.0/-1"] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn clients_and_blocks() {
        assert_eq!(client(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("2001:db8:1:ff:ffff::9")), ip("2001:db8:1::"));
        assert_eq!(block(ip("192.0.2.7"), 24, 56), ip("192.0.2.0"));
    }

    #[test]
    fn a_client_holds_at_most_its_share_until_it_gives_a_place_back() {
        let cap = PerClient::new(2);
        let (a, b) = (cap.enter(Some(ip("2001:db8:0:1::1"))).unwrap(), cap.enter(Some(ip("2001:db8:0:2::9"))).unwrap());
        assert!(cap.enter(Some(ip("2001:db8::5"))).is_none(), "one /56, one client");
        assert!(cap.enter(Some(ip("192.0.2.1"))).is_some(), "another client");
        assert!(cap.enter(None).is_some() && cap.enter(None).is_some() && cap.enter(None).is_some(), "inside");
        drop(a);
        assert!(cap.enter(Some(ip("2001:db8::5"))).is_some());
        drop(b);
        assert!(cap.held.lock().unwrap().is_empty(), "nothing held, nothing kept");
    }
}
