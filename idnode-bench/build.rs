//! Generates the client of etcd's KV API (`proto/etcd_kv.proto`), the gRPC reference of the load generator, with
//! a pure-Rust protobuf parser (protox), so no machine needs `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let etcd = protox::compile(["proto/etcd_kv.proto"], ["proto"])?;
    tonic_prost_build::configure().build_client(true).build_server(false).compile_fds(etcd)?;
    Ok(())
}
