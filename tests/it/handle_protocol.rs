//! The Handle protocol over real UDP and TCP sockets: the same records as REST and gRPC, multi-packet messages,
//! truncation, connection handling, the published HS_SITE and the `idnode resolve` command.

use std::net::SocketAddr;
use std::time::Duration;

use idnode::grpc::pb;
use idnode::hdl::client::{self, ClientError, Transport};
use idnode::hdl::codec::{self, Envelope};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

fn addrs(n: &TestNode) -> (SocketAddr, SocketAddr) {
    n.running.as_ref().unwrap().handle_addrs.unwrap()
}

#[tokio::test]
async fn same_values_over_every_door() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let grpc_addr = n.running.as_ref().unwrap().grpc_addr.unwrap();
    let mut grpc = pb::resolver_client::ResolverClient::connect(format!("http://{grpc_addr}")).await.unwrap();
    for h in ["88.798.1/JDZ-2024-000123", "88.798.5/JDZ-2024-000600", "0.NA/88.798.2"] {
        let over_udp = client::resolve(udp, Transport::Udp, h, &[], &[], false).await.unwrap();
        let over_tcp = client::resolve(tcp, Transport::Tcp, h, &[], &[], false).await.unwrap();
        assert_eq!(over_udp, over_tcp);
        assert_eq!(over_udp.response_code, 1);
        let rest = n.get(&format!("/api/handles/{h}")).await.json();
        let rest_values: Vec<serde_json::Value> = rest["values"].as_array().unwrap().clone();
        let ours: Vec<serde_json::Value> =
            over_udp.values.iter().map(|v| serde_json::to_value(idnode::http::json::value_json(v)).unwrap()).collect();
        assert_eq!(ours, rest_values, "{h}");
        let g = grpc.resolve(pb::ResolveRequest { handle: h.into(), ..Default::default() }).await.unwrap().into_inner();
        let g_pairs: Vec<(u32, Vec<u8>)> = g.values.iter().map(|v| (v.index, v.data.clone())).collect();
        let u_pairs: Vec<(u32, Vec<u8>)> = over_udp.values.iter().map(|v| (v.index, v.data.clone())).collect();
        assert_eq!(g_pairs, u_pairs, "{h}");
    }
    // filters, not found, not responsible, digests
    let r =
        client::resolve(udp, Transport::Udp, "88.798.1/JDZ-2024-000123", &[1], &["glaze".into()], true).await.unwrap();
    assert_eq!(r.values.iter().map(|v| v.index).collect::<Vec<_>>(), vec![1, 2004]);
    assert_eq!(r.digest.as_ref().map(|d| (d.0, d.1.len())), Some((3, 32)));
    assert_eq!(
        client::resolve(udp, Transport::Udp, "88.798.1/NOPE", &[], &[], false).await.unwrap().response_code,
        100
    );
    assert_eq!(client::resolve(tcp, Transport::Tcp, "10.1000/x", &[], &[], false).await.unwrap().response_code, 301);
    n.stop().await;
}

