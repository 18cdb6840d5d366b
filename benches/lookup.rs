//! The lookup path, layer by layer: identifier parsing, record decoding, the raw RocksDB read (the floor), and
//! the in-process resolution (identifier in, values out) on a warm store.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idnode::id::{Handle, Prefix, SuffixCase};
use idnode::node::{Caller, Filter, Node, NodeSettings};
use idnode::record::wire::decode_record;
use idnode::store::{RocksConfig, RocksStore, Space, Store};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(&cfg).unwrap());
    idnode::demo::load(store.as_ref(), "88.798", "bench").unwrap();
    let node = Node::new(
        store.clone(),
        NodeSettings { prefixes: vec![Prefix::parse("88.798").unwrap()], suffix_case: SuffixCase::Sensitive },
    );
    let keys: Vec<String> = (1..=600).map(|i| format!("88.798.{}/JDZ-2024-{i:06}", 1 + i % 5)).collect();
    let raw = store.get(Space::Handles, keys[0].as_bytes()).unwrap().unwrap();

    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_handle", |b| {
        b.iter(|| Handle::parse(std::hint::black_box(&keys[7]), SuffixCase::Sensitive).unwrap())
    });
    g.bench_function("decode_record", |b| b.iter(|| decode_record(std::hint::black_box(&raw)).unwrap()));
    let mut i = 0;
    g.bench_function("rocks_get_floor", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            store.get(Space::Handles, keys[i].as_bytes()).unwrap().unwrap()
        })
    });
    let filter = Filter { public_only: true, ..Filter::default() };
    g.bench_function("resolve_in_process", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let h = node.parse_handle(&keys[i]).unwrap();
            node.resolve(&h, &filter, &Caller::anonymous()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
