//! The command line of the `idnode` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

pub mod admin;
pub mod resolve;

/// An outcome as the commands print it: the REST API's JSON shape and field order.
#[derive(serde::Serialize)]
struct Printed<'a> {
    #[serde(rename = "responseCode")]
    response_code: u32,
    handle: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<crate::http::json::ValueJson<'a>>>,
}

/// idnode: industrial-internet identifier resolution node.
#[derive(Debug, Parser)]
#[command(name = "idnode", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST and gRPC APIs.
    Serve(ServeArgs),
    /// Resolve an identifier at a node, over the Handle protocol (UDP or TCP) or HTTP, and print its values as JSON.
    Resolve(ResolveArgs),
    /// Create, change or delete an identifier at a node over the Handle protocol, authenticated with a key.
    Admin(AdminArgs),
    /// Make an RSA key pair: the private key into a PEM file, and the HS_PUBKEY value to register printed as JSON.
    Keygen(KeygenArgs),
    /// Check a configuration file and print it with defaults filled in.
    CheckConfig {
        /// The TOML file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// Options of `idnode serve`; flags override the file, which overrides defaults.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration (see deploy/idnode.toml).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Data directory of the RocksDB store.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address of the REST listener, e.g. 127.0.0.1:8000.
    #[arg(long)]
    pub http: Option<SocketAddr>,
    /// Address of the gRPC listener, e.g. 127.0.0.1:50051.
    #[arg(long)]
    pub grpc: Option<SocketAddr>,
    /// Address of the Handle protocol listeners (UDP and TCP), e.g. 127.0.0.1:2641.
    #[arg(long)]
    pub handle: Option<SocketAddr>,
    /// Load the ceramics demo data set when the store is empty.
    #[arg(long)]
    pub demo: bool,
    /// Accept credentials over plain HTTP (loopback development and tests only).
    #[arg(long)]
    pub allow_insecure_auth: bool,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Address of the admin listener (metrics, health, audit), e.g. 127.0.0.1:9180.
    #[arg(long)]
    pub admin: Option<SocketAddr>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

impl ServeArgs {
    /// The configuration: defaults, then the file, then `IDNODE_*` variables, then flags.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut cfg = Config::from_env(self.config.as_deref(), |k| std::env::var(k).ok())?;
        if let Some(d) = &self.data_dir {
            cfg.storage.path = d.clone();
        }
        if let Some(a) = self.http {
            cfg.http.listen = a;
        }
        if let Some(a) = self.grpc {
            cfg.grpc.listen = a;
        }
        if let Some(a) = self.handle {
            cfg.handle.listen_udp = a;
            cfg.handle.listen_tcp = a;
        }
        if let Some(a) = self.admin {
            cfg.admin.listen = a;
        }
        if self.allow_insecure_auth {
            cfg.http.allow_insecure_auth = true;
        }
        if self.log_json {
            cfg.log.json = true;
        }
        if self.tls_cert.is_some() {
            cfg.http.tls_cert = self.tls_cert.clone();
            cfg.http.tls_key = self.tls_key.clone();
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Options of `idnode resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The identifier, e.g. 88.798.1/JDZ-2024-000123.
    pub handle: String,
    /// The node: host:port (default 127.0.0.1:2641, or 127.0.0.1:8000 with --http).
    #[arg(long)]
    pub server: Option<String>,
    /// Over UDP (the default).
    #[arg(long, conflicts_with_all = ["tcp", "http"])]
    pub udp: bool,
    /// Over TCP.
    #[arg(long, conflicts_with = "http")]
    pub tcp: bool,
    /// Over the REST API.
    #[arg(long)]
    pub http: bool,
    /// Only values at these indexes (repeatable).
    #[arg(long)]
    pub index: Vec<u32>,
    /// Only values of these types (repeatable; a trailing '.' matches subtypes).
    #[arg(long = "type")]
    pub types: Vec<String>,
}

/// What `idnode admin` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdminOp {
    /// Create the handle with the values (`--overwrite` replaces an existing one; `--mint` picks the suffix).
    Create,
    /// Add the values to the handle.
    Add,
    /// Replace the values at their indexes.
    Modify,
    /// Remove the values at `--index`.
    Remove,
    /// Delete the handle.
    Delete,
    /// List the handles under a prefix (the handle argument: `0.NA/88.798.1` or `88.798.1`; TCP only).
    List,
}

/// Options of `idnode admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// The operation.
    #[arg(value_enum)]
    pub op: AdminOp,
    /// The identifier, e.g. 88.798.1/JDZ-2024-000777 (with --mint, its start: 88.798.1/JDZ-; with list, the prefix).
    pub handle: String,
    /// The identity that authenticates, index:handle, e.g. 300:0.NA/88.798.1.
    #[arg(long)]
    pub id: String,
    /// File holding the identity's secret key (else the variable IDNODE_SECRET).
    #[arg(long, conflicts_with = "private_key")]
    pub secret_file: Option<PathBuf>,
    /// PEM file of the identity's RSA private key (PKCS#8 or PKCS#1), whose public key is its HS_PUBKEY.
    #[arg(long)]
    pub private_key: Option<PathBuf>,
    /// A value INDEX:TYPE:TEXT (repeatable), e.g. 1:URL:https://example.cn/p/777.
    #[arg(long = "value")]
    pub values: Vec<String>,
    /// An index to remove (repeatable).
    #[arg(long)]
    pub index: Vec<u32>,
    /// Create: replace an existing handle. Add: replace values at existing indexes.
    #[arg(long)]
    pub overwrite: bool,
    /// Create: let the node pick the rest of the handle.
    #[arg(long)]
    pub mint: bool,
    /// The node's Handle port, host:port (default 127.0.0.1:2641).
    #[arg(long)]
    pub server: Option<String>,
    /// Over UDP (default: TCP).
    #[arg(long)]
    pub udp: bool,
}

/// Options of `idnode keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where the private key goes (PKCS#8 PEM, readable by its owner only); an existing file is not replaced.
    #[arg(long)]
    pub out: PathBuf,
    /// The index the printed HS_PUBKEY value is for.
    #[arg(long, default_value_t = 300)]
    pub index: u32,
    /// The modulus size in bits.
    #[arg(long, default_value_t = 2048)]
    pub bits: usize,
}
