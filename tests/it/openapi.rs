//! The node against its OpenAPI descriptions: routes and descriptions agree, and schemathesis (in a virtual
//! environment cached under the target directory) finds no server error and no answer the description does not
//! allow (`tests/python/openapi_check.py`).

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_keeps_to_its_openapi_descriptions() {
    let packages = ["schemathesis==4.32.5"];
    let python =
        tokio::task::spawn_blocking(move || python_venv("schemathesis-venv", &packages, "import schemathesis, yaml"))
            .await
            .unwrap();
    let n = TestNode::start().await;
    let admin = n.running.as_ref().unwrap().admin_addr.expect("the admin listener");
    let env = vec![
        ("IDNODE_REST", n.base.clone()),
        ("IDNODE_ADMIN", format!("http://{admin}")),
        ("IDNODE_USER", E1.0.to_owned()),
        ("IDNODE_SECRET", E1.1.to_owned()),
        ("IDNODE_ADMIN_USER", ROOT.0.to_owned()),
        ("IDNODE_ADMIN_SECRET", ROOT.1.to_owned()),
        ("SNMS_USER", "300:0.NA/88.798.1".to_owned()),
    ];
    run_python_check(python, "openapi_check.py", env).await;
    n.stop().await;
}
