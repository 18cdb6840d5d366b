//! The lookup path on a warm store: `RocksStore::get` against the raw `rocksdb` get of the same keys (the floor),
//! the core's resolution (identifier in, values out) with the record cache warm and without a record cache, and
//! the whole in-process answer (identifier in, response bytes out) of the REST router and of the Handle protocol
//! responder. The demo data set (3,006 records).

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idnode::hdl::Responder;
use idnode::hdl::client::resolution_request;
use idnode::http::{self, HttpConfig};
use idnode::id::Prefix;
use idnode::node::{Caller, Filter, Node, NodeSettings};
use idnode::store::{RocksConfig, RocksStore, Space, Store};
use tower::ServiceExt as _;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    let store = Arc::new(RocksStore::open(&cfg).unwrap());
    idnode::demo::load(store.as_ref(), "88.798", "bench").unwrap();
    store.compact().unwrap();
    let store: Arc<dyn Store> = store;
    let settings = NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]);
    let node = Arc::new(Node::new(store.clone(), settings.clone(), Arc::default()));
    let uncached = Node::new(store.clone(), NodeSettings { record_cache_bytes: 0, ..settings }, Arc::default());
    let keys: Vec<String> = (1..=600).map(|i| format!("88.798.{}/JDZ-2024-{i:06}", 1 + i % 5)).collect();
    // The floor: the same database, opened read-only through the rocksdb crate with default options.
    let raw = rocksdb::DB::open_cf_for_read_only(&rocksdb::Options::default(), &cfg.path, ["handles"], false).unwrap();
    let raw_cf = raw.cf_handle("handles").unwrap();

    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    let mut next = || {
        i = (i + 1) % keys.len();
        keys[i].as_str()
    };
    g.bench_function("raw_rocksdb_get_floor", |b| b.iter(|| raw.get_cf(&raw_cf, next().as_bytes()).unwrap().unwrap()));
    g.bench_function("rocks_store_get", |b| b.iter(|| store.get(Space::Handles, next().as_bytes()).unwrap().unwrap()));
    let filter = Filter { public_only: true, ..Filter::default() };
    g.bench_function("resolve_in_process", |b| {
        b.iter(|| {
            let h = node.parse_handle(next()).unwrap();
            node.resolve(&h, &filter, &Caller::anonymous()).unwrap()
        })
    });
    g.bench_function("resolve_in_process_uncached", |b| {
        b.iter(|| {
            let h = uncached.parse_handle(next()).unwrap();
            uncached.resolve(&h, &filter, &Caller::anonymous()).unwrap()
        })
    });
    let responder = Responder::new(node.clone(), Vec::new(), 1, Default::default());
    g.bench_function("handle_answer_in_process", |b| {
        b.iter(|| {
            let (env, msg) = resolution_request(7, next(), &[], &[], false);
            responder.respond(&env, &msg)
        })
    });
    let router = http::router(node.clone(), &HttpConfig { cors: false, ..HttpConfig::default() }, Default::default());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    g.bench_function("rest_answer_in_process", |b| {
        b.iter(|| {
            let req = axum::http::Request::get(format!("/api/handles/{}", next())).body(axum::body::Body::empty());
            rt.block_on(async {
                let resp = router.clone().oneshot(req.unwrap()).await.unwrap();
                axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
