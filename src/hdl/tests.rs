//! Byte-level vectors, written by hand from handle-wire-protocol.md.

use std::sync::Arc;

use proptest::prelude::*;

use super::codec::*;
use super::server::udp_datagrams;
use super::{Responder, digest};
use crate::id::Prefix;
use crate::node::{Node, NodeSettings};
use crate::record::site::Site;
use crate::store::MemoryStore;

fn responder() -> Responder {
    static SHARED: std::sync::LazyLock<Responder> = std::sync::LazyLock::new(build_responder);
    SHARED.clone()
}

fn build_responder() -> Responder {
    let store = Arc::new(MemoryStore::new());
    crate::demo::load(store.as_ref(), "88.798", "root").unwrap();
    let node = Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), Arc::default());
    let site = crate::record::site::from_json(
        &serde_json::json!({"servers":[{"address":"127.0.0.1","interfaces":[{"protocol":"TCP","port":2641}]}]}),
    )
    .unwrap();
    Responder::new(Arc::new(node), site, 7, Default::default())
}

fn be(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// A request message built byte by byte: header (24) + body + empty credential section.
fn request(opcode: u32, opflags: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&be(opcode)); // 0: opcode
    m.extend_from_slice(&be(0)); // 4: response code
    m.extend_from_slice(&be(opflags)); // 8: opflags
    m.extend_from_slice(&[0, 0]); // 12: site info serial
    m.push(0); // 14: recursion count
    m.push(0); // 15: reserved
    m.extend_from_slice(&be(0)); // 16: expiration
    m.extend_from_slice(&be(body.len() as u32)); // 20: body length
    m.extend_from_slice(body);
    m.extend_from_slice(&be(0)); // credential length
    m
}

fn resolution_body(handle: &str, indexes: &[u32], types: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&be(handle.len() as u32));
    b.extend_from_slice(handle.as_bytes());
    b.extend_from_slice(&be(indexes.len() as u32));
    for i in indexes {
        b.extend_from_slice(&be(*i));
    }
    b.extend_from_slice(&be(types.len() as u32));
    for t in types {
        b.extend_from_slice(&be(t.len() as u32));
        b.extend_from_slice(t.as_bytes());
    }
    b
}