#[tokio::test]
async fn multi_packet_messages_and_truncation() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    // a request longer than one packet (a 700-byte suffix) and a response of several packets
    let long = format!("88.798.1/{}", "长".repeat(230));
    let enc: String = long
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'/' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let big: Vec<serde_json::Value> =
        (1..=6).map(|i| json!({"index": i, "type": "NOTE", "data": "釉".repeat(200)})).collect();
    n.put(&format!("/api/handles/{enc}"), E1, json!(big)).await.expect(201, 1, &long);
    let r = client::resolve(udp, Transport::Udp, &long, &[], &[], false).await.unwrap();
    assert_eq!((r.response_code, r.values.len()), (1, 7), "6 notes and the default HS_ADMIN");
    // a plain socket (no receive offload) gets the answer as separate datagrams of at most 512 bytes, in order,
    // every one but the last full, though the server hands them to the kernel in one segmented send
    let plain = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (env, msg) = idnode::hdl::client::resolution_request(77, &long, &[], &[], false);
    for (i, chunk) in msg.chunks(492).enumerate() {
        let mut p = Vec::new();
        Envelope { sequence: i as u32, ..env }.encode(&mut p);
        p.extend_from_slice(chunk);
        plain.send_to(&p, udp).await.unwrap();
    }
    let mut buf = vec![0u8; 65536];
    let mut sizes = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), plain.recv(&mut buf)).await.unwrap().unwrap();
        let e = Envelope::decode(&buf[..n]).unwrap();
        assert_eq!((e.request_id, e.sequence), (77, sizes.len() as u32));
        sizes.push(n);
        if sizes.len() == (e.message_len as usize).div_ceil(492) {
            break;
        }
    }
    assert!(sizes.len() >= 3 && sizes[..sizes.len() - 1].iter().all(|&n| n == 512), "{sizes:?}");
    assert!(*sizes.last().unwrap() <= 512);
    // a response over the UDP limit (32 packets) is truncated; TCP gets it whole
    let huge: Vec<serde_json::Value> =
        (1..=30).map(|i| json!({"index": i, "type": "NOTE", "data": "瓷".repeat(300)})).collect();
    n.put("/api/handles/88.798.1/HUGE", E1, json!(huge)).await.expect(201, 1, "88.798.1/HUGE");
    assert!(matches!(
        client::resolve(udp, Transport::Udp, "88.798.1/HUGE", &[], &[], false).await,
        Err(ClientError::Truncated)
    ));
    assert_eq!(client::resolve(tcp, Transport::Tcp, "88.798.1/HUGE", &[], &[], false).await.unwrap().values.len(), 31);
    n.stop().await;
}

async fn send_raw(s: &mut tokio::net::TcpStream, env: Envelope, message: &[u8]) {
    let mut out = Vec::new();
    env.encode(&mut out);
    out.extend_from_slice(message);
    s.write_all(&out).await.unwrap();
}

#[tokio::test]
async fn tcp_connections() {
    let n = TestNode::start_with(|c| {
        c.connections.handshake_timeout_secs = 1;
        c.connections.idle_timeout_secs = 1;
        c.connections.max_open = 2;
    })
    .await;
    let (_, tcp) = addrs(&n);
    let resolution = |i: u32, flags: u32| {
        let body =
            codec::ResolutionRequest { handle: format!("88.798.2/JDZ-2024-{i:06}").into_bytes(), ..Default::default() }
                .encode();
        client::request_bytes(i, 10, codec::op::RESOLUTION, flags, &body)
    };
    // a request without keep-alive, first on its connection (CNRI's client): answered, then closed by the server
    let mut once = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let (env, msg) = resolution(1, 0);
    send_raw(&mut once, env, &msg).await;
    assert_eq!(client::read_tcp_answer(&mut once).await.unwrap().header.response_code, 1);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_millis(500), once.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "closed after the answer, before the idle timeout: {closed:?}");
    // a connection opened with site information (the IDIS SDKs) stays open without keep-alive
    let mut sdk = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let (env, msg) = client::request_bytes(1, 10, codec::op::GET_SITE_INFO, 0, &[]);
    send_raw(&mut sdk, env, &msg).await;
    assert_eq!(client::read_tcp_answer(&mut sdk).await.unwrap().header.response_code, 1);
    for i in 2..=3u32 {
        let (env, msg) = resolution(i, 0);
        send_raw(&mut sdk, env, &msg).await;
        assert_eq!(client::read_tcp_answer(&mut sdk).await.unwrap().header.response_code, 1);
    }
    drop(sdk);
    // several requests on one connection that asks for keep-alive
    let mut s = tokio::net::TcpStream::connect(tcp).await.unwrap();
    for i in 1..=5u32 {
        let (env, msg) = resolution(i, codec::opflag::KPAL);
        send_raw(&mut s, env, &msg).await;
        let a = client::read_tcp_answer(&mut s).await.unwrap();
        assert_eq!((a.envelope.request_id, a.header.response_code), (i, 1));
    }
    // an oversize length gets a protocol error, then the connection closes
    let bad = Envelope { major: 2, minor: 10, request_id: 9, message_len: 300_000, ..Envelope::default() };
    send_raw(&mut s, bad, &[]).await;
    let a = client::read_tcp_answer(&mut s).await.unwrap();
    assert_eq!(a.header.response_code, 4);
    assert_eq!(s.read_to_end(&mut rest).await.unwrap(), 0);
    // idle connections are closed
    let mut idle = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "idle connection closed by the server");
    // the connection cap: two held open, the third is closed at once
    let _a = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let _b = tokio::net::TcpStream::connect(tcp).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let r = tokio::time::timeout(Duration::from_millis(900), c.read_to_end(&mut rest)).await;
    assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "third connection refused: {r:?}");
    n.stop().await;
}

