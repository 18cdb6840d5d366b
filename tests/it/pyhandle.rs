//! Interoperability with a client nobody on the team wrote: pyhandle 1.5.0's RESTHandleClient, installed from
//! PyPI into a virtual environment (cached under the target directory), drives the running node; the audit log
//! then records its registrations with its identity.

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
    // the audit log names pyhandle's identity, client address and the registrations it made
    let page = n.admin("/admin/audit?identity=300:0.NA/88.798.1&limit=1000", Some(ROOT)).await.json();
    let entries = page["entries"].as_array().unwrap();
    let creates: Vec<_> = entries.iter().filter(|e| e["operation"] == "create" && e["result"] == "ok").collect();
    assert!(creates.len() >= 3, "pyhandle's registrations are audited: {page}");
    for e in &creates {
        assert_eq!((e["identity"].as_str(), e["protocol"].as_str()), (Some("300:0.NA/88.798.1"), Some("rest")));
        assert!(e["handle"].as_str().unwrap().starts_with("88.798.1/"), "{e}");
        assert!(e["client"].as_str().unwrap().starts_with("127.0.0.1:") && e["digest"].as_str().is_some());
    }
    let first = creates[0]["handle"].as_str().unwrap();
    let by_handle = n.admin(&format!("/admin/audit?handle={first}"), Some(ROOT)).await.json();
    assert_eq!(by_handle["entries"][0], *creates[0], "queryable by identifier");
    n.stop().await;
}
