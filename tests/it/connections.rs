//! Connection exhaustion (issue 15, finding 2): slow or silent clients are cut off by the timeouts, one source
//! cannot take every connection, and a full node still answers its operator on the admin listener.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use base64::Engine as _;

use crate::harness::{ROOT, TestNode, count, sample};

/// A node whose timeouts are a second, so that a test sees them fire.
async fn impatient(tweak: impl FnOnce(&mut idnode::config::Config)) -> TestNode {
    TestNode::start_with(|c| {
        c.connections.handshake_timeout_secs = 1;
        c.connections.request_timeout_secs = 1;
        c.connections.send_timeout_secs = 1;
        c.connections.idle_timeout_secs = 2;
        tweak(c);
    })
    .await
}

fn rest_addr(n: &TestNode) -> SocketAddr {
    n.running.as_ref().unwrap().http_addr
}

/// Whether the node closed `s` within `within`, while `s` goes on sending `trickle` (a byte at a time, every
/// 200 ms) when given.
async fn closed_within(s: &mut TcpStream, within: Duration, trickle: Option<&[u8]>) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 512];
    let mut next = trickle.unwrap_or_default().iter().cycle();
    while start.elapsed() < within {
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {} // an answer (an HTTP/2 SETTINGS frame, say): not a close
            Err(_) => {}
        }
        if trickle.is_some() && s.write_all(&[*next.next().unwrap()]).await.is_err() {
            return true;
        }
    }
    false
}

async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

#[tokio::test]
async fn slow_headers_and_bodies_are_cut_off() {
    let n = impatient(|_| {}).await;
    let addr = rest_addr(&n);
    // Slowloris: headers that never end, one byte every 200 ms. The connection is never idle.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/handles/88.798.1/JDZ-2024-000123 HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(6), Some(b"X-Pad: y\r\n")).await, "slow headers kept open");
    // An authorized write whose body is declared 1,000 bytes long, of which 10 arrive.
    let mut body = TcpStream::connect(addr).await.unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ROOT.0, ROOT.1));
    let head = format!(
        "PUT /api/handles/88.798.1/SLOW HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"values\":"
    );
    body.write_all(head.as_bytes()).await.unwrap();
    assert!(closed_within(&mut body, Duration::from_secs(6), None).await, "a stalled body kept open");
    // A connection that answers its requests in time is not touched, and serves after a pause.
    let mut good = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        resolves(&mut good).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    let m = n.metrics().await;
    // The trickle broke the request timeout; the stalled body, quiet since, the idle one.
    assert!(count(&m, r#"idnode_connections_expired_total{protocol="rest",reason="request"}"#) >= 1.0, "{m}");
    assert!(count(&m, r#"idnode_connections_expired_total{protocol="rest",reason="idle"}"#) >= 1.0, "{m}");
    n.stop().await;
}

#[tokio::test]
async fn silent_and_half_open_connections_are_closed_on_every_listener() {
    let n = impatient(|_| {}).await;
    let running = n.running.as_ref().unwrap();
    let grpc = running.grpc_addr.unwrap();
    let (_, handle_tcp) = running.handle_addrs.unwrap();
    let mut silent_grpc = TcpStream::connect(grpc).await.unwrap();
    let mut silent_rest = TcpStream::connect(rest_addr(&n)).await.unwrap();
    let mut silent_handle = TcpStream::connect(handle_tcp).await.unwrap();
    // Half an HTTP/2 preface: the node sends its SETTINGS and waits for the rest.
    let mut half = TcpStream::connect(grpc).await.unwrap();
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    for (name, s) in
        [("gRPC", &mut silent_grpc), ("REST", &mut silent_rest), ("Handle", &mut silent_handle), ("preface", &mut half)]
    {
        assert!(closed_within(s, Duration::from_secs(6), None).await, "{name}: left open");
    }
    let m = n.metrics().await;
    assert!(count(&m, r#"idnode_connections_expired_total{protocol="grpc",reason="handshake"}"#) >= 1.0, "{m}");
    assert!(count(&m, r#"idnode_connections_expired_total{protocol="grpc",reason="idle"}"#) >= 1.0, "{m}");
    assert_eq!(count(&m, r#"idnode_api_open_connections{protocol="grpc"}"#), 0.0, "{m}");
    n.stop().await;
}

#[tokio::test]
async fn one_source_cannot_take_every_connection() {
    let n = TestNode::start_with(|c| c.connections.max_per_source = 3).await;
    let addr = rest_addr(&n);
    let held: Vec<TcpStream> = answered_connections(addr, "127.0.0.1", 3).await;
    let mut fourth = connect_from("127.0.0.1", addr).await;
    assert!(closed_within(&mut fourth, Duration::from_secs(3), None).await, "a fourth connection from one source");
    // Another source is served.
    resolves(&mut connect_from("127.0.0.2", addr).await).await;
    drop(held);
    let m = n.metrics().await;
    assert!(count(&m, r#"idnode_connections_refused_total{protocol="rest",reason="per_source"}"#) >= 1.0, "{m}");
    n.stop().await;
}

#[tokio::test]
async fn a_full_node_still_answers_its_operator() {
    let n = TestNode::start_with(|c| c.connections.max_open = 4).await;
    let addr = rest_addr(&n);
    let held: Vec<TcpStream> = answered_connections(addr, "127.0.0.2", 4).await;
    let mut over = connect_from("127.0.0.3", addr).await;
    assert!(closed_within(&mut over, Duration::from_secs(3), None).await, "a connection beyond max_open");
    // The admin listener has places of its own.
    let m = n.metrics().await;
    assert!(count(&m, r#"idnode_connections_refused_total{protocol="rest",reason="full"}"#) >= 1.0, "{m}");
    assert_eq!(sample(&m, "idnode_connections_max_open"), Some(4.0), "{m}");
    assert_eq!(n.admin("/readyz", None).await.status, 200);
    drop(held);
    n.stop().await;
}

/// `k` connections from `source`, each known to the node (it answered a request on it).
async fn answered_connections(addr: SocketAddr, source: &str, k: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..k {
        let mut s = connect_from(source, addr).await;
        resolves(&mut s).await;
        held.push(s);
    }
    held
}

/// Resolves a demo record on `s` and checks that the answer is a 200.
async fn resolves(s: &mut TcpStream) {
    s.write_all(b"GET /api/handles/88.798.1/JDZ-2024-000123 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 8192];
    let got = s.read(&mut buf).await.unwrap();
    assert!(buf[..got].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..got]));
}