/// The answer's envelope and header as Handle.Net writes them, to a request as CNRI's client sends it (2.3
/// suggesting 2.11, recursive, cache-certify, public-only, asking for the digest).
#[tokio::test]
async fn answers_are_framed_as_handle_net_frames_them() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    use codec::opflag::{AUTH, CACR, PUBL, RECU, RRDG};
    let body = codec::ResolutionRequest { handle: b"88.798.1/JDZ-2024-000123".to_vec(), ..Default::default() }.encode();
    for transport in [Transport::Udp, Transport::Tcp] {
        let (env, msg) = client::request_bytes(42, 3, codec::op::RESOLUTION, RECU | CACR | PUBL | RRDG, &body);
        assert_eq!((env.flags, env.suggested_minor), (2, 11), "the crate's client suggests 2.11");
        let addr = if transport == Transport::Udp { udp } else { tcp };
        let a = client::exchange(addr, transport, env, &msg).await.unwrap();
        let e = a.envelope;
        assert_eq!((e.major, e.minor, e.flags & 3, e.suggested_minor, e.request_id), (2, 11, 2, 11, 42));
        let flags = a.header.opflags;
        assert_eq!(flags & (AUTH | RECU | CACR | PUBL | RRDG), AUTH | RECU | CACR | PUBL | RRDG, "{flags:#x}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
        assert!(a.header.expiration >= now + 43_000, "valid for 12 hours");
        // the digest is the answer version's (SHA-256 from 2.7)
        let r = codec::decode_resolution(&a.body, true).unwrap();
        let (kind, digest) = r.digest.unwrap();
        assert_eq!((kind, digest.len()), (3, 32));
    }
    n.stop().await;
}

#[tokio::test]
async fn site_is_served_and_published() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let (rc, data) = client::site_info(udp, Transport::Udp).await.unwrap();
    assert_eq!(rc, 1);
    let site = idnode::record::site::Site::decode(&data).unwrap();
    let ports: Vec<(u8, u32)> = site.servers[0].interfaces.iter().map(|i| (i.protocol, i.port)).collect();
    // UDP and TCP; not the REST port, which speaks no Handle messages over HTTP
    assert_eq!(ports, vec![(0, u32::from(udp.port())), (1, u32::from(tcp.port()))]);
    // IPv4 as the Handle encoding has it (12 zero bytes), so that CNRI's client finds an IPv4 interface
    assert!(data.windows(16).any(|w| w == [[0u8; 12].as_slice(), &[127, 0, 0, 1]].concat().as_slice()));
    // published on the prefix handles the node homes, so a hierarchy above can refer clients here
    for p in ["0.NA/88.798", "0.NA/88.798.3"] {
        let j = n.get(&format!("/api/handles/{p}?type=HS_SITE")).await.expect(200, 1, p);
        assert_eq!(j["values"][0]["data"]["format"], "site");
        assert_eq!(j["values"][0]["data"]["value"]["servers"][0]["interfaces"][1]["port"], tcp.port());
        let r = client::resolve(tcp, Transport::Tcp, p, &[], &["HS_SITE".into()], false).await.unwrap();
        assert_eq!(r.values[0].data, data);
    }
    n.stop().await;
}

#[tokio::test]
async fn resolve_command() {
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let http = n.running.as_ref().unwrap().http_addr;
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_idnode")).args(args).output().unwrap()
        })
    };
    let h = "88.798.1/JDZ-2024-000123";
    let mut outputs = Vec::new();
    for (server, mode) in [(udp, "--udp"), (tcp, "--tcp"), (http, "--http")] {
        let out = run(vec![
            "resolve".into(),
            h.into(),
            "--server".into(),
            server.to_string(),
            mode.into(),
            "--index".into(),
            "2000".into(),
            "--type".into(),
            "glaze".into(),
        ])
        .await
        .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(j["responseCode"], 1, "{mode}");
        outputs.push(j["values"].clone());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    assert_eq!(outputs[0].as_array().unwrap().len(), 2);
    n.stop().await;
}

