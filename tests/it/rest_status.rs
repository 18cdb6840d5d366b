//! Every row of the status table of handle-rest-api.md, with real requests.

use serde_json::json;

use crate::harness::*;

const H: &str = "88.798.1/JDZ-2024-000123";

#[tokio::test]
async fn status_table() {
    let n = TestNode::start().await;
    let path = |h: &str| format!("/api/handles/{h}");

    // resolved: 200 / 1, echo, canonical values
    let j = n.get(&path(H)).await.expect(200, 1, H);
    let url = &j["values"][0];
    assert_eq!(url["type"], "URL");
    assert_eq!(url["data"]["format"], "string");
    assert_eq!(url["ttl"], 86400);
    assert_eq!(url["timestamp"], "2025-04-29T08:00:00Z");
    assert!(j["values"].as_array().unwrap().iter().any(|v| v["type"] == "HS_ADMIN" && v["data"]["format"] == "admin"));
    // created: 201 / 1; modified: 200 / 1; deleted: 200 / 1
    n.put(&path("88.798.1/S-1"), E1, json!([url_value(1, "https://a")])).await.expect(201, 1, "88.798.1/S-1");
    n.put(&path("88.798.1/S-1"), E1, json!([url_value(1, "https://b")])).await.expect(200, 1, "88.798.1/S-1");
    n.put(&path("88.798.1/S-1?index=2"), E1, json!([url_value(2, "https://c")])).await.expect(200, 1, "88.798.1/S-1");
    n.delete(&path("88.798.1/S-1?index=2"), E1).await.expect(200, 1, "88.798.1/S-1");
    // values to delete do not exist: 400 / 200
    n.delete(&path("88.798.1/S-1?index=2"), E1).await.expect(400, 200, "88.798.1/S-1");
    n.delete(&path("88.798.1/S-1"), E1).await.expect(200, 1, "88.798.1/S-1");
    // handle does not exist: 404 / 100 (GET, PUT with index, DELETE)
    n.get(&path("88.798.1/S-1")).await.expect(404, 100, "88.798.1/S-1");
    n.get(&path("88.798.1/NOPE")).await.expect(404, 100, "88.798.1/NOPE");
    n.put(&path("88.798.1/NOPE?index=1"), E1, json!([url_value(1, "x")])).await.expect(404, 100, "88.798.1/NOPE");
    n.delete(&path("88.798.1/NOPE"), E1).await.expect(404, 100, "88.798.1/NOPE");
    // exists, no value matches: 200 / 200 with an empty list
    let j = n.get(&path(&format!("{H}?type=EMAIL"))).await.expect(200, 200, H);
    assert_eq!(j["values"], json!([]));
    // handle already exists: 409 / 101
    n.put(&path(&format!("{H}?overwrite=false")), E1, json!([url_value(1, "x")])).await.expect(409, 101, H);
    // value already exists: 409 / 201
    n.put(&path(&format!("{H}?index=1&overwrite=false")), E1, json!([url_value(1, "x")])).await.expect(409, 201, H);
    // invalid handle: 400 / 102
    for bad in ["88..1/x", "88.798.1", "88.798.1%2F", "88%20798/x", "88.798.1/a%0Ab", "88.798.1/%FF"] {
        let r = n.get(&path(bad)).await;
        assert_eq!((r.status.as_u16(), r.json()["responseCode"].as_i64()), (400, Some(102)), "{bad}: {}", r.text);
        assert!(r.json()["handle"].is_string() && r.json()["message"].is_string());
    }
    // invalid value: 400 / 202
    let j = n
        .put(&path("88.798.1/S-2"), E1, json!([{"index":1,"type":"X","data":{"format":"xml","value":"<a/>"}}]))
        .await
        .expect(400, 202, "88.798.1/S-2");
    assert!(j["message"].as_str().unwrap().contains("unknown data format"));
    // not responsible: 400 / 301
    n.get(&path("10.1000/xyz")).await.expect(400, 301, "10.1000/xyz");
    n.put(&path("88.799.1/x"), ROOT, json!([url_value(1, "x")])).await.expect(400, 301, "88.799.1/x");
    n.get(&path("hdl:88.798.1/JDZ-2024-000123")).await.expect(400, 301, "hdl:88.798.1/JDZ-2024-000123");
    // authentication needed: 401 / 402
    let r = n.send(reqwest::Method::PUT, &path("88.798.1/S-3"), None, Some(json!([url_value(1, "x")]))).await;
    r.expect(401, 402, "88.798.1/S-3");
    assert!(r.header("www-authenticate").is_some());
    n.send(reqwest::Method::DELETE, &path(H), None, None).await.expect(401, 402, H);
    // authenticated but not permitted: 403 / 400
    n.put(&path("88.798.1/S-3"), E2, json!([url_value(1, "x")])).await.expect(403, 400, "88.798.1/S-3");
    n.delete(&path(H), E2).await.expect(403, 400, H);
    // authentication failed: 401 / 403
    n.put(&path("88.798.1/S-3"), (E1.0, "wrong"), json!([url_value(1, "x")])).await.expect(401, 403, "88.798.1/S-3");
    n.put(&path("88.798.1/S-3"), ("300%3A0.NA/88.798.77", "x"), json!([url_value(1, "x")])).await.expect(
        401,
        403,
        "88.798.1/S-3",
    );
    n.send(reqwest::Method::GET, &path(H), Some((E1.0, "wrong")), None).await.expect(401, 403, H);
    // unexpected server error: 500 / 2 (a corrupt record planted under the node)
    let store = n.running.as_ref().unwrap().node.store().clone();
    let mut b = idnode::store::Batch::new();
    b.put(idnode::store::Space::Handles, b"88.798.1/CORRUPT".to_vec(), b"\x01garbage".to_vec());
    store.write(b).unwrap();
    n.get(&path("88.798.1/CORRUPT")).await.expect(500, 2, "88.798.1/CORRUPT");
    n.stop().await;
}

