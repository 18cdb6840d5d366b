//! The node's log: its section of the configuration, `[log]`, the subscriber the binary installs before it
//! starts serving (`RUST_LOG` filters it; `info` by default), and [`Sparse`] lines for what a client can cause.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// The node's log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// JSON lines instead of text.
    pub json: bool,
}

/// Installs the process's log subscriber as `cfg` says.
pub fn init(cfg: &LogConfig) {
    use std::io::IsTerminal as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only on a terminal: in a log file they are noise, and formatting them costs every span.
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(std::io::stdout().is_terminal());
    if cfg.json { fmt.json().init() } else { fmt.init() }
}

/// A log line written at most once a minute however often its event happens: whatever a client can cause (a
/// refused write, a failed accept, an authorization check out of budget) must not be able to flood the log.
/// The events in between are counted, and the next line says how many.
#[derive(Debug, Default)]
pub struct Sparse {
    /// The minute of the last line, since the epoch (0: none yet).
    last: AtomicU64,
    quiet: AtomicU64,
}

impl Sparse {
    /// A line never written yet.
    pub const fn new() -> Self {
        Self { last: AtomicU64::new(0), quiet: AtomicU64::new(0) }
    }

    /// `Some(events left unlogged since the last line)` when this event's line is due, else `None` (counted).
    pub fn due(&self) -> Option<u64> {
        let minute =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs() / 60 + 1);
        let last = self.last.load(Ordering::Relaxed);
        if minute > last && self.last.compare_exchange(last, minute, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            Some(self.quiet.swap(0, Ordering::Relaxed))
        } else {
            self.quiet.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sparse;

    #[test]
    fn one_line_a_minute_and_a_count_of_the_rest() {
        let line = Sparse::new();
        assert_eq!(line.due(), Some(0));
        assert!((0..1000).all(|_| line.due().is_none()));
        // The next minute's line says how many were left out.
        line.last.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(line.due(), Some(1000));
    }
}
