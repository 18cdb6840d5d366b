//! Configuration: TOML with `deny_unknown_fields`, defaults for everything, environment overrides
//! (`IDNODE_*`), and [`Config::validate`]. `deploy/idnode.toml` is the annotated example.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::admin::AdminConfig;
pub use crate::audit::AuditConfig;
pub use crate::bootstrap::BootstrapConfig;
pub use crate::connection::ConnectionConfig;
pub use crate::error::ConfigError;
pub use crate::grpc::GrpcConfig;
pub use crate::hdl::HandleConfig;
pub use crate::http::HttpConfig;
pub use crate::log::LogConfig;
pub use crate::node::{AuthConfig, NodeConfig};
pub use crate::stats::StatsConfig;
use crate::store::RocksConfig;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Identity of the node: prefixes and identifier rules.
    pub node: NodeConfig,
    /// The RocksDB store.
    pub storage: RocksConfig,
    /// The REST listener.
    pub http: HttpConfig,
    /// The gRPC API.
    pub grpc: GrpcConfig,
    /// The Handle binary protocol (RFC 3652).
    pub handle: HandleConfig,
    /// The caps and timeouts of every TCP listener's connections.
    pub connections: ConnectionConfig,
    /// The first administrator, created on an empty store.
    pub bootstrap: BootstrapConfig,
    /// The admin listener (metrics, health, audit).
    pub admin: AdminConfig,
    /// Statistics.
    pub statistics: StatsConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// The lockout of addresses that fail authentication.
    pub auth: AuthConfig,
    /// The node's log.
    pub log: LogConfig,
}

impl Config {
    /// The configuration of a node started with the file `file` (else the file `IDNODE_CONFIG` names, else none):
    /// the defaults, then the file, then the `IDNODE_*` variables `get` reads (the process environment in the
    /// binary). Every variable is read here and nowhere else; flags, applied by the caller, override them.
    pub fn from_env(file: Option<&Path>, get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let named = get("IDNODE_CONFIG").map(PathBuf::from);
        let mut cfg = match file.or(named.as_deref()) {
            Some(path) => Self::load(path)?,
            None => Self::default(),
        };
        cfg.apply_env(get)?;
        Ok(cfg)
    }

    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        Ok(toml::from_str(&text)?)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let yes = |v: &str| matches!(v, "1" | "true" | "yes");
        if let Some(v) = get("IDNODE_DATA_DIR") {
            self.storage.path = v.into();
        }
        if let Some(v) = get("IDNODE_HTTP_LISTEN") {
            self.http.listen =
                v.parse().map_err(|_| ConfigError::Invalid(format!("IDNODE_HTTP_LISTEN={v:?} is not an address")))?;
        }
        if let Some(v) = get("IDNODE_GRPC_LISTEN") {
            self.grpc.listen =
                v.parse().map_err(|_| ConfigError::Invalid(format!("IDNODE_GRPC_LISTEN={v:?} is not an address")))?;
        }
        if let Some(v) = get("IDNODE_HANDLE_LISTEN") {
            let a: SocketAddr =
                v.parse().map_err(|_| ConfigError::Invalid(format!("IDNODE_HANDLE_LISTEN={v:?} is not an address")))?;
            self.handle.listen_udp = a;
            self.handle.listen_tcp = a;
        }
        if let Some(v) = get("IDNODE_PREFIXES") {
            self.node.prefixes = v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        }
        if let Some(v) = get("IDNODE_ADMIN_SECRET") {
            self.bootstrap.admin_secret = Some(v);
        }
        if let Some(v) = get("IDNODE_ADMIN_LISTEN") {
            self.admin.listen =
                v.parse().map_err(|_| ConfigError::Invalid(format!("IDNODE_ADMIN_LISTEN={v:?} is not an address")))?;
        }
        if let Some(v) = get("IDNODE_ALLOW_INSECURE_AUTH") {
            self.http.allow_insecure_auth = yes(&v);
        }
        if let Some(v) = get("IDNODE_LOG_JSON") {
            self.log.json = yes(&v);
        }
        Ok(())
    }

    /// Checks values that serde cannot, section by section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.node.validate()?;
        self.http.validate()?;
        self.grpc.validate()?;
        self.handle.validate()?;
        self.connections.validate()?;
        self.bootstrap.validate(self.node.suffix_case)?;
        self.statistics.validate()?;
        self.audit.validate()?;
        self.auth.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_unknown_keys_are_refused() {
        Config::default().validate().unwrap();
        let err = toml::from_str::<Config>("[http]\nlisten = \"127.0.0.1:1\"\nbogus = 1\n").unwrap_err();
        assert!(err.to_string().contains("bogus"));
    }

    #[test]
    fn example_config_parses() {
        let c = Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/idnode.toml"))).unwrap();
        c.validate().unwrap();
    }

    #[test]
    fn env_overrides_apply() {
        let c = Config::from_env(None, |k| match k {
            "IDNODE_PREFIXES" => Some("88.798, 88.799".into()),
            "IDNODE_HTTP_LISTEN" => Some("127.0.0.1:9".into()),
            "IDNODE_LOG_JSON" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.node.prefixes, vec!["88.798", "88.799"]);
        assert_eq!(c.http.listen.port(), 9);
        assert!(c.log.json);
        assert!(Config::from_env(None, |k| (k == "IDNODE_HTTP_LISTEN").then(|| "nope".into())).is_err());
    }

    #[test]
    fn the_file_comes_from_the_flag_or_idnode_config_and_the_variables_win() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/idnode.toml");
        let named = |k: &str| match k {
            "IDNODE_CONFIG" => Some(example.to_owned()),
            "IDNODE_DATA_DIR" => Some("/srv/idnode".to_owned()),
            _ => None,
        };
        let c = Config::from_env(None, named).unwrap();
        assert_eq!(c.storage.path, PathBuf::from("/srv/idnode"), "a variable overrides the file");
        assert_eq!(c.statistics.flush_interval_secs, 10);
        let missing = Config::from_env(Some(Path::new("/nonexistent/idnode.toml")), named).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/idnode.toml"), "the flag's file wins: {missing}");
    }

    #[test]
    fn bad_values_are_explained() {
        let mut c = Config::default();
        c.node.prefixes = vec!["88..1".into()];
        assert!(c.validate().unwrap_err().to_string().contains("88..1"));
        let mut c = Config::default();
        c.http.tls_cert = Some("x".into());
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.handle.udp_unlimited_sources = vec!["10.0.0.0/8".into(), "10.0.0.0".into()];
        assert!(c.validate().unwrap_err().to_string().contains("udp_unlimited_sources"));
        for secs in [0, u64::MAX] {
            let mut c = Config::default();
            c.auth.lockout_secs = secs;
            assert!(c.validate().unwrap_err().to_string().contains("auth.lockout_secs"), "{secs}");
            c.auth.max_failures = 0;
            c.validate().unwrap();
        }
    }
}
