//! REST requests through the router: paths, queries, credentials and JSON bodies (`idnode_fuzz::rest`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idnode_fuzz::rest(data));
