//! Challenge and response (RFC 3652 §3.5; handle-auth.md): the challenge a node sends to an administrative
//! request, the client's answer (`OC_RESPONSE_TO_CHALLENGE`), and the check of a secret-key (`HS_SECKEY`) answer
//! in every form the protocol versions define.
//!
//! A pending challenge answers once: it is taken out of the table by its answer, and it expires after
//! its time to live, so that neither a replayed answer nor a stale one re-runs a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::Hmac;
use subtle::ConstantTimeEq as _;

use super::codec::{CodecError, Envelope};
use crate::record::pubkey::{Hash, PublicKey, rsa_sign};
use crate::record::wire::{Reader, put_bytes};

/// Most challenges pending at once; beyond, administrative requests are answered "too busy".
const MAX_PENDING: usize = 10_000;
/// Length of a challenge's nonce.
const NONCE_LEN: usize = 16;
/// Bounds of a PBKDF2 answer, so that an answer cannot make the node derive keys for long.
const MAX_PBKDF2_ITERATIONS: u32 = 100_000;
const MAX_PBKDF2_KEY_BITS: u32 = 512;

/// A request waiting for the answer to its challenge.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The request's envelope.
    pub env: Envelope,
    /// The request message as received.
    pub message: Vec<u8>,
    /// The nonce sent.
    pub nonce: [u8; NONCE_LEN],
    /// The digest of the request sent with it (raw, without its hash type).
    pub digest: Vec<u8>,
    /// The answer version's minor number, which decides the forms of the answer.
    pub minor: u8,
    created: Instant,
}

/// The challenges sent and not yet answered, by session id.
pub struct Challenges {
    pending: Mutex<HashMap<u32, Pending>>,
    ttl: Duration,
}

impl Challenges {
    /// A table whose challenges wait `ttl` for their answers (Handle.Net's `max_auth_time` is 20 s).
    pub fn new(ttl: Duration) -> Self {
        Self { pending: Mutex::default(), ttl }
    }

    /// Records a challenge to the request `message` (received with `env`; `digest` its digest at the answer's
    /// version `minor`); returns its session id and nonce, or `None` when too many are pending.
    pub fn issue(&self, env: Envelope, message: &[u8], minor: u8, digest: Vec<u8>) -> Option<(u32, [u8; NONCE_LEN])> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= MAX_PENDING {
            pending.retain(|_, p| p.created.elapsed() < self.ttl);
            if pending.len() >= MAX_PENDING {
                return None;
            }
        }
        let nonce: [u8; NONCE_LEN] = rand::random();
        // Unpredictable, non-zero and unused: a session id names the challenge to its answer.
        let id = std::iter::repeat_with(rand::random::<u32>).find(|id| *id != 0 && !pending.contains_key(id))?;
        let p = Pending { env, message: message.to_vec(), nonce, digest, minor, created: Instant::now() };
        pending.insert(id, p);
        Some((id, nonce))
    }

    /// Takes the challenge pending under `session_id`, so that an answer is checked once, right or wrong; `None`
    /// when none is: never sent, answered already, or expired.
    pub fn take(&self, session_id: u32) -> Option<Pending> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.remove(&session_id).filter(|p| p.created.elapsed() < self.ttl)
    }
}

/// The body of a challenge at the answer's version `minor`: from 2.1 the digest's hash type, the digest and the
/// nonce; before, the nonce and the MD5 digest.
pub fn challenge_body(minor: u8, kind: u8, digest: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(digest.len() + nonce.len() + 9);
    if minor >= 1 {
        b.push(kind);
        b.extend_from_slice(digest);
        put_bytes(&mut b, nonce);
    } else {
        put_bytes(&mut b, nonce);
        put_bytes(&mut b, digest);
    }
    b
}

/// The body of an `OC_RESPONSE_TO_CHALLENGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeAnswer {
    /// [`HS_SECKEY`](crate::record::types::HS_SECKEY) or [`HS_PUBKEY`](crate::record::types::HS_PUBKEY).
    pub auth_type: Vec<u8>,
    /// The identity's handle.
    pub handle: Vec<u8>,
    /// The index of its key.
    pub index: u32,
    /// The keyed digest or signature.
    pub signed: Vec<u8>,
}

