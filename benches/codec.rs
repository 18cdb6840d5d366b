//! The codecs of the lookup path: identifier parsing and normalization, and a demo product record (22 values,
//! Chinese text) decoded from and encoded to storage bytes, and encoded as the REST JSON, the gRPC protobuf and
//! the Handle wire answer.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idnode::grpc::{convert, pb};
use idnode::hdl::codec::encode_resolution;
use idnode::http::json::value_json;
use idnode::id::{Handle, SuffixCase};
use idnode::record::wire::{decode_record, encode_record};
use prost::Message as _;

fn bench(c: &mut Criterion) {
    let handle = "88.798.1/JDZ-2024-000123";
    let values = idnode::demo::product_record(123, 0, "88.798.1", handle);
    let stored = encode_record(handle, &values);
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_handle_sensitive", |b| {
        b.iter(|| Handle::parse(std::hint::black_box(handle), SuffixCase::Sensitive).unwrap())
    });
    g.bench_function("parse_handle_insensitive", |b| {
        b.iter(|| Handle::parse(std::hint::black_box("88.798.1/jdz-2024-000123"), SuffixCase::Insensitive).unwrap())
    });
    g.bench_function("storage_decode", |b| b.iter(|| decode_record(std::hint::black_box(&stored)).unwrap()));
    g.bench_function("storage_encode", |b| b.iter(|| encode_record(handle, std::hint::black_box(&values))));
    // The REST answer's shape, as the handler serializes it.
    #[derive(serde::Serialize)]
    struct Resolved<'a> {
        #[serde(rename = "responseCode")]
        response_code: u32,
        handle: &'a str,
        values: Vec<idnode::http::json::ValueJson<'a>>,
    }
    g.bench_function("rest_json_encode", |b| {
        b.iter(|| {
            let body = Resolved { response_code: 1, handle, values: values.iter().map(value_json).collect() };
            serde_json::to_vec(&body).unwrap()
        })
    });
    g.bench_function("grpc_protobuf_encode", |b| {
        b.iter(|| {
            pb::ResolveResponse {
                handle: handle.into(),
                response_code: 1,
                values: values.iter().map(convert::value_out).collect(),
                ..Default::default()
            }
            .encode_to_vec()
        })
    });
    g.bench_function("handle_wire_encode", |b| {
        b.iter(|| encode_resolution(None, handle.as_bytes(), std::hint::black_box(&values).iter()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
