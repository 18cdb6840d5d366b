//! HTTPS: the node serves TLS when given a certificate and key, and accepts credentials over it.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn https_with_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cp, kp) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cp, cert.cert.pem()).unwrap();
    std::fs::write(&kp, cert.key_pair.serialize_pem()).unwrap();
    let n = TestNode::start_with(|c| {
        c.http.allow_insecure_auth = false;
        c.http.tls_cert = Some(cp.clone());
        c.http.tls_key = Some(kp.clone());
    })
    .await;
    assert!(n.base.starts_with("https://"));
    n.put("/api/handles/88.798.1/TLS-1", E1, json!([url_value(1, "https://secure")])).await.expect(
        201,
        1,
        "88.798.1/TLS-1",
    );
    n.get("/api/handles/88.798.1/TLS-1").await.expect(200, 1, "88.798.1/TLS-1");
    // HTTP/2 over TLS (ALPN)
    let h2 = reqwest::Client::builder().danger_accept_invalid_certs(true).http2_prior_knowledge().build().unwrap();
    let r = h2.get(format!("{}/api/handles/88.798.1/TLS-1", n.base)).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    // gRPC over TLS with the same certificate, credentials accepted without the insecure switch
    use idnode::grpc::pb;
    use tonic::transport::{Certificate, Channel, ClientTlsConfig};
    let addr = n.running.as_ref().unwrap().grpc_addr.unwrap();
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(cert.cert.pem())).domain_name("localhost");
    let ch = Channel::from_shared(format!("https://{addr}")).unwrap().tls_config(tls).unwrap().connect().await.unwrap();
    let mut reg = pb::registry_client::RegistryClient::new(ch.clone());
    let req = pb::CreateRequest {
        handle: "88.798.1/TLS-2".into(),
        values: vec![pb::HandleValue {
            index: 1,
            r#type: "URL".into(),
            data: b"https://g".to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(reg.create(crate::grpc_api::authed(req, E1)).await.unwrap().into_inner().created);
    let got = pb::resolver_client::ResolverClient::new(ch)
        .resolve(pb::ResolveRequest { handle: "88.798.1/TLS-2".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(got.into_inner().response_code, 1);
    // The client's address is known over TLS too: the audit log has it (and with it the per-client caps and the
    // lockout apply).
    let audit = n.admin("/admin/audit?handle=88.798.1/TLS-2", Some(ROOT)).await.json();
    let client = audit["entries"][0]["client"].as_str().unwrap_or_default().to_owned();
    assert!(client.starts_with("127.0.0.1:"), "{audit}");
    n.stop().await;
}