impl ChallengeAnswer {
    /// Decodes the body.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(body);
        let bad = |_| CodecError::Body("malformed challenge answer".into());
        Ok(Self {
            auth_type: r.bytes().map_err(bad)?.to_vec(),
            handle: r.bytes().map_err(bad)?.to_vec(),
            index: r.u32().map_err(bad)?,
            signed: r.bytes().map_err(bad)?.to_vec(),
        })
    }

    /// Encodes the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        put_bytes(&mut b, &self.auth_type);
        put_bytes(&mut b, &self.handle);
        b.extend_from_slice(&self.index.to_be_bytes());
        put_bytes(&mut b, &self.signed);
        b
    }
}

/// Forms of a secret-key answer, by the code in its first byte.
pub mod seckey {
    /// MD5(k ‖ m ‖ k).
    pub const MD5: u8 = 0x01;
    /// SHA-1(k ‖ m ‖ k).
    pub const SHA1: u8 = 0x02;
    /// SHA-256(k ‖ m ‖ k).
    pub const SHA256: u8 = 0x03;
    /// HMAC-SHA1(k, m).
    pub const HMAC_SHA1: u8 = 0x12;
    /// HMAC-SHA256(k, m).
    pub const HMAC_SHA256: u8 = 0x13;
    /// HMAC-SHA1 keyed by PBKDF2-HMAC-SHA1(k), with the salt, iterations and key length in the answer.
    pub const PBKDF2_HMAC_SHA1: u8 = 0x22;
}

fn sandwich<D: md5::Digest>(k: &[u8], m: &[u8]) -> Vec<u8> {
    D::new().chain_update(k).chain_update(m).chain_update(k).finalize().to_vec()
}

fn hmac<M: hmac::Mac + hmac::digest::KeyInit>(k: &[u8], m: &[u8]) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(k).expect("HMAC takes keys of any length");
    mac.update(m);
    mac.finalize().into_bytes().to_vec()
}

/// The secret as Java's PBKDF2 sees it: each byte a character, UTF-8 encoded (ASCII secrets unchanged).
fn java_pbkdf2_password(secret: &[u8]) -> Vec<u8> {
    secret.iter().map(|b| char::from(*b)).collect::<String>().into_bytes()
}

/// The keyed digest of `m` with `secret` in the form `code`, for the forms with no parameters.
fn keyed(code: u8, secret: &[u8], m: &[u8]) -> Option<Vec<u8>> {
    Some(match code {
        seckey::MD5 => sandwich::<md5::Md5>(secret, m),
        seckey::SHA1 => sandwich::<sha1::Sha1>(secret, m),
        seckey::SHA256 => sandwich::<sha2::Sha256>(secret, m),
        seckey::HMAC_SHA1 => hmac::<Hmac<sha1::Sha1>>(secret, m),
        seckey::HMAC_SHA256 => hmac::<Hmac<sha2::Sha256>>(secret, m),
        _ => return None,
    })
}

/// A PBKDF2 answer's parts: salt, iterations, key length in bits, the MAC.
fn pbkdf2_parts(rest: &[u8]) -> Option<(&[u8], u32, u32, &[u8])> {
    let mut r = Reader::new(rest);
    let salt = r.bytes().ok()?;
    let (iterations, bits) = (r.u32().ok()?, r.u32().ok()?);
    let mac = r.bytes().ok()?;
    Some((salt, iterations, bits, mac))
}

