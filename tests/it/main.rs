//! The one integration-test binary: every test starts a real node (real RocksDB in a temp dir, real sockets on
//! loopback) and talks to it as a client would.

mod connections;
mod crash;
mod fuzz;
mod grpc_api;
mod grpc_batches;
mod grpc_interop;
mod handle_admin;
mod handle_protocol;
mod harness;
mod lockout;
mod observability;
mod openapi;
mod prometheus;
mod pyhandle;
mod rest_handle_auth;
mod rest_params;
mod rest_status;
mod rest_writes;
mod shutdown;
mod snms;
mod snms_interop;
mod stats_audit;
mod store_failure;
mod templates;
mod tls;
