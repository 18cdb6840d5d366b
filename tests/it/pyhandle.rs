//! Interoperability with a client nobody on the team wrote: pyhandle 1.5.0's RESTHandleClient, installed from
//! PyPI into a virtual environment (cached under the target directory), drives the running node.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::*;

fn venv_python() -> PathBuf {
    let venv = tool_dir().join("pyhandle-1.5.0-venv");
    let python = venv.join("bin/python");
    if !python.exists() || !Command::new(&python).args(["-c", "import pyhandle"]).status().is_ok_and(|s| s.success()) {
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 is installed");
        assert!(ok.success(), "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "pyhandle==1.5.0"])
            .status()
            .unwrap();
        assert!(ok.success(), "pip install pyhandle==1.5.0 failed");
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhandle_rest_client_works_unmodified() {
    let python = tokio::task::spawn_blocking(venv_python).await.unwrap();
    let n = TestNode::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/pyhandle_interop.py");
    let base = n.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("IDNODE_URL", base)
            .env("IDNODE_USER", "300:0.NA/88.798.1")
            .env("IDNODE_SECRET", E1.1)
            .env("IDNODE_PREFIX", "88.798.1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "pyhandle interop failed");
    assert!(stdout.contains(" 0 failed"));
    n.stop().await;
}
