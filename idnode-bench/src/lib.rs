//! idnode-bench: the load generator and the benchmark data set of idnode, kept out of the server library.
//!
//! - [`dataset`]: the deterministic benchmark data set (millions of ceramic identifiers named by number).
//! - [`loadgen`]: the load generator (every protocol, closed or open loop, HDR histograms).
//! - [`register`]: the write benchmark (batches over gRPC and SNMS, single REST writes).
//! - [`cli`]: the command line of the `idnode-bench` binary.

#![warn(missing_docs)]

pub mod cli;
pub mod dataset;
pub mod loadgen;
pub mod register;
