//! Issue 17: records that name a data template follow it on every write path (REST, gRPC single and batch),
//! refused in each protocol's own terms; records that name none stay free unless their prefix requires one.

use idnode::grpc::pb::registry_client::RegistryClient;
use idnode::grpc::pb::templates_client::TemplatesClient;
use idnode::grpc::pb::{self, batch_item::Op};
use serde_json::{Value, json};
use tonic::Code;

use crate::grpc_api::{authed, channel, expect_status};
use crate::harness::*;

/// Changes to the base product record: (index, type, data), `None` dropping the index.
type Changes<'a> = &'a [(u32, &'a str, Option<&'a str>)];

fn text(index: u32, ty: &str, value: &str) -> Value {
    json!({"index": index, "type": ty, "data": {"format": "string", "value": value}})
}

/// A product record naming the shipped product template, with `change` applied (`None` drops the index).
pub fn product(change: Changes) -> Vec<Value> {
    let mut values = vec![
        (1000, "TEMPLATE_ID", "88.798/TPL-CERAMIC-PRODUCT"),
        (2000, "productName", "青花缠枝莲纹碗"),
        (2002, "decoration", "釉下青花"),
        (2008, "firingTemperature", "1320"),
        (2009, "firingDate", "2024-05-17"),
        (2012, "manufacturer", "景德镇青花瓷业有限公司"),
        (2015, "standard", "釉下青花"),
        (2020, "batchId", "88.798.1/BATCH-202405"),
    ];
    for (index, ty, data) in change {
        values.retain(|v| v.0 != *index);
        if let Some(d) = data {
            values.push((*index, ty, d));
        }
    }
    values.into_iter().map(|(i, t, d)| text(i, t, d)).collect()
}

