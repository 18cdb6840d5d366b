//! The fuzz targets (`fuzz/src/lib.rs`, included as they are) run in the suite: over hand-made seeds of each
//! door, then over random mutations of them (flipped, inserted, removed and duplicated bytes, splices) with a
//! fixed seed, for at most `BUDGET` per target. `cargo fuzz` runs the same bodies for as long as one likes (the
//! README has the command).

use std::time::{Duration, Instant};

use idnode::grpc::pb;
use prost::Message as _;
use rand::{Rng, SeedableRng, rngs::StdRng};

#[path = "../../fuzz/src/lib.rs"]
mod targets;

/// Time each target gets after its seeds.
const BUDGET: Duration = Duration::from_secs(3);
/// Mutations each target gets at most.
const MUTATIONS: usize = 20_000;

/// One request of `bytes` with the target's leading control byte.
fn seed(control: u8, bytes: &[u8]) -> Vec<u8> {
    [&[control][..], bytes].concat()
}

fn rest_seeds() -> Vec<Vec<u8>> {
    const GET: u8 = 0;
    const PUT: u8 = 1 | 8 | 16;
    const DELETE: u8 = 2 | 8;
    let value = r#"{"index":1,"type":"URL","data":{"format":"string","value":"https://trace.example.cn/x"}}"#;
    let admin = r#"{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/88.798.1","index":300,"permissions":"011111110011"}}}"#;
    vec![
        seed(GET, b"api/handles/88.798.1/JDZ-2024-000123?type=URL&index=2000&pretty"),
        seed(GET | 8, b"api/handles?prefix=88.798.1&page=0&pageSize=5"),
        seed(GET | 8, b"api/handles/0.NA/88.798.1?publicOnly=false&callback=cb"),
        seed(GET, b"api/stats?from=2026-11-01&to=2026-11-30&top=5&prefix=88.798.1"),
        seed(PUT, format!("api/handles/88.798.1/FUZZ-1\0{{\"values\":[{value},{admin}]}}").as_bytes()),
        seed(PUT, format!("api/handles/88.798.1/FUZZ-1?index=2&overwrite=true\0[{value}]").as_bytes()),
        seed(DELETE, b"api/handles/88.798.1/FUZZ-1?index=1"),
        seed(DELETE, b"api/handles/88.798.1/FUZZ-1"),
        seed(5, b"api/handles/88.798.1/JDZ-2024-000123"),
    ]
}

fn grpc_seeds() -> Vec<Vec<u8>> {
    let value = pb::HandleValue {
        index: 1,
        r#type: "URL".into(),
        data: b"https://trace.example.cn/x".to_vec(),
        format: pb::DataFormat::String as i32,
        ..Default::default()
    };
    let resolve = pb::ResolveRequest {
        handle: "88.798.1/JDZ-2024-000123".into(),
        types: vec!["URL".into()],
        ..Default::default()
    };
    let create = pb::CreateRequest {
        handle: "88.798.1/FUZZ-G".into(),
        values: vec![value.clone()],
        overwrite: true,
        ..Default::default()
    };
    let values = pb::ValuesRequest { handle: "88.798.1/FUZZ-G".into(), values: vec![value] };
    vec![
        seed(0, &resolve.encode_to_vec()),
        seed(1, &pb::ResolveBatchRequest { requests: vec![resolve.clone(), resolve.clone()] }.encode_to_vec()),
        seed(2, &resolve.encode_to_vec()),
        seed(3 | 16, &create.encode_to_vec()),
        seed(5 | 16, &values.encode_to_vec()),
        seed(6 | 16, &values.encode_to_vec()),
        seed(10 | 16, &pb::ListHandlesRequest { prefix: "88.798.1".into() }.encode_to_vec()),
        seed(11, &pb::ListPrefixesRequest::default().encode_to_vec()),
        seed(12, &[]),
        seed(32, &[0, 0, 0, 0, 5, 10, 3, b'8', b'8', b'.']),
    ]
}

fn handle_seeds() -> Vec<Vec<u8>> {
    let body =
        idnode::hdl::codec::ResolutionRequest { handle: b"88.798.1/JDZ-2024-000123".to_vec(), ..Default::default() }
            .encode();
    let (env, message) = idnode::hdl::client::request_bytes(7, 10, idnode::hdl::codec::op::RESOLUTION, 0, &body);
    let framed = |env: idnode::hdl::codec::Envelope, message: &[u8]| {
        let mut framed = Vec::new();
        env.encode(&mut framed);
        framed.extend_from_slice(message);
        framed
    };
    let mut seeds = vec![framed(env, &message), message];
    // the administrative requests, each challenged (and the challenge answered, by the target)
    use idnode::hdl::admin::AdminRequest;
    let value = idnode::record::HandleValue::new(1, "URL", b"https://trace.example.cn/x".as_slice(), 0);
    let h = "88.798.1/FUZZ-1".to_owned();
    for (request, flags) in [
        (AdminRequest::Create(h.clone(), vec![value.clone()]), 0),
        (AdminRequest::Create("88.798.1/M-".into(), vec![value.clone()]), idnode::hdl::codec::opflag::MINT),
        (AdminRequest::AddValues("88.798.1/JDZ-2024-000123".into(), vec![value.clone()]), 0),
        (AdminRequest::ModifyValues("88.798.1/JDZ-2024-000123".into(), vec![value]), 0),
        (AdminRequest::RemoveValues("88.798.1/JDZ-2024-000123".into(), vec![1]), 0),
        (AdminRequest::Delete(h), 0),
        (AdminRequest::Login("0.NA/88.798.1".into(), 300), 0),
        (AdminRequest::List("0.NA/88.798.1".into()), 0),
        (AdminRequest::ListPrefixes("/".into()), 0),
    ] {
        for minor in [11, 0] {
            let (mut env, message) =
                idnode::hdl::client::request_bytes(8, minor, request.opcode(), flags, &request.encode());
            if minor == 0 {
                env.flags = 0; // suggesting nothing: answered at 2.0, in the oldest forms
            }
            let mut seed = framed(env, &message);
            seed.push(minor & 1); // the target's right-or-wrong-secret byte
            seeds.push(seed);
        }
    }
    seeds
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=data.len());
        match rng.random_range(0..5) {
            0 if at < data.len() => data[at] ^= 1 << rng.random_range(0..8),
            1 => data.insert(at, rng.random()),
            2 if at < data.len() => {
                data.remove(at);
            }
            3 => {
                let end = rng.random_range(at..=data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            _ => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..=other.len());
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
        }
    }
    data
}

fn run(name: &str, target: fn(&[u8]), seeds: Vec<Vec<u8>>) {
    for s in &seeds {
        target(s);
    }
    let mut rng = StdRng::seed_from_u64(15);
    let start = Instant::now();
    let mut runs = 0;
    while runs < MUTATIONS && start.elapsed() < BUDGET {
        let data = mutate(&mut rng, &seeds);
        let caught = std::panic::catch_unwind(|| target(&data));
        assert!(caught.is_ok(), "{name}: input {data:?} failed (seed 15, run {runs})");
        runs += 1;
    }
    eprintln!("fuzz {name}: {} seeds, {runs} mutations in {:.1} s", seeds.len(), start.elapsed().as_secs_f64());
}

#[test]
fn handle_decoders_and_handler() {
    run("handle", targets::handle, handle_seeds());
}

#[test]
fn rest_requests() {
    run("rest", targets::rest, rest_seeds());
}

#[test]
fn grpc_calls() {
    run("grpc", targets::grpc, grpc_seeds());
}
