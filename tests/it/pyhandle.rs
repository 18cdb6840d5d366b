//! Interoperability with a client nobody on the team wrote: pyhandle 1.5.0's RESTHandleClient, installed from
//! PyPI into a virtual environment (cached under the target directory), drives the running node.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhandle_rest_client_works_unmodified() {
    let python =
        tokio::task::spawn_blocking(|| python_venv("pyhandle-1.5.0-venv", &["pyhandle==1.5.0"], "import pyhandle"))
            .await
            .unwrap();
    let n = TestNode::start().await;
    let env = vec![
        ("IDNODE_URL", n.base.clone()),
        ("IDNODE_USER", "300:0.NA/88.798.1".to_owned()),
        ("IDNODE_SECRET", E1.1.to_owned()),
        ("IDNODE_PREFIX", "88.798.1".to_owned()),
    ];
    run_python_check(python, "pyhandle_interop.py", env).await;
    n.stop().await;
}
