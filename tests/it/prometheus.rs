//! The operators' tooling against the real thing: Debian's Prometheus server scrapes the node with the shipped
//! `deploy/prometheus.yml` and `deploy/alerts.yml` and answers PromQL about it; `promtool` accepts the rules; the
//! Grafana dashboard and the alert rules reference only metrics the node exports.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

fn tool(name: &str) -> String {
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap();
    assert!(found.status.success(), "{name} is missing: scripts/prereqs.sh installs Debian's prometheus package");
    String::from_utf8(found.stdout).unwrap().trim().to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The names `idnode_*` and `process_*` in `text` (PromQL or a dashboard), histogram suffixes removed.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with("idnode_") || t.starts_with("process_"))
        .map(|t| {
            let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| t.strip_suffix(s)).unwrap_or(t);
            if base.ends_with("_seconds") { base.to_owned() } else { t.to_owned() }
        })
        .collect()
}

async fn query(client: &reqwest::Client, port: u16, promql: &str) -> Value {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    match client.get(url).query(&[("query", promql)]).send().await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_node_and_answers_promql() {
    let prometheus = tool("prometheus");
    let n = TestNode::start().await;
    let admin = n.running.as_ref().unwrap().admin_addr.unwrap();
    for i in 1..=5 {
        let h = format!("88.798.2/JDZ-2024-{i:06}");
        n.get(&format!("/api/handles/{h}")).await.expect(200, 1, &h);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(format!("{DEPLOY}/prometheus.yml"))
        .unwrap()
        .replace("15s", "1s")
        .replace("127.0.0.1:9180", &admin.to_string());
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    std::fs::copy(format!("{DEPLOY}/alerts.yml"), dir.path().join("alerts.yml")).unwrap();
    let port = free_port();
    let _server = Killed(Some(
        Command::new(prometheus)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let client = reqwest::Client::new();
    let promql = r#"sum(idnode_core_resolutions_total{job="idnode",protocol="rest",result="ok"})"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    let answer = loop {
        let v = query(&client, port, promql).await;
        if v["data"]["result"][0]["value"][1] == "5" {
            break v;
        }
        assert!(Instant::now() < deadline, "Prometheus never saw 5 resolutions: {v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(answer["status"], "success");
    let up = query(&client, port, r#"up{job="idnode"}"#).await;
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let p99 = query(
        &client,
        port,
        r#"histogram_quantile(0.99, sum by (le) (idnode_api_request_duration_seconds_bucket{protocol="rest",operation="resolve"}))"#,
    )
    .await;
    let seconds: f64 = p99["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(seconds > 0.0 && seconds < 10.0, "{p99}");
    // the shipped alert rules are loaded and evaluate without errors
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rules: Value =
            client.get(format!("http://127.0.0.1:{port}/api/v1/rules")).send().await.unwrap().json().await.unwrap();
        let all: Vec<&Value> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        if !all.is_empty() && all.iter().all(|r| r["health"] == "ok") {
            break;
        }
        assert!(Instant::now() < deadline, "alert rules not healthy: {rules}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    n.stop().await;
}

#[test]
fn promtool_accepts_the_rules_and_the_config() {
    let promtool = tool("promtool");
    for args in [["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"]] {
        let out = Command::new(&promtool).args(args).current_dir(DEPLOY).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("SUCCESS"),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_alerts_use_only_exported_metrics() {
    let n = TestNode::start().await;
    n.get("/api/handles/88.798.1/JDZ-2024-000001").await.expect(200, 1, "88.798.1/JDZ-2024-000001");
    let exported: std::collections::BTreeSet<String> = n
        .metrics()
        .await
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split_whitespace().next().map(str::to_owned))
        .collect();
    let text = std::fs::read_to_string(format!("{DEPLOY}/grafana/idnode-dashboard.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 20, "panels with queries: {}", exprs.len());
    let used = metric_names(&exprs.join("\n"));
    let alerts = metric_names(&std::fs::read_to_string(format!("{DEPLOY}/alerts.yml")).unwrap());
    assert!(used.len() >= 20 && alerts.len() >= 10);
    let missing: Vec<_> = used.union(&alerts).filter(|m| !exported.contains(*m)).collect();
    assert!(missing.is_empty(), "not exported by the node: {missing:?}\nexported: {exported:?}");
    n.stop().await;
}

fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "query", Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}
