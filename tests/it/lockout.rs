//! Brute-force protection: an address that keeps failing authentication is locked out over REST and gRPC while
//! other addresses are served; anonymous resolution goes on; the lockout is audited once and counted.

use std::net::IpAddr;

use idnode::grpc::pb;
use idnode::grpc::pb::registry_client::RegistryClient;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use crate::grpc_api::{authed, expect_status};
use crate::harness::*;

const H: &str = "88.798.1/JDZ-2024-000123";

/// A REST client whose connections come from `ip` (any 127.0.0.0/8 address is local).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from(ip)).build().unwrap()
}

async fn get(n: &TestNode, client: &reqwest::Client, auth: Option<(&str, &str)>) -> Reply {
    let mut req = client.get(format!("{}/api/handles/{H}", n.base));
    if let Some((user, secret)) = auth {
        req = req.basic_auth(user, Some(secret));
    }
    Reply::from(req.send().await.unwrap()).await
}

async fn grpc_from(n: &TestNode, ip: [u8; 4]) -> RegistryClient<Channel> {
    let addr = n.running.as_ref().unwrap().grpc_addr.unwrap();
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap().local_address(Some(IpAddr::from(ip)));
    RegistryClient::new(endpoint.connect().await.unwrap())
}

fn create(handle: &str) -> pb::CreateRequest {
    let value =
        pb::HandleValue { index: 1, r#type: "URL".into(), data: b"https://example.cn/".to_vec(), ..Default::default() };
    pb::CreateRequest { handle: handle.into(), values: vec![value], overwrite: false, ..Default::default() }
}

#[tokio::test]
async fn repeated_failures_lock_the_address_out() {
    let n = TestNode::start_with(|c| {
        c.auth.max_failures = 3;
        c.auth.lockout_secs = 60;
    })
    .await;
    let (attacker, other) = (client_from([127, 0, 0, 2]), client_from([127, 0, 0, 3]));
    for _ in 0..3 {
        get(&n, &attacker, Some((E1.0, "guess"))).await.expect(401, 403, H);
    }
    // Locked out: even the right secret is refused, unchecked, with the time to wait.
    let r = get(&n, &attacker, Some(E1)).await;
    let j = r.expect(429, 403, H);
    assert!(j["message"].as_str().unwrap().contains("too many failed authentications"), "{j}");
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    for _ in 0..5 {
        assert_eq!(get(&n, &attacker, Some((E1.0, "guess"))).await.status, 429);
    }
    let mut grpc = grpc_from(&n, [127, 0, 0, 2]).await;
    expect_status(grpc.create(authed(create("88.798.1/LOCK-1"), E1)).await, Code::ResourceExhausted, 403);
    // The address may still resolve anonymously, and other addresses are served.
    get(&n, &attacker, None).await.expect(200, 1, H);
    get(&n, &other, Some(E1)).await.expect(200, 1, H);
    let mut grpc = grpc_from(&n, [127, 0, 0, 3]).await;
    assert!(grpc.create(authed(create("88.798.1/LOCK-2"), E1)).await.unwrap().into_inner().created);
    // Audited: the three failures and the lockout, not the refusals while locked out.
    let audit = n.admin("/admin/audit?limit=1000", Some(ROOT)).await.json();
    let from_attacker: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["client"].as_str().is_some_and(|c| c.starts_with("127.0.0.2:")))
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(from_attacker.len(), 4, "{from_attacker:?}");
    assert_eq!(from_attacker.iter().filter(|r| r.contains("too many failed authentications")).count(), 1);
    assert_eq!(count(&n.metrics().await, "idnode_auth_lockouts_total"), 1.0);
    n.stop().await;
}

#[tokio::test]
async fn a_valid_key_does_not_reset_the_count_and_zero_turns_the_lockout_off() {
    // Guessing at the node administrator's key between logins with one's own key still counts every guess; the
    // lockout is of the identity guessed at, so the guesser's colleagues behind the same address (a NAT) keep
    // their logins.
    let n = TestNode::start_with(|c| c.auth.max_failures = 2).await;
    let client = client_from([127, 0, 0, 4]);
    get(&n, &client, Some((ROOT.0, "guess"))).await.expect(401, 403, H);
    get(&n, &client, Some(E1)).await.expect(200, 1, H);
    // Another spelling of the same identity (index 0: any key) counts against the same handle.
    get(&n, &client, Some(("0%3A0.NA/88.798", "guess"))).await.expect(401, 403, H);
    get(&n, &client, Some(ROOT)).await.expect(429, 403, H);
    get(&n, &client, Some(E1)).await.expect(200, 1, H);
    n.stop().await;
    let n = TestNode::start_with(|c| c.auth.max_failures = 0).await;
    for _ in 0..20 {
        get(&n, &client, Some((E1.0, "guess"))).await.expect(401, 403, H);
    }
    get(&n, &client, Some(E1)).await.expect(200, 1, H);
    n.stop().await;
}
