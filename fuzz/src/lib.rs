//! The bodies of the fuzz targets, one per door, each over a node on the in-memory store with the demo data (no
//! RocksDB build). The libFuzzer targets in `fuzz_targets/` call them; the test suite runs them too, over seeds
//! and their mutations for a few seconds (`tests/it/fuzz.rs` includes this file).
//!
//! - [`handle`]: any bytes as a Handle envelope and message, or a message alone, and the answer to a challenge;
//! - [`rest`]: a REST request (method, path and query, credentials or none, a body) through the router;
//! - [`grpc`]: a gRPC call (a method, a frame of the fuzzed message) through the services.
//!
//! Each must answer in the door's own terms, without a panic and within a few seconds.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use idnode::connection::Peer;
use idnode::hdl::client::Answer;
use idnode::hdl::client::admin::{Key, answer_to};
use idnode::hdl::codec::{self, Envelope};
use idnode::hdl::{Conversation, Responder};
use idnode::id::Prefix;
use idnode::node::{Node, NodeSettings};
use idnode::request::{Credentials, Origin};
use idnode::runtime::Runtime;
use idnode::store::MemoryStore;
use tower::ServiceExt as _;

/// The enterprise account of the demo data's first prefix, `300:0.NA/88.798.1`, as HTTP Basic credentials.
const BASIC: &str = "Basic MzAwJTNBMC5OQS84OC43OTguMTpkZW1vLXNlY3JldC0x";

/// Longest an answer may take.
const PATIENCE: Duration = Duration::from_secs(5);

struct Doors {
    runtime: tokio::runtime::Runtime,
    responder: Responder,
    rest: axum::Router,
    grpc: axum::Router,
}

static DOORS: LazyLock<Doors> = LazyLock::new(|| {
    let store = Arc::new(MemoryStore::new());
    idnode::demo::load(store.as_ref(), "88.798", "fuzz").expect("demo data");
    let node = Arc::new(Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), Arc::default()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = idnode::config::HttpConfig { allow_insecure_auth: true, ..Default::default() };
    let credentials = Credentials { secure: false, allow_insecure: true };
    let (rest, grpc) = runtime.block_on(async {
        let settings = idnode::config::GrpcConfig::default();
        let grpc = idnode::grpc::routes(node.clone(), &settings, credentials, Runtime::default());
        let grpc = grpc.await.expect("gRPC routes").0.prepare().into_axum_router();
        (idnode::http::router(node.clone(), &http, Runtime::default()), grpc)
    });
    Doors { responder: Responder::new(node, Vec::new(), 1, Default::default()), rest, grpc, runtime }
});

/// The Handle protocol: any bytes must decode or be refused, and a request be answered with a well-formed
/// message.
pub fn handle(data: &[u8]) {
    let _ = codec::decode_message(data);
    let _ = codec::ResolutionRequest::decode(data);
    let _ = codec::decode_resolution(data, true);
    let _ = idnode::record::site::Site::decode(data);
    let _ = idnode::record::wire::decode_record(data);
    let _ = idnode::hdl::admin::AdminRequest::decode(u32::from(data.first().copied().unwrap_or(0)) + 100, data);
    let _ = idnode::hdl::challenge::ChallengeAnswer::decode(data);
    let Ok(env) = Envelope::decode(data) else { return };
    let message = &data[codec::ENVELOPE_LEN..];
    let mut conv = Conversation::default();
    let response = DOORS.responder.respond_in(&env, message, Origin::internal(), &mut conv);
    let Ok(answer) = codec::decode_message(&response) else { panic!("the handler answered with a malformed message") };
    // A challenge is answered, with the right secret or a wrong one (the last byte decides), and what the node
    // then says must be well-formed too.
    if answer.header.response_code == codec::rc::AUTHENTICATION_NEEDED {
        let secret: &[u8] = if data.last().is_some_and(|b| b & 1 == 0) { b"demo-secret-1" } else { b"wrong" };
        let key = Key::secret("0.NA/88.798.1", 300, secret);
        let challenge = Answer {
            envelope: conv.reply_envelope(&env),
            header: answer.header,
            body: answer.body,
            credential: answer.credential,
        };
        let Ok((env, reply)) = answer_to(&challenge, message, &key) else { return };
        let response = DOORS.responder.respond_in(&env, &reply, Origin::internal(), &mut conv);
        assert!(codec::decode_message(&response).is_ok(), "the handler answered a challenge's answer malformed");
    }
}

