//! The node's log: its section of the configuration, `[log]`, and the subscriber the binary installs before it
//! starts serving (`RUST_LOG` filters it; `info` by default).

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
