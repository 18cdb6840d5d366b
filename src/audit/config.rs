//! The audit log's section of the configuration, `[audit]`.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days entries are kept (0: forever).
    pub retention_days: u64,
    /// Seconds between retention sweeps.
    pub sweep_interval_secs: u64,
    /// MiB the log may take (entries and their indexes); beyond it the oldest entries are deleted at the next
    /// sweep (0: no bound).
    pub max_mb: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { retention_days: 400, sweep_interval_secs: 60, max_mb: 16 * 1024 }
    }
}

impl AuditConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sweep_interval_secs == 0 {
            return Err(ConfigError::Invalid("audit.sweep_interval_secs must be positive".into()));
        }
        Ok(())
    }
}