/// Sends `req` through `router`; returns the status, the content type and the body.
fn send(router: &axum::Router, mut req: Request<Body>) -> (u16, String, axum::body::Bytes) {
    req.extensions_mut().insert(ConnectInfo(Peer(SocketAddr::from(([127, 0, 0, 1], 40000)))));
    let answer = async {
        let r = router.clone().oneshot(req).await.expect("routers do not fail");
        let status = r.status().as_u16();
        let kind = r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = axum::body::to_bytes(r.into_body(), 64 << 20).await.expect("a body within 64 MiB");
        (status, kind, body)
    };
    DOORS.runtime.block_on(async { tokio::time::timeout(PATIENCE, answer).await.expect("answered in time") })
}

/// A REST request: the first byte picks the method and whether credentials go along, the bytes up to the
/// first NUL are the path and query, the rest is the body. Every answer is a status below 600 and, when it
/// says JSON, JSON.
pub fn rest(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else { return };
    let methods = [Method::GET, Method::PUT, Method::DELETE, Method::POST, Method::HEAD, Method::OPTIONS];
    let method = methods[usize::from(first & 7) % methods.len()].clone();
    let (target, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else { return };
    let uri = format!("/{}", target.trim_start_matches('/'));
    let mut req = Request::builder().method(method.clone()).uri(uri.as_str());
    if first & 8 != 0 {
        req = req.header(header::AUTHORIZATION, BASIC);
    }
    if first & 16 != 0 {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else { return }; // not a URI: refused before the node
    let (status, kind, body) = send(&DOORS.rest, req);
    assert!((100..600).contains(&status), "{method} {uri}: status {status}");
    if kind.starts_with("application/json") && method != Method::HEAD && !body.is_empty() {
        let parsed = serde_json::from_slice::<serde_json::Value>(&body);
        assert!(parsed.is_ok(), "{method} {uri}: {status} says JSON but is not: {:?}", String::from_utf8_lossy(&body));
    }
}

/// The gRPC methods, by path.
const METHODS: [&str; 14] = [
    "/idnode.v1.Resolver/Resolve",
    "/idnode.v1.Resolver/ResolveBatch",
    "/idnode.v1.Resolver/ResolveStream",
    "/idnode.v1.Registry/Create",
    "/idnode.v1.Registry/Replace",
    "/idnode.v1.Registry/AddValues",
    "/idnode.v1.Registry/ModifyValues",
    "/idnode.v1.Registry/RemoveValues",
    "/idnode.v1.Registry/Delete",
    "/idnode.v1.Registry/BatchRegister",
    "/idnode.v1.Registry/ListHandles",
    "/idnode.v1.Registry/ListPrefixes",
    "/idnode.v1.Statistics/GetStatistics",
    "/grpc.health.v1.Health/Check",
];

/// A gRPC call: the first byte picks the method, whether credentials go along and whether the rest is sent as
/// one well-framed message or as raw body bytes (frames of any flag and length). Every answer is HTTP 200 with
/// a `grpc-status`, or an HTTP error status.
pub fn grpc(data: &[u8]) {
    let Some((&first, message)) = data.split_first() else { return };
    let path = METHODS[usize::from(first & 15) % METHODS.len()];
    let body = if first & 32 != 0 {
        message.to_vec()
    } else {
        let mut framed = vec![0u8];
        framed.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
        framed.extend_from_slice(message);
        framed
    };
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers");
    if first & 16 != 0 {
        req = req.header(header::AUTHORIZATION, BASIC);
    }
    let (status, _, _) = send(&DOORS.grpc, req.body(Body::from(body)).unwrap());
    assert!((200..600).contains(&status), "{path}: HTTP status {status}");
}
