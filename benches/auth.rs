//! The cost of authenticating one administrative request over the Handle protocol: checking the answer to a
//! challenge in each form (secret-key digests, HMAC, PBKDF2 as CNRI's client sends it, RSA and DSA signatures),
//! and signing a certified answer with the node key, against the request digest every challenge computes
//! (the reference of the same run).

use criterion::{Criterion, criterion_group, criterion_main};
use idnode::hdl::challenge::{challenged, pubkey_answer, pubkey_proves, seckey, seckey_answer, seckey_proves};
use idnode::hdl::codec::Envelope;
use idnode::record::pubkey::{Hash, PublicKey};

fn bench(c: &mut Criterion) {
    let request = vec![7u8; 120]; // a create of a short record: header and body
    let m = challenged(&[1; 16], &Hash::Sha256.digest(&request));
    let mut g = c.benchmark_group("auth");
    g.bench_function("reference_request_digest", |b| b.iter(|| Hash::Sha256.digest(std::hint::black_box(&request))));
    for (name, form) in [
        ("seckey_sha256", seckey::SHA256),
        ("seckey_hmac_sha256", seckey::HMAC_SHA256),
        ("seckey_pbkdf2_10000", seckey::PBKDF2_HMAC_SHA1),
    ] {
        let answer = seckey_answer(form, b"demo-secret-1", &m, &[3; 16], 10_000);
        g.bench_function(name, |b| b.iter(|| assert!(seckey_proves(b"demo-secret-1", &m, &answer, 11))));
    }
    let rsa = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let rsa_public = PublicKey::Rsa(rsa.to_public_key()).encode();
    let answer = pubkey_answer(&rsa, Hash::Sha256, &m);
    g.bench_function("pubkey_rsa2048_sha256", |b| b.iter(|| assert!(pubkey_proves(&rsa_public, &m, &answer))));
    #[allow(deprecated)] // 1,024-bit DSA keys are those in use with Handle (CNRI's default size)
    let components = dsa::Components::generate(&mut rsa::rand_core::OsRng, dsa::KeySize::DSA_1024_160);
    let dsa = dsa::SigningKey::generate(&mut rsa::rand_core::OsRng, components);
    let dsa_public = PublicKey::Dsa(Box::new(dsa.verifying_key().clone())).encode();
    let signature: dsa::Signature =
        signature::hazmat::PrehashSigner::sign_prehash(&dsa, &Hash::Sha1.digest(&m)).unwrap();
    let mut dsa_answer = Vec::new();
    for part in [&b"SHA1"[..], &signature::SignatureEncoding::to_vec(&signature)] {
        dsa_answer.extend_from_slice(&(part.len() as u32).to_be_bytes());
        dsa_answer.extend_from_slice(part);
    }
    g.bench_function("pubkey_dsa1024_sha1", |b| b.iter(|| assert!(pubkey_proves(&dsa_public, &m, &dsa_answer))));
    let dir = tempfile::tempdir().unwrap();
    let node_key = idnode::hdl::signing::NodeKey::load_or_create(&dir.path().join("node-key.pem")).unwrap();
    let answer = idnode::hdl::codec::encode_message(&Default::default(), &[5; 200]);
    let reply = Envelope { major: 2, minor: 11, flags: 2, suggested_minor: 11, ..Default::default() };
    g.bench_function("sign_answer_rsa2048", |b| {
        b.iter(|| {
            let mut a = answer.clone();
            node_key.sign(&reply, &mut a);
            a
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
