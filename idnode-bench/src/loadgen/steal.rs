//! CPU time the hypervisor took from this machine while a run measured (`steal` in `/proc/stat`): on a shared
//! virtual machine a tail of milliseconds is often a vCPU that did not run, and a report that shows the steal of
//! each second tells that apart from the server's own stalls.

use std::time::Instant;

/// Milliseconds of steal over all CPUs since boot; `None` where `/proc/stat` has no such figure.
fn total_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let steal: u64 = stat.lines().next()?.split_whitespace().nth(8)?.parse().ok()?;
    // In USER_HZ ticks, 100 a second on every Linux ABI.
    Some(steal * 10)
}

/// Samples the steal at each second from `from` until `seconds` seconds later: the steal of each second, in ms.
pub async fn per_second(from: Instant, seconds: u64) -> Vec<u64> {
    tokio::time::sleep_until(from.into()).await;
    let Some(mut last) = total_ms() else { return Vec::new() };
    let mut out = Vec::new();
    for s in 1..=seconds {
        tokio::time::sleep_until((from + std::time::Duration::from_secs(s)).into()).await;
        let Some(now) = total_ms() else { break };
        out.push(now.saturating_sub(last));
        last = now;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_figure_is_read_where_linux_keeps_it() {
        if std::path::Path::new("/proc/stat").exists() {
            assert!(super::total_ms().is_some(), "the steal column of /proc/stat");
        }
    }
}
