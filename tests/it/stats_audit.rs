//! Statistics (REST and gRPC, durable across restarts) and the audit API of the admin listener.

use idnode::grpc::pb::{self, statistics_client::StatisticsClient};
use idnode::hdl::client::{self, Transport};
use serde_json::{Value, json};

use crate::grpc_api::channel;
use crate::harness::*;

const H: &str = "88.798.1/JDZ-2024-000001";

async fn report(n: &TestNode, query: &str) -> Value {
    let r = n.get(&format!("/api/stats{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_are_exact_and_survive_a_restart() {
    let n = TestNode::start().await;
    let fresh = report(&n, "?prefix=88.798.1").await;
    assert_eq!(fresh["prefixes"][0]["registered"], 612, "demo handles are counted: {fresh}");
    for _ in 0..5 {
        n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    }
    let udp = n.running.as_ref().unwrap().handle_addrs.unwrap().0;
    for _ in 0..2 {
        client::resolve(udp, Transport::Udp, H, &[], &[], false).await.unwrap();
    }
    n.get("/api/handles/88.798.1/NOPE").await.expect(404, 100, "88.798.1/NOPE");
    n.get("/api/handles/88.798.99/NOPE").await.expect(404, 100, "88.798.99/NOPE");
    for s in ["STAT-1", "STAT-2"] {
        let h = format!("88.798.1/{s}");
        n.put(&format!("/api/handles/{h}"), E1, json!({"values": [url_value(1, "https://example.org/s")]}))
            .await
            .expect(201, 1, &h);
    }
    n.delete("/api/handles/88.798.1/STAT-2", E1).await.expect(200, 1, "88.798.1/STAT-2");
    let before = report(&n, "?prefix=88.798.1").await;
    let p = &before["prefixes"][0];
    assert_eq!(p["prefix"], "88.798.1");
    assert_eq!(p["registered"], 613);
    assert_eq!(before["period"], json!({"created": 2, "deleted": 1, "resolutions": 7, "misses": 1}), "{before}");
    assert_eq!(before["days"].as_array().unwrap().len(), 30);
    assert_eq!(before["days"][29]["resolutions"], 7, "today is the last day");
    assert_eq!(before["registered"], 3067, "node-wide");
    assert_eq!(before["utc_offset"], "+08:00");
    let top = report(&n, "?top=1").await;
    assert_eq!(top["prefixes"].as_array().unwrap().len(), 1);
    assert_eq!(top["prefixes"][0]["prefix"], "88.798.1", "the most resolved prefix: {top}");
    assert_eq!(top["prefix_count"], 7, "five enterprises, 0.NA and (other)");
    assert_eq!(top["total"]["misses"], 2, "a miss under an unknown prefix counts for the node");

    let n = n.restart().await;
    let after = report(&n, "?prefix=88.798.1").await;
    assert_eq!(after, before, "statistics survive a restart unchanged");
    let mut g = StatisticsClient::new(channel(&n).await);
    let r = g
        .get_statistics(pb::StatisticsRequest { prefix: "88.798.1".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.registered, r.prefixes[0].registered), (3067, 613));
    let period = r.period.unwrap();
    assert_eq!((period.created, period.deleted, period.resolutions, period.misses), (2, 1, 7, 1));
    assert_eq!((r.days.len(), r.utc_offset.as_str()), (30, "+08:00"));
    let bad = g.get_statistics(pb::StatisticsRequest { from: "2026-02-30".into(), ..Default::default() }).await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
    for q in ["?from=2026-01-01&to=2025-01-01", "?from=yesterday", "?top=100000", "?from=2020-01-01&to=2026-01-01"] {
        let r = n.get(&format!("/api/stats{q}")).await;
        assert_eq!((r.status.as_u16(), r.json()["responseCode"].as_i64()), (400, Some(202)), "{q}: {}", r.text);
    }
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_api_is_for_node_administrators() {
    let n = TestNode::start().await;
    let h = "88.798.1/AUDIT-1";
    n.put(&format!("/api/handles/{h}"), E1, json!({"values": [url_value(1, "https://example.org/a")]}))
        .await
        .expect(201, 1, h);
    n.put(&format!("/api/handles/{h}"), E2, json!({"values": [url_value(1, "https://example.org/b")]}))
        .await
        .expect(403, 400, h);
    n.put(&format!("/api/handles/{h}"), (E1.0, "wrong"), json!({"values": []})).await.expect(401, 403, h);
    assert_eq!(n.admin("/admin/audit", None).await.status, 401);
    assert_eq!(n.admin("/admin/audit", Some(E1)).await.status, 403, "an enterprise administrator is not enough");
    let page = n.admin(&format!("/admin/audit?handle={h}"), Some(ROOT)).await.json();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{page}");
    // The admin listener is a door like the others: its requests are counted under protocol "admin".
    let m = n.metrics().await;
    let admin = |r: &str| {
        count(&m, &format!(r#"idnode_api_requests_total{{protocol="admin",operation="audit_query",result="{r}"}}"#))
    };
    assert_eq!((admin("denied"), admin("ok")), (2.0, 1.0), "{m}");
    let (created, refused) = (&entries[0], &entries[1]);
    assert_eq!(created["identity"], "300:0.NA/88.798.1");
    assert_eq!((created["operation"].as_str(), created["result"].as_str()), (Some("create"), Some("ok")));
    assert!(created["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(created["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(
        (created["protocol"].as_str(), created["admin"].as_bool()),
        (Some("rest"), Some(true)),
        "HS_ADMIN added"
    );
    assert!(created["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(refused["identity"], "300:0.NA/88.798.2");
    assert!(refused["result"].as_str().unwrap().starts_with("denied: "), "{refused}");
    let failed_logins = n.admin("/admin/audit?limit=1000", Some(ROOT)).await.json();
    assert!(
        failed_logins["entries"].as_array().unwrap().iter().any(|e| e["operation"] == "authenticate"
            && e["result"].as_str().is_some_and(|r| r.contains("authentication failed for 300:0.NA/88.798.1"))),
        "{failed_logins}"
    );
    let by_identity = n.admin("/admin/audit?identity=300:0.NA/88.798.2", Some(ROOT)).await.json();
    assert_eq!(by_identity["entries"].as_array().unwrap().len(), 1);
    let future = n.admin("/admin/audit?from=2999-01-01", Some(ROOT)).await.json();
    assert!(future["entries"].as_array().unwrap().is_empty());
    let paged = n.admin("/admin/audit?limit=1", Some(ROOT)).await.json();
    let next = paged["next"].as_str().expect("more than one entry");
    let second = n.admin(&format!("/admin/audit?limit=1&after={next}"), Some(ROOT)).await.json();
    assert_ne!(second["entries"][0], paged["entries"][0]);
    for bad in ["?from=now", "?identity=nobody", "?after=x-y"] {
        assert_eq!(n.admin(&format!("/admin/audit{bad}"), Some(ROOT)).await.status, 400, "{bad}");
    }
    n.stop().await;
}
