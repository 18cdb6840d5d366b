//! The command line of `idnode-bench`: `run` (the load generator), `load-dataset` (the benchmark data set) and
//! `register` (the write benchmark).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::dataset::DatasetSpec;
use crate::loadgen::drivers::Proto;
use crate::loadgen::keys::KeySpec;
use crate::loadgen::{LoadSpec, Report};

/// idnode-bench: drives an idnode node with load and writes the data set it is measured on.
#[derive(Debug, Parser)]
#[command(name = "idnode-bench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive a running node with load over one protocol and report throughput and latency percentiles.
    Run(RunArgs),
    /// Write the benchmark data set (millions of ceramic identifiers) into a store directory.
    LoadDataset(LoadArgs),
    /// Write templated product records to a running node, in batches or one by one, and report latency and rate.
    Register(crate::register::RegisterArgs),
}

/// The data set a node holds (both commands must agree).
#[derive(Debug, Clone, clap::Args)]
pub struct DatasetArgs {
    /// Identifiers in the data set.
    #[arg(long, default_value_t = 1_000_000)]
    pub count: u64,
    /// Enterprise prefixes they are spread over.
    #[arg(long, default_value_t = 2000)]
    pub enterprises: u64,
}

impl DatasetArgs {
    /// The spec.
    pub fn spec(&self) -> DatasetSpec {
        DatasetSpec::new(self.count, self.enterprises)
    }
}

/// Options of `idnode-bench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The protocol.
    #[arg(long, value_enum)]
    pub proto: Proto,
    /// The node's listener for that protocol.
    #[arg(long)]
    pub target: SocketAddr,
    /// Requests in flight (workers).
    #[arg(long, short = 'c', default_value_t = 32)]
    pub concurrency: usize,
    /// Connections shared by workers (HTTP/2, gRPC unary).
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// gRPC stream: requests in flight per stream.
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
    /// Seconds measured.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Total requests per second (open loop; default: closed loop, as fast as answered).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Zipf exponent of the key popularity (default: uniform).
    #[arg(long)]
    pub zipf: Option<f64>,
    /// Share of requests for identifiers that do not exist.
    #[arg(long, default_value_t = 0.0)]
    pub miss: f64,
    /// Print the report as one JSON line (the timeline included).
    #[arg(long)]
    pub json: bool,
    /// Print the latency timeline too: answers, p50, p99 and max for each second of the run.
    #[arg(long)]
    pub timeline: bool,
    /// With `--proto etcd-range`: first put the data set's identifiers into etcd, with values of this many bytes.
    #[arg(long)]
    pub etcd_preload: Option<usize>,
    /// The data set.
    #[command(flatten)]
    pub dataset: DatasetArgs,
}

/// Runs `idnode-bench run`; returns the report's text.
pub async fn run(a: &RunArgs) -> anyhow::Result<String> {
    anyhow::ensure!((0.0..=1.0).contains(&a.miss), "--miss is a share between 0 and 1");
    let spec = LoadSpec {
        proto: a.proto,
        addr: a.target,
        concurrency: a.concurrency,
        connections: a.connections,
        depth: a.depth,
        duration: Duration::from_secs_f64(a.duration),
        warmup: Duration::from_secs_f64(a.warmup),
        rate: a.rate,
        keys: KeySpec { dataset: a.dataset.spec(), zipf: a.zipf, miss_ratio: a.miss },
    };
    if let (Proto::EtcdRange, Some(len)) = (a.proto, a.etcd_preload) {
        let d = a.dataset.spec();
        let keys = (0..d.count).map(|i| d.handle(i)).collect();
        crate::loadgen::drivers::etcd_preload(a.target, keys, len, 64).await?;
    }
    let r: Report = crate::loadgen::run(spec).await?;
    if a.proto == Proto::HandleUdpJava {
        use crate::loadgen::java_client::{FALLBACKS, RETRIES};
        use std::sync::atomic::Ordering::Relaxed;
        eprintln!(
            "as the Java client: {} UDP resends, {} fallbacks to TCP",
            RETRIES.load(Relaxed),
            FALLBACKS.load(Relaxed)
        );
    }
    Ok(match (a.json, a.timeline) {
        (true, _) => serde_json::to_string(&r)?,
        (false, true) => format!("{r}\n{}", r.timeline_table()),
        (false, false) => r.to_string(),
    })
}

/// Options of `idnode-bench load-dataset`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Data directory of the RocksDB store (created if needed).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The data set.
    #[command(flatten)]
    pub dataset: DatasetArgs,
}

/// Runs `idnode-bench load-dataset`: writes the data set (WAL without fsync, then flushed and compacted).
pub fn load(a: &LoadArgs) -> anyhow::Result<String> {
    use idnode::store::{Durability, RocksConfig, RocksStore};
    use std::time::Instant;
    std::fs::create_dir_all(&a.data_dir)?;
    let cfg = RocksConfig { path: a.data_dir.clone(), durability: Durability::Buffered, ..RocksConfig::default() };
    let store = RocksStore::open(&cfg)?;
    let spec = a.dataset.spec();
    let start = Instant::now();
    let mut last = Instant::now();
    let n = spec.load(&store, 0, spec.count, &mut |done| {
        if last.elapsed() > Duration::from_secs(5) {
            last = Instant::now();
            eprintln!("{done} identifiers, {:.0}/s", done as f64 / start.elapsed().as_secs_f64());
        }
    })?;
    let loaded = start.elapsed();
    store.compact()?;
    Ok(format!(
        "{n} identifiers loaded in {:.1} s ({:.0}/s), compacted in {:.1} s, into {}",
        loaded.as_secs_f64(),
        n as f64 / loaded.as_secs_f64(),
        (start.elapsed() - loaded).as_secs_f64(),
        a.data_dir.display()
    ))
}
