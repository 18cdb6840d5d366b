//! The Handle.Net REST API's challenge scheme on a real socket: `POST /api/sessions`, then `Authorization:
//! Handle` with a keyed digest or a signature over the session's nonce and the client's cnonce.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use idnode::hdl::challenge::{challenged, seckey, seckey_answer};
use idnode::record::pubkey::{Hash, PublicKey, rsa_sign};
use serde_json::json;

use crate::harness::*;

async fn session(n: &TestNode) -> (String, Vec<u8>) {
    let r = n.client.post(format!("{}/api/sessions", n.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let j: serde_json::Value = r.json().await.unwrap();
    (j["sessionId"].as_str().unwrap().to_owned(), B64.decode(j["nonce"].as_str().unwrap()).unwrap())
}

async fn put(n: &TestNode, h: &str, authorization: &str) -> u16 {
    let body =
        json!({"values": [{"index": 1, "type": "URL", "data": {"format": "string", "value": "https://x.example"}}]});
    let url = format!("{}/api/handles/{h}", n.base);
    n.client.put(url).header("Authorization", authorization).json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn secret_and_public_keys_over_the_handle_scheme() {
    let n = TestNode::start().await;
    let cnonce = [5u8; 16];
    let header = |sid: &str, id: &str, kind: &str, alg: &str, signature: &[u8], extra: &str| {
        format!(
            "Handle version=\"0\", sessionId=\"{sid}\", id=\"{id}\", type=\"{kind}\", alg=\"{alg}\", cnonce=\"{}\", signature=\"{}\"{extra}",
            B64.encode(cnonce),
            B64.encode(signature)
        )
    };
    // secret keys, in the digest and HMAC forms
    for (i, (alg, code)) in [("SHA256", seckey::SHA256), ("HMAC-SHA256", seckey::HMAC_SHA256), ("SHA1", seckey::SHA1)]
        .into_iter()
        .enumerate()
    {
        let (sid, nonce) = session(&n).await;
        let m = challenged(&nonce, &cnonce);
        let signature = seckey_answer(code, b"demo-secret-1", &m, &[], 0)[1..].to_vec();
        let auth = header(&sid, "300:0.NA/88.798.1", "HS_SECKEY", alg, &signature, "");
        assert_eq!(put(&n, &format!("88.798.1/HA-{i}"), &auth).await, 201, "{alg}");
        assert_eq!(put(&n, &format!("88.798.1/HA-{i}"), &auth).await, 200, "the same header again in its session");
        let wrong = seckey_answer(code, b"guess", &m, &[], 0)[1..].to_vec();
        let auth = header(&sid, "300:0.NA/88.798.1", "HS_SECKEY", alg, &wrong, "");
        assert_eq!(put(&n, &format!("88.798.1/HA-{i}"), &auth).await, 401, "{alg}, a wrong secret");
    }
    // PBKDF2, its parameters beside the signature
    let (sid, nonce) = session(&n).await;
    let blob =
        seckey_answer(seckey::PBKDF2_HMAC_SHA1, b"demo-secret-1", &challenged(&nonce, &cnonce), &[9; 16], 10_000);
    let mac = &blob[blob.len() - 20..];
    let extra = format!(", salt=\"{}\", iterations=\"10000\", length=\"160\"", B64.encode([9u8; 16]));
    let auth = header(&sid, "300:0.NA/88.798.1", "HS_SECKEY", "PBKDF2-HMAC-SHA1", mac, &extra);
    assert_eq!(put(&n, "88.798.1/HA-P", &auth).await, 201);
    // a public key registered on the identity
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let key = B64.encode(PublicKey::Rsa(private.to_public_key()).encode());
    let admin = json!({"index": 101, "type": "HS_ADMIN",
        "data": {"format": "admin", "value": {"handle": "0.NA/88.798.1", "index": 302, "permissions": "011111110011"}}});
    let pubkey = json!({"index": 302, "type": "HS_PUBKEY", "data": {"format": "key", "value": key}});
    n.put("/api/handles/0.NA/88.798.1?index=various", ROOT, json!({"values": [pubkey, admin]})).await.expect(
        200,
        1,
        "0.NA/88.798.1",
    );
    let (sid, nonce) = session(&n).await;
    let signature = rsa_sign(&private, Hash::Sha256, &challenged(&nonce, &cnonce));
    assert_eq!(
        put(&n, "88.798.1/HA-K", &header(&sid, "302:0.NA/88.798.1", "HS_PUBKEY", "SHA256", &signature, "")).await,
        201
    );
    let other = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let forged = rsa_sign(&other, Hash::Sha256, &challenged(&nonce, &cnonce));
    assert_eq!(
        put(&n, "88.798.1/HA-K", &header(&sid, "302:0.NA/88.798.1", "HS_PUBKEY", "SHA256", &forged, "")).await,
        401
    );
    // a session the node never opened, and a signature over another session's nonce
    let (sid2, _) = session(&n).await;
    assert_eq!(
        put(&n, "88.798.1/HA-K", &header("feedface", "302:0.NA/88.798.1", "HS_PUBKEY", "SHA256", &signature, "")).await,
        401
    );
    assert_eq!(
        put(&n, "88.798.1/HA-K", &header(&sid2, "302:0.NA/88.798.1", "HS_PUBKEY", "SHA256", &signature, "")).await,
        401
    );
    n.stop().await;
}
