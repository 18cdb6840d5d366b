//! A graceful stop is bounded: clients that keep connections open mid-request do not hold it up.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::harness::*;

#[tokio::test]
async fn a_client_sending_its_headers_slowly_does_not_hold_the_stop_up() {
    let n = TestNode::start_with(|c| c.node.shutdown_grace_secs = 1).await;
    let running = n.running.as_ref().unwrap();
    let mut slow = Vec::new();
    for addr in [running.http_addr, running.admin_addr.unwrap()] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /api/handles/88.798.1/JDZ-2024-000123 HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), n.stop()).await.expect("the node stops");
    assert!(started.elapsed() < Duration::from_secs(10), "stopped after {:?}", started.elapsed());
}
