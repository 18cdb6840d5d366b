//! Fuzzes the Handle protocol decoder and the request handler: any bytes, as an envelope plus message or as a
//! message alone, must be answered with a well-formed message and never panic or allocate without bound.

#![no_main]

use std::sync::{Arc, LazyLock};

use idnode::hdl::Responder;
use idnode::hdl::codec::{self, Envelope};
use idnode::id::Prefix;
use idnode::node::{Node, NodeSettings};
use idnode::store::MemoryStore;
use libfuzzer_sys::fuzz_target;

static RESPONDER: LazyLock<Responder> = LazyLock::new(|| {
    let store = Arc::new(MemoryStore::new());
    idnode::demo::load(store.as_ref(), "88.798", "fuzz").expect("demo data");
    let node = Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), Arc::default());
    Responder::new(Arc::new(node), Vec::new(), 1, Default::default())
});

fuzz_target!(|data: &[u8]| {
    let _ = codec::decode_message(data);
    let _ = codec::ResolutionRequest::decode(data);
    let _ = codec::decode_resolution(data, true);
    let _ = idnode::record::site::Site::decode(data);
    let _ = idnode::record::wire::decode_record(data);
    if let Ok(env) = Envelope::decode(data) {
        let response = RESPONDER.respond(&env, &data[codec::ENVELOPE_LEN..]);
        assert!(codec::decode_message(&response).is_ok(), "the handler answered with a malformed message");
    }
});
