//! Registration through the REST API: create, replace, add/modify/remove values, mint.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn write_forms() {
    let n = TestNode::start().await;
    let p = "/api/handles/88.798.2/W-1";
    // a single value object as body; no HS_ADMIN given: the creator becomes admin
    n.put(p, E2, url_value(1, "https://a")).await.expect(201, 1, "88.798.2/W-1");
    let j = n.get(p).await.json();
    let admin = j["values"].as_array().unwrap().iter().find(|v| v["type"] == "HS_ADMIN").unwrap().clone();
    assert_eq!(admin["data"]["value"]["handle"], "0.NA/88.798.2");
    assert_eq!(admin["data"]["value"]["index"], 300);
    // index=various adds and replaces the values of the body, keeps the rest
    n.put(
        &format!("{p}?index=various"),
        E2,
        json!({"values":[url_value(1, "https://b"), {"index":3,"type":"EMAIL","data":"qc@example.cn"}]}),
    )
    .await
    .expect(200, 1, "88.798.2/W-1");
    let j = n.get(p).await.json();
    assert_eq!(indexes(&j), vec![1, 3, 100]);
    assert_eq!(j["values"][0]["data"]["value"], "https://b");
    // explicit index list: values of the body at other indexes are ignored
    n.put(
        &format!("{p}?index=3"),
        E2,
        json!([{"index":3,"type":"EMAIL","data":"new@example.cn"}, url_value(1, "ignored")]),
    )
    .await
    .expect(200, 1, "88.798.2/W-1");
    let j = n.get(p).await.json();
    assert_eq!(j["values"][0]["data"]["value"], "https://b");
    assert_eq!(j["values"][1]["data"]["value"], "new@example.cn");
    // a value timestamp given by the client is kept; one left out gets the server's time
    n.put(
        &format!("{p}?index=4"),
        E2,
        json!([{"index":4,"type":"NOTE","data":"x","timestamp":"2020-01-01T00:00:00Z"}]),
    )
    .await
    .expect(200, 1, "88.798.2/W-1");
    let j = n.get(&format!("{p}?index=4&index=3")).await.json();
    assert_eq!(j["values"][1]["timestamp"], "2020-01-01T00:00:00Z");
    assert_ne!(j["values"][0]["timestamp"], "2020-01-01T00:00:00Z");
    // the server's own output is valid input (round trip of a whole record)
    let full = n.get(p).await.json();
    n.put(p, E2, json!({"values": full["values"]})).await.expect(200, 1, "88.798.2/W-1");
    assert_eq!(n.get(p).await.json()["values"], full["values"]);
    // replacing the whole record drops values not in the body
    n.put(p, E2, json!([url_value(1, "https://c"), admin])).await.expect(200, 1, "88.798.2/W-1");
    assert_eq!(indexes(&n.get(p).await.json()), vec![1, 100]);
    // removing several values at once
    n.delete(&format!("{p}?index=1&index=100"), E2).await.expect(200, 1, "88.798.2/W-1");
    assert_eq!(n.get(p).await.json()["values"], json!([]));
    n.stop().await;
}

#[tokio::test]
async fn mint_new_suffix() {
    let n = TestNode::start().await;
    let r = n.put("/api/handles/88.798.1/?mintNewSuffix=true", E1, json!([url_value(1, "https://minted")])).await;
    let j = r.json();
    assert_eq!((r.status.as_u16(), j["responseCode"].as_i64()), (201, Some(1)));
    let minted = j["handle"].as_str().unwrap().to_owned();
    assert!(minted.starts_with("88.798.1/") && minted.len() > "88.798.1/".len());
    n.get(&format!("/api/handles/{minted}")).await.expect(200, 1, &minted);
    let j = n.put("/api/handles/88.798.1/JDZ-?mintNewSuffix", E1, json!([url_value(1, "u")])).await.json();
    assert!(j["handle"].as_str().unwrap().starts_with("88.798.1/JDZ-"));
    n.put("/api/handles/88.798.1/?mintNewSuffix=true", E2, json!([url_value(1, "u")])).await.expect(
        403,
        400,
        "88.798.1/",
    );
    n.stop().await;
}

#[tokio::test]
async fn node_administrator_acts_everywhere() {
    let n = TestNode::start().await;
    // allocate a new enterprise prefix, whose administrator then registers under it
    let ph = json!([
        {"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/88.798.42","index":"300","permissions":"111111111111"}}},
        {"index":300,"type":"HS_SECKEY","data":"s42","permissions":"1100"}
    ]);
    n.put("/api/handles/0.NA/88.798.42", E1, ph.clone()).await.expect(403, 400, "0.NA/88.798.42");
    n.put("/api/handles/0.NA/88.798.42", ROOT, ph).await.expect(201, 1, "0.NA/88.798.42");
    n.put("/api/handles/88.798.42/A", ("300%3A0.NA/88.798.42", "s42"), json!([url_value(1, "u")])).await.expect(
        201,
        1,
        "88.798.42/A",
    );
    n.delete("/api/handles/88.798.42/A", ROOT).await.expect(200, 1, "88.798.42/A");
    n.stop().await;
}

/// Issue 15 (minor): a record of 26,000 values cost a second per replace in checks quadratic in its size. A
/// record holds `node.max_values_per_record` values at most, on every write form.
#[tokio::test]
async fn a_record_holds_a_bounded_number_of_values() {
    let n = TestNode::start_with(|c| c.node.max_values_per_record = 50).await;
    let p = "/api/handles/88.798.2/BIG";
    let values = |from: u32, k: u32| (from..from + k).map(|i| url_value(i, "https://a")).collect::<Vec<_>>();
    // 49 values and the creator's HS_ADMIN: 50.
    n.put(p, E2, json!(values(1, 49))).await.expect(201, 1, "88.798.2/BIG");
    let refused = n.put(&format!("{p}?index=various"), E2, json!(values(1000, 1))).await;
    refused.expect(400, 202, "88.798.2/BIG");
    assert!(refused.text.contains("at most 50 values"), "{}", refused.text);
    n.put(p, E2, json!(values(1, 51))).await.expect(400, 202, "88.798.2/BIG");
    // Replacing within the bound works, and the record is what it was before the refusals.
    n.put(&format!("{p}?index=various"), E2, json!(values(1, 49))).await.expect(200, 1, "88.798.2/BIG");
    assert_eq!(indexes(&n.get(p).await.json()).len(), 50);
    n.stop().await;
}