/// Whether `signed` proves knowledge of `secret` for the challenge `m` (nonce ‖ digest), answered at protocol
/// minor version `minor` (before 2.1 an answer has no code byte and is MD5(k ‖ m ‖ k)).
pub fn seckey_proves(secret: &[u8], m: &[u8], signed: &[u8], minor: u8) -> bool {
    let same = |a: &[u8], b: &[u8]| bool::from(a.ct_eq(b));
    if minor == 0 {
        return same(&sandwich::<md5::Md5>(secret, m), signed);
    }
    let Some((&code, rest)) = signed.split_first() else { return false };
    if code != seckey::PBKDF2_HMAC_SHA1 {
        return keyed(code, secret, m).is_some_and(|expected| same(&expected, rest));
    }
    let Some((salt, iterations, bits, mac)) = pbkdf2_parts(rest) else { return false };
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS || bits == 0 || bits > MAX_PBKDF2_KEY_BITS || bits % 8 != 0
    {
        return false;
    }
    let mut key = vec![0u8; (bits / 8) as usize];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&java_pbkdf2_password(secret), salt, iterations, &mut key);
    same(&hmac::<Hmac<sha1::Sha1>>(&key, m), mac)
}

/// A secret-key answer to the challenge `m` in the form `code`, as a client makes it (PBKDF2 with `salt` and
/// `iterations`, as CNRI's client does from 2.7).
pub fn seckey_answer(code: u8, secret: &[u8], m: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut out = vec![code];
    if code == seckey::PBKDF2_HMAC_SHA1 {
        let mut key = [0u8; 20];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&java_pbkdf2_password(secret), salt, iterations, &mut key);
        put_bytes(&mut out, salt);
        out.extend_from_slice(&iterations.to_be_bytes());
        out.extend_from_slice(&160u32.to_be_bytes());
        put_bytes(&mut out, &hmac::<Hmac<sha1::Sha1>>(&key, m));
    } else {
        out.extend(keyed(code, secret, m).unwrap_or_default());
    }
    out
}

/// Whether `signed` (`bytes(hash id) | bytes(signature)`, as CNRI's client and the IDIS SDKs send it) is the
/// signature of the challenge `m` by the private half of `key` (`HS_PUBKEY` data).
pub fn pubkey_proves(key: &[u8], m: &[u8], signed: &[u8]) -> bool {
    let mut r = Reader::new(signed);
    let (Ok(hash), Ok(signature)) = (r.bytes(), r.bytes()) else { return false };
    let (Some(hash), Ok(key)) = (Hash::from_id(hash), PublicKey::decode(key)) else { return false };
    key.verifies(hash, m, signature)
}

/// A public-key answer to the challenge `m`: `hash`'s identifier and the RSA signature (the crate's client).
pub fn pubkey_answer(key: &rsa::RsaPrivateKey, hash: Hash, m: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, hash.id());
    put_bytes(&mut out, &rsa_sign(key, hash, m));
    out
}

/// The message a challenge's answer covers: the nonce, then the request digest.
pub fn challenged(nonce: &[u8], digest: &[u8]) -> Vec<u8> {
    [nonce, digest].concat()
}

#[cfg(test)]
mod tests {
    use md5::Digest as _;

    use super::*;

    #[test]
    fn every_secret_key_form_verifies_and_a_wrong_secret_does_not() {
        let m = challenged(&[7; 16], &[9; 32]);
        for code in [seckey::MD5, seckey::SHA1, seckey::SHA256, seckey::HMAC_SHA1, seckey::HMAC_SHA256] {
            let a = seckey_answer(code, b"secret", &m, &[], 0);
            assert!(seckey_proves(b"secret", &m, &a, 11), "{code:#x}");
            assert!(!seckey_proves(b"secreT", &m, &a, 11), "{code:#x}");
            assert!(!seckey_proves(b"secret", &challenged(&[8; 16], &[9; 32]), &a, 11), "{code:#x}");
        }
        let a = seckey_answer(seckey::PBKDF2_HMAC_SHA1, b"secret", &m, &[1; 16], 10_000);
        assert!(seckey_proves(b"secret", &m, &a, 11));
        assert!(!seckey_proves(b"other", &m, &a, 11));
        // the oldest form: no code byte
        let old = sandwich::<md5::Md5>(b"secret", &m);
        assert!(seckey_proves(b"secret", &m, &old, 0));
        assert!(!seckey_proves(b"secret", &m, &old, 11));
        // unknown codes, truncated and unbounded PBKDF2 answers are refused
        assert!(!seckey_proves(b"secret", &m, &[0x7F, 1, 2], 11));
        assert!(!seckey_proves(b"secret", &m, &[], 11));
        assert!(!seckey_proves(b"secret", &m, &a[..a.len() - 3], 11));
        let mut costly = a.clone();
        costly[21..25].copy_from_slice(&u32::MAX.to_be_bytes()); // iterations
        assert!(!seckey_proves(b"secret", &m, &costly, 11));
    }

