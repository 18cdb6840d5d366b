//! Administration over the Handle protocol on real TCP and UDP sockets: every opcode, challenge and response
//! with every secret-key form, and the failures (wrong secret, replay, expiry, permission, removed key,
//! malformed requests), each written through the node's one write path (seen over REST and in the audit log).

use std::net::SocketAddr;
use std::time::Duration;

use idnode::hdl::admin::AdminRequest;
use idnode::hdl::challenge::seckey;
use idnode::hdl::client::admin::{Key, Link, answer_to};
use idnode::hdl::client::{self, Answer, Transport};
use idnode::hdl::codec::{self, op, opflag};
use idnode::record::HandleValue;
use serde_json::json;

use crate::harness::*;

fn addrs(n: &TestNode) -> (SocketAddr, SocketAddr) {
    n.running.as_ref().unwrap().handle_addrs.unwrap()
}

fn e1() -> Key {
    Key::secret("0.NA/88.798.1", 300, b"demo-secret-1")
}

fn url(index: u32, url: &str) -> HandleValue {
    HandleValue::new(index, "URL", url.as_bytes(), 0)
}

fn message(a: &Answer) -> String {
    codec::decode_error_message(a.after_digest())
}

async fn rest_values(n: &TestNode, h: &str) -> (u16, serde_json::Value) {
    let r = n.get(&format!("/api/handles/{h}")).await;
    (r.status.as_u16(), r.json())
}

#[tokio::test]
async fn every_operation_over_tcp_after_a_challenge() {
    let n = TestNode::start().await;
    let (_, tcp) = addrs(&n);
    let key = e1();
    let h = "88.798.1/HDL-ADMIN-1";
    // each administrative request goes on a fresh connection, as CNRI's client sends them
    let admin = async |request: AdminRequest, flags: u32| {
        let mut link = Link::connect(tcp, Transport::Tcp).await.unwrap();
        link.administer(&request, flags, &key).await.unwrap()
    };
    let created = admin(AdminRequest::Create(h.into(), vec![url(1, "https://a.example/1")]), opflag::RRDG).await;
    assert_eq!(created.header.response_code, 1, "{}", message(&created));
    assert_eq!(created.header.opcode, op::CREATE_HANDLE, "the answer is the original request's");
    let (kind, rest) = created.body.split_first().unwrap();
    assert_eq!(*kind, 3, "the SHA-256 digest first");
    assert_eq!(&rest[32..], [&(h.len() as u32).to_be_bytes()[..], h.as_bytes()].concat(), "then the handle");
    let (status, j) = rest_values(&n, h).await;
    assert_eq!(status, 200);
    assert_eq!(j["values"][0]["data"]["value"], "https://a.example/1");
    // creating it again: 101; with overwrite: replaced, and the answer says it overwrote
    let again = admin(AdminRequest::Create(h.into(), vec![url(1, "https://a.example/2")]), 0).await;
    assert_eq!(again.header.response_code, 101, "{}", message(&again));
    let over = admin(AdminRequest::Create(h.into(), vec![url(1, "https://a.example/2")]), opflag::OVRW).await;
    assert_eq!(over.header.response_code, 1, "{}", message(&over));
    assert_ne!(over.header.opflags & opflag::OVRW, 0);
    // values: add, an index that exists (201), modify, modify a missing index (200), remove
    let add = admin(AdminRequest::AddValues(h.into(), vec![url(2, "https://b.example")]), 0).await;
    assert_eq!(add.header.response_code, 1, "{}", message(&add));
    let dup = admin(AdminRequest::AddValues(h.into(), vec![url(2, "https://c.example")]), 0).await;
    assert_eq!(dup.header.response_code, 201, "{}", message(&dup));
    let modify = admin(AdminRequest::ModifyValues(h.into(), vec![url(2, "https://d.example")]), 0).await;
    assert_eq!(modify.header.response_code, 1, "{}", message(&modify));
    let missing = admin(AdminRequest::ModifyValues(h.into(), vec![url(9, "https://e.example")]), 0).await;
    assert_eq!(missing.header.response_code, 200, "{}", message(&missing));
    let (_, j) = rest_values(&n, h).await;
    let urls: Vec<&str> = j["values"].as_array().unwrap().iter().filter_map(|v| v["data"]["value"].as_str()).collect();
    assert!(urls.contains(&"https://a.example/2") && urls.contains(&"https://d.example"), "{j}");
    let remove = admin(AdminRequest::RemoveValues(h.into(), vec![2]), 0).await;
    assert_eq!(remove.header.response_code, 1, "{}", message(&remove));
    let gone = admin(AdminRequest::RemoveValues(h.into(), vec![2]), 0).await;
    assert_eq!(gone.header.response_code, 200, "{}", message(&gone));
    // a value the template forbids is refused with 202, through the same check as REST
    let mut templated: Vec<HandleValue> = crate::templates::product(&[(2099, "bogus", Some("x"))])
        .iter()
        .map(|v| {
            let (index, ty, data) =
                (v["index"].as_u64().unwrap() as u32, v["type"].as_str().unwrap(), &v["data"]["value"]);
            HandleValue::new(index, ty, data.as_str().unwrap().as_bytes(), 0)
        })
        .collect();
    let invalid = admin(AdminRequest::Create("88.798.1/HDL-ADMIN-T".into(), templated.clone()), 0).await;
    assert_eq!(invalid.header.response_code, 202, "{}", message(&invalid));
    assert!(message(&invalid).contains("2099"), "{}", message(&invalid));
    templated.retain(|v| v.index != 2099);
    let valid = admin(AdminRequest::Create("88.798.1/HDL-ADMIN-T".into(), templated), 0).await;
    assert_eq!(valid.header.response_code, 1, "{}", message(&valid));
    // minting: the node picks the suffix after the given start, and says which
    let minted =
        admin(AdminRequest::Create("88.798.1/M-".into(), vec![url(1, "https://m.example")]), opflag::MINT).await;
    assert_eq!(minted.header.response_code, 1, "{}", message(&minted));
    assert_ne!(minted.header.opflags & opflag::MINT, 0);
    let minted_handle = String::from_utf8(minted.body[4..].to_vec()).unwrap();
    assert!(minted_handle.starts_with("88.798.1/M-") && minted_handle.len() > 12, "{minted_handle}");
    assert_eq!(rest_values(&n, &minted_handle).await.0, 200);
    // delete, and deleting again: 100
    let deleted = admin(AdminRequest::Delete(h.into()), 0).await;
    assert_eq!(deleted.header.response_code, 1, "{}", message(&deleted));
    assert_eq!(rest_values(&n, h).await.0, 404);
    let twice = admin(AdminRequest::Delete(h.into()), 0).await;
    assert_eq!(twice.header.response_code, 100, "{}", message(&twice));
    // every change is in the audit log under the identity that made it
    let page = n.admin(&format!("/admin/audit?handle={h}"), Some(ROOT)).await.json();
    let ops: Vec<(&str, &str)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["result"] == "ok")
        .map(|e| (e["operation"].as_str().unwrap(), e["identity"].as_str().unwrap()))
        .collect();
    assert_eq!(ops.first(), Some(&("create", "300:0.NA/88.798.1")), "{page}");
    assert_eq!(ops.last().map(|o| o.0), Some("delete"), "{page}");
    n.stop().await;
}