#[tokio::test]
async fn overload_answers_too_busy() {
    let n = TestNode::start_with(|c| c.handle.max_in_flight = 0).await;
    let (udp, tcp) = addrs(&n);
    for (addr, t) in [(udp, Transport::Udp), (tcp, Transport::Tcp)] {
        let r = client::resolve(addr, t, "88.798.1/JDZ-2024-000123", &[], &[], false).await.unwrap();
        assert_eq!(r.response_code, 3, "{t:?}");
        assert!(r.message.contains("busy"));
    }
    n.stop().await;
}

#[tokio::test]
async fn udp_answers_over_a_source_budget_go_out_truncated() {
    const H: &str = "88.798.1/JDZ-2024-000123";
    const BIG: &str = "88.798.1/UDP-BIG";
    // 2 KiB a second for each source block, loopback not exempt.
    let n = TestNode::start_with(|c| {
        c.handle.udp_answer_kib_per_source = 2;
        c.handle.udp_unlimited_sources = vec![];
    })
    .await;
    let (udp, tcp) = addrs(&n);
    // An answer that fits the fresh budget goes out in full.
    let full = client::resolve(udp, Transport::Udp, H, &[], &[], false).await.unwrap();
    assert_eq!(full.response_code, 1);
    // An answer of over 3 KB never fits in 2 KiB: it always goes out truncated, and in full over TCP.
    let values: Vec<serde_json::Value> =
        (1..=6).map(|i| json!({"index": i, "type": "NOTE", "data": "x".repeat(500)})).collect();
    n.put(&format!("/api/handles/{BIG}"), E1, json!(values)).await.expect(201, 1, BIG);
    for _ in 0..10 {
        let r = client::resolve(udp, Transport::Udp, BIG, &[], &[], false).await;
        assert!(matches!(r, Err(ClientError::Truncated)), "{r:?}");
        assert_eq!(
            client::resolve(tcp, Transport::Tcp, BIG, &[], &[], false).await.unwrap().values.len(),
            7,
            "with the HS_ADMIN added"
        );
    }
    assert_eq!(count(&n.metrics().await, "idnode_handle_udp_limited_total"), 10.0);
    n.stop().await;
    // By default loopback is exempt.
    let n = TestNode::start_with(|c| c.handle.udp_answer_kib_per_source = 2).await;
    let (udp, _) = addrs(&n);
    for _ in 0..20 {
        assert_eq!(client::resolve(udp, Transport::Udp, H, &[], &[], false).await.unwrap(), full);
    }
    n.stop().await;
}

#[tokio::test]
async fn udp_error_answers_are_charged_to_the_source_budget() {
    // 2 KiB a second for each source block, loopback not exempt.
    let n = TestNode::start_with(|c| {
        c.handle.udp_answer_kib_per_source = 2;
        c.handle.udp_unlimited_sources = vec![];
    })
    .await;
    let (udp, _) = addrs(&n);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A bare envelope declaring an impossible length draws an error answer four times its size.
    let mut bad = Vec::new();
    Envelope { major: 2, minor: 10, message_len: u32::MAX, ..Envelope::default() }.encode(&mut bad);
    for _ in 0..300 {
        socket.send_to(&bad, udp).await.unwrap();
    }
    let (mut answers, mut bytes, mut buf) = (0, 0, [0u8; 2048]);
    while let Ok(Ok(len)) = tokio::time::timeout(Duration::from_millis(300), socket.recv(&mut buf)).await {
        answers += 1;
        bytes += len;
    }
    assert!(answers > 0, "an error answer while within the budget");
    assert!(bytes < 6 * 1024, "{answers} answers, {bytes} bytes for 300 bad envelopes: not charged to the budget");
    let m = n.metrics().await;
    assert!(count(&m, "idnode_handle_udp_limited_total") > 0.0, "{m}");
    n.stop().await;
}

