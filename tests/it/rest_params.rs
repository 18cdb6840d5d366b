//! Query parameters and HTTP behaviour of resolution and listing.

use serde_json::json;

use crate::harness::*;

const H: &str = "88.798.1/JDZ-2024-000123";

#[tokio::test]
async fn filters_render_and_cache() {
    let n = TestNode::start().await;
    let p = format!("/api/handles/{H}");
    // index and type filters are OR-ed
    let j = n.get(&format!("{p}?index=1&type=TEMPLATE_ID&type=glaze")).await.expect(200, 1, H);
    assert_eq!(indexes(&j), vec![1, 1000, 2004]);
    // trailing-dot subtype match
    n.put(
        "/api/handles/88.798.1/SITE-1",
        E1,
        json!([{"index":1,"type":"HS_SITE.PREFIX","data":{"format":"site","value":{"servers":[]}}}, url_value(2, "u")]),
    )
    .await
    .expect(201, 1, "88.798.1/SITE-1");
    let j = n.get("/api/handles/88.798.1/SITE-1?type=HS_SITE.").await.expect(200, 1, "88.798.1/SITE-1");
    assert_eq!(indexes(&j), vec![1]);
    assert_eq!(j["values"][0]["data"]["format"], "site");
    // pretty, valueless
    let r = n.get(&format!("{p}?pretty")).await;
    assert!(r.text.contains("\n  \"responseCode\": 1"), "{}", r.text);
    let r = n.get(&format!("{p}?pretty=false")).await;
    assert!(!r.text.contains('\n'));
    n.get(&format!("{p}?pretty=perhaps")).await.expect(400, 202, H);
    // JSONP
    let r = n.get(&format!("{p}?callback=show&index=1")).await;
    assert!(r.text.starts_with("show({") && r.text.ends_with("});"), "{}", r.text);
    assert!(r.header("content-type").unwrap().starts_with("application/javascript"));
    let r = n.get(&format!("{p}?callback=alert(1)")).await;
    assert_eq!(r.status, 400);
    // JSONP never carries an authenticated answer: a `<script>` tag would send the browser's cached credentials
    for path in
        ["/api/handles/0.NA/88.798.1?callback=steal&publicOnly=false", "/api/handles/0.NA/88.798.1?callback=steal"]
    {
        let r = n.send(reqwest::Method::GET, path, Some(E1), None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert!(!r.text.contains("HS_SECKEY") && !r.text.contains("demo-secret"), "{}", r.text);
    }
    let r = n.admin("/admin/audit?callback=steal", Some(ROOT)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // auth accepted and ignored
    n.get(&format!("{p}?auth=true")).await.expect(200, 1, H);
    n.get(&format!("{p}?auth")).await.expect(200, 1, H);
    // caching: max-age from the smallest relative TTL, ETag and 304
    n.put(
        "/api/handles/88.798.1/TTL-1",
        E1,
        json!([{"index":1,"type":"URL","data":"a","ttl":60},{"index":2,"type":"URL","data":"b","ttl":3600}]),
    )
    .await
    .expect(201, 1, "88.798.1/TTL-1");
    let r = n.get("/api/handles/88.798.1/TTL-1").await;
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    let r = n.get("/api/handles/88.798.1/TTL-1?index=2").await;
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    let etag = r.header("etag").unwrap().to_owned();
    let again = n
        .client
        .get(format!("{}/api/handles/88.798.1/TTL-1?index=2", n.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers().get("etag").unwrap().to_str().unwrap(), etag);
    let other = n
        .client
        .get(format!("{}/api/handles/88.798.1/TTL-1?index=1", n.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // the plain answer (rendered once per cached record) has its ETag too, and a change gives a new one
    let conditional = |tag: String| {
        let req = n.client.get(format!("{}/api/handles/88.798.1/TTL-1", n.base)).header("if-none-match", tag);
        async move { req.send().await.unwrap() }
    };
    let plain = n.get("/api/handles/88.798.1/TTL-1").await.header("etag").unwrap().to_owned();
    assert_eq!(n.get("/api/handles/88.798.1/TTL-1").await.header("etag"), Some(plain.as_str()));
    assert_eq!(conditional(plain.clone()).await.status(), 304);
    n.put("/api/handles/88.798.1/TTL-1?index=2", E1, json!([{"index":2,"type":"URL","data":"c"}])).await.expect(
        200,
        1,
        "88.798.1/TTL-1",
    );
    let changed = conditional(plain.clone()).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers().get("etag").unwrap().to_str().unwrap(), plain);
    assert_eq!(changed.json::<serde_json::Value>().await.unwrap()["values"][1]["data"]["value"], "c");
    let r = n.get("/api/handles/88.798.1/NOPE").await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = n.send(reqwest::Method::GET, &p, Some(E1), None).await;
    assert!(r.header("cache-control").unwrap().starts_with("private"));
    n.stop().await;
}

#[tokio::test]
async fn echo_and_identifier_forms() {
    let n = TestNode::start().await;
    // prefixes are case-insensitive, and the echo is what was sent
    n.get("/api/handles/0.na/88.798.1").await.expect(200, 1, "0.na/88.798.1");
    // suffixes with slashes, colons and Chinese (percent-encoded by the client)
    let h = "88.798.1/ABC/7:景德镇 青花";
    let enc = "88.798.1/ABC/7:%E6%99%AF%E5%BE%B7%E9%95%87%20%E9%9D%92%E8%8A%B1";
    n.put(&format!("/api/handles/{enc}"), E1, json!({"values":[{"index":1,"type":"URL","data":"景德镇"}]}))
        .await
        .expect(201, 1, h);
    let j = n.get(&format!("/api/handles/{enc}")).await.expect(200, 1, h);
    assert_eq!(j["values"][0]["data"]["value"], "景德镇");
    // suffixes are case-sensitive by default
    n.get("/api/handles/88.798.1/abc/7:%E6%99%AF%E5%BE%B7%E9%95%87%20%E9%9D%92%E8%8A%B1").await.expect(
        404,
        100,
        "88.798.1/abc/7:景德镇 青花",
    );
    n.stop().await;
    let n = TestNode::start_with(|c| c.node.suffix_case = idnode::id::SuffixCase::Insensitive).await;
    n.get("/api/handles/88.798.1/jdz-2024-000123").await.expect(200, 1, "88.798.1/jdz-2024-000123");
    n.stop().await;
}

#[tokio::test]
async fn public_only_and_secrets() {
    let n = TestNode::start().await;
    let p = "/api/handles/0.NA/88.798.1";
    let types = |j: &serde_json::Value| {
        j["values"].as_array().unwrap().iter().map(|v| v["type"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let anon = n.get(&format!("{p}?publicOnly=false")).await.expect(200, 1, "0.NA/88.798.1");
    assert!(!types(&anon).contains(&"HS_SECKEY".to_owned()));
    let own = n.send(reqwest::Method::GET, p, Some(E1), None).await.expect(200, 1, "0.NA/88.798.1");
    let secret =
        own["values"].as_array().unwrap().iter().find(|v| v["type"] == "HS_SECKEY").expect("owner reads its secret");
    assert_eq!(secret["permissions"], "1100");
    let own_public =
        n.send(reqwest::Method::GET, &format!("{p}?publicOnly"), Some(E1), None).await.expect(200, 1, "0.NA/88.798.1");
    assert!(!types(&own_public).contains(&"HS_SECKEY".to_owned()));
    let other = n.send(reqwest::Method::GET, p, Some(E2), None).await.expect(200, 1, "0.NA/88.798.1");
    assert!(!types(&other).contains(&"HS_SECKEY".to_owned()));
    n.stop().await;
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let n = TestNode::start().await;
    let r = n
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/api/handles/{H}", n.base))
        .header("origin", "https://scan.example.cn")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-allow-methods"].to_str().unwrap().contains("PUT"));
    let r = n
        .client
        .get(format!("{}/api/handles/{H}", n.base))
        .header("origin", "https://scan.example.cn")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    n.stop().await;
}

#[tokio::test]
async fn listing_and_prefixes() {
    let n = TestNode::start().await;
    // not public
    n.get("/api/handles?prefix=88.798.1").await.expect(401, 402, "88.798.1");
    n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1", Some(E2), None).await.expect(403, 400, "88.798.1");
    n.send(reqwest::Method::GET, "/api/handles?prefix=10.1000", Some(ROOT), None).await.expect(400, 301, "10.1000");
    let r = n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&page=2&pageSize=5", Some(E1), None).await;
    let j = r.json();
    assert_eq!(j["responseCode"], 1);
    assert_eq!(j["totalCount"], "612");
    assert_eq!((j["page"].as_u64(), j["pageSize"].as_u64()), (Some(2), Some(5)));
    assert_eq!(
        j["handles"],
        json!([
            "88.798.1/BATCH-202411",
            "88.798.1/BATCH-202412",
            "88.798.1/JDZ-2024-000001",
            "88.798.1/JDZ-2024-000002",
            "88.798.1/JDZ-2024-000003"
        ])
    );
    // pages are built in memory: a page past 10,000 handles is refused (the listing can be streamed instead)
    let r = n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&page=0&pageSize=100000", Some(E1), None).await;
    r.expect(400, 202, "88.798.1");
    let j = n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&page=0&pageSize=0", Some(E1), None).await.json();
    assert_eq!((j["totalCount"].as_str(), j["handles"].as_array().map(Vec::len)), (Some("612"), Some(0)));
    // no page (or a negative one): everything, streamed; pageSize=0 alone lists everything too
    for q in ["", "&pageSize=0", "&page=-1&pageSize=3"] {
        let r = n.send(reqwest::Method::GET, &format!("/api/handles?prefix=88.798.1{q}"), Some(E1), None).await;
        let j = r.json();
        assert_eq!(j["handles"].as_array().unwrap().len(), 612, "{q}");
        assert_eq!(j["totalCount"], "612");
    }
    // JSONP with credentials would hand the listing to any web page: refused
    let r = n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&pretty&callback=cb", Some(E1), None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("callback") && !r.text.contains("JDZ-"), "{}", r.text);
    n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&page=x", Some(E1), None)
        .await
        .expect(400, 202, "88.798.1");
    n.send(reqwest::Method::GET, "/api/handles", Some(E1), None).await.expect(400, 202, "");
    // prefixes
    n.get("/api/prefixes").await.expect(401, 402, "");
    let j = n.send(reqwest::Method::GET, "/api/prefixes", Some(E1), None).await.json();
    assert_eq!(j["prefixes"], json!(["88.798", "88.798.1", "88.798.2", "88.798.3", "88.798.4", "88.798.5"]));
    n.stop().await;
}

#[tokio::test]
async fn hardening() {
    let n = TestNode::start().await;
    // multi-byte characters where `hdl:` would be: no panic, a clean 400
    n.get("/api/handles/%E6%99%AF%E5%BE%B7/x").await.expect(400, 102, "景德/x");
    n.get("/api/handles/HDL:88.798.1/x").await.expect(400, 301, "HDL:88.798.1/x");
    // anonymous writes are refused before the body is looked at
    let r = n.send(reqwest::Method::PUT, "/api/handles/88.798.1/ANON", None, Some(json!("not even values"))).await;
    r.expect(401, 402, "88.798.1/ANON");
    // a secret key written without permissions is not public
    n.put("/api/handles/88.798.1/bob", E1, json!([{"index":300,"type":"HS_SECKEY","data":"s3cret"}])).await.expect(
        201,
        1,
        "88.798.1/bob",
    );
    assert!(!n.get("/api/handles/88.798.1/bob").await.text.contains("s3cret"));
    // a read-only value does not freeze the rest of the record
    n.put(
        "/api/handles/88.798.1/T",
        E1,
        json!([url_value(1, "u"), {"index":5,"type":"SEAL","data":"x","permissions":"1010"}]),
    )
    .await
    .expect(201, 1, "88.798.1/T");
    n.put("/api/handles/88.798.1/T?index=1", E1, json!([url_value(1, "v")])).await.expect(200, 1, "88.798.1/T");
    let whole = n.get("/api/handles/88.798.1/T").await.json();
    n.put("/api/handles/88.798.1/T", E1, json!({"values": whole["values"]})).await.expect(200, 1, "88.798.1/T");
    n.put(
        "/api/handles/88.798.1/T?index=5",
        E1,
        json!([{"index":5,"type":"SEAL","data":"forged","permissions":"1010"}]),
    )
    .await
    .expect(403, 400, "88.798.1/T");
    // cyclic HS_VLIST groups are walked once and cannot stall the node
    let members: Vec<_> = (0..300).map(|_| json!({"handle":"88.798.1/G","index":200})).collect();
    n.put(
        "/api/handles/88.798.1/G",
        E1,
        json!([{"index":200,"type":"HS_VLIST","data":{"format":"vlist","value":members}}]),
    )
    .await
    .expect(201, 1, "88.798.1/G");
    n.put("/api/handles/88.798.1/X", ROOT, json!([
        {"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"88.798.1/G","index":200,"permissions":"011111111111"}}},
        {"index":7,"type":"HIDDEN","data":"h","permissions":"1100"}])).await.expect(201, 1, "88.798.1/X");
    let r = n.send(reqwest::Method::GET, "/api/handles/88.798.1/X", Some(E2), None).await.expect(200, 1, "88.798.1/X");
    assert!(!r.to_string().contains("HIDDEN"));
    // listing pages are bounded
    n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&page=0&pageSize=100001", Some(E1), None)
        .await
        .expect(400, 202, "88.798.1");
    let j = n.send(reqwest::Method::GET, "/api/handles?prefix=88.798.1&page=0", Some(E1), None).await.json();
    assert_eq!(
        (j["pageSize"].as_u64(), j["handles"].as_array().map(Vec::len)),
        (Some(1000), Some(616)),
        "600 demo products, 12 batches and the 4 handles made above"
    );
    n.stop().await;
}

#[tokio::test]
async fn key_index_zero_gets_only_the_matching_key() {
    let n = TestNode::start().await;
    // a second, limited key on the enterprise's prefix handle: an HS_ADMIN for it grants only add_value
    n.put("/api/handles/0.NA/88.798.1?index=various", E1, json!([
        {"index":301,"type":"HS_SECKEY","data":"robot","permissions":"1100"},
        {"index":101,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/88.798.1","index":301,"permissions":"000001000000"}}}
    ])).await.expect(200, 1, "0.NA/88.798.1");
    let robot = ("0%3A0.NA/88.798.1", "robot");
    n.put("/api/handles/88.798.1/JDZ-2024-000001?index=3", robot, json!([url_value(3, "added")])).await.expect(
        200,
        1,
        "88.798.1/JDZ-2024-000001",
    );
    n.delete("/api/handles/88.798.1/JDZ-2024-000001", robot).await.expect(403, 400, "88.798.1/JDZ-2024-000001");
    n.stop().await;
}

/// The headers of an answer, without those that differ from request to request.
fn stable_headers(r: &Reply) -> Vec<(String, String)> {
    let mut h: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "date" | "x-request-id"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    h.sort();
    h
}

#[tokio::test]
async fn a_cached_lookup_answers_as_the_full_path_does() {
    for cors in [true, false] {
        let n = TestNode::start_with(|c| c.http.cors = cors).await;
        let p = format!("/api/handles/{H}");
        // The first lookup reads the store (the full path); the second finds the record cached and is answered
        // before the router.
        let full = n.get(&p).await;
        let fast = n.get(&p).await;
        assert_eq!(full.status, 200);
        assert_eq!((fast.status, &fast.text), (full.status, &full.text), "cors {cors}");
        assert_eq!(stable_headers(&fast), stable_headers(&full), "cors {cors}");
        assert!(fast.header("x-request-id").is_some_and(|id| Some(id) != full.header("x-request-id")));
        // A client's request id is kept, as on the full path.
        let r = n.client.get(format!("{}{p}", n.base)).header("x-request-id", "scan-42").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "scan-42");
        // Counted like the full path: requests, resolutions, statistics and the cache.
        let m = n.metrics().await;
        let ok = r#"{protocol="rest",operation="resolve",result="ok"}"#;
        assert_eq!(count(&m, &format!("idnode_api_requests_total{ok}")), 3.0, "cors {cors}");
        assert_eq!(count(&m, r#"idnode_core_resolutions_total{protocol="rest",result="ok"}"#), 3.0);
        assert_eq!(count(&m, "idnode_record_cache_hits_total"), 2.0);
        assert_eq!(count(&m, "idnode_record_cache_misses_total"), 1.0);
        n.stop().await;
    }
}

#[tokio::test]
async fn other_lookups_take_the_full_path() {
    let n = TestNode::start_with(|c| c.node.suffix_case = idnode::id::SuffixCase::Insensitive).await;
    let p = format!("/api/handles/{H}");
    let first = n.get(&p).await;
    let etag = first.header("etag").unwrap().to_owned();
    // With the record cached: a conditional lookup gets the full path's 304.
    let r = n.client.get(format!("{}{p}", n.base)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 304);
    // Spelled otherwise: the answer echoes the request's spelling, not the cached rendering's.
    let lower = H.to_lowercase();
    let r = n.get(&format!("/api/handles/{lower}")).await;
    r.expect(200, 1, &lower);
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // Percent-encoded as created: the same answer as the plain spelling.
    let r = n.get(&format!("/api/handles/{}", H.replace('/', "%2F"))).await;
    assert_eq!((r.status, &r.text), (first.status, &first.text));
    // HEAD, credentials and a missing handle.
    assert_eq!(n.client.head(format!("{}{p}", n.base)).send().await.unwrap().status(), 200);
    n.send(reqwest::Method::GET, &p, Some(E1), None).await.expect(200, 1, H);
    n.get("/api/handles/88.798.1/NOPE").await.expect(404, 100, "88.798.1/NOPE");
    n.stop().await;
}
