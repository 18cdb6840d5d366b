//! Interoperability with the Python grpcio stack: stubs generated from our proto files by grpcio-tools in a
//! virtual environment (cached under the target directory) resolve, register and batch-register.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_client_works() {
    let packages = ["grpcio==1.76.0", "grpcio-tools==1.76.0"];
    let python = tokio::task::spawn_blocking(move || python_venv("grpcio-venv", &packages, "import grpc, grpc_tools"))
        .await
        .unwrap();
    let n = TestNode::start().await;
    let env = vec![
        ("IDNODE_GRPC", n.running.as_ref().unwrap().grpc_addr.unwrap().to_string()),
        ("IDNODE_USER", "300:0.NA/88.798.1".to_owned()),
        ("IDNODE_SECRET", E1.1.to_owned()),
        ("IDNODE_PREFIX", "88.798.1".to_owned()),
        ("IDNODE_PROTO_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/proto").to_owned()),
    ];
    run_python_check(python, "grpc_interop.py", env).await;
    n.stop().await;
}
