//! Starting nodes on `127.0.0.1:0` and talking to them.

use std::path::PathBuf;

use idnode::config::Config;
use idnode::server::{self, Running};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use tempfile::TempDir;

/// Secret of the node administrator `300:0.NA/88.798` in tests.
pub const ROOT: (&str, &str) = ("300%3A0.NA/88.798", "root-secret");
/// Administrator of enterprise prefix 88.798.1 (demo data).
pub const E1: (&str, &str) = ("300%3A0.NA/88.798.1", "demo-secret-1");
/// Administrator of enterprise prefix 88.798.2 (demo data).
pub const E2: (&str, &str) = ("300%3A0.NA/88.798.2", "demo-secret-2");

/// A running node and its data directory.
pub struct TestNode {
    pub running: Option<Running>,
    pub base: String,
    pub client: reqwest::Client,
    cfg: Config,
    _dir: TempDir,
}

/// A test configuration: demo data, insecure auth allowed on loopback, a temp store.
pub fn config(dir: &TempDir) -> Config {
    let mut cfg = Config::default();
    cfg.storage.path = dir.path().join("db");
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg.http.allow_insecure_auth = true;
    cfg.grpc.listen = "127.0.0.1:0".parse().unwrap();
    cfg.handle.listen_udp = "127.0.0.1:0".parse().unwrap();
    cfg.handle.listen_tcp = "127.0.0.1:0".parse().unwrap();
    cfg.admin.listen = "127.0.0.1:0".parse().unwrap();
    cfg.bootstrap.admin_secret = Some(ROOT.1.into());
    cfg
}

impl TestNode {
    /// Starts a node with the test configuration, changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(&dir);
        tweak(&mut cfg);
        Self::serve(cfg, dir).await
    }

    async fn serve(cfg: Config, dir: TempDir) -> Self {
        let running = server::start(cfg.clone(), true).await.expect("node starts");
        let scheme = if running.https { "https" } else { "http" };
        let base = format!("{scheme}://{}", running.http_addr);
        let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        Self { running: Some(running), base, client, cfg, _dir: dir }
    }

    /// Stops the node gracefully and starts it again on the same data directory (new ports).
    pub async fn restart(mut self) -> Self {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
        let (cfg, dir) = (self.cfg.clone(), std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap()));
        Self::serve(cfg, dir).await
    }

    /// Starts a node with the test configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Sends a request; `auth` is (encoded user, secret).
    pub async fn send(&self, method: Method, path: &str, auth: Option<(&str, &str)>, body: Option<Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Reply::from(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn put(&self, path: &str, auth: (&str, &str), body: Value) -> Reply {
        self.send(Method::PUT, path, Some(auth), Some(body)).await
    }

    pub async fn delete(&self, path: &str, auth: (&str, &str)) -> Reply {
        self.send(Method::DELETE, path, Some(auth), None).await
    }

    /// GET on the admin listener.
    pub async fn admin(&self, path: &str, auth: Option<(&str, &str)>) -> Reply {
        let addr = self.running.as_ref().and_then(|r| r.admin_addr).expect("admin listener");
        let mut req = self.client.get(format!("http://{addr}{path}"));
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        Reply::from(req.send().await.expect("admin request")).await
    }

    /// The node's `/metrics`.
    pub async fn metrics(&self) -> String {
        let r = self.admin("/metrics", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/plain; version=0.0.4")));
        r.text
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
    }
}

/// A response, its body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub async fn from(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        Self { status, headers, text }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the (HTTP status, responseCode) pair and that the body echoes `handle`.
    #[track_caller]
    pub fn expect(&self, status: u16, rc: i64, handle: &str) -> Value {
        let j = self.json();
        assert_eq!((self.status.as_u16(), j["responseCode"].as_i64()), (status, Some(rc)), "body: {}", self.text);
        assert_eq!(j["handle"].as_str(), Some(handle), "echo: {}", self.text);
        j
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A value body for PUT.
pub fn url_value(index: u32, url: &str) -> Value {
    serde_json::json!({"index": index, "type": "URL", "data": {"format": "string", "value": url}})
}

/// The indexes of a resolution body.
pub fn indexes(j: &Value) -> Vec<u64> {
    j["values"].as_array().unwrap().iter().map(|v| v["index"].as_u64().unwrap()).collect()
}

/// Where test tools (the Python virtual environment) are cached between runs.
pub fn tool_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A Python virtual environment under the target directory with `packages` installed (created on first use,
/// reused while `import_check` imports).
pub fn python_venv(name: &str, packages: &[&str], import_check: &str) -> PathBuf {
    use std::process::Command;
    let venv = tool_dir().join(name);
    let python = venv.join("bin/python");
    let ready = || Command::new(&python).args(["-c", import_check]).status().is_ok_and(|s| s.success());
    if !python.exists() || !ready() {
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 is installed");
        assert!(ok.success(), "python3 -m venv {} failed", venv.display());
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages)
            .status()
            .unwrap();
        assert!(ok.success(), "pip install {packages:?} failed");
    }
    python
}

/// Runs a Python script of `tests/python` with `env`, prints its output, and asserts it passed.
pub async fn run_python_check(python: PathBuf, script: &str, env: Vec<(&'static str, String)>) {
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let out =
        tokio::task::spawn_blocking(move || std::process::Command::new(python).arg(path).envs(env).output().unwrap())
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains(" 0 failed"), "{script} failed");
}

/// The value of one series (`name{labels}` exactly as rendered, or a bare name) in Prometheus text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Like [`sample`], 0 when the series is absent.
pub fn count(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or(0.0)
}

/// A child process killed when the test ends, however it ends (a panic must not leave a server running).
pub struct Killed(pub Option<std::process::Child>);

impl Killed {
    /// The process.
    pub fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("the process was taken")
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
