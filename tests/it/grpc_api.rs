//! The gRPC API through a real tonic client: every RPC, streams, batches with mixed results, permissions,
//! malformed requests, limits, health, reflection, and agreement with the REST API.

use base64::Engine as _;
use idnode::grpc::pb;
use idnode::grpc::pb::registry_client::RegistryClient;
use idnode::grpc::pb::resolver_client::ResolverClient;
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::harness::*;

const H: &str = "88.798.1/JDZ-2024-000123";

pub fn authed<T>(msg: T, (user, secret): (&str, &str)) -> Request<T> {
    let mut r = Request::new(msg);
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    r.metadata_mut().insert("authorization", format!("Basic {token}").parse().unwrap());
    r
}

pub async fn channel(n: &TestNode) -> Channel {
    let addr = n.running.as_ref().unwrap().grpc_addr.unwrap();
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

pub fn rc(s: &Status) -> u32 {
    s.metadata().get("idnode-response-code").unwrap().to_str().unwrap().parse().unwrap()
}

#[track_caller]
pub fn expect_status<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, response_code: u32) -> Status {
    let s = r.expect_err("an error status");
    assert_eq!((s.code(), rc(&s)), (code, response_code), "{s:?}");
    let details: pb::Error = prost::Message::decode(s.details()).unwrap();
    assert_eq!(details.response_code, response_code);
    assert!(!details.message.is_empty());
    s
}

