//! The Handle protocol's decoders and request handler (`idnode_fuzz::handle`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idnode_fuzz::handle(data));