#[tokio::test]
async fn overload_answers_503() {
    let n = TestNode::start_with(|c| c.http.max_concurrent_requests = 1).await;
    // Resolved once, the record is in the record cache: its plain lookup is answered before the limit.
    n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    // Hold the only permit with a PUT whose body never finishes. The PUT may itself meet a probe holding the
    // permit (and get the 503); it is then sent again.
    let mut got = None;
    let mut held = None;
    for _ in 0..100 {
        if held.as_ref().is_none_or(|(_, slow): &(BodySender, SlowPut)| slow.is_finished()) {
            held = Some(slow_put(&n).await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // A query takes the lookup past the fast path, through the limit.
        let r = n.get(&format!("/api/handles/{H}?type=URL")).await;
        if r.status == 503 {
            got = Some(r);
            break;
        }
    }
    let got = got.expect("a 503 while the permit is held");
    got.expect(503, 3, H);
    assert_eq!(got.header("retry-after"), Some("1"));
    // The cached answer costs less than the 503 would: it is not shed.
    n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    let (tx, slow) = held.expect("a PUT in flight");
    drop(tx);
    let _ = slow.await;
    n.get(&format!("/api/handles/{H}?type=URL")).await.expect(200, 1, H);
    n.stop().await;
}

type BodySender = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;
type SlowPut = tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>;

/// Starts a PUT whose body does not end until the returned sender is dropped.
async fn slow_put(n: &TestNode) -> (BodySender, SlowPut) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(Ok(b"[".to_vec())).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let slow =
        n.client.put(format!("{}/api/handles/88.798.1/SLOW", n.base)).basic_auth(E1.0, Some(E1.1)).body(body).send();
    (tx, tokio::spawn(slow))
}

#[tokio::test]
async fn bad_bodies() {
    let n = TestNode::start_with(|c| c.http.max_body_bytes = 4096).await;
    let p = "/api/handles/88.798.1/B-1";
    let raw = |body: &'static str| {
        n.client
            .put(format!("{}{p}", n.base))
            .basic_auth(E1.0, Some(E1.1))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let j = Reply::from(raw("{\"values\": [").await.unwrap()).await.expect(400, 202, "88.798.1/B-1");
    assert!(j["message"].as_str().unwrap().contains("malformed JSON"));
    Reply::from(raw("").await.unwrap()).await.expect(400, 202, "88.798.1/B-1");
    Reply::from(raw("42").await.unwrap()).await.expect(400, 202, "88.798.1/B-1");
    // duplicate indexes: 409 / 201 "index conflict", as the Handle.Net server
    let j = n.put(p, E1, json!([url_value(1, "a"), url_value(1, "b")])).await.expect(409, 201, "88.798.1/B-1");
    assert!(j["message"].as_str().unwrap().contains("index conflict"));
    // oversize: 413 with a JSON body
    let big = json!([{"index": 1, "type": "URL", "data": "x".repeat(5000)}]);
    let r = n.put(p, E1, big).await;
    let j = r.expect(413, 202, "88.798.1/B-1");
    assert!(j["message"].as_str().unwrap().contains("4096"));
    // unknown routes and methods answer JSON too
    let r = n.get("/api/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["responseCode"], 2);
    let r = n.send(reqwest::Method::POST, "/api/handles/88.798.1/x", Some(E1), Some(json!([]))).await;
    assert_eq!(r.status, 405);
    assert!(r.json()["message"].as_str().unwrap().contains("POST"));
    assert!(!n.get(p).await.status.is_success(), "nothing was created by bad bodies");
    n.stop().await;
}

#[tokio::test]
async fn plain_http_authentication_is_refused_by_default() {
    let n = TestNode::start_with(|c| c.http.allow_insecure_auth = false).await;
    let r = n.put("/api/handles/88.798.1/P-1", E1, json!([url_value(1, "x")])).await;
    let j = r.expect(403, 402, "88.798.1/P-1");
    assert!(j["message"].as_str().unwrap().contains("HTTPS"));
    n.get(&format!("/api/handles/{H}")).await.expect(200, 1, H);
    n.stop().await;
}
