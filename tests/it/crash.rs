//! Durability: registrations acknowledged before a SIGKILL are all there after a restart on the same directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::harness::*;

/// The JSON log lines of a node, collected as it runs.
pub type Logs = Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// Starts the `idnode` binary on a free loopback port and returns it with its base URL and its log.
pub fn spawn_node(dir: &Path) -> (Killed, String, Logs) {
    spawn_node_with(dir, &[])
}

/// [`spawn_node`] with more environment variables (`IDNODE_CONFIG`, say); the log holds every line, from the
/// first.
pub fn spawn_node_with(dir: &Path, env: &[(&str, &Path)]) -> (Killed, String, Logs) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idnode"))
        .args([
            "serve",
            "--demo",
            "--allow-insecure-auth",
            "--log-json",
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "127.0.0.1:0",
            "--handle",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .env("IDNODE_ADMIN_SECRET", ROOT.1)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn idnode");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    let logs = Logs::default();
    loop {
        let line = lines.next().expect("node exited before it was ready").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "REST API listening" {
            addr = v["fields"]["addr"].as_str().map(str::to_owned);
        }
        let ready = v["fields"]["message"] == "node ready";
        logs.lock().unwrap().push(v);
        if ready {
            break;
        }
    }
    let addr = addr.expect("the REST address was logged");
    // keep draining the log so the node never blocks on a full pipe
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(serde_json::from_str(&line).unwrap_or_default());
        }
    });
    (Killed(Some(child)), format!("http://{addr}"), logs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let (mut child, base, logs) = spawn_node(&data);
    let client = reqwest::Client::new();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, acked, stop) = (client.clone(), base.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let h = format!("88.798.1/CRASH-{w}-{i:05}");
                let r = client
                    .put(format!("{base}/api/handles/{h}"))
                    .basic_auth(E1.0, Some(E1.1))
                    .json(&json!([url_value(1, &format!("https://trace.example.cn/{h}")), {"index":2000,"type":"productName","data":"青花瓷碗"}]))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => acked.lock().unwrap().push(h),
                    _ => break, // the node is gone
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 400 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // structured logs: each committed change is logged inside its request's span, with the request id
    let committed =
        logs.lock().unwrap().iter().find(|l| l["fields"]["message"] == "committed" && l["span"].is_object()).cloned();
    let committed = committed.expect("a JSON log line per committed change");
    assert!(committed["span"]["request_id"].as_str().is_some_and(|id| id.len() == 16), "{committed}");
    assert_eq!(committed["fields"]["identity"], "300:0.NA/88.798.1", "{committed}");
    child.child().kill().unwrap(); // SIGKILL, writes in flight
    child.child().wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 400);
    let (mut child, base, _) = spawn_node(&data);
    for h in &acked {
        let r = client.get(format!("{base}/api/handles/{h}?index=2000")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{h} was acknowledged but is lost");
        let j: serde_json::Value = r.json().await.unwrap();
        assert_eq!(j["values"][0]["data"]["value"], "青花瓷碗");
    }
    // the demo data was not loaded twice and is intact
    let r = client.get(format!("{base}/api/handles/88.798.1/JDZ-2024-000123")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // registrations are counted in the batch of the record: the statistics match the store exactly
    let listing =
        client.get(format!("{base}/api/handles?prefix=88.798.1&page=0&pageSize=1")).basic_auth(E1.0, Some(E1.1));
    let listing: serde_json::Value = listing.send().await.unwrap().json().await.unwrap();
    let in_store =
        listing["totalCount"].as_str().and_then(|t| t.parse::<u64>().ok()).or(listing["totalCount"].as_u64());
    let stats: serde_json::Value =
        client.get(format!("{base}/api/stats?prefix=88.798.1")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["prefixes"][0]["registered"].as_u64(), in_store, "{stats}");
    assert!(in_store.unwrap() >= 600 + acked.len() as u64);
    child.child().kill().unwrap();
    child.child().wait().unwrap();
    eprintln!("{} acknowledged registrations survived SIGKILL", acked.len());
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (mut node, _base, _) = spawn_node(&dir.path().join("db"));
    let child = node.0.take().unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "{}", std::io::Error::last_os_error());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
}
