//! The load generator against a real node: every protocol gets right answers for existing and missing
//! identifiers, and wrong answers are counted as errors, not as throughput.

use std::time::Duration;

use idnode::config::Config;
use idnode::node::Reads;
use idnode::server::{self, Running};
use idnode_bench::dataset::DatasetSpec;
use idnode_bench::loadgen::drivers::Proto;
use idnode_bench::loadgen::keys::KeySpec;
use idnode_bench::loadgen::{LoadSpec, run};
use tempfile::TempDir;

/// A node on loopback ports over a temporary store, with `dataset` written into it.
async fn start(dataset: &DatasetSpec, reads: Reads) -> (Running, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.storage.path = dir.path().join("db");
    cfg.node.reads = reads;
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.grpc.listen = "127.0.0.1:0".parse().unwrap();
    cfg.handle.listen_udp = "127.0.0.1:0".parse().unwrap();
    cfg.handle.listen_tcp = "127.0.0.1:0".parse().unwrap();
    cfg.admin.listen = "127.0.0.1:0".parse().unwrap();
    let running = server::start(cfg, false).await.expect("node starts");
    let store = running.node.store().clone();
    let d = dataset.clone();
    tokio::task::spawn_blocking(move || d.load(store.as_ref(), 0, d.count, &mut |_| {})).await.unwrap().unwrap();
    (running, dir)
}

fn spec(proto: Proto, addr: std::net::SocketAddr, dataset: DatasetSpec, miss: f64) -> LoadSpec {
    LoadSpec {
        proto,
        addr,
        concurrency: 4,
        connections: 2,
        depth: 8,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        rate: None,
        keys: KeySpec { dataset, zipf: Some(0.99), miss_ratio: miss },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_is_driven_and_checked() {
    let dataset = DatasetSpec::new(2000, 20);
    let (running, _dir) = start(&dataset, Reads::default()).await;
    let (udp, tcp) = running.handle_addrs.unwrap();
    let grpc = running.grpc_addr.unwrap();
    for (proto, addr) in [
        (Proto::Http1, running.http_addr),
        (Proto::Http2, running.http_addr),
        (Proto::GrpcUnary, grpc),
        (Proto::GrpcStream, grpc),
        (Proto::HandleUdp, udp),
        (Proto::HandleTcp, tcp),
        (Proto::HandleUdpJava, udp),
        (Proto::HandleTcpJava, tcp),
        (Proto::HandleTcpIdpointer, tcp),
    ] {
        let r = run(spec(proto, addr, dataset.clone(), 0.1)).await.unwrap();
        assert!(r.ok > 20 && r.errors == 0, "{proto:?}: {r:?}");
        assert!(r.p50_us > 0 && r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
    }
    // a data set larger than the one loaded: the identifiers past it are answered "not found", which is wrong
    let r = run(spec(Proto::Http1, running.http_addr, DatasetSpec::new(4000, 20), 0.0)).await.unwrap();
    assert!(r.errors > 0 && r.ok > 0, "{r:?}");
    // an open loop holds its rate
    let mut fixed = spec(Proto::HandleUdp, udp, dataset, 0.0);
    fixed.rate = Some(500.0);
    fixed.duration = Duration::from_secs(1);
    let r = run(fixed).await.unwrap();
    assert!((400..=600).contains(&r.ok), "{r:?}");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_inline_and_on_the_blocking_pool_answer_the_same() {
    let dataset = DatasetSpec::new(500, 5);
    for reads in [Reads::Inline, Reads::Pool] {
        let (running, _dir) = start(&dataset, reads).await;
        let (udp, tcp) = running.handle_addrs.unwrap();
        for (proto, addr) in [
            (Proto::Http1, running.http_addr),
            (Proto::GrpcUnary, running.grpc_addr.unwrap()),
            (Proto::HandleUdp, udp),
            (Proto::HandleTcp, tcp),
        ] {
            let r = run(spec(proto, addr, dataset.clone(), 0.1)).await.unwrap();
            assert!(r.ok > 20 && r.errors == 0, "{reads:?} {proto:?}: {r:?}");
        }
        running.shutdown().await.unwrap();
    }
}