#[tokio::test]
async fn every_secret_key_form_over_udp_and_tcp() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let forms =
        [seckey::MD5, seckey::SHA1, seckey::SHA256, seckey::HMAC_SHA1, seckey::HMAC_SHA256, seckey::PBKDF2_HMAC_SHA1];
    for (i, form) in forms.into_iter().enumerate() {
        for (transport, addr) in [(Transport::Udp, udp), (Transport::Tcp, tcp)] {
            let key = Key::secret_in_form("0.NA/88.798.1", 300, b"demo-secret-1", form);
            let h = format!("88.798.1/FORM-{i}-{transport:?}");
            let mut link = Link::connect(addr, transport).await.unwrap();
            let a = link.administer(&AdminRequest::Create(h.clone(), vec![url(1, "https://f.example")]), 0, &key).await;
            let a = a.unwrap();
            assert_eq!(a.header.response_code, 1, "form {form:#x} over {transport:?}: {}", message(&a));
            assert_eq!(rest_values(&n, &h).await.0, 200);
        }
    }
    n.stop().await;
}

/// Sends `request` and returns its challenge and the request message.
async fn challenged(link: &mut Link, request: &AdminRequest) -> (Answer, Vec<u8>) {
    let (env, msg) =
        client::request_bytes(rand::random(), 11, request.opcode(), opflag::KPAL | opflag::RRDG, &request.encode());
    let challenge = link.exchange(env, &msg).await.unwrap();
    assert_eq!(challenge.header.response_code, 402);
    assert_ne!(challenge.envelope.session_id, 0, "the challenge names its session");
    (challenge, msg)
}

