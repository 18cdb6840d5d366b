//! gRPC batches with mixed results, streamed listings, health, reflection and message-size limits.

use idnode::grpc::pb::registry_client::RegistryClient;
use idnode::grpc::pb::{self, batch_item::Op};
use tonic::Code;

use crate::grpc_api::{authed, channel, expect_status, url};
use crate::harness::*;

#[tokio::test]
async fn batches_and_listings() {
    let n = TestNode::start().await;
    let mut c = RegistryClient::new(channel(&n).await);
    let create = |h: &str, u: &str| pb::BatchItem {
        op: Some(Op::Create(pb::CreateRequest {
            handle: h.into(),
            values: vec![url(1, u)],
            overwrite: false,
            ..Default::default()
        })),
    };
    let items = vec![
        create("88.798.1/B-1", "one"),
        create("88.798.1/B-2", "two"),
        create("88.798.1/JDZ-2024-000001", "clash"),
        create("88.799/x", "foreign"),
        pb::BatchItem {
            op: Some(Op::Update(pb::ReplaceRequest {
                handle: "88.798.1/B-none".into(),
                values: vec![url(1, "x")],
                ..Default::default()
            })),
        },
        pb::BatchItem { op: Some(Op::Delete(pb::DeleteRequest { handle: "88.798.1/JDZ-2024-000002".into() })) },
        create("88.798.2/B-3", "not mine"),
        pb::BatchItem { op: None },
    ];
    let r = c.batch_register(authed(pb::BatchRegisterRequest { items: items.clone() }, E1)).await.unwrap().into_inner();
    let codes: Vec<u32> = r.results.iter().map(|x| x.response_code).collect();
    assert_eq!(codes, vec![1, 1, 101, 301, 100, 1, 400, 202]);
    assert_eq!((r.succeeded, r.failed), (3, 5));
    assert!(r.results[0].created && r.results[2].error.as_ref().unwrap().message.contains("already exists"));
    // a retried batch is idempotent for the creates that succeeded
    let retry = c
        .batch_register(authed(pb::BatchRegisterRequest { items: items[..2].to_vec() }, E1))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        retry.results.iter().map(|x| (x.response_code, x.created)).collect::<Vec<_>>(),
        vec![(1, false), (1, false)]
    );
    expect_status(
        c.batch_register(pb::BatchRegisterRequest { items: items[..1].to_vec() }).await,
        Code::Unauthenticated,
        402,
    );
    let big = (0..2001).map(|i| create(&format!("88.798.1/BIG-{i}"), "x")).collect();
    let s = expect_status(
        c.batch_register(authed(pb::BatchRegisterRequest { items: big }, E1)).await,
        Code::InvalidArgument,
        202,
    );
    assert!(s.message().contains("2000"));
    let full = (0..2000).map(|i| create(&format!("88.798.4/FULL-{i}"), "x")).collect();
    let r = c.batch_register(authed(pb::BatchRegisterRequest { items: full }, ROOT)).await.unwrap().into_inner();
    assert_eq!(r.succeeded, 2000);
    // listings
    let mut stream = c.list_handles(authed(pb::ListHandlesRequest { prefix: "88.798.4".into() }, E1)).await;
    assert_eq!(stream.as_ref().unwrap_err().code(), Code::PermissionDenied);
    stream = c.list_handles(authed(pb::ListHandlesRequest { prefix: "88.798.4".into() }, ROOT)).await;
    let mut s = stream.unwrap().into_inner();
    let (mut got, mut total) = (Vec::new(), None);
    while let Some(m) = s.message().await.unwrap() {
        got.extend(m.handles);
        total = m.total_count.or(total);
    }
    assert_eq!((got.len(), total), (2612, Some(2612)));
    expect_status(
        c.list_handles(pb::ListHandlesRequest { prefix: "88.798.4".into() }).await,
        Code::Unauthenticated,
        402,
    );
    let p = c.list_prefixes(authed(pb::ListPrefixesRequest {}, E1)).await.unwrap().into_inner();
    assert_eq!(p.prefixes, vec!["88.798", "88.798.1", "88.798.2", "88.798.3", "88.798.4", "88.798.5"]);
    n.stop().await;
}

#[tokio::test]
async fn health_reflection_and_limits() {
    let n = TestNode::start_with(|c| c.grpc.max_message_bytes = 4096).await;
    let ch = channel(&n).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    for service in ["", "idnode.v1.Resolver", "idnode.v1.Registry"] {
        let r =
            health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{service}");
    }
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut refl = ServerReflectionClient::new(ch.clone());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut resp = refl.server_reflection_info(tokio_stream::iter(vec![req])).await.unwrap().into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message().await.unwrap().unwrap().message_response
    else {
        panic!("no list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"idnode.v1.Resolver".to_owned()) && names.contains(&"idnode.v1.Registry".to_owned()),
        "{names:?}"
    );
    // message size limit
    let mut c = RegistryClient::new(ch);
    let big = pb::CreateRequest {
        handle: "88.798.1/BIG".into(),
        values: vec![url(1, &"x".repeat(10_000))],
        overwrite: false,
        ..Default::default()
    };
    let s = c.create(authed(big, E1)).await.unwrap_err();
    assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    n.stop().await;
}
