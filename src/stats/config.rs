//! The statistics' section of the configuration, `[statistics]`.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Days of the statistics start at midnight at this offset by default: China Standard Time (UTC+8).
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;

/// Statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsConfig {
    /// Seconds between flushes of the resolution counts; a crash loses at most this much.
    pub flush_interval_secs: u64,
    /// Days start at midnight at this offset east of UTC, minutes (480: China Standard Time).
    pub utc_offset_minutes: i32,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self { flush_interval_secs: 10, utc_offset_minutes: DEFAULT_UTC_OFFSET_MINUTES }
    }
}

impl StatsConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.flush_interval_secs == 0 {
            return Err(ConfigError::Invalid("statistics.flush_interval_secs must be positive".into()));
        }
        if self.utc_offset_minutes.abs() > 14 * 60 {
            return Err(ConfigError::Invalid("statistics.utc_offset_minutes must be within ±840".into()));
        }
        Ok(())
    }
}
