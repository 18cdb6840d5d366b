//! gRPC calls through the services: frames and protobuf messages of every method (`idnode_fuzz::grpc`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idnode_fuzz::grpc(data));