fn env(minor: u8) -> Envelope {
    Envelope { major: 2, minor, request_id: 0xABCD, ..Envelope::default() }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn envelope_fields_at_their_offsets() {
    let bytes = [2, 10, 0x20 | 2, 11, 0, 0, 0, 5, 0, 0, 0xAB, 0xCD, 0, 0, 0, 3, 0, 0, 1, 0];
    let e = Envelope::decode(&bytes).unwrap();
    assert_eq!((e.major, e.minor, e.flags, e.suggested_minor), (2, 10, 0x22, 11));
    assert_eq!((e.session_id, e.request_id, e.sequence, e.message_len), (5, 0xABCD, 3, 256));
    let mut out = Vec::new();
    e.encode(&mut out);
    assert_eq!(out, bytes);
    assert_eq!(Envelope::decode(&bytes[..19]), Err(CodecError::Truncated("envelope")));
    // version negotiation: the client's minor down to ours, our suggestion in the flags and byte 3
    let r = Envelope { minor: 12, ..e }.reply(30);
    assert_eq!(
        (r.major, r.minor, r.flags & 0x1F, r.suggested_minor, r.request_id, r.message_len),
        (2, MAX_MINOR, 2, MAX_MINOR, 0xABCD, 30)
    );
    assert_eq!(Envelope { suggested_minor: 10, ..e }.reply(0).minor, 10);
    // the answer's version is the highest both speak: a 2.3 client suggesting 2.11 is answered at 2.11; a sender
    // that suggests nothing (low flag bits 0) is answered at its own version
    assert_eq!(Envelope { minor: 3, ..e }.reply(0).minor, MAX_MINOR);
    assert_eq!(Envelope { minor: 3, flags: 0, ..e }.reply(0).minor, 3);
    assert_eq!(Envelope { flags: 3, suggested_minor: 0, ..e }.reply(0).minor, MAX_MINOR);
}

#[test]
fn message_lengths_are_bounded() {
    let e = |n: u32| Envelope { message_len: n, ..Envelope::default() }.checked_len();
    assert_eq!(e(24), Ok(24));
    assert_eq!(e(262_144), Ok(262_144));
    assert_eq!(e(262_145), Err(CodecError::BadLength(262_145)));
    assert_eq!(e(23), Err(CodecError::BadLength(23)));
    assert_eq!(decode_message(&[0; 23]), Err(CodecError::Truncated("message header")));
    let mut m = request(1, 0, &[1, 2, 3]);
    m[23] = 200; // body length beyond the message
    assert!(matches!(decode_message(&m), Err(CodecError::BodyLength { body: 200, .. })));
}

#[test]
fn header_body_and_credential_decode() {
    let mut m = request(1, opflag::PUBL | opflag::RRDG, &resolution_body("88.798.1/X", &[1, 2], &["URL"]));
    let n = m.len();
    m[n - 4..].copy_from_slice(&be(3));
    m.extend_from_slice(b"sig");
    let d = decode_message(&m).unwrap();
    assert_eq!((d.header.opcode, d.header.opflags), (1, 0x0180_0000));
    assert_eq!(d.credential, b"sig");
    let r = ResolutionRequest::decode(&d.body).unwrap();
    assert_eq!(
        (r.handle.as_slice(), r.indexes.as_slice(), r.types.as_slice()),
        (&b"88.798.1/X"[..], &[1u32, 2][..], &["URL".to_owned()][..])
    );
    assert_eq!(ResolutionRequest::decode(&r.encode()).unwrap(), r);
}

#[test]
fn resolution_response_bytes() {
    let req = request(1, opflag::PUBL, &resolution_body("88.798.1/JDZ-2024-000123", &[1], &[]));
    let resp = responder().respond(&env(10), &req);
    assert_eq!(u32_at(&resp, 0), 1, "opcode");
    assert_eq!(u32_at(&resp, 4), 1, "response code");
    assert_eq!(u32_at(&resp, 8), opflag::PUBL | opflag::AUTH | opflag::RECU, "echoed, authoritative, recursive");
    assert_eq!(&resp[12..14], &[0, 7], "site serial");
    let body_len = u32_at(&resp, 20) as usize;
    let body = &resp[24..24 + body_len];
    assert_eq!(u32_at(body, 0), 24, "handle length");
    assert_eq!(&body[4..28], b"88.798.1/JDZ-2024-000123");
    assert_eq!(u32_at(body, 28), 1, "value count");
    let v = &body[32..];
    assert_eq!(u32_at(v, 0), 1, "index");
    assert_eq!(u32_at(v, 4), 1_745_913_600, "timestamp");
    assert_eq!(v[8], 0, "relative TTL");
    assert_eq!(u32_at(v, 9), 86_400, "ttl");
    assert_eq!(v[13], 0x0E, "permissions 1110");
    assert_eq!(u32_at(v, 14), 3);
    assert_eq!(&v[18..21], b"URL");
    let url = b"https://trace.example.cn/p/88.798.1/JDZ-2024-000123";
    assert_eq!(u32_at(v, 21) as usize, url.len());
    assert_eq!(&v[25..25 + url.len()], url);
    assert_eq!(u32_at(v, 25 + url.len()), 0, "no references");
    assert_eq!(u32_at(&resp, 24 + body_len), 0, "empty credential section");
    assert_eq!(resp.len(), 24 + body_len + 4);
}

#[test]
fn request_digests() {
    let r = responder();
    let req = request(1, opflag::RRDG, &resolution_body("88.798.1/JDZ-2024-000001", &[1], &[]));
    // by the answer's version, as Handle.Net: SHA-256 from 2.7, SHA-1 from 2.1, MD5 at 2.0
    for (minor, kind, len) in [(10u8, 3u8, 32usize), (7, 3, 32), (6, 2, 20), (1, 2, 20), (0, 1, 16)] {
        let resp = r.respond(&env(minor), &req);
        let body = &resp[24..24 + u32_at(&resp, 20) as usize];
        assert_eq!(body[0], kind);
        // of the header and body, not the credential section
        assert_eq!(&body[1..1 + len], digest(kind, &req[..req.len() - 4]).as_slice());
        let d = decode_resolution(body, true).unwrap();
        assert_eq!(d.handle, b"88.798.1/JDZ-2024-000001");
        assert_eq!(d.values.len(), 1);
    }
    let md5 = digest(1, b"abc");
    assert_eq!(hex::encode(md5), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(hex::encode(digest(3, b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

#[test]
fn site_info_and_errors() {
    let r = responder();
    let resp = r.respond(&env(10), &request(2, 0, &[]));
    assert_eq!((u32_at(&resp, 0), u32_at(&resp, 4)), (2, 1));
    let site = Site::decode(&resp[24..24 + u32_at(&resp, 20) as usize]).unwrap();
    assert_eq!(site.servers[0].interfaces[0].port, 2641);
    let code = |resp: &[u8]| (u32_at(resp, 4), decode_error_message(&resp[24..24 + u32_at(resp, 20) as usize]));
    let q = |h: &str, idx: &[u32]| r.respond(&env(10), &request(1, 0, &resolution_body(h, idx, &[])));
    assert_eq!(code(&q("88.798.1/NOPE", &[])).0, 100);
    assert_eq!(code(&q("88.798.1/JDZ-2024-000001", &[77])).0, 200);
    assert_eq!(code(&q("10.1000/x", &[])).0, 301);
    assert_eq!(code(&q("88..1/x", &[])).0, 102);
    let (c, msg) = code(&r.respond(&env(10), &request(301, 0, &[])));
    assert_eq!(c, 5);
    assert!(msg.contains("301"));
    assert_eq!(code(&r.respond(&env(10), &request(100, 0, &[]))).0, 4, "a create without a body");
    assert_eq!(code(&r.respond(&env(10), &request(9999, 0, &[]))).0, 5);
    assert_eq!(code(&r.respond(&env(10), &request(1, 0, &[0, 0, 0, 9, 1]))).0, 4, "truncated body");
    assert_eq!(code(&r.respond(&Envelope { major: 3, ..env(10) }, &request(1, 0, &[]))).0, 4, "major version");
    assert_eq!(code(&r.respond(&env(10), &[1, 2, 3])).0, 4, "truncated header");
    // secrets are never answered over the protocol
    let (c, _) = code(&q("0.NA/88.798.1", &[300]));
    assert_eq!(c, 200);
}

#[test]
fn udp_datagrams_split_and_truncate() {
    let e = env(10);
    let message: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let datagrams = udp_datagrams(&e, &message, 32);
    let packets: Vec<&[u8]> = datagrams.chunks(512).collect();
    assert_eq!(packets.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![512, 512, 20 + 16]);
    for (i, p) in packets.iter().enumerate() {
        let pe = Envelope::decode(p).unwrap();
        assert_eq!((pe.request_id, pe.sequence, pe.message_len), (0xABCD, i as u32, 1000));
    }
    let joined: Vec<u8> = packets.iter().flat_map(|p| p[20..].to_vec()).collect();
    assert_eq!(joined, message);
    let t = udp_datagrams(&e, &message, 2);
    assert_eq!(t.len(), 20 + 24, "the envelope and the message header only");
    let te = Envelope::decode(&t).unwrap();
    assert_eq!(te.flags & flag::TRUNCATED, flag::TRUNCATED);
    assert_eq!(Envelope::decode(&udp_datagrams(&e, &[], 1)).unwrap().message_len, 0, "an empty message");
}

#[test]
fn a_resolution_message_in_one_pass_equals_the_layered_encoding() {
    let values = [
        crate::record::HandleValue::new(1, "URL", b"https://a".to_vec(), 7),
        crate::record::HandleValue::new(2000, "PRODUCT_NAME", "青花瓷盘".as_bytes().to_vec(), 7),
    ];
    let header = Header { opcode: op::RESOLUTION, response_code: rc::SUCCESS, ..Header::default() };
    for digest in [None, Some((2u8, vec![9u8; 20]))] {
        let layered = encode_message(&header, &encode_resolution(digest.clone(), b"88.798.1/A", values.iter()));
        let section = encode_values_section(values.iter());
        assert_eq!(encode_resolution_message(&header, digest, b"88.798.1/A", &section), layered);
    }
}

proptest! {
    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Envelope::decode(&bytes);
        let _ = decode_message(&bytes);
        let _ = ResolutionRequest::decode(&bytes);
        let _ = decode_resolution(&bytes, true);
        let _ = decode_resolution(&bytes, false);
    }

    #[test]
    fn responding_never_panics(opcode in 0u32..5, flags in any::<u32>(), body in proptest::collection::vec(any::<u8>(), 0..100)) {
        let r = responder();
        let resp = r.respond(&env(10), &request(opcode, flags, &body));
        prop_assert!(decode_message(&resp).is_ok());
    }
}

#[test]
fn a_resolution_trailer_is_seen_in_place() {
    let body = resolution_body("88.798.1/X", &[1, 2], &["URL"]);
    assert!(!crate::hdl::codec::resolution_has_trailer(&request(1, 0, &body)));
    let with_identity = [body.as_slice(), &[0, 0, 0, 0]].concat(); // the Teleinfo SDK's empty identity
    assert!(crate::hdl::codec::resolution_has_trailer(&request(1, 0, &with_identity)));
    assert!(!crate::hdl::codec::resolution_has_trailer(&request(1, 0, &body[..body.len() - 2])), "truncated");
}
