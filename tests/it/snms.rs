//! Issue 17: the SNMS-compatible management API through real sockets: logins and tokens, templates, records
//! and batches, every status (1, -1, -2, -3) and the Chinese messages of the contract.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::*;

const USER1: (&str, &str) = ("300:0.NA/88.798.1", "demo-secret-1");
const USER2: (&str, &str) = ("300:0.NA/88.798.2", "demo-secret-2");

/// Calls the SNMS API and returns its envelope (which is always HTTP 200).
pub async fn call(n: &TestNode, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut req = n.client.request(method, format!("{}{path}", n.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

pub async fn login(n: &TestNode, (user, password): (&str, &str)) -> String {
    let j = call(n, Method::POST, "/identity/token", None, Some(json!({"username": user, "password": password}))).await;
    assert_eq!(j["status"], 1, "{j}");
    j["data"]["token"].as_str().unwrap().to_owned()
}

#[track_caller]
fn expect(j: &Value, status: i64, message: &str) {
    assert_eq!(j["status"], status, "{j}");
    assert!(j["message"].as_str().unwrap().contains(message), "{message}: {j}");
}

fn item(index: u32, ty: &str, value: &str) -> Value {
    json!({"index": index, "type": ty, "auth": null, "data": {"format": "string", "value": value}})
}

/// A product record of the shipped template under `handle`, with `extra` values.
pub fn product(handle: &str, extra: Vec<Value>) -> Value {
    let mut value =
        vec![item(2000, "productName", "粉彩花鸟盘"), item(2012, "manufacturer", "景德镇粉彩艺术陶瓷有限公司")];
    value.extend(extra);
    json!({"handle": handle, "templateVersion": "ceramic-product-1.0", "value": value})
}

#[tokio::test]
async fn logins_and_tokens() {
    let n = TestNode::start().await;
    let bad =
        call(&n, Method::POST, "/identity/token", None, Some(json!({"username": USER1.0, "password": "x"}))).await;
    expect(&bad, -2, "用户名/密码错误！");
    let none = call(&n, Method::POST, "/identity/token", None, Some(json!({"password": "x"}))).await;
    expect(&none, -2, "缺少必要的请求参数: username");
    // The day's digest of the password (China Standard Time).
    let day = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8)).date();
    let inner = hex::encode(Sha256::digest(USER1.1));
    let digest = hex::encode(Sha256::digest(format!("{inner}{day}")));
    let v1 = json!({"username": USER1.0, "password": digest});
    let j = call(&n, Method::POST, "/identity/token/v1", None, Some(v1)).await;
    assert_eq!(j["status"], 1, "{j}");
    let stale = hex::encode(Sha256::digest(format!("{inner}2020-01-01")));
    let j =
        call(&n, Method::POST, "/identity/token/v1", None, Some(json!({"username": USER1.0, "password": stale}))).await;
    expect(&j, -2, "用户名/密码错误！");
    // The plain password is not the digest.
    let plain = json!({"username": USER1.0, "password": USER1.1});
    expect(&call(&n, Method::POST, "/identity/token/v1", None, Some(plain)).await, -2, "用户名/密码错误！");

    let detail = "/identityv2/data/detail?handle=88.798.1/JDZ-2024-000001";
    expect(&call(&n, Method::GET, detail, None, None).await, -1, "未登录");
    expect(&call(&n, Method::GET, detail, Some("forged"), None).await, -1, "未登录");
    let token = login(&n, USER1).await;
    let j = call(&n, Method::GET, detail, Some(&token), None).await;
    assert_eq!(j["status"], 1, "{j}");
    assert_eq!(
        (j["data"]["prefix"].as_str(), j["data"]["templateVersion"].as_str()),
        (Some("88.798.1"), Some("ceramic-product-1.0"))
    );
    assert!(j["data"]["value"].as_array().unwrap().iter().any(|v| v["index"] == 2020), "{j}");

    // A changed key ends the session; the new key logs in.
    let key = json!([{"index": 300, "type": "HS_SECKEY", "data": {"format": "string", "value": "rotated-1"},
                      "permissions": "1100"}]);
    n.put("/api/handles/0.NA/88.798.1?index=300", ("300%3A0.NA/88.798.1", USER1.1), key).await.expect(
        200,
        1,
        "0.NA/88.798.1",
    );
    expect(&call(&n, Method::GET, detail, Some(&token), None).await, -1, "");
    let token = login(&n, (USER1.0, "rotated-1")).await;
    assert_eq!(call(&n, Method::GET, detail, Some(&token), None).await["status"], 1);
    // A restart ends every session.
    let n = n.restart().await;
    expect(&call(&n, Method::GET, detail, Some(&token), None).await, -1, "");
}

#[tokio::test]
async fn records_follow_the_template_with_the_contracts_messages() {
    let n = TestNode::start().await;
    let t = login(&n, USER1).await;
    let t = Some(t.as_str());
    let h = "88.798.1/SNMS-1";
    let created = call(&n, Method::POST, "/identityv2/data", t, Some(product(h, vec![]))).await;
    assert_eq!((created["status"].as_i64(), created["data"].as_bool()), (Some(1), Some(true)), "{created}");
    // A retry of the same record (after a 504, say) is a success; another record under the same handle is not.
    assert_eq!(call(&n, Method::POST, "/identityv2/data", t, Some(product(h, vec![]))).await["status"], 1);
    let other = product(h, vec![item(2011, "artisan", "王志明")]);
    expect(&call(&n, Method::POST, "/identityv2/data", t, Some(other)).await, -2, "标识已存在");
    // The Handle REST API sees the same record, with the template the node wrote.
    let j = n.get(&format!("/api/handles/{h}")).await.expect(200, 1, h);
    let at =
        |i: u64| j["values"].as_array().unwrap().iter().find(|v| v["index"] == i).unwrap()["data"]["value"].clone();
    assert_eq!((at(1000), at(1001)), (json!("88.798/TPL-CERAMIC-PRODUCT"), json!("ceramic-product-1.0")));

    let refusals: [(Value, &str); 7] = [
        (product("88.798.1/SNMS-2", vec![item(2099, "x", "y")]), "非法操作，索引2099在模板中不存在"),
        (product("88.798.1/SNMS-2", vec![item(1001, "TEMPLATE", "v")]), "非法操作，索引1001为保留索引"),
        (
            product("88.798.1/SNMS-2", vec![item(2008, "firingTemperature", "很高")]),
            "索引2008（烧成温度）的值必须为数字",
        ),
        (product("88.798.1/SNMS-2", vec![item(2011, "artisan", &"长".repeat(256))]), "不能超过255个字符"),
        (
            json!({"handle": "88.798.1/SNMS-2", "templateVersion": "ceramic-product-1.0",
                "value": [item(2000, "productName", "碗")]}),
            "缺少必填项，索引2012（生产企业）不能为空",
        ),
        (json!({"handle": "88.798.1/SNMS-2", "value": []}), "缺少必要的请求参数: templateVersion"),
        (json!({"handle": "88.798.1/SNMS-2", "templateVersion": "9.9", "value": []}), "模板9.9不存在或未发布"),
    ];
    for (body, message) in refusals {
        expect(&call(&n, Method::POST, "/identityv2/data", t, Some(body)).await, -2, message);
    }
    let no_handle = json!({"templateVersion": "ceramic-product-1.0", "value": []});
    expect(&call(&n, Method::POST, "/identityv2/data", t, Some(no_handle)).await, -2, "缺少必要的请求参数: handle");
    let detail = format!("/identityv2/data/detail?handle={h}");
    expect(&call(&n, Method::GET, "/identityv2/data/detail", t, None).await, -2, "缺少必要的请求参数: handle");

    // An update replaces the values it sends and keeps the others.
    let update =
        json!({"handle": h, "templateVersion": "ceramic-product-1.0", "value": [item(2011, "artisan", "李秀英")]});
    assert_eq!(call(&n, Method::PUT, "/identityv2/data", t, Some(update)).await["status"], 1);
    let j = call(&n, Method::GET, &detail, t, None).await;
    let values = j["data"]["value"].as_array().unwrap();
    assert_eq!(values.len(), 3, "{j}");
    assert!(values.iter().any(|v| v["index"] == 2011 && v["data"]["value"] == "李秀英"));
    let missing = json!({"handle": "88.798.1/NONE", "templateVersion": "ceramic-product-1.0", "value": []});
    expect(&call(&n, Method::PUT, "/identityv2/data", t, Some(missing)).await, -2, "标识不存在");

    // Another enterprise may neither write nor delete here.
    let t2 = login(&n, USER2).await;
    expect(
        &call(&n, Method::POST, "/identityv2/data", Some(&t2), Some(product("88.798.1/SNMS-3", vec![]))).await,
        -3,
        "没有权限",
    );
    expect(&call(&n, Method::DELETE, "/identityv2/data", Some(&t2), Some(json!({"handle": h}))).await, -3, "没有权限");
    assert_eq!(call(&n, Method::DELETE, "/identityv2/data", t, Some(json!({"handle": h}))).await["data"], true);
    expect(&call(&n, Method::GET, &detail, t, None).await, -2, "标识不存在");
    expect(&call(&n, Method::DELETE, "/identityv2/data", t, Some(json!({"handle": h}))).await, -2, "标识不存在");
}

#[tokio::test]
async fn batches_of_two_thousand_with_mixed_results_and_safe_retries() {
    let n = TestNode::start().await;
    let t = login(&n, USER1).await;
    let t = Some(t.as_str());
    let mut items: Vec<Value> = (0..1996).map(|i| product(&format!("88.798.1/BATCH-ITEM-{i:04}"), vec![])).collect();
    items.push(product("88.798.1/JDZ-2024-000001", vec![])); // exists with other values
    items.push(product("88.798.2/NOT-MINE", vec![])); // another enterprise's prefix
    items.push(product("88.798.1/BAD-INDEX", vec![item(2099, "x", "y")]));
    items.push(json!({"handle": "88.798.1/BAD-SHAPE", "value": "not a list"}));
    let j = call(&n, Method::POST, "/identityv2/data/batchCreate", t, Some(json!(items))).await;
    assert_eq!(j["status"], 1, "{j}");
    let results = j["data"].as_array().unwrap();
    assert_eq!(results.len(), 2000);
    let msgs: Vec<&str> = results.iter().map(|r| r["msg"].as_str().unwrap()).collect();
    assert!(msgs[..1996].iter().all(|m| *m == "success"));
    assert_eq!(results[1996]["handle"], "88.798.1/JDZ-2024-000001");
    assert_eq!(msgs[1996], "标识已存在");
    assert!(msgs[1997].contains("没有权限"), "{}", msgs[1997]);
    assert_eq!(msgs[1998], "非法操作，索引2099在模板中不存在");
    assert!(msgs[1999].contains("参数格式错误"), "{}", msgs[1999]);
    // The same batch again: every registered item is a success, nothing is written twice.
    let again = call(&n, Method::POST, "/identityv2/data/batchCreate", t, Some(json!(items))).await;
    assert_eq!(again["data"].as_array().unwrap().iter().filter(|r| r["msg"] == "success").count(), 1996);
    let listed = n.send(Method::GET, "/api/handles?prefix=88.798.1&page=0&pageSize=5000", Some(E1), None).await.json();
    assert_eq!(listed["totalCount"], (612 + 1996).to_string());

    let updates: Vec<Value> = vec![
        json!({"handle": "88.798.1/BATCH-ITEM-0000", "templateVersion": "ceramic-product-1.0",
               "value": [item(2003, "shape", "碗")]}),
        json!({"handle": "88.798.1/NOWHERE", "templateVersion": "ceramic-product-1.0", "value": [item(2003, "shape", "碗")]}),
    ];
    let j = call(&n, Method::PUT, "/identityv2/data/batchUpdate", t, Some(json!(updates))).await;
    assert_eq!(
        j["data"],
        json!([{"handle": "88.798.1/BATCH-ITEM-0000", "msg": "success"},
                                 {"handle": "88.798.1/NOWHERE", "msg": "标识不存在"}])
    );

    let deletes = json!(["88.798.1/BATCH-ITEM-0001", "88.798.1/NOWHERE", "88.798.2/JDZ-2024-000001"]);
    let j = call(&n, Method::DELETE, "/identityv2/data/batchDelete", t, Some(deletes)).await;
    let codes: Vec<i64> = j["data"].as_array().unwrap().iter().map(|r| r["code"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![1, -2, -2], "{j}");

    let too_many: Vec<Value> = (0..2001).map(|i| product(&format!("88.798.1/X-{i}"), vec![])).collect();
    expect(&call(&n, Method::POST, "/identityv2/data/batchCreate", t, Some(json!(too_many))).await, -2, "2000");
}

#[tokio::test]
async fn templates_define_publish_and_never_lose_an_item() {
    let n = TestNode::start().await;
    let t = login(&n, USER1).await;
    let t = Some(t.as_str());
    let shipped =
        call(&n, Method::GET, "/snms/api/v5/template?prefix=88.798&version=ceramic-product-1.0", t, None).await;
    assert_eq!(shipped["data"]["industrySubclass"], "3074", "{shipped}");
    assert_eq!(shipped["data"]["items"].as_array().unwrap().len(), 21);
    let v3 = call(&n, Method::GET, "/snms/api/v3/template?prefix=88.798&version=ceramic-batch-1.0", t, None).await;
    assert_eq!(v3["data"]["handle"], "88.798/TPL-CERAMIC-BATCH");
    let missing = call(&n, Method::GET, "/snms/api/v5/template?prefix=88.798&version=none", t, None).await;
    expect(&missing, -2, "模板不存在");
    let twice = call(&n, Method::GET, "/snms/api/v5/template?prefix=88.798&prefix=88.798&version=x", t, None).await;
    expect(&twice, -2, "请求参数格式错误");

    // A draft of the enterprise's own, changed, then published.
    let draft = json!({"prefix": "88.798.1", "version": "mug-1", "industryCategory": "C", "industrySpecific": "30",
        "industryTrade": "307", "industrySubclass": "3074", "type": 1, "description": "马克杯", "published": false,
        "items": [{"name": "杯名", "idType": "mugName", "idIndex": 2000, "required": true, "state": 1,
                   "metadata": {"type": "string", "minLength": 1, "maxLength": 20}}]});
    let j = call(&n, Method::POST, "/snms/api/v5/template", t, Some(draft.clone())).await;
    assert_eq!((j["status"].as_i64(), j["data"]["published"].as_bool()), (Some(1), Some(false)), "{j}");
    expect(&call(&n, Method::POST, "/snms/api/v5/template", t, Some(draft.clone())).await, -2, "模板已存在");
    let record =
        json!({"handle": "88.798.1/MUG-1", "templateVersion": "mug-1", "value": [item(2000, "mugName", "青花杯")]});
    expect(&call(&n, Method::POST, "/identityv2/data", t, Some(record.clone())).await, -2, "模板mug-1不存在或未发布");
    let change = json!({"prefix": "88.798.1", "version": "mug-1", "type": 1, "items": [
        {"name": "容量", "idType": "capacity", "idIndex": 2001, "required": false, "state": 1,
         "metadata": {"type": "number", "minimum": 50, "maximum": 1000, "integer": true}},
        {"name": "杯名", "idType": "mugName", "idIndex": 2000, "required": true, "state": 0}]});
    let j = call(&n, Method::PUT, "/snms/api/v5/template", t, Some(change)).await;
    assert_eq!(j["data"]["items"].as_array().unwrap().len(), 2, "never deleted, only disabled: {j}");
    assert_eq!(j["data"]["items"][0]["state"], 0);
    assert_eq!(
        (j["data"]["description"].as_str(), j["data"]["industrySubclass"].as_str()),
        (Some("马克杯"), Some("3074"))
    );
    let publish = json!({"prefix": "88.798.1", "version": "mug-1"});
    assert_eq!(call(&n, Method::POST, "/snms/api/v5/template/publish", t, Some(publish)).await["status"], 1);
    expect(&call(&n, Method::POST, "/identityv2/data", t, Some(record)).await, -2, "非法操作，索引2000在模板中已停用");
    let ok = json!({"handle": "88.798.1/MUG-1", "templateVersion": "mug-1", "value": [item(2001, "capacity", "350")]});
    assert_eq!(call(&n, Method::POST, "/identityv2/data", t, Some(ok)).await["status"], 1);
    let bad =
        json!({"handle": "88.798.1/MUG-2", "templateVersion": "mug-1", "value": [item(2001, "capacity", "35.5")]});
    expect(&call(&n, Method::POST, "/identityv2/data", t, Some(bad)).await, -2, "的值必须为整数");
    // Published: no change, no deletion.
    let again = json!({"prefix": "88.798.1", "version": "mug-1", "type": 1, "items": []});
    expect(&call(&n, Method::PUT, "/snms/api/v5/template", t, Some(again)).await, -2, "模板已发布，不可修改");
    expect(
        &call(&n, Method::DELETE, "/snms/api/v5/template?prefix=88.798.1&version=mug-1", t, None).await,
        -2,
        "不可删除",
    );
    // Published at once when the body does not say otherwise, as SNMS clients expect; a draft can go.
    let mut v2 = draft.clone();
    v2["version"] = json!("mug-2");
    v2.as_object_mut().unwrap().remove("published");
    assert_eq!(call(&n, Method::POST, "/snms/api/v5/template", t, Some(v2)).await["data"]["published"], true);
    let mut v3 = draft.clone();
    v3["version"] = json!("mug-3");
    call(&n, Method::POST, "/snms/api/v5/template", t, Some(v3)).await;
    let gone = call(&n, Method::DELETE, "/snms/api/v5/template?prefix=88.798.1&version=mug-3", t, None).await;
    assert_eq!(gone["status"], 1, "{gone}");
    let list = call(&n, Method::GET, "/snms/api/v5/template/list?prefix=88.798.1", t, None).await;
    let versions: Vec<&str> = list["data"].as_array().unwrap().iter().map(|t| t["version"].as_str().unwrap()).collect();
    assert_eq!(versions, vec!["mug-1", "mug-2"]);

    // Invalid templates are refused with the reason; another enterprise's prefix is not ours.
    let mut invalid = draft.clone();
    invalid["version"] = json!("bad");
    invalid["items"][0]["idIndex"] = json!(1999);
    expect(&call(&n, Method::POST, "/snms/api/v5/template", t, Some(invalid)).await, -2, "模板不合法");
    let mut foreign = draft;
    foreign["prefix"] = json!("88.798.2");
    expect(&call(&n, Method::POST, "/snms/api/v5/template", t, Some(foreign)).await, -3, "没有权限");
    // Templates survive a restart.
    let n = n.restart().await;
    let t = login(&n, USER1).await;
    let j = call(&n, Method::GET, "/snms/api/v5/template?prefix=88.798.1&version=mug-1", Some(&t), None).await;
    assert_eq!(j["data"]["published"], true, "{j}");
}

#[tokio::test]
async fn a_token_expires() {
    let n = TestNode::start_with(|c| c.http.snms_token_secs = 1).await;
    let t = login(&n, USER1).await;
    let detail = "/identityv2/data/detail?handle=88.798.1/JDZ-2024-000001";
    assert_eq!(call(&n, Method::GET, detail, Some(&t), None).await["status"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    expect(&call(&n, Method::GET, detail, Some(&t), None).await, -1, "未登录或登录已过期");
}
