use super::*;

fn v(index: u32, ty: &str, data: &str) -> HandleValue {
    HandleValue::new(index, ty, data.as_bytes(), 0)
}

fn product() -> Template {
    let mut t = ceramics::product("88.798");
    t.normalize().unwrap();
    t
}

fn valid() -> Vec<HandleValue> {
    vec![
        v(1, "URL", "https://example.cn/p/1"),
        v(1000, TEMPLATE_ID_TYPE, "88.798/TPL-CERAMIC-PRODUCT"),
        v(2000, "productName", "青花缠枝莲纹碗"),
        v(2002, "decoration", "釉下青花"),
        v(2008, "firingTemperature", "1320"),
        v(2009, "firingDate", "2024-05-17"),
        v(2012, "manufacturer", "景德镇青花瓷业有限公司"),
        v(2013, "uscc", "91360200MA35A1B2C3"),
        v(2015, "standard", "釉下青花"),
        v(2019, "qcReport", "https://qc.example.cn/r/1"),
        v(2020, "batchId", "88.798.1/BATCH-202405"),
    ]
}

fn with(index: u32, ty: &str, data: &str) -> Vec<HandleValue> {
    let mut values: Vec<HandleValue> = valid().into_iter().filter(|x| x.index != index).collect();
    values.push(v(index, ty, data));
    values
}

#[test]
fn the_shipped_templates_are_valid_and_their_records_pass() {
    for t in ceramics::all("88.798") {
        let mut normalized = t.clone();
        normalized.normalize().unwrap();
        assert_eq!(normalized, t, "shipped already normalized");
        assert!(t.published);
    }
    assert_eq!(product().check(&valid()), Ok(()));
}

#[test]
fn every_rule_is_checked_and_named() {
    let t = product();
    let missing: Vec<HandleValue> = valid().into_iter().filter(|x| x.index != 2012).collect();
    let e = t.check(&missing).unwrap_err();
    assert_eq!(e, Violation::Missing { index: 2012, ty: "manufacturer".into(), name: "生产企业".into() });
    assert!(e.english().contains("index 2012"), "{}", e.english());
    let e = t.check(&with(2099, "x", "y")).unwrap_err();
    assert_eq!(e.chinese(), "非法操作，索引2099在模板中不存在");
    assert!(matches!(t.check(&with(2002, "glaze", "釉下青花")), Err(Violation::WrongType { index: 2002, .. })));
    let cases: [(u32, &str, &str, Rule); 8] = [
        (2013, "uscc", "9136", Rule::TooShort(18)),
        (2008, "firingTemperature", "hot", Rule::NotNumber),
        (2008, "firingTemperature", "2000", Rule::AboveMaximum(1500.0)),
        (2009, "firingDate", "2024-13-01", Rule::NotDate),
        (2015, "standard", "ISO 9001", Rule::NotListed(ceramics::STANDARDS.map(String::from).to_vec())),
        (2019, "qcReport", "ftp://x/y", Rule::NotUrl),
        (2020, "batchId", "no-slash", Rule::NotIdentifier),
        (2020, "batchId", "88.799/B1", Rule::OutsidePrefix("88.798".into())),
    ];
    for (index, ty, data, rule) in cases {
        match t.check(&with(index, ty, data)) {
            Err(Violation::Invalid { index: i, rule: r, .. }) => assert_eq!((i, r), (index, rule), "{data}"),
            other => panic!("{data}: {other:?}"),
        }
    }
    let long = "瓷".repeat(101);
    assert!(matches!(
        t.check(&with(2000, "productName", &long)),
        Err(Violation::Invalid { rule: Rule::TooLong(100), .. })
    ));
}

#[test]
fn a_disabled_item_is_refused_and_no_longer_required() {
    let mut t = product();
    let mut change = t.clone();
    change.items = vec![Item { state: 0, ..t.item(2012).unwrap().clone() }];
    t.update(change).unwrap();
    assert_eq!(t.items.len(), 21, "items are never deleted");
    assert!(matches!(t.check(&valid()), Err(Violation::Disabled { index: 2012, .. })));
    let without: Vec<HandleValue> = valid().into_iter().filter(|x| x.index != 2012).collect();
    assert_eq!(t.check(&without), Ok(()));
}

#[test]
fn an_update_matches_items_by_index_and_type_and_keeps_the_version() {
    let mut t = product();
    let mut change = t.clone();
    change.description = "new".into();
    change.items = vec![
        Item { required: true, ..t.item(2003).unwrap().clone() },
        Item { name: "釉面".into(), id_type: "glazeFinish".into(), id_index: 2021, ..t.item(2003).unwrap().clone() },
    ];
    t.update(change.clone()).unwrap();
    assert_eq!((t.description.as_str(), t.items.len()), ("new", 22));
    assert!(t.item(2003).unwrap().required);
    // Fields left out stay as they are.
    t.update(Template { description: String::new(), carrier: 0, items: vec![], ..change.clone() }).unwrap();
    assert_eq!((t.description.as_str(), t.carrier, t.items.len()), ("new", 1, 22));
    // The same index with another type is a new item, which collides with the old one.
    change.items = vec![Item { id_type: "other".into(), ..t.item(2003).unwrap().clone() }];
    assert!(t.clone().update(change.clone()).unwrap_err().contains("twice"));
    change.version = "2.0".into();
    assert!(t.update(change).is_err());
}

#[test]
fn a_bad_template_is_refused_with_its_reason() {
    let base = product();
    let bad = |f: &dyn Fn(&mut Template)| {
        let mut t = base.clone();
        f(&mut t);
        t.normalize().unwrap_err()
    };
    assert!(bad(&|t| t.prefix = "not a prefix".into()).contains("prefix"));
    assert!(bad(&|t| t.version = String::new()).contains("version"));
    assert!(bad(&|t| t.items[0].id_index = 1999).contains("2000"));
    assert!(bad(&|t| t.items[1].name = t.items[0].name.clone()).contains("twice"));
    assert!(
        bad(&|t| t.items[0].metadata = Schema::String { min_length: Some(5), max_length: Some(1) })
            .contains("minLength")
    );
    assert!(bad(&|t| t.items[1].metadata = Schema::Enumeration { values: vec![] }).contains("enumeration"));
    assert!(bad(&|t| t.carrier = 7).contains("type"));
}

#[test]
fn snms_json_reads_with_its_own_field_names() {
    let json = r#"{"prefix":"88.798.1","version":"v1","industryCategory":"C","type":1,"items":[
        {"name":"产品名称","idType":"productName","idIndex":2000,"required":1,"state":1,
         "metadata":{"type":"string","minLength":1,"maxLength":10}},
        {"name":"温度","idType":"t","idIndex":2001,"required":false,"metadata":{"type":"number","maximum":9}}]}"#;
    let mut t: Template = serde_json::from_str(json).unwrap();
    t.normalize().unwrap();
    assert_eq!(t.handle, "88.798.1/TEMPLATE.v1");
    assert!(t.items[0].required && !t.items[1].required && !t.published);
    assert_eq!(t.items[0].metadata, Schema::String { min_length: Some(1), max_length: Some(10) });
    let back: Template = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back, t);
}
