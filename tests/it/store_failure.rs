//! The store's health (issue 15, findings 2 and 3): when RocksDB cannot write (here: no descriptor left for the
//! new WAL of a memtable switch, as under a connection flood or a full disk), `/readyz` fails and the metrics
//! say so, reads go on, the node recovers by itself once the cause is gone, and a stop in the failed state is
//! clean. Acknowledged writes all survive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::crash::spawn_node_with;
use crate::harness::{E1, Killed, sample};

/// One HTTP/1.1 exchange on a connection opened before descriptors ran out: (status, body).
fn exchange(s: &mut TcpStream, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", E1.0, E1.1));
    let body = body.unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        let Some((head, rest)) = text.split_once("\r\n\r\n") else { continue };
        let len = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        if rest.len() >= len {
            let status = head[9..12].parse().unwrap();
            return (status, rest[..len].to_owned());
        }
    }
}

fn record(fill: usize) -> String {
    let data = "瓷".repeat(fill / 3);
    format!(
        r#"[{{"index":1,"type":"URL","data":"https://trace.example.cn/x"}},{{"index":2000,"type":"note","data":"{data}"}}]"#
    )
}

/// Sets the soft descriptor limit of `pid`, the hard one unchanged; returns the old soft limit.
fn set_soft_nofile(pid: libc::pid_t, soft: u64) -> u64 {
    let mut old = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: prlimit(2) on a child of this process, with valid rlimit structures.
    assert_eq!(unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) }, 0);
    let new = libc::rlimit { rlim_cur: soft, rlim_max: old.rlim_max };
    assert_eq!(unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) }, 0);
    old.rlim_cur
}

/// The descriptor the next `open` of `pid` would get (the lowest free number): a soft limit of it leaves none.
fn next_fd(pid: libc::pid_t) -> u64 {
    let open: std::collections::BTreeSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|fd| !open.contains(fd)).unwrap()
}

/// Writes large records until one fails (the memtable switch finds no descriptor); returns those acknowledged.
fn write_until_refused(rest: &mut TcpStream, tag: &str) -> Vec<String> {
    let mut acked = Vec::new();
    for i in 0..40 {
        let h = format!("88.798.1/FULL-{tag}-{i}");
        match exchange(rest, "PUT", &format!("/api/handles/{h}"), Some(&record(300_000))) {
            (201, _) => acked.push(h),
            (500, body) => {
                assert!(body.contains("\"responseCode\":2"), "{body}");
                return acked;
            }
            other => panic!("{h}: {other:?}"),
        }
    }
    panic!("40 writes of 300 KB with a 1 MiB memtable and no descriptor left all succeeded");
}

fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(15), "{what}: not within 15 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_store_that_cannot_write_fails_readiness_recovers_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("idnode.toml");
    std::fs::write(&config, "[storage]\nwrite_buffer_mb = 1\n").unwrap();
    let data = dir.path().join("db");
    let (mut node, base, logs) = spawn_node_with(&data, &[("IDNODE_CONFIG", &config)]);
    let admin = logs.lock().unwrap().iter().find_map(|l| {
        let admin = l["fields"]["message"].as_str()?.starts_with("admin listener");
        admin.then(|| l["fields"]["addr"].as_str().map(str::to_owned))?
    });
    let admin = admin.expect("the admin address was logged");
    let pid = libc::pid_t::try_from(node.child().id()).unwrap();
    // Connections opened while descriptors remain.
    let mut rest = TcpStream::connect(base.strip_prefix("http://").unwrap()).unwrap();
    let mut ops = TcpStream::connect(&admin).unwrap();
    assert_eq!(exchange(&mut ops, "GET", "/readyz", None).0, 200);
    assert_eq!(exchange(&mut rest, "PUT", "/api/handles/88.798.1/FULL-A", Some(&record(10))).0, 201);

    let soft = set_soft_nofile(pid, next_fd(pid));
    let mut acked = write_until_refused(&mut rest, "1");
    let (status, why) = exchange(&mut ops, "GET", "/readyz", None);
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("store writes fail"), "{why}");
    let (_, metrics) = exchange(&mut ops, "GET", "/metrics", None);
    assert_eq!(sample(&metrics, "idnode_store_failed"), Some(1.0), "{metrics}");
    assert_eq!(exchange(&mut rest, "GET", "/api/handles/88.798.1/FULL-A", None).0, 200, "reads go on");

    // The cause goes away: the node reopens the store by itself.
    set_soft_nofile(pid, soft);
    until("ready again", || exchange(&mut ops, "GET", "/readyz", None).0 == 200);
    let (_, metrics) = exchange(&mut ops, "GET", "/metrics", None);
    assert_eq!(sample(&metrics, "idnode_store_failed"), Some(0.0), "{metrics}");
    assert_eq!(sample(&metrics, "idnode_store_recoveries_total"), Some(1.0), "{metrics}");
    assert_eq!(exchange(&mut rest, "PUT", "/api/handles/88.798.1/FULL-B", Some(&record(10))).0, 201);

    // Failed again, then stopped: a clean exit.
    set_soft_nofile(pid, next_fd(pid));
    acked.extend(write_until_refused(&mut rest, "2"));
    drop((rest, ops));
    let child = node.0.take().unwrap();
    // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a stop with a failed store exits with {:?}", out.status);

    // Every acknowledged write is there after a restart.
    let (node, base, _) = spawn_node_with(&data, &[]);
    let _node: Killed = node;
    let mut rest = TcpStream::connect(base.strip_prefix("http://").unwrap()).unwrap();
    for h in ["88.798.1/FULL-A", "88.798.1/FULL-B"].iter().copied().map(String::from).chain(acked) {
        assert_eq!(exchange(&mut rest, "GET", &format!("/api/handles/{h}?index=1"), None).0, 200, "{h} lost");
    }
}
