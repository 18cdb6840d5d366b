//! idnode: an industrial-internet identifier resolution node (Handle System compatible) on RocksDB.
//!
//! # Layout
//!
//! - [`id`]: identifiers (`prefix/suffix`): parse, normalize, display.
//! - [`record`]: handle values, permissions and their codecs (wire/storage bytes, JSON, `HS_ADMIN`, `HS_SITE`).
//! - [`records`]: handle records in the store: the one place that knows their key and encoding.
//! - [`store`]: the object-safe [`store::Store`] trait, `RocksStore` (the embedded default) and `MemoryStore`.
//! - [`node`]: the service core (resolve, register, authorize); knows nothing of any protocol.
//! - [`metrics`]: a Prometheus recorder per node on which each part registers its own labelled series.
//! - [`connection`]: connections that count their bytes and themselves, for every listener.
//! - [`request`]: what every door shares about a request: protocol, operation, outcome, origin, request id, the
//!   scope that records it, and load shedding.
//! - [`runtime`]: how the doors run the core's work: reads inline or on the blocking pool, reports on their own
//!   thread.
//! - [`net`]: client addresses and blocks as the limits count them, CIDR networks.
//! - [`error`]: error codes mapped once to Handle response codes and HTTP statuses.
//! - [`http`]: the Handle.Net-compatible REST API (axum), a thin adapter over [`node`].
//! - [`hdl`]: the Handle binary protocol (RFC 3652) on UDP and TCP, and its client.
//! - [`grpc`]: the gRPC API (tonic), health and reflection, a thin adapter over [`node`].
//! - [`admin`]: the admin listener's API (metrics, health and readiness, the audit log) and the node's health.
//! - [`audit`]: the durable audit log of changes and refusals, queryable by identifier, identity and time.
//! - [`config`]: TOML configuration with environment overrides: the sections, each owned by its component.
//! - [`bootstrap`]: the first administrator, created on a store without it.
//! - [`template`]: data templates (SNMS v5 model), the check of a record against one, and the shipped ceramics
//!   templates.
//! - [`demo`]: the deterministic ceramics demo data set.
//! - [`stats`]: registrations and resolutions per prefix and day, kept durably and reported.
//! - `lowprio`: threads at a lowered CPU priority with a bounded job queue (maintenance, statistics reports).
//! - [`server`]: opens the store, binds listeners, serves until shutdown.
//! - [`log`]: the node's log: `[log]` and the subscriber the binary installs.
//! - [`cli`]: the command line of the `idnode` binary.

#![warn(missing_docs)]

pub mod admin;
pub mod audit;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod connection;
pub mod demo;
pub mod error;
pub mod grpc;
pub mod hdl;
pub mod http;
pub mod id;
pub mod log;
mod lowprio;
pub mod metrics;
pub mod net;
pub mod node;
pub mod record;
pub mod records;
pub mod request;
pub mod runtime;
#[cfg(feature = "rocksdb")]
pub mod server;
pub mod stats;
pub mod store;
pub mod template;
