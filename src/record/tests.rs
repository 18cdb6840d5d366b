use proptest::prelude::*;
use serde_json::json;

use super::admin::{AdminRef, decode_vlist, parse_admin_perms, perm};
use super::site::Site;
use super::wire::{Reader, decode_record, encode_record, put_value, read_value};
use super::*;

const T: u32 = 1_745_913_600; // 2025-04-29T08:00:00Z

#[test]
fn perms_strings_read_from_the_right() {
    assert_eq!(Perms::parse("1110").unwrap(), Perms::DEFAULT);
    assert_eq!(Perms::parse("10").unwrap(), Perms(0b10));
    assert_eq!(Perms::SECRET.to_bits_string(), "1100");
    assert!(Perms::parse("11111").is_err());
    assert!(Perms::parse("12").is_err());
    assert_eq!(parse_admin_perms("011111110011").unwrap(), 0b0111_1111_0011);
    assert_eq!(parse_admin_perms("*").unwrap(), perm::ALL);
    assert_eq!(parse_admin_perms("1").unwrap(), perm::ADD_HANDLE);
    let a = AdminRef { handle: "0.NA/88.798".into(), index: 200, perms: perm::ALL_BUT_LIST };
    assert_eq!(a.perms_string(), "011111111111");
}

#[test]
fn type_filters_match_subtypes_after_a_dot() {
    let v = HandleValue::new(1, "HS_SITE.PREFIX", b"x".to_vec(), T);
    assert!(v.type_matches("HS_SITE."));
    assert!(v.type_matches("hs_site.prefix"));
    assert!(!v.type_matches("HS_SITE"));
    assert!(!v.type_matches("HS_SIT."));
    assert!(HandleValue::new(1, "HS_SITE", b"x".to_vec(), T).type_matches("HS_SITE."));
}

#[test]
fn bad_index_sets_are_explained() {
    let dup = [HandleValue::new(1, "A", vec![], T), HandleValue::new(1, "B", vec![], T)];
    assert_eq!(check_indexes(&dup), Err(RecordError::DuplicateIndex(1)));
    assert!(check_indexes(&[HandleValue::new(0, "A", vec![], T)]).is_err());
}

#[test]
fn wire_value_layout_is_rfc3652() {
    let mut v = HandleValue::new(1, "URL", b"ab".to_vec(), 0x01020304);
    v.references.push(Reference { handle: "h/1".into(), index: 7 });
    let mut buf = Vec::new();
    put_value(&mut buf, &v);
    let expected: Vec<u8> = [
        &[0, 0, 0, 1][..],   // index
        &[1, 2, 3, 4],       // timestamp
        &[0],                // relative TTL
        &[0, 1, 0x51, 0x80], // 86400
        &[0x0E],             // permissions 1110
        &[0, 0, 0, 3],
        b"URL", // type
        &[0, 0, 0, 2],
        b"ab",         // data
        &[0, 0, 0, 1], // one reference
        &[0, 0, 0, 3],
        b"h/1",
        &[0, 0, 0, 7],
    ]
    .concat();
    assert_eq!(buf, expected);
    assert_eq!(read_value(&mut Reader::new(&buf)).unwrap(), v);
}

#[test]
fn site_round_trip() {
    let site = super::site::from_json(&json!({"version":1,"protocolVersion":"2.10","serialNumber":3,"primarySite":true,
        "attributes":[{"name":"desc","value":"景德镇节点"}],
        "servers":[{"serverId":1,"address":"127.0.0.1","interfaces":[{"query":true,"admin":true,"protocol":"TCP","port":2641}]}]})).unwrap();
    let decoded = Site::decode(&site).unwrap();
    assert_eq!((decoded.major, decoded.minor, decoded.serial, decoded.primary), (2, 10, 3, true));
    assert_eq!(decoded.servers[0].interfaces[0].kind, 3);
    let j = super::site::to_json(&site).unwrap();
    assert_eq!(j["servers"][0]["address"], json!("127.0.0.1"));
    assert_eq!(super::site::from_json(&j).unwrap(), site);
    // IPv4 as Handle encodes it: 12 zero bytes, then the address; a v4-mapped address still reads as IPv4
    let v4 = [[0u8; 12].as_slice(), &[127, 0, 0, 1]].concat();
    let at = site.windows(16).position(|w| w == v4.as_slice()).expect("the IPv4 address, Handle-encoded");
    let mut mapped = site.clone();
    mapped[at + 10..at + 12].copy_from_slice(&[0xFF, 0xFF]);
    assert_eq!(Site::decode(&mapped).unwrap().servers[0].address, decoded.servers[0].address);
}

pub(crate) fn arb_value() -> impl Strategy<Value = HandleValue> {
    (
        1u32..,
        any::<u32>(),
        any::<bool>(),
        any::<u32>(),
        0u8..16,
        "[A-Z_.]{1,12}",
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(("[a-z0-9./]{1,12}", any::<u32>()), 0..3),
    )
        .prop_map(|(index, timestamp, abs, ttl, perms, ty, data, refs)| HandleValue {
            index,
            ty,
            data,
            ttl: if abs { Ttl::Absolute(ttl) } else { Ttl::Relative(ttl) },
            timestamp,
            perms: Perms(perms),
            references: refs.into_iter().map(|(handle, index)| Reference { handle, index }).collect(),
        })
}

proptest! {
    #[test]
    fn stored_records_round_trip(values in proptest::collection::vec(arb_value(), 0..6), handle in "\\PC{1,30}") {
        let bytes = encode_record(&handle, &values);
        let r = decode_record(&bytes).unwrap();
        prop_assert_eq!(r.handle, handle);
        prop_assert_eq!(r.values, values);
    }


    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_record(&bytes);
        let _ = AdminRef::decode(&bytes);
        let _ = decode_vlist(&bytes);
        let _ = Site::decode(&bytes);
        let _ = read_value(&mut Reader::new(&bytes));
    }
}
