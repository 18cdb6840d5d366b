//! The core's sections of the configuration, `[node]` (identity and identifier rules, and the runtime knobs
//! that sit with them) and `[auth]` (the lockout), and the [`NodeSettings`] a core is made with.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::id::{Prefix, SuffixCase};
use crate::stats::{DEFAULT_UTC_OFFSET_MINUTES, StatsConfig};

/// Capacity of the record cache unless configured otherwise, MiB: about 15,000 product records with the
/// renderings of all three protocols, so that a hot set of ten thousand stays cached.
pub const DEFAULT_RECORD_CACHE_MB: u64 = 128;
/// Values one record may hold by default: Handle records hold a handful to a few hundred; past a thousand a record
/// is an attack on the checks every write of it costs.
pub const DEFAULT_MAX_VALUES_PER_RECORD: usize = 1000;
/// Streamed listings one client may run at once, by default.
pub const DEFAULT_MAX_LISTINGS_PER_CLIENT: usize = 4;
/// Streamed listings the node runs at once, by default: a tenth of the blocking threads.
pub const DEFAULT_MAX_LISTINGS: usize = 48;

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// Prefixes this node homes; their derived prefixes are homed with them.
    pub prefixes: Vec<Prefix>,
    /// Whether suffixes compare case-sensitively.
    pub suffix_case: SuffixCase,
    /// Memory for decoded records of recently resolved handles, bytes (0: no record cache).
    pub record_cache_bytes: u64,
    /// Statistics days start at midnight this many minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Failed authentications from one address within `lockout` before it is locked out for `lockout` (0:
    /// never); see [`super::throttle`].
    pub max_auth_failures: u32,
    /// The window and length of a lockout.
    pub lockout: Duration,
    /// Values one record may hold.
    pub max_values_per_record: usize,
    /// Prefixes (with those below them) whose records must name a data template.
    pub templates_required: Vec<Prefix>,
}

impl NodeSettings {
    /// The defaults of a node homing `prefixes`: suffixes compared as written, the default record cache, days in
    /// China Standard Time, no lockout.
    pub fn homing(prefixes: Vec<Prefix>) -> Self {
        Self {
            prefixes,
            suffix_case: SuffixCase::Sensitive,
            record_cache_bytes: DEFAULT_RECORD_CACHE_MB << 20,
            utc_offset_minutes: DEFAULT_UTC_OFFSET_MINUTES,
            max_auth_failures: 0,
            lockout: std::time::Duration::ZERO,
            max_values_per_record: DEFAULT_MAX_VALUES_PER_RECORD,
            templates_required: Vec::new(),
        }
    }
}

impl NodeSettings {
    /// The settings the sections `[node]`, `[auth]` and `[statistics]` give.
    pub fn from_config(node: &NodeConfig, auth: &AuthConfig, statistics: &StatsConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            prefixes: node.homed_prefixes()?,
            suffix_case: node.suffix_case,
            record_cache_bytes: node.record_cache_mb << 20,
            utc_offset_minutes: statistics.utc_offset_minutes,
            max_auth_failures: auth.max_failures,
            lockout: Duration::from_secs(auth.lockout_secs),
            max_values_per_record: node.max_values_per_record,
            templates_required: node.required_template_prefixes()?,
        })
    }
}

/// Where the doors run resolutions: on their async workers, which are few (one for REST), or on the blocking
/// pool, which costs a hand-over to another thread per read but lets a read wait for the disk without holding
/// up the requests behind it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reads {
    /// Every read on the worker: the fastest while everything is in memory, and a read from disk stalls the
    /// worker.
    Inline,
    /// Every read on the blocking pool.
    Pool,
    /// On the worker while the store's reads come from memory (the block cache, the OS page cache); once an
    /// eighth of them wait for the disk, on the pool for a request whose record is not in memory (the record
    /// cache, RocksDB's memtables and block cache).
    #[default]
    Tiered,
}

/// Prefixes and identifier rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Prefixes homed here (derived prefixes included), the first being the node prefix.
    pub prefixes: Vec<String>,
    /// `sensitive` (default) or `insensitive` suffix comparison.
    pub suffix_case: SuffixCase,
    /// Where resolutions run (see [`Reads`]).
    pub reads: Reads,
    /// Memory for decoded records of recently resolved handles, MiB (0: no record cache).
    pub record_cache_mb: u64,
    /// Seconds a graceful stop waits for connections to finish before closing them.
    pub shutdown_grace_secs: u64,
    /// Values one record may hold; a write that would store more is refused (rc 202).
    pub max_values_per_record: usize,
    /// Streamed listings (every handle under a prefix) one client may run at once; more get 503, rc 3.
    pub max_listings_per_client: usize,
    /// Streamed listings the node runs at once, each on a blocking thread while its client reads.
    pub max_listings: usize,
    /// Prefixes (with those below them) whose records must name a data template (index 1000 or 1001); records
    /// elsewhere name one or not, as they like.
    pub templates_required: Vec<String>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            prefixes: vec!["88.798".into()],
            suffix_case: SuffixCase::Sensitive,
            reads: Reads::default(),
            record_cache_mb: DEFAULT_RECORD_CACHE_MB,
            shutdown_grace_secs: 10,
            max_values_per_record: DEFAULT_MAX_VALUES_PER_RECORD,
            max_listings_per_client: DEFAULT_MAX_LISTINGS_PER_CLIENT,
            max_listings: DEFAULT_MAX_LISTINGS,
            templates_required: Vec::new(),
        }
    }
}

impl NodeConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.prefixes.is_empty() {
            return Err(ConfigError::Invalid("node.prefixes must name at least one prefix".into()));
        }
        if self.max_values_per_record == 0 || self.max_listings_per_client == 0 || self.max_listings == 0 {
            return Err(ConfigError::Invalid(
                "node.max_values_per_record, max_listings_per_client and max_listings must be positive".into(),
            ));
        }
        self.required_template_prefixes()?;
        self.homed_prefixes().map(drop)
    }

    /// The prefixes of `templates_required`, parsed.
    pub fn required_template_prefixes(&self) -> Result<Vec<Prefix>, ConfigError> {
        let parse = |p: &String| {
            Prefix::parse(p).map_err(|e| ConfigError::Invalid(format!("node.templates_required: {p:?}: {e}")))
        };
        self.templates_required.iter().map(parse).collect()
    }

    /// The homed prefixes, parsed.
    pub fn homed_prefixes(&self) -> Result<Vec<Prefix>, ConfigError> {
        self.prefixes
            .iter()
            .map(|p| Prefix::parse(p).map_err(|e| ConfigError::Invalid(format!("node.prefixes: {p:?}: {e}"))))
            .collect()
    }
}

/// Brute-force protection of the secret keys (REST and gRPC credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Failed authentications from one client address (an IPv6 /56) that lock it out (0: no lockout).
    pub max_failures: u32,
    /// Seconds the failures are counted over, and the lockout lasts.
    pub lockout_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { max_failures: 10, lockout_secs: 300 }
    }
}

impl AuthConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_failures > 0 && !(1..=86_400).contains(&self.lockout_secs) {
            return Err(ConfigError::Invalid("auth.lockout_secs must be within 1..=86400".into()));
        }
        Ok(())
    }
}
