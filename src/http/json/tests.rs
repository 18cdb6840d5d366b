use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::record::tests::arb_value;
use crate::record::{HandleValue, Perms, Ttl};

const T: u32 = 1_745_913_600; // 2025-04-29T08:00:00Z

fn out(v: &HandleValue) -> serde_json::Value {
    serde_json::to_value(value_json(v)).unwrap()
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
fn time_round_trip() {
    assert_eq!(format_time(T), "2025-04-29T08:00:00Z");
    assert_eq!(parse_time("2025-04-29T08:00:00Z").unwrap(), T);
    assert_eq!(parse_time("2025-04-29T16:00:00+08:00").unwrap(), T);
    assert_eq!(parse_time("2025-04-29T08:00:00").unwrap(), T);
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
}

proptest! {
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
}
