use proptest::prelude::*;
use serde_json::json;

use super::admin::{AdminRef, ValueRef, decode_vlist, encode_vlist, parse_admin_perms, perm};
use super::json::{format_time, parse_time, parse_value, parse_values, value_json};
use super::site::Site;
use super::wire::{Reader, decode_record, encode_record, put_value, read_value};
use super::*;

const T: u32 = 1_745_913_600; // 2025-04-29T08:00:00Z

fn out(v: &HandleValue) -> serde_json::Value {
    serde_json::to_value(value_json(v)).unwrap()
}

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
fn canonical_json_output() {
    let url = HandleValue::new(1, "URL", b"https://example.org/p/1".to_vec(), T);
    assert_eq!(
        out(&url),
        json!({"index":1,"type":"URL","data":{"format":"string","value":"https://example.org/p/1"},"ttl":86400,"timestamp":"2025-04-29T08:00:00Z"})
    );
    let admin = HandleValue::new(
        100,
        "HS_ADMIN",
        AdminRef { handle: "0.NA/88.798.1".into(), index: 300, perms: 0b0111_1111_0011 }.encode(),
        T,
    );
    assert_eq!(
        out(&admin)["data"],
        json!({"format":"admin","value":{"handle":"0.NA/88.798.1","index":300,"permissions":"011111110011"}})
    );
    let bin = HandleValue {
        perms: Perms::SECRET,
        ttl: Ttl::Absolute(T + 60),
        ..HandleValue::new(5, "BLOB", vec![0xff, 0x00], T)
    };
    let o = out(&bin);
    assert_eq!(o["data"], json!({"format":"base64","value":"/wA="}));
    assert_eq!(o["permissions"], json!("1100"));
    assert_eq!(o["ttl"], json!("2025-04-29T08:01:00Z"));
    assert!(out(&url).get("permissions").is_none() && out(&url).get("references").is_none());
    let vl =
        HandleValue::new(200, "HS_VLIST", encode_vlist(&[ValueRef { handle: "0.NA/88.798.1".into(), index: 300 }]), T);
    assert_eq!(out(&vl)["data"], json!({"format":"vlist","value":[{"handle":"0.NA/88.798.1","index":300}]}));
    let key = HandleValue::new(300, "HS_PUBKEY", vec![1, 2, 3], T);
    assert_eq!(out(&key)["data"], json!({"format":"key","value":"AQID"}));
}

#[test]
fn lenient_json_input() {
    let v = parse_value(&json!({"index":"100","type":"HS_ADMIN","data":{"format":"ADMIN","value":{"handle":"0.NA/88.798.1","index":"200","permissions":"011111110011"}}}), T).unwrap();
    assert_eq!(
        AdminRef::decode(&v.data).unwrap(),
        AdminRef { handle: "0.NA/88.798.1".into(), index: 200, perms: 0b0111_1111_0011 }
    );
    assert_eq!(v.timestamp, T);
    let v = parse_value(&json!({"index":2,"type":"EMAIL","data":"a@b.cn","ttl":"2025-04-29T08:00:00Z","timestamp":"2024-01-01T00:00:00.123Z","permissions":"1111"}), 0).unwrap();
    assert_eq!(v.ttl, Ttl::Absolute(T));
    assert_eq!(v.timestamp, 1_704_067_200);
    assert_eq!(v.perms, Perms(0xF));
    for perms in [
        json!("*"),
        json!(true),
        json!(4095),
        json!(["add_handle", "listHandles"]),
        json!([true, false, false, false, false, false, false, false, false, false, false, true]),
    ] {
        let v = parse_value(&json!({"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/1","index":300,"permissions":perms}}}), T).unwrap();
        let a = AdminRef::decode(&v.data).unwrap();
        assert!(a.perms & perm::ADD_HANDLE != 0 && a.perms & perm::LIST_HANDLES != 0, "{perms}");
    }
    assert_eq!(
        parse_value(&json!({"index":3,"type":"H","data":{"format":"hex","value":"00ff"}}), T).unwrap().data,
        vec![0, 255]
    );
    assert_eq!(
        parse_value(&json!({"index":3,"type":"B","data":{"format":"base64","value":"/wA="}}), T).unwrap().data,
        vec![255, 0]
    );
    let refs =
        parse_value(&json!({"index":3,"type":"R","data":"x","references":[{"handle":"88.798.1/a","index":"1"}]}), T)
            .unwrap();
    assert_eq!(refs.references, vec![Reference { handle: "88.798.1/a".into(), index: 1 }]);
}

