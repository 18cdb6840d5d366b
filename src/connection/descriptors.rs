//! The process's descriptor limit: every connection and every store file takes one.

/// Raises the soft limit on open descriptors to the hard limit (as far as the kernel allows) and returns the
/// limit in force.
pub fn raise_descriptor_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<libc::rlim_t>().ok())
        .unwrap_or(lim.rlim_max);
    let wanted = lim.rlim_max.min(ceiling);
    if wanted > lim.rlim_cur {
        let raised = libc::rlimit { rlim_cur: wanted, rlim_max: lim.rlim_max };
        // SAFETY: `raised` is a valid rlimit; on failure the old limit stays in force.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = wanted;
        } else {
            tracing::warn!(soft = lim.rlim_cur, hard = lim.rlim_max, "could not raise the descriptor limit");
        }
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_rises_to_the_hard_one() {
        let limit = super::raise_descriptor_limit();
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, limit);
        let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open").unwrap().trim().parse().unwrap();
        assert_eq!(limit, lim.rlim_max.min(nr_open), "{lim:?}");
    }
}