fn value_at(j: &Value, index: u64) -> Option<String> {
    let v = j["values"].as_array()?.iter().find(|v| v["index"] == index)?;
    v["data"]["value"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn rest_writes_follow_the_named_template() {
    let n = TestNode::start().await;
    let h = "88.798.1/TPL-REST-1";
    let path = format!("/api/handles/{h}");
    n.put(&path, E1, json!(product(&[]))).await.expect(201, 1, h);
    let j = n.get(&path).await.expect(200, 1, h);
    assert_eq!(value_at(&j, 1001).as_deref(), Some("ceramic-product-1.0"), "the node writes the version: {j}");
    // Every rule, with the index and the rule named.
    let refusals: [(Changes, &str); 7] = [
        (&[(2012, "", None)], "index 2012 (manufacturer) is required"),
        (&[(2099, "x", Some("y"))], "index 2099 does not exist in the template"),
        (&[(2002, "glaze", Some("釉下青花"))], "index 2002 must have type decoration"),
        (&[(2008, "firingTemperature", Some("hot"))], "index 2008: the value must be a number"),
        (&[(2009, "firingDate", Some("2024-02-30"))], "index 2009: the value must be a date"),
        (&[(2015, "standard", Some("ISO 9001"))], "index 2015: the value must be one of"),
        (&[(1001, "TEMPLATE", Some("9.9"))], "index 1001 gives template version 9.9"),
    ];
    for (change, message) in refusals {
        let r = n.put(&path, E1, json!(product(change))).await;
        let j = r.expect(400, 202, h);
        assert!(j["message"].as_str().unwrap().contains(message), "{message}: {j}");
    }
    let r = n.put(&path, E1, json!(product(&[(1000, "TEMPLATE_ID", Some("88.798/NO-SUCH"))]))).await;
    assert!(r.expect(400, 202, h)["message"].as_str().unwrap().contains("88.798/NO-SUCH"));
    // Adding a value to a templated record is checked against the template too.
    let add = format!("{path}?index=2099");
    n.put(&add, E1, json!([text(2099, "x", "y")])).await.expect(400, 202, h);
    n.put(&format!("{path}?index=2011"), E1, json!([text(2011, "artisan", "王志明")])).await.expect(200, 1, h);
    // So is removing a required value.
    n.delete(&format!("{path}?index=2000"), E1).await.expect(400, 202, h);
    // The version alone names the template too (looked up from the handle's prefix upward).
    let by_version: Vec<Value> = product(&[(1000, "", None), (1001, "TEMPLATE", Some("ceramic-product-1.0"))]);
    n.put("/api/handles/88.798.1/TPL-REST-2", E1, json!(by_version)).await.expect(201, 1, "88.798.1/TPL-REST-2");
    let j = n.get("/api/handles/88.798.1/TPL-REST-2").await.json();
    assert_eq!(value_at(&j, 1000).as_deref(), Some("88.798/TPL-CERAMIC-PRODUCT"));
    // A record naming no template is as free as before.
    n.put("/api/handles/88.798.1/FREE", E1, json!([text(2099, "x", "y")])).await.expect(201, 1, "88.798.1/FREE");
}

#[tokio::test]
async fn a_prefix_may_require_a_template() {
    let n = TestNode::start_with(|c| c.node.templates_required = vec!["88.798.2".into()]).await;
    let r = n.put("/api/handles/88.798.2/FREE", E2, json!([url_value(1, "https://a")])).await;
    let j = r.expect(400, 202, "88.798.2/FREE");
    assert!(j["message"].as_str().unwrap().contains("must name a template"), "{j}");
    n.put("/api/handles/88.798.2/OK", E2, json!(product(&[]))).await.expect(201, 1, "88.798.2/OK");
    n.put("/api/handles/88.798.1/FREE", E1, json!([url_value(1, "https://a")])).await.expect(201, 1, "88.798.1/FREE");
}

fn pb_values(values: &[Value]) -> Vec<pb::HandleValue> {
    values
        .iter()
        .map(|v| pb::HandleValue {
            index: v["index"].as_u64().unwrap() as u32,
            r#type: v["type"].as_str().unwrap().into(),
            data: v["data"]["value"].as_str().unwrap().as_bytes().to_vec(),
            ..Default::default()
        })
        .collect()
}

#[tokio::test]
async fn grpc_writes_follow_the_named_template() {
    let n = TestNode::start().await;
    let mut c = RegistryClient::new(channel(&n).await);
    let create = |h: &str, values: Vec<Value>| pb::CreateRequest {
        handle: h.into(),
        values: pb_values(&values),
        overwrite: false,
        ..Default::default()
    };
    c.create(authed(create("88.798.1/G-1", product(&[])), E1)).await.unwrap();
    let bad = create("88.798.1/G-2", product(&[(2013, "uscc", Some("123"))]));
    let s = expect_status(c.create(authed(bad.clone(), E1)).await, Code::InvalidArgument, 202);
    assert!(s.message().contains("index 2013: the value must have at least 18 characters"), "{s:?}");
    let items = vec![
        pb::BatchItem { op: Some(Op::Create(create("88.798.1/G-3", product(&[])))) },
        pb::BatchItem { op: Some(Op::Create(bad)) },
    ];
    let r = c.batch_register(authed(pb::BatchRegisterRequest { items }, E1)).await.unwrap().into_inner();
    assert_eq!((r.succeeded, r.failed), (1, 1));
    let e = r.results[1].error.as_ref().unwrap();
    assert_eq!(r.results[1].response_code, 202);
    assert!(e.message.contains("index 2013"), "{e:?}");
}

#[tokio::test]
async fn the_templates_service_and_template_names_in_batches() {
    let n = TestNode::start().await;
    let mut t = TemplatesClient::new(channel(&n).await);
    let name = |prefix: &str, version: &str| pb::TemplateName { prefix: prefix.into(), version: version.into() };
    let shipped = t.get_template(name("88.798", "ceramic-batch-1.0")).await.unwrap().into_inner();
    assert_eq!((shipped.items.len(), shipped.published, shipped.carrier_type), (11, true, 1));
    expect_status(t.get_template(name("88.798", "none")).await, Code::NotFound, 100);
    let listed = t.list_templates(pb::ListTemplatesRequest { prefix: "88.798".into() }).await.unwrap().into_inner();
    assert_eq!(listed.templates.len(), 2);

    let item = |index: u32, ty: &str, schema: pb::item_schema::Kind| pb::TemplateItem {
        name: format!("项{index}"),
        id_type: ty.into(),
        id_index: index,
        required: true,
        enabled: true,
        schema: Some(pb::ItemSchema { kind: Some(schema) }),
    };
    let glaze = pb::item_schema::Kind::Enumeration(pb::EnumerationSchema {
        values: vec!["青白釉".into(), "祭红釉".into()],
    });
    let draft = pb::Template {
        prefix: "88.798.1".into(),
        version: "vase-1".into(),
        items: vec![item(2000, "glaze", glaze)],
        ..Default::default()
    };
    expect_status(t.define_template(draft.clone()).await, Code::Unauthenticated, 402);
    expect_status(t.define_template(authed(draft.clone(), E2)).await, Code::PermissionDenied, 400);
    let defined = t.define_template(authed(draft.clone(), E1)).await.unwrap().into_inner();
    assert_eq!(
        (defined.handle.as_str(), defined.published, defined.carrier_type),
        ("88.798.1/TEMPLATE.vase-1", false, 2)
    );
    let mut change = draft.clone();
    change.items = vec![item(
        2001,
        "height",
        pb::item_schema::Kind::Number(pb::NumberSchema { minimum: Some(1.0), ..Default::default() }),
    )];
    let changed = t.update_template(authed(change.clone(), E1)).await.unwrap().into_inner();
    assert_eq!(changed.items.len(), 2);
    t.publish_template(authed(name("88.798.1", "vase-1"), E1)).await.unwrap();
    expect_status(t.update_template(authed(change, E1)).await, Code::InvalidArgument, 202);
    expect_status(t.delete_template(authed(name("88.798.1", "vase-1"), E1)).await, Code::InvalidArgument, 202);

    // BatchRegister names the template by version; the record is checked against it.
    let mut r = RegistryClient::new(channel(&n).await);
    let value = |index: u32, ty: &str, data: &str| pb::HandleValue {
        index,
        r#type: ty.into(),
        data: data.as_bytes().to_vec(),
        ..Default::default()
    };
    let create = |h: &str, values: Vec<pb::HandleValue>| pb::BatchItem {
        op: Some(Op::Create(pb::CreateRequest {
            handle: h.into(),
            values,
            template_version: "vase-1".into(),
            ..Default::default()
        })),
    };
    let items = vec![
        create("88.798.1/VASE-1", vec![value(2000, "glaze", "青白釉"), value(2001, "height", "32")]),
        create("88.798.1/VASE-2", vec![value(2000, "glaze", "白"), value(2001, "height", "32")]),
        create("88.798.1/VASE-3", vec![value(2000, "glaze", "祭红釉")]),
    ];
    let res = r.batch_register(authed(pb::BatchRegisterRequest { items }, E1)).await.unwrap().into_inner();
    let codes: Vec<u32> = res.results.iter().map(|x| x.response_code).collect();
    assert_eq!(codes, vec![1, 202, 202], "{res:?}");
    assert!(res.results[1].error.as_ref().unwrap().message.contains("index 2000: the value must be one of"));
    assert!(res.results[2].error.as_ref().unwrap().message.contains("index 2001 (height) is required"));
    let j = n.get("/api/handles/88.798.1/VASE-1").await.expect(200, 1, "88.798.1/VASE-1");
    assert_eq!(value_at(&j, 1000).as_deref(), Some("88.798.1/TEMPLATE.vase-1"));
}