#[test]
fn body_shapes() {
    let one = json!({"index":1,"type":"URL","data":"u"});
    assert_eq!(parse_values(&one, T).unwrap().len(), 1);
    assert_eq!(parse_values(&json!([one, {"index":2,"type":"X","data":"y"}]), T).unwrap().len(), 2);
    assert_eq!(parse_values(&json!({"handle":"ignored","values":[one]}), T).unwrap().len(), 1);
    assert!(parse_values(&json!("text"), T).is_err());
    assert!(parse_values(&json!({"values": 3}), T).is_err());
}

#[test]
fn bad_values_are_explained() {
    let err = |v: serde_json::Value| parse_value(&v, T).unwrap_err().to_string();
    assert!(
        err(json!({"index":1,"type":"X","data":{"format":"xml","value":"<a/>"}}))
            .contains("unknown data format \"xml\"")
    );
    assert!(err(json!({"type":"X","data":"x"})).contains("index"));
    assert!(err(json!({"index":-1,"type":"X","data":"x"})).contains("index"));
    assert!(err(json!({"index":1,"data":"x"})).contains("type"));
    assert!(err(json!({"index":1,"type":"X"})).contains("data"));
    assert!(err(json!({"index":1,"type":"X","data":{"format":"base64","value":"%%%"}})).contains("base64"));
    assert!(err(json!({"index":1,"type":"X","data":"x","ttl":"yesterday"})).contains("ISO-8601"));
    assert!(err(json!({"index":1,"type":"X","data":"x","permissions":"2"})).contains("permissions"));
    assert!(err(json!({"index":1,"type":"HS_ADMIN","data":{"format":"admin","value":{"index":1}}})).contains("handle"));
    assert!(err(json!([1])).contains("object"));
    let dup = [HandleValue::new(1, "A", vec![], T), HandleValue::new(1, "B", vec![], T)];
    assert_eq!(check_indexes(&dup), Err(RecordError::DuplicateIndex(1)));
    assert!(check_indexes(&[HandleValue::new(0, "A", vec![], T)]).is_err());
}

#[test]
fn time_round_trip() {
    assert_eq!(format_time(T), "2025-04-29T08:00:00Z");
    assert_eq!(parse_time("2025-04-29T08:00:00Z").unwrap(), T);
    assert_eq!(parse_time("2025-04-29T16:00:00+08:00").unwrap(), T);
    assert_eq!(parse_time("2025-04-29T08:00:00").unwrap(), T);
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
}

fn arb_value() -> impl Strategy<Value = HandleValue> {
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
    fn json_round_trips(v in arb_value()) {
        let mut v = v;
        v.ttl = match v.ttl { Ttl::Relative(s) => Ttl::Relative(s), Ttl::Absolute(t) => Ttl::Absolute(t.min(4_000_000_000)) };
        v.timestamp = v.timestamp.min(4_000_000_000);
        if v.ty.eq_ignore_ascii_case("HS_ADMIN") || v.ty.eq_ignore_ascii_case("HS_VLIST") || v.ty.starts_with("HS_SITE") {
            v.ty = "DATA".into();
        }
        let j = serde_json::to_value(value_json(&v)).unwrap();
        prop_assert_eq!(parse_value(&j, 0).unwrap(), v);
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