    #[test]
    fn public_key_answers_verify() {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let key = PublicKey::Rsa(private.to_public_key()).encode();
        let m = challenged(&[7; 16], &[9; 32]);
        for hash in [Hash::Sha256, Hash::Sha1] {
            let a = pubkey_answer(&private, hash, &m);
            assert!(pubkey_proves(&key, &m, &a), "{hash:?}");
            assert!(!pubkey_proves(&key, &challenged(&[8; 16], &[9; 32]), &a), "{hash:?}");
        }
        // the hash named by its other spellings and codes
        let sig = rsa_sign(&private, Hash::Sha256, &m);
        for id in [&b"SHA256"[..], &[3]] {
            let mut a = Vec::new();
            put_bytes(&mut a, id);
            put_bytes(&mut a, &sig);
            assert!(pubkey_proves(&key, &m, &a));
        }
        let other = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        assert!(!pubkey_proves(&key, &m, &pubkey_answer(&other, Hash::Sha256, &m)), "another key's signature");
        assert!(!pubkey_proves(&key, &m, b"\0\0\0\x03SM3\0\0\0\0"), "an unknown hash");
        assert!(!pubkey_proves(b"not a key", &m, &pubkey_answer(&private, Hash::Sha256, &m)));
    }

    #[test]
    fn known_vectors() {
        // MD5("k" ‖ "m" ‖ "k") and HMAC-SHA256 of RFC 4231's test case 2
        assert_eq!(hex::encode(keyed(seckey::MD5, b"k", b"m").unwrap()), hex::encode(md5::Md5::digest(b"kmk")));
        let h = keyed(seckey::HMAC_SHA256, b"Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(hex::encode(h), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Java's PBKDF2 password: bytes above 0x7F become two UTF-8 bytes
        assert_eq!(java_pbkdf2_password(&[0x41, 0xE9]), vec![0x41, 0xC3, 0xA9]);
    }

    #[test]
    fn a_challenge_answers_once_and_expires() {
        let c = Challenges::new(Duration::from_secs(20));
        let (id, nonce) = c.issue(Envelope::default(), b"request", 11, vec![1, 2]).unwrap();
        assert_ne!(id, 0);
        assert_eq!(c.take(id).unwrap().nonce, nonce);
        assert!(c.take(id).is_none(), "answered once");
        let (id, _) = c.issue(Envelope::default(), b"request", 11, vec![]).unwrap();
        c.pending.lock().unwrap().get_mut(&id).unwrap().created -= Duration::from_secs(20);
        assert!(c.take(id).is_none(), "expired");
        assert!(c.pending.lock().unwrap().is_empty());
    }

    #[test]
    fn challenge_bodies_by_version() {
        assert_eq!(challenge_body(11, 3, &[9, 9], &[7; 2]), vec![3, 9, 9, 0, 0, 0, 2, 7, 7]);
        assert_eq!(challenge_body(0, 1, &[9, 9], &[7; 2]), vec![0, 0, 0, 2, 7, 7, 0, 0, 0, 2, 9, 9]);
        let a = ChallengeAnswer {
            auth_type: b"HS_SECKEY".to_vec(),
            handle: b"0.NA/x".to_vec(),
            index: 300,
            signed: vec![1],
        };
        assert_eq!(ChallengeAnswer::decode(&a.encode()).unwrap(), a);
        assert!(ChallengeAnswer::decode(&a.encode()[..10]).is_err());
    }
}
