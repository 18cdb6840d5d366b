//! The admin listener: request metrics of every protocol, store and process figures, health and readiness (also
//! through the gRPC health service), request ids.

use idnode::grpc::pb::{self, resolver_client::ResolverClient};
use idnode::hdl::client::{self, Transport};
use serde_json::json;

use crate::grpc_api::channel;
use crate::harness::*;

const H: &str = "88.798.1/JDZ-2024-000001";

fn req(handle: &str) -> pb::ResolveRequest {
    pb::ResolveRequest { handle: handle.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_protocol() {
    let n = TestNode::start().await;
    for _ in 0..3 {
        n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    }
    n.get("/api/handles/88.798.1/NOPE").await.expect(404, 100, "88.798.1/NOPE");
    n.put("/api/handles/88.798.1/METRICS-1", E1, json!({"values": [url_value(1, "https://example.org/m")]}))
        .await
        .expect(201, 1, "88.798.1/METRICS-1");
    let mut g = ResolverClient::new(channel(&n).await);
    for _ in 0..2 {
        assert_eq!(g.resolve(req(H)).await.unwrap().into_inner().response_code, 1);
    }
    let batch =
        pb::ResolveBatchRequest { requests: vec![req(H), req("88.798.2/JDZ-2024-000002"), req("88.798.1/NOPE")] };
    g.resolve_batch(batch).await.unwrap();
    // A refused call is counted by the error its method answered with; health checks as the service they are.
    let create = pb::CreateRequest { handle: "88.798.1/ANON".into(), ..Default::default() };
    let refused = pb::registry_client::RegistryClient::new(channel(&n).await).create(create).await.unwrap_err();
    assert_eq!(refused.metadata().get("idnode-response-code").unwrap(), "402");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&n).await);
    health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
    let (udp, tcp) = n.running.as_ref().unwrap().handle_addrs.unwrap();
    for (addr, transport) in
        [(udp, Transport::Udp), (udp, Transport::Udp), (tcp, Transport::Tcp), (tcp, Transport::Tcp)]
    {
        assert_eq!(client::resolve(addr, transport, H, &[], &[], false).await.unwrap().response_code, 1);
    }
    client::site_info(udp, Transport::Udp).await.unwrap();

    let m = n.metrics().await;
    let req_total = |p: &str, op: &str, r: &str| {
        count(&m, &format!(r#"idnode_api_requests_total{{protocol="{p}",operation="{op}",result="{r}"}}"#))
    };
    assert_eq!(req_total("rest", "resolve", "ok"), 3.0, "{m}");
    assert_eq!(req_total("rest", "resolve", "not_found"), 1.0);
    assert_eq!(req_total("rest", "create", "ok"), 1.0);
    assert_eq!(req_total("grpc", "resolve", "ok"), 2.0);
    assert_eq!(req_total("grpc", "resolve_batch", "ok"), 1.0);
    assert_eq!(req_total("grpc", "create", "denied"), 1.0);
    assert_eq!(req_total("grpc", "service", "ok"), 1.0);
    assert_eq!(req_total("handle_udp", "resolve", "ok"), 2.0);
    assert_eq!(req_total("handle_tcp", "resolve", "ok"), 2.0);
    assert_eq!(req_total("handle_udp", "site_info", "ok"), 1.0);
    for (p, calls) in [("rest", 4.0), ("grpc", 2.0), ("handle_udp", 2.0), ("handle_tcp", 2.0)] {
        let labels = format!(r#"protocol="{p}",operation="resolve""#);
        assert_eq!(count(&m, &format!("idnode_api_request_duration_seconds_count{{{labels}}}")), calls, "{p}");
        let inf = format!(r#"idnode_api_request_duration_seconds_bucket{{{labels},le="+Inf"}}"#);
        assert_eq!(count(&m, &inf), calls, "{p}");
        let sub_ms = format!(r#"idnode_api_request_duration_seconds_bucket{{{labels},le="0.001"}}"#);
        assert!(sample(&m, &sub_ms).is_some(), "a sub-millisecond bucket for {p}");
        assert!(count(&m, &format!(r#"idnode_api_received_bytes_total{{protocol="{p}"}}"#)) > 0.0, "{p} bytes in");
        assert!(count(&m, &format!(r#"idnode_api_sent_bytes_total{{protocol="{p}"}}"#)) > 0.0, "{p} bytes out");
    }
    // every identifier counts as a resolution, batches included
    let res = |p: &str, r: &str| count(&m, &format!(r#"idnode_core_resolutions_total{{protocol="{p}",result="{r}"}}"#));
    assert_eq!((res("grpc", "ok"), res("grpc", "not_found")), (4.0, 1.0));
    assert_eq!((res("rest", "ok"), res("rest", "not_found")), (3.0, 1.0));
    assert_eq!(res("handle_udp", "ok") + res("handle_tcp", "ok"), 4.0);
    assert_eq!(count(&m, r#"idnode_core_registrations_total{change="create"}"#), 1.0);
    // the create, and HS_SITE published on the six prefix handles at start-up
    assert_eq!(count(&m, r#"idnode_audit_records_total{kind="change"}"#), 7.0);
    assert_eq!(count(&m, r#"idnode_core_registrations_total{change="update"}"#), 6.0);
    assert!(count(&m, r#"idnode_api_open_connections{protocol="grpc"}"#) >= 1.0, "the channel is open");
    assert!(count(&m, r#"idnode_store_estimated_keys{space="handles"}"#) > 3000.0);
    assert_eq!(count(&m, "idnode_node_ready"), 1.0);
    for name in [
        "idnode_store_block_cache_capacity_bytes",
        "idnode_store_block_cache_usage_bytes",
        "idnode_store_block_cache_hits_total",
        "idnode_store_memtable_bytes",
        "idnode_store_disk_free_bytes",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(sample(&m, name).is_some(), "{name} missing");
    }
    assert!(m.contains(&format!(r#"idnode_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))));
    n.stop().await;
}

/// Resolves [`H`] once over REST, gRPC, Handle UDP and Handle TCP; returns `idnode_reads_on_pool_total`.
async fn reads_on_pool_after_one_resolution_per_door(n: &TestNode) -> f64 {
    n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    let mut g = ResolverClient::new(channel(n).await);
    assert_eq!(g.resolve(req(H)).await.unwrap().into_inner().response_code, 1);
    let (udp, tcp) = n.running.as_ref().unwrap().handle_addrs.unwrap();
    for (addr, transport) in [(udp, Transport::Udp), (tcp, Transport::Tcp)] {
        assert_eq!(client::resolve(addr, transport, H, &[], &[], false).await.unwrap().response_code, 1);
    }
    count(&n.metrics().await, "idnode_reads_on_pool_total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_pool_as_node_reads_says() {
    let tiered = TestNode::start().await;
    assert_eq!(reads_on_pool_after_one_resolution_per_door(&tiered).await, 0.0, "tiered: the record is in memory");
    tiered.stop().await;
    let pool = TestNode::start_with(|c| c.node.reads = idnode::node::Reads::Pool).await;
    assert_eq!(reads_on_pool_after_one_resolution_per_door(&pool).await, 4.0, "pool: every door's read");
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_request_ids() {
    let n = TestNode::start().await;
    assert_eq!(n.admin("/healthz", None).await.status, 200);
    let ready = n.admin("/readyz", None).await;
    assert_eq!((ready.status.as_u16(), ready.text.as_str()), (200, "ready\n"));
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&n).await);
    let check = |service: &str| tonic_health::pb::HealthCheckRequest { service: service.into() };
    for s in ["", "idnode.v1.Resolver", "idnode.v1.Registry", "idnode.v1.Statistics"] {
        let status = health.check(check(s)).await.unwrap().into_inner().status;
        assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{s:?}");
    }
    // request ids: minted, or the client's echoed
    let minted = n.get(&format!("/api/handles/{H}")).await;
    assert!(minted.header("x-request-id").is_some_and(|id| id.len() == 16));
    let r =
        n.client.get(format!("{}/api/handles/{H}", n.base)).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let mut g = ResolverClient::new(channel(&n).await);
    let mut call = tonic::Request::new(req(H));
    call.metadata_mut().insert("x-request-id", "grpc-7".parse().unwrap());
    assert_eq!(g.resolve(call).await.unwrap().metadata().get("x-request-id").unwrap(), "grpc-7");
    assert!(n.admin("/healthz", None).await.header("x-request-id").is_some_and(|id| id.len() == 16));
    // shutting down: not ready any more, for the admin API and for gRPC health
    let running = n.running.as_ref().unwrap();
    running.health.set_stopping();
    let r = n.admin("/readyz", None).await;
    assert_eq!((r.status.as_u16(), r.text.as_str()), (503, "not ready: shutting down\n"));
    n.stop().await;
}