#[tokio::test]
async fn one_source_cannot_take_every_tcp_place() {
    let n = TestNode::start_with(|c| c.connections.max_per_source = 2).await;
    let (_, tcp) = addrs(&n);
    let held = [tokio::net::TcpStream::connect(tcp).await.unwrap(), tokio::net::TcpStream::connect(tcp).await.unwrap()];
    // The third connection from this address is closed on accept.
    let mut third = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let mut buf = [0u8; 1];
    let closed =
        tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await.expect("closed, not left open");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert!(client::resolve(tcp, Transport::Tcp, "88.798.1/JDZ-2024-000123", &[], &[], false).await.is_err());
    // A place given back is taken again.
    drop(held);
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(r) = client::resolve(tcp, Transport::Tcp, "88.798.1/JDZ-2024-000123", &[], &[], false).await {
            answered = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(answered.expect("a place again").response_code, 1);
    n.stop().await;
}

/// The node's key: made on first start, kept with the data, published in `HS_SITE`; answers to certified
/// requests (resolutions, errors, challenges) are signed with it, over UDP and TCP.
#[tokio::test]
async fn certified_answers_are_signed_with_the_published_key() {
    use idnode::hdl::signing;
    use idnode::record::pubkey::PublicKey;
    let n = TestNode::start().await;
    let (udp, tcp) = addrs(&n);
    let (_, data) = client::site_info(udp, Transport::Udp).await.unwrap();
    let site = idnode::record::site::Site::decode(&data).unwrap();
    let key = PublicKey::decode(&site.servers[0].public_key).expect("HS_SITE carries the node's public key");
    let interfaces: Vec<(u8, u8)> = site.servers[0].interfaces.iter().map(|i| (i.kind, i.protocol)).collect();
    assert_eq!(interfaces, vec![(2, 0), (3, 1)], "UDP for queries, TCP for queries and administration");
    let admin_request = idnode::hdl::admin::AdminRequest::Delete("88.798.1/JDZ-2024-000001".into()).encode();
    let requests = [
        (
            codec::op::RESOLUTION,
            codec::ResolutionRequest { handle: b"88.798.1/JDZ-2024-000123".to_vec(), ..Default::default() }.encode(),
        ),
        (
            codec::op::RESOLUTION,
            codec::ResolutionRequest { handle: b"88.798.1/NOPE".to_vec(), ..Default::default() }.encode(),
        ),
        (codec::op::DELETE_HANDLE, admin_request),
    ];
    for transport in [Transport::Udp, Transport::Tcp] {
        for (minor, (opcode, body)) in [11u8, 7, 5].into_iter().zip(requests.iter().cycle()) {
            let addr = if transport == Transport::Udp { udp } else { tcp };
            let (mut env, msg) = client::request_bytes(7, minor, *opcode, codec::opflag::CERT, body);
            env.suggested_minor = minor;
            let a = client::exchange(addr, transport, env, &msg).await.unwrap();
            assert_ne!(a.header.opflags & codec::opflag::CERT, 0, "{transport:?} 2.{minor}");
            let header_and_body = codec::encode_message(&a.header, &a.body);
            let signed = &header_and_body[..header_and_body.len() - 4];
            assert!(signing::verify(&key, &a.envelope, signed, &a.credential), "{transport:?} 2.{minor} {opcode}");
            let mut forged = signed.to_vec();
            *forged.last_mut().unwrap() ^= 1;
            assert!(!signing::verify(&key, &a.envelope, &forged, &a.credential), "{transport:?} 2.{minor}");
        }
    }
    // uncertified requests get unsigned answers
    let (env, msg) = client::resolution_request(8, "88.798.1/JDZ-2024-000123", &[], &[], false);
    assert!(client::exchange(tcp, Transport::Tcp, env, &msg).await.unwrap().credential.is_empty());
    // the key is kept with the data: the same after a restart
    let n = n.restart().await;
    let (udp, _) = addrs(&n);
    let (_, again) = client::site_info(udp, Transport::Udp).await.unwrap();
    assert_eq!(idnode::record::site::Site::decode(&again).unwrap().servers[0].public_key, site.servers[0].public_key);
    n.stop().await;
}
