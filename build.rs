//! Generates the gRPC code from `proto/idnode/v1/*.proto` with a pure-Rust protobuf parser (protox), so no machine
//! needs `protoc`. The encoded descriptor set is kept for gRPC server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos =
        ["proto/idnode/v1/idnode.proto", "proto/idnode/v1/statistics.proto", "proto/idnode/v1/templates.proto"];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(protos, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("idnode_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    // ResolveResponse is written by hand (src/grpc/response.rs) so that it can carry values already encoded.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".idnode.v1.ResolveResponse", "crate::grpc::response::ResolveResponse")
        .compile_fds(fds)?;
    Ok(())
}