#[tokio::test]
async fn failed_authentications() {
    let n = TestNode::start_with(|c| c.handle.challenge_ttl_secs = 1).await;
    let (_, tcp) = addrs(&n);
    let create = |h: &str| AdminRequest::Create(h.into(), vec![url(1, "https://x.example")]);
    let mut link = Link::connect(tcp, Transport::Tcp).await.unwrap();
    // a wrong secret: 403, nothing written
    let wrong = Key::secret("0.NA/88.798.1", 300, b"guess");
    let a = link.administer(&create("88.798.1/F-1"), 0, &wrong).await.unwrap();
    assert_eq!(a.header.response_code, 403, "{}", message(&a));
    assert_eq!(rest_values(&n, "88.798.1/F-1").await.0, 404);
    // a replayed answer: the challenge answers once
    let (challenge, msg) = challenged(&mut link, &create("88.798.1/F-2")).await;
    let (env, answer) = answer_to(&challenge, &msg, &e1()).unwrap();
    assert_eq!(link.exchange(env, &answer).await.unwrap().header.response_code, 1);
    let replay = link.exchange(env, &answer).await.unwrap();
    assert_eq!(replay.header.response_code, 405, "{}", message(&replay));
    // an expired challenge
    let (challenge, msg) = challenged(&mut link, &create("88.798.1/F-3")).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (env, answer) = answer_to(&challenge, &msg, &e1()).unwrap();
    assert_eq!(link.exchange(env, &answer).await.unwrap().header.response_code, 405);
    assert_eq!(rest_values(&n, "88.798.1/F-3").await.0, 404);
    // an identity without the permission: E2's administrator under E1's prefix
    let e2 = Key::secret("0.NA/88.798.2", 300, b"demo-secret-2");
    let a = link.administer(&create("88.798.1/F-4"), 0, &e2).await.unwrap();
    assert_eq!(a.header.response_code, 400, "{}", message(&a));
    // an unknown authentication type
    let (challenge, msg) = challenged(&mut link, &create("88.798.1/F-5")).await;
    let (env, mut answer) = answer_to(&challenge, &msg, &e1()).unwrap();
    let at = answer.windows(9).position(|w| w == b"HS_SECKEY").unwrap();
    answer[at..at + 9].copy_from_slice(b"HS_NOTKEY");
    assert_eq!(link.exchange(env, &answer).await.unwrap().header.response_code, 404);
    // a key removed from the identity's record no longer authenticates
    let admin_key = Key::secret("0.NA/88.798.1", 301, b"second-key");
    let key_value = json!({"index": 301, "type": "HS_SECKEY", "data": {"format": "string", "value": "second-key"}});
    n.put("/api/handles/0.NA/88.798.1?index=301", ROOT, json!({"values": [key_value]})).await.expect(
        200,
        1,
        "0.NA/88.798.1",
    );
    let a = link.administer(&create("88.798.1/F-6"), 0, &admin_key).await.unwrap();
    assert_ne!(a.header.response_code, 403, "the new key authenticates: {}", message(&a));
    let removed = n.send(reqwest::Method::DELETE, "/api/handles/0.NA/88.798.1?index=301", Some(ROOT), None).await;
    removed.expect(200, 1, "0.NA/88.798.1");
    let a = link.administer(&create("88.798.1/F-7"), 0, &admin_key).await.unwrap();
    assert_eq!(a.header.response_code, 403, "{}", message(&a));
    // a truncated body: a protocol error, before any challenge
    let (env, msg) = client::request_bytes(5, 11, op::CREATE_HANDLE, opflag::KPAL, &[0, 0, 0, 40, b'8']);
    assert_eq!(link.exchange(env, &msg).await.unwrap().header.response_code, 4);
    // repeated failures lock the address out, as over REST
    for _ in 0..20 {
        link.administer(&create("88.798.1/F-8"), 0, &wrong).await.unwrap();
    }
    let a = link.administer(&create("88.798.1/F-8"), 0, &e1()).await.unwrap();
    assert_eq!(a.header.response_code, 403);
    assert!(message(&a).contains("try again"), "{}", message(&a));
    n.stop().await;
}

