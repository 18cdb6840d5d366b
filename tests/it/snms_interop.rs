//! Interoperability with an SNMS client written only from the documented contract (`tests/python/snms_interop.py`,
//! the Python standard library): login, templates, a batch, read back, delete.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_the_documented_snms_contract_works() {
    let n = TestNode::start().await;
    let env = vec![
        ("SNMS_BASE", n.base.clone()),
        ("SNMS_USER", "300:0.NA/88.798.1".to_owned()),
        ("SNMS_PASSWORD", E1.1.to_owned()),
        ("SNMS_PREFIX", "88.798.1".to_owned()),
    ];
    run_python_check("python3".into(), "snms_interop.py", env).await;
    n.stop().await;
}