pub fn url(index: u32, u: &str) -> pb::HandleValue {
    pb::HandleValue { index, r#type: "URL".into(), data: u.as_bytes().to_vec(), ..Default::default() }
}

pub fn resolve_req(h: &str) -> pb::ResolveRequest {
    pb::ResolveRequest { handle: h.into(), ..Default::default() }
}

#[tokio::test]
async fn resolution_rpcs() {
    let n = TestNode::start().await;
    let mut c = ResolverClient::new(channel(&n).await);
    let r = c.resolve(resolve_req(H)).await.unwrap().into_inner();
    assert_eq!((r.handle.as_str(), r.response_code), (H, 1));
    let admin = r.values.iter().find(|v| v.r#type == "HS_ADMIN").unwrap();
    assert_eq!(admin.format, pb::DataFormat::Admin as i32);
    assert_eq!(admin.admin.as_ref().unwrap().handle, "0.NA/88.798.1");
    let f = pb::ResolveRequest { handle: H.into(), indexes: vec![1], types: vec!["glaze".into()], public_only: None };
    let r = c.resolve(f).await.unwrap().into_inner();
    assert_eq!(r.values.iter().map(|v| v.index).collect::<Vec<_>>(), vec![1, 2004]);
    // per-identifier outcomes are values
    for (h, code) in [("88.798.1/NOPE", 100), ("10.1000/x", 301), ("88..1/x", 102)] {
        let r = c.resolve(resolve_req(h)).await.unwrap().into_inner();
        assert_eq!((r.response_code, r.error.unwrap().response_code), (code, code), "{h}");
    }
    let r = c
        .resolve(pb::ResolveRequest { handle: H.into(), types: vec!["EMAIL".into()], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.response_code, r.values.len()), (200, 0));
    // secrets: only for authorized readers
    let secret = |r: pb::ResolveResponse| r.values.iter().any(|v| v.r#type == "HS_SECKEY");
    assert!(!secret(c.resolve(resolve_req("0.NA/88.798.1")).await.unwrap().into_inner()));
    assert!(secret(c.resolve(authed(resolve_req("0.NA/88.798.1"), E1)).await.unwrap().into_inner()));
    expect_status(c.resolve(authed(resolve_req(H), (E1.0, "wrong"))).await, Code::Unauthenticated, 403);
    // batch: one result per identifier, in order
    let reqs = ["88.798.1/JDZ-2024-000001", "88.798.1/NOPE", "10.1000/x", "88.798.2/JDZ-2024-000002"]
        .map(resolve_req)
        .to_vec();
    let b = c.resolve_batch(pb::ResolveBatchRequest { requests: reqs }).await.unwrap().into_inner();
    assert_eq!(
        b.results.iter().map(|r| (r.handle.as_str(), r.response_code)).collect::<Vec<_>>(),
        vec![
            ("88.798.1/JDZ-2024-000001", 1),
            ("88.798.1/NOPE", 100),
            ("10.1000/x", 301),
            ("88.798.2/JDZ-2024-000002", 1)
        ]
    );
    let too_many = vec![resolve_req(H); 1001];
    let s = expect_status(
        c.resolve_batch(pb::ResolveBatchRequest { requests: too_many }).await,
        Code::InvalidArgument,
        202,
    );
    assert!(s.message().contains("1000"));
    // bidirectional stream
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut out = c.resolve_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    for i in 1..=50 {
        tx.send(resolve_req(&format!("88.798.3/JDZ-2024-{i:06}"))).await.unwrap();
        let r = out.message().await.unwrap().unwrap();
        assert_eq!((r.handle, r.response_code), (format!("88.798.3/JDZ-2024-{i:06}"), 1));
    }
    tx.send(resolve_req("88.798.3/NOPE")).await.unwrap();
    assert_eq!(out.message().await.unwrap().unwrap().response_code, 100);
    drop(tx);
    assert!(out.message().await.unwrap().is_none());
    n.stop().await;
}

#[tokio::test]
async fn registration_rpcs() {
    let n = TestNode::start().await;
    let mut c = RegistryClient::new(channel(&n).await);
    let h = "88.798.1/G-1";
    let create = |values: Vec<pb::HandleValue>, overwrite| pb::CreateRequest {
        handle: h.into(),
        values,
        overwrite,
        ..Default::default()
    };
    expect_status(c.create(create(vec![url(1, "a")], false)).await, Code::Unauthenticated, 402);
    expect_status(c.create(authed(create(vec![url(1, "a")], false), E2)).await, Code::PermissionDenied, 400);
    expect_status(c.create(authed(create(vec![url(1, "a")], false), (E1.0, "bad"))).await, Code::Unauthenticated, 403);
    let w = c.create(authed(create(vec![url(1, "a")], false), E1)).await.unwrap().into_inner();
    assert!(w.created && w.response_code == 1 && w.handle == h);
    expect_status(c.create(authed(create(vec![url(1, "a")], false), E1)).await, Code::AlreadyExists, 101);
    assert!(!c.create(authed(create(vec![url(1, "b")], true), E1)).await.unwrap().into_inner().created);
    // malformed values
    let no_type = pb::HandleValue { index: 2, ..Default::default() };
    expect_status(
        c.create(authed(
            pb::CreateRequest {
                handle: "88.798.1/G-2".into(),
                values: vec![no_type],
                overwrite: false,
                ..Default::default()
            },
            E1,
        ))
        .await,
        Code::InvalidArgument,
        202,
    );
    expect_status(
        c.create(authed(
            pb::CreateRequest {
                handle: "88.798.1/G-2".into(),
                values: vec![url(1, "a"), url(1, "b")],
                overwrite: false,
                ..Default::default()
            },
            E1,
        ))
        .await,
        Code::AlreadyExists,
        201,
    );
    expect_status(
        c.create(authed(
            pb::CreateRequest {
                handle: "bad handle".into(),
                values: vec![url(1, "a")],
                overwrite: false,
                ..Default::default()
            },
            E1,
        ))
        .await,
        Code::InvalidArgument,
        102,
    );
    expect_status(
        c.create(authed(
            pb::CreateRequest {
                handle: "88.799/x".into(),
                values: vec![url(1, "a")],
                overwrite: false,
                ..Default::default()
            },
            E1,
        ))
        .await,
        Code::FailedPrecondition,
        301,
    );
    let bad_ttl = pb::HandleValue { ttl_type: 7, ..url(3, "x") };
    expect_status(
        c.add_values(authed(pb::ValuesRequest { handle: h.into(), values: vec![bad_ttl] }, E1)).await,
        Code::InvalidArgument,
        202,
    );
    // values
    let vr = |values| pb::ValuesRequest { handle: h.into(), values };
    c.add_values(authed(vr(vec![url(2, "two")]), E1)).await.unwrap();
    expect_status(c.add_values(authed(vr(vec![url(2, "again")]), E1)).await, Code::AlreadyExists, 201);
    c.modify_values(authed(vr(vec![url(2, "deux")]), E1)).await.unwrap();
    expect_status(c.modify_values(authed(vr(vec![url(9, "none")]), E1)).await, Code::NotFound, 200);
    expect_status(c.modify_values(authed(vr(vec![url(2, "x")]), E2)).await, Code::PermissionDenied, 400);
    c.remove_values(authed(pb::RemoveValuesRequest { handle: h.into(), indexes: vec![2] }, E1)).await.unwrap();
    expect_status(
        c.remove_values(authed(pb::RemoveValuesRequest { handle: h.into(), indexes: vec![2] }, E1)).await,
        Code::NotFound,
        200,
    );
    // admin values through typed fields
    let admin = pb::HandleValue {
        index: 101,
        r#type: "HS_ADMIN".into(),
        admin: Some(pb::AdminRef { handle: "0.NA/88.798.2".into(), index: 300, permissions: "000000010000".into() }),
        ..Default::default()
    };
    c.add_values(authed(vr(vec![admin]), E1)).await.unwrap();
    c.modify_values(authed(vr(vec![url(1, "by enterprise 2")]), E2)).await.unwrap();
    // replace / delete
    expect_status(
        c.replace(authed(
            pb::ReplaceRequest { handle: "88.798.1/G-none".into(), values: vec![url(1, "x")], ..Default::default() },
            E1,
        ))
        .await,
        Code::NotFound,
        100,
    );
    c.replace(authed(pb::ReplaceRequest { handle: h.into(), values: vec![url(1, "only")], ..Default::default() }, E1))
        .await
        .unwrap();
    let mut rc_client = ResolverClient::new(channel(&n).await);
    let r = rc_client.resolve(resolve_req(h)).await.unwrap().into_inner();
    assert_eq!(r.values.iter().map(|v| v.index).collect::<Vec<_>>(), vec![1], "replace keeps only the new values");
    expect_status(c.delete(authed(pb::DeleteRequest { handle: h.into() }, E2)).await, Code::PermissionDenied, 400);
    c.delete(authed(pb::DeleteRequest { handle: h.into() }, E1)).await.unwrap();
    expect_status(c.delete(authed(pb::DeleteRequest { handle: h.into() }, E1)).await, Code::NotFound, 100);
    n.stop().await;
}

#[tokio::test]
async fn grpc_on_the_http_port_and_plain_text_auth() {
    let n = TestNode::start_with(|c| {
        c.grpc.on_http_port = true;
        c.grpc.enabled = false;
        c.http.allow_insecure_auth = false;
    })
    .await;
    assert!(n.running.as_ref().unwrap().grpc_addr.is_none());
    let ch = Channel::from_shared(n.base.clone()).unwrap().connect().await.unwrap();
    let mut c = ResolverClient::new(ch.clone());
    assert_eq!(c.resolve(resolve_req(H)).await.unwrap().into_inner().response_code, 1);
    n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    let mut r = RegistryClient::new(ch);
    let s = expect_status(
        r.create(authed(
            pb::CreateRequest {
                handle: "88.798.1/X".into(),
                values: vec![url(1, "x")],
                overwrite: false,
                ..Default::default()
            },
            E1,
        ))
        .await,
        Code::Unauthenticated,
        402,
    );
    assert!(s.message().contains("TLS"));
    n.stop().await;
}

#[tokio::test]
async fn rest_and_grpc_agree() {
    let n = TestNode::start().await;
    let mut res = ResolverClient::new(channel(&n).await);
    let mut reg = RegistryClient::new(channel(&n).await);
    // written through REST, read through both
    n.put("/api/handles/88.798.1/AGREE-1", E1, json!([
        {"index":1,"type":"URL","data":"https://trace.example.cn/1","ttl":600},
        {"index":2000,"type":"productName","data":"粉彩花鸟瓶","permissions":"1111"},
        {"index":2001,"type":"blob","data":{"format":"base64","value":"/wCq"},"ttl":"2030-01-01T00:00:00Z","references":[{"handle":"88.798.1/JDZ-2024-000001","index":1}]}
    ])).await.expect(201, 1, "88.798.1/AGREE-1");
    // written through gRPC, read through both
    let values = vec![
        pb::HandleValue { ttl: Some(600), ..url(1, "https://trace.example.cn/2") },
        pb::HandleValue {
            index: 2000,
            r#type: "productName".into(),
            data: "粉彩花鸟瓶".as_bytes().to_vec(),
            permissions: Some(pb::ValuePermissions {
                admin_read: true,
                admin_write: true,
                public_read: true,
                public_write: true,
            }),
            ..Default::default()
        },
        pb::HandleValue {
            index: 2001,
            r#type: "blob".into(),
            data: vec![0xff, 0x00, 0xaa],
            ttl: Some(1_893_456_000),
            ttl_type: pb::TtlType::Absolute as i32,
            references: vec![pb::ValueRef { handle: "88.798.1/JDZ-2024-000001".into(), index: 1 }],
            ..Default::default()
        },
    ];
    reg.create(authed(
        pb::CreateRequest { handle: "88.798.1/AGREE-2".into(), values, overwrite: false, ..Default::default() },
        E1,
    ))
    .await
    .unwrap();
    for h in ["88.798.1/AGREE-1", "88.798.1/AGREE-2"] {
        let rest = n.get(&format!("/api/handles/{h}")).await.json();
        let grpc = res.resolve(resolve_req(h)).await.unwrap().into_inner();
        let rest_values = rest["values"].as_array().unwrap();
        assert_eq!(rest_values.len(), grpc.values.len());
        for (j, g) in rest_values.iter().zip(&grpc.values) {
            assert_eq!(j["index"].as_u64(), Some(u64::from(g.index)));
            assert_eq!(j["type"].as_str(), Some(g.r#type.as_str()));
            let data = match j["data"]["format"].as_str().unwrap() {
                "string" => j["data"]["value"].as_str().unwrap().as_bytes().to_vec(),
                "base64" => {
                    base64::engine::general_purpose::STANDARD.decode(j["data"]["value"].as_str().unwrap()).unwrap()
                }
                "admin" => {
                    let a = g.admin.as_ref().unwrap();
                    assert_eq!(j["data"]["value"]["handle"].as_str(), Some(a.handle.as_str()));
                    assert_eq!(j["data"]["value"]["permissions"].as_str(), Some(a.permissions.as_str()));
                    g.data.clone()
                }
                other => panic!("unexpected format {other}"),
            };
            assert_eq!(data, g.data, "{h} index {}", g.index);
            let ttl = match &j["ttl"] {
                serde_json::Value::Number(x) => x.as_u64().unwrap() as u32,
                t => idnode::http::json::parse_time(t.as_str().unwrap()).unwrap(),
            };
            assert_eq!(Some(ttl), g.ttl);
            assert_eq!(idnode::http::json::parse_time(j["timestamp"].as_str().unwrap()).unwrap() as u64, g.timestamp);
            let p = g.permissions.unwrap();
            let bits: String = [p.admin_read, p.admin_write, p.public_read, p.public_write]
                .iter()
                .map(|b| if *b { '1' } else { '0' })
                .collect();
            assert_eq!(j["permissions"].as_str().unwrap_or("1110"), bits);
            assert_eq!(j["references"].as_array().map_or(0, Vec::len), g.references.len());
        }
    }
    // and the two records are alike, whichever door wrote them (timestamps and the URL aside)
    let a = res.resolve(resolve_req("88.798.1/AGREE-1")).await.unwrap().into_inner().values;
    let b = res.resolve(resolve_req("88.798.1/AGREE-2")).await.unwrap().into_inner().values;
    let strip = |v: &[pb::HandleValue]| {
        v.iter().skip(1).map(|x| pb::HandleValue { timestamp: 0, ..x.clone() }).collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    n.stop().await;
}

#[tokio::test]
async fn overload_sheds_calls_with_unavailable() {
    let n = TestNode::start_with(|c| c.grpc.max_concurrent_requests = 1).await;
    let mut c = ResolverClient::new(channel(&n).await);
    // An open stream holds the only admission until it ends.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut out = c.resolve_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    tx.send(resolve_req("88.798.1/JDZ-2024-000123")).await.unwrap();
    assert_eq!(out.message().await.unwrap().unwrap().response_code, 1);
    let shed = expect_status(c.resolve(resolve_req("88.798.1/JDZ-2024-000123")).await, Code::Unavailable, 3);
    assert!(shed.message().contains("busy"), "{shed:?}");
    let mut r = RegistryClient::new(channel(&n).await);
    let listed = r.list_prefixes(pb::ListPrefixesRequest {}).await;
    expect_status(listed, Code::Unavailable, 3);
    // Health checks are never shed.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&n).await);
    let check = tonic_health::pb::HealthCheckRequest { service: String::new() };
    assert_eq!(health.check(check).await.unwrap().into_inner().status, 1, "SERVING");
    // The stream ends, and with it its admission.
    drop(tx);
    assert!(out.message().await.unwrap().is_none());
    let mut answered = None;
    for _ in 0..100 {
        match c.resolve(resolve_req("88.798.1/JDZ-2024-000123")).await {
            Ok(r) => {
                answered = Some(r.into_inner());
                break;
            }
            Err(s) if s.code() == Code::Unavailable => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            Err(s) => panic!("{s:?}"),
        }
    }
    assert_eq!(answered.expect("admitted again").response_code, 1);
    let m = n.metrics().await;
    let shed = |op: &str| {
        count(&m, &format!(r#"idnode_api_requests_total{{protocol="grpc",operation="{op}",result="overloaded"}}"#))
    };
    assert!(shed("resolve") >= 1.0 && shed("list") == 1.0, "{m}");
    n.stop().await;
}

/// Issue 15, finding 6: one client could hold every admission with streams it never uses. It holds
/// `grpc.max_streams_per_client` `ResolveStream` calls at most; unary calls still go through.
#[tokio::test]
async fn one_client_holds_a_bounded_number_of_streams() {
    let n = TestNode::start_with(|c| c.grpc.max_streams_per_client = 2).await;
    let mut c = ResolverClient::new(channel(&n).await);
    let mut open = Vec::new();
    for _ in 0..2 {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let mut out = c.resolve_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
        tx.send(resolve_req("88.798.1/JDZ-2024-000123")).await.unwrap();
        assert_eq!(out.message().await.unwrap().unwrap().response_code, 1);
        open.push((tx, out));
    }
    let (_tx, rx) = tokio::sync::mpsc::channel::<pb::ResolveRequest>(8);
    let refused = c.resolve_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await;
    let refused = expect_status(refused, Code::Unavailable, 3);
    assert!(refused.message().contains("max_streams_per_client"), "{refused:?}");
    assert_eq!(c.resolve(resolve_req("88.798.1/JDZ-2024-000123")).await.unwrap().into_inner().response_code, 1);
    // A stream that ends gives its place back.
    let (tx, mut out) = open.pop().unwrap();
    drop(tx);
    assert!(out.message().await.unwrap().is_none());
    let mut admitted = false;
    for _ in 0..100 {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        if let Ok(s) = c.resolve_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await {
            tx.send(resolve_req("88.798.1/JDZ-2024-000123")).await.unwrap();
            assert_eq!(s.into_inner().message().await.unwrap().unwrap().response_code, 1);
            admitted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(admitted, "the place was not given back");
    drop(open);
    n.stop().await;
}