#[tokio::test]
async fn a_logged_in_connection_is_not_challenged_again() {
    let n = TestNode::start().await;
    let (_, tcp) = addrs(&n);
    let mut link = Link::connect(tcp, Transport::Tcp).await.unwrap();
    let login = link.login(&e1()).await.unwrap();
    assert_eq!((login.header.opcode, login.header.response_code), (op::LOGIN_ID_SYSTEM, 1), "{}", message(&login));
    let Link::Tcp(stream) = &mut link else { unreachable!() };
    // a create on the logged-in connection is answered at once, without a challenge
    let request = AdminRequest::Create("88.798.1/L-1".into(), vec![url(1, "https://l.example")]);
    let (env, msg) = client::request_bytes(9, 11, op::CREATE_HANDLE, 0, &request.encode());
    let a = client::exchange_tcp(stream, env, &msg).await.unwrap();
    assert_eq!(a.header.response_code, 1, "{}", message(&a));
    assert_eq!(rest_values(&n, "88.798.1/L-1").await.0, 200);
    // another connection is not logged in
    let mut other = Link::connect(tcp, Transport::Tcp).await.unwrap();
    let (env, msg) = client::request_bytes(
        10,
        11,
        op::DELETE_HANDLE,
        opflag::KPAL,
        &AdminRequest::Delete("88.798.1/L-1".into()).encode(),
    );
    assert_eq!(other.exchange(env, &msg).await.unwrap().header.response_code, 402);
    n.stop().await;
}

#[tokio::test]
async fn admin_command() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "demo-secret-1\n").unwrap();
    let run = |server: SocketAddr, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let key = ["--id", "300:0.NA/88.798.1", "--secret-file", secret.to_str().unwrap()];
        all.extend(key.iter().map(|s| s.to_string()).chain(["--server".into(), server.to_string()]));
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_idnode")).arg("admin").args(all).output().unwrap();
            let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            (out.status.success(), j)
        })
    };
    let h = "88.798.1/CLI-1";
    let (ok, j) = run(tcp, &["create", h, "--value", "1:URL:https://cli.example/1"]).await.unwrap();
    assert!(ok && j["responseCode"] == 1 && j["handle"] == h, "{j}");
    let (ok, j) = run(tcp, &["create", h, "--value", "1:URL:https://cli.example/1"]).await.unwrap();
    assert!(!ok && j["responseCode"] == 101, "exists, and the exit status says so: {j}");
    let (ok, j) = run(udp, &["add", h, "--value", "2:EMAIL:qa@cli.example", "--udp"]).await.unwrap();
    assert!(ok, "{j}");
    let (ok, _) = run(tcp, &["modify", h, "--value", "2:EMAIL:sales@cli.example"]).await.unwrap();
    assert!(ok);
    let (_, rest) = rest_values(&n, h).await;
    assert_eq!(rest["values"][1]["data"]["value"], "sales@cli.example", "{rest}");
    let (ok, _) = run(tcp, &["remove", h, "--index", "2"]).await.unwrap();
    assert!(ok);
    let (ok, j) =
        run(tcp, &["create", "88.798.1/CLI-", "--mint", "--value", "1:URL:https://cli.example/m"]).await.unwrap();
    assert!(ok && j["handle"].as_str().unwrap().starts_with("88.798.1/CLI-"), "{j}");
    let (ok, _) = run(tcp, &["delete", h]).await.unwrap();
    assert!(ok);
    assert_eq!(rest_values(&n, h).await.0, 404);
    let listed = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_idnode"))
            .args(["admin", "list", "88.798.1", "--id", "300:0.NA/88.798.1", "--server", &tcp.to_string()])
            .env("IDNODE_SECRET", "demo-secret-1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(listed.status.success());
    let lines = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(lines.lines().count(), 613, "612 demo records and the minted one");
    std::fs::write(&secret, "wrong").unwrap();
    let (ok, j) = run(tcp, &["delete", j["handle"].as_str().unwrap()]).await.unwrap();
    assert!(!ok && j["responseCode"] == 403, "{j}");
    n.stop().await;
}

#[tokio::test]
async fn public_key_identities() {
    let n = TestNode::start().await;
    let (_, tcp) = addrs(&n);
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("enterprise.pem");
    let idnode = env!("CARGO_BIN_EXE_idnode");
    // a key pair; its public half registered on the enterprise's prefix handle, with the rights to administer
    let out = std::process::Command::new(idnode)
        .args(["keygen", "--out", pem.to_str().unwrap(), "--index", "302", "--bits", "1024"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pubkey: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((pubkey["index"].as_u64(), pubkey["type"].as_str()), (Some(302), Some("HS_PUBKEY")), "{pubkey}");
    let again = std::process::Command::new(idnode).args(["keygen", "--out", pem.to_str().unwrap()]).output().unwrap();
    assert!(!again.status.success(), "an existing key file is not replaced");
    let admin = json!({"index": 101, "type": "HS_ADMIN",
        "data": {"format": "admin", "value": {"handle": "0.NA/88.798.1", "index": 302, "permissions": "011111110011"}}});
    let put = n.put("/api/handles/0.NA/88.798.1?index=various", ROOT, json!({"values": [pubkey, admin]})).await;
    put.expect(200, 1, "0.NA/88.798.1");
    // the CLI signs the challenge with the private key
    let h = "88.798.1/PK-1";
    let (server, key_file) = (tcp.to_string(), pem.to_str().unwrap().to_owned());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(idnode)
            .args(["admin", "create", h, "--id", "302:0.NA/88.798.1", "--private-key", &key_file])
            .args(["--value", "1:URL:https://pk.example/1", "--server", &server])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(rest_values(&n, h).await.0, 200);
    // another key's signature is refused, and so is the right key named at an index that holds no key
    let other = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let mut link = Link::connect(tcp, Transport::Tcp).await.unwrap();
    let a = link.administer(&AdminRequest::Delete(h.into()), 0, &Key::rsa("0.NA/88.798.1", 302, other)).await.unwrap();
    assert_eq!(a.header.response_code, 403, "{}", message(&a));
    use rsa::pkcs8::DecodePrivateKey as _;
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(&std::fs::read_to_string(&pem).unwrap()).unwrap();
    let a = link.administer(&AdminRequest::Delete(h.into()), 0, &Key::rsa("0.NA/88.798.1", 303, private.clone())).await;
    assert_eq!(a.unwrap().header.response_code, 403);
    let a =
        link.administer(&AdminRequest::Delete(h.into()), 0, &Key::rsa("0.NA/88.798.1", 302, private)).await.unwrap();
    assert_eq!(a.header.response_code, 1, "{}", message(&a));
    n.stop().await;
}

#[tokio::test]
async fn listings_over_tcp_in_messages_of_fifty() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let mut link = Link::connect(tcp, Transport::Tcp).await.unwrap();
    // 600 products and 12 batches: 13 messages of 50 (the last flagged without CONT), as Handle.Net sends them
    let (code, names) = link.list(&AdminRequest::List("0.NA/88.798.1".into()), &e1()).await.unwrap();
    assert_eq!(code, 1, "{names:?}");
    assert_eq!(names.len(), 612);
    assert!(
        names.contains(&"88.798.1/JDZ-2024-000123".to_owned()) && names.contains(&"88.798.1/BATCH-202405".to_owned())
    );
    // the slash-less form too; another enterprise's prefix is refused
    let (code, slashless) = link.list(&AdminRequest::List("88.798.1".into()), &e1()).await.unwrap();
    assert_eq!((code, slashless.len()), (1, 612));
    let (code, _) = link.list(&AdminRequest::List("0.NA/88.798.2".into()), &e1()).await.unwrap();
    assert_eq!(code, 400);
    // the homed prefixes: for the node administrator
    let root = Key::secret("0.NA/88.798", 300, b"root-secret");
    let (code, prefixes) = link.list(&AdminRequest::ListPrefixes("/".into()), &root).await.unwrap();
    assert_eq!(code, 1, "{prefixes:?}");
    assert!(
        prefixes.contains(&"0.NA/88.798".to_owned()) && prefixes.contains(&"0.NA/88.798.5".to_owned()),
        "{prefixes:?}"
    );
    let (code, _) = link.list(&AdminRequest::ListPrefixes("/".into()), &e1()).await.unwrap();
    assert_eq!(code, 400, "an enterprise administrator is not the node's");
    // not over UDP
    let mut over_udp = Link::connect(udp, Transport::Udp).await.unwrap();
    let a = over_udp.administer(&AdminRequest::List("0.NA/88.798.1".into()), 0, &e1()).await.unwrap();
    assert_eq!(a.header.response_code, 4, "{}", message(&a));
    n.stop().await;
}

/// Writes over UDP go to the blocking pool and name their challenge whatever the reads do (inline here).
#[tokio::test]
async fn udp_administration_with_inline_reads() {
    let n = TestNode::start_with(|c| c.node.reads = idnode::node::Reads::Inline).await;
    let (udp, _) = addrs(&n);
    let mut link = Link::connect(udp, Transport::Udp).await.unwrap();
    let create = AdminRequest::Create("88.798.1/UDP-1".into(), vec![url(1, "https://u.example")]);
    let a = link.administer(&create, 0, &e1()).await.unwrap();
    assert_eq!(a.header.response_code, 1, "{}", message(&a));
    assert_eq!(rest_values(&n, "88.798.1/UDP-1").await.0, 200);
    n.stop().await;
}
