//! Public keys as the Handle System encodes them in `HS_PUBKEY` values (handle-auth.md, "Key values"), and the
//! check of a signature made with the private half: RSA PKCS#1 v1.5 and DSA, over SHA-1 or SHA-256 (MD5 for
//! RSA), as CNRI's client and the IDIS SDKs sign.
//!
//! Encoding: `bytes(key type) | u16 flags (0) |` the key's integers as `bytes(unsigned big-endian)`:
//! `RSA_PUB_KEY`: e, n; `DSA_PUB_KEY`: q, p, g, y.

use rsa::BigUint;
use rsa::pkcs1v15::Pkcs1v15Sign;
use sha2::Digest as _;

use super::RecordError;
use super::wire::{Reader, put_bytes};

/// The key type of an RSA public key.
pub const RSA_PUB_KEY: &str = "RSA_PUB_KEY";
/// The key type of a DSA public key.
pub const DSA_PUB_KEY: &str = "DSA_PUB_KEY";
/// Largest modulus accepted, in bits: bigger keys cost a check more than they add.
const MAX_MODULUS_BITS: usize = 8192;

/// A public key of an `HS_PUBKEY` value.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// RSA.
    Rsa(rsa::RsaPublicKey),
    /// DSA.
    Dsa(Box<dsa::VerifyingKey>),
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.encode() == other.encode()
    }
}

/// The hash a signature is made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// MD5 (RSA only, as CNRI's library accepts it).
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl Hash {
    /// The hash named by a signature's algorithm identifier: "SHA-256", "SHA256", "SHA1", "SHA-1", "MD5", "SM3"
    /// is not among them, or a one-byte code (1 MD5, 2 SHA-1, 3 SHA-256).
    pub fn from_id(id: &[u8]) -> Option<Self> {
        match id {
            b"SHA-256" | b"SHA256" | [3] => Some(Self::Sha256),
            b"SHA1" | b"SHA-1" | [2] => Some(Self::Sha1),
            b"MD5" | [1] => Some(Self::Md5),
            _ => None,
        }
    }

    /// The identifier CNRI's client sends for it.
    pub fn id(self) -> &'static [u8] {
        match self {
            Self::Md5 => b"MD5",
            Self::Sha1 => b"SHA1",
            Self::Sha256 => b"SHA-256",
        }
    }

    /// The digest of `m`.
    pub fn digest(self, m: &[u8]) -> Vec<u8> {
        match self {
            Self::Md5 => md5::Md5::digest(m).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(m).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(m).to_vec(),
        }
    }

    fn pkcs1(self) -> Pkcs1v15Sign {
        match self {
            Self::Md5 => Pkcs1v15Sign::new::<md5::Md5>(),
            Self::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            Self::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        }
    }
}

fn bad(what: &str) -> RecordError {
    RecordError::Encoding(match what {
        "type" => "unknown public key type",
        "size" => "public key too large",
        _ => "malformed public key",
    })
}

fn int(r: &mut Reader<'_>) -> Result<BigUint, RecordError> {
    Ok(BigUint::from_bytes_be(r.bytes()?))
}

/// The unsigned big-endian bytes of `n` with a leading zero when its top bit is set, as Java writes them.
fn java_int(n: &BigUint) -> Vec<u8> {
    let mut b = n.to_bytes_be();
    if b.first().is_some_and(|x| x & 0x80 != 0) {
        b.insert(0, 0);
    }
    b
}

impl PublicKey {
    /// Decodes `HS_PUBKEY` data.
    pub fn decode(data: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader::new(data);
        let kind = r.bytes()?;
        r.u16()?;
        match kind {
            b"RSA_PUB_KEY" => {
                let (e, n) = (int(&mut r)?, int(&mut r)?);
                if n.bits() > MAX_MODULUS_BITS {
                    return Err(bad("size"));
                }
                rsa::RsaPublicKey::new(n, e).map(Self::Rsa).map_err(|_| bad("key"))
            }
            b"DSA_PUB_KEY" => {
                let (q, p, g, y) = (int(&mut r)?, int(&mut r)?, int(&mut r)?, int(&mut r)?);
                if p.bits() > MAX_MODULUS_BITS {
                    return Err(bad("size"));
                }
                let big = |n: BigUint| dsa::BigUint::from_bytes_be(&n.to_bytes_be());
                let components = dsa::Components::from_components(big(p), big(q), big(g)).map_err(|_| bad("key"))?;
                dsa::VerifyingKey::from_components(components, big(y))
                    .map(|k| Self::Dsa(Box::new(k)))
                    .map_err(|_| bad("key"))
            }
            _ => Err(bad("type")),
        }
    }

    /// The `HS_PUBKEY` data of the key.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let ints: Vec<BigUint> = match self {
            Self::Rsa(k) => {
                use rsa::traits::PublicKeyParts as _;
                put_bytes(&mut out, RSA_PUB_KEY.as_bytes());
                vec![k.e().clone(), k.n().clone()]
            }
            Self::Dsa(k) => {
                put_bytes(&mut out, DSA_PUB_KEY.as_bytes());
                let c = k.components();
                let big = |n: &dsa::BigUint| BigUint::from_bytes_be(&n.to_bytes_be());
                vec![big(c.q()), big(c.p()), big(c.g()), big(k.y())]
            }
        };
        out.extend_from_slice(&0u16.to_be_bytes());
        for n in &ints {
            put_bytes(&mut out, &java_int(n));
        }
        out
    }

    /// Whether `signature` is this key's signature of `m` over `hash`: PKCS#1 v1.5 for RSA, DER `SEQUENCE {r, s}`
    /// for DSA.
    pub fn verifies(&self, hash: Hash, m: &[u8], signature: &[u8]) -> bool {
        let hashed = hash.digest(m);
        match self {
            Self::Rsa(k) => k.verify(hash.pkcs1(), &hashed, signature).is_ok(),
            Self::Dsa(k) => {
                use signature::hazmat::PrehashVerifier as _;
                hash != Hash::Md5
                    && dsa::Signature::try_from(signature).is_ok_and(|s| k.verify_prehash(&hashed, &s).is_ok())
            }
        }
    }
}

/// An RSA private key's signature of `m` over `hash` (the crate's client).
pub fn rsa_sign(key: &rsa::RsaPrivateKey, hash: Hash, m: &[u8]) -> Vec<u8> {
    key.sign(hash.pkcs1(), &hash.digest(m)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_round_trip_and_verify() {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let key = PublicKey::Rsa(private.to_public_key());
        let data = key.encode();
        assert_eq!(&data[..15], [&[0, 0, 0, 11][..], b"RSA_PUB_KEY"].concat().as_slice());
        assert_eq!(&data[15..17], &[0, 0], "flags");
        assert_eq!(&data[17..22], &[0, 0, 0, 3, 1], "e = 65537, then n");
        assert_eq!(PublicKey::decode(&data).unwrap(), key);
        for hash in [Hash::Sha256, Hash::Sha1, Hash::Md5] {
            let sig = rsa_sign(&private, hash, b"nonce and digest");
            assert!(key.verifies(hash, b"nonce and digest", &sig), "{hash:?}");
            assert!(!key.verifies(hash, b"nonce and digesT", &sig), "{hash:?}");
        }
        assert!(!key.verifies(Hash::Sha1, b"m", &rsa_sign(&private, Hash::Sha256, b"m")), "the hash is part of it");
        assert!(PublicKey::decode(&data[..data.len() - 1]).is_err());
        assert!(PublicKey::decode(b"\0\0\0\x03XYZ\0\0").is_err());
    }

    #[test]
    #[allow(deprecated)] // 1,024-bit DSA: the size of many Handle keys in use, and quick to generate
    fn dsa_keys_round_trip_and_verify() {
        use signature::hazmat::PrehashSigner as _;
        let components = dsa::Components::generate(&mut rsa::rand_core::OsRng, dsa::KeySize::DSA_1024_160);
        let signing = dsa::SigningKey::generate(&mut rsa::rand_core::OsRng, components);
        let key = PublicKey::Dsa(Box::new(signing.verifying_key().clone()));
        assert_eq!(PublicKey::decode(&key.encode()).unwrap(), key);
        let m = b"nonce and digest";
        let sig: dsa::Signature = signing.sign_prehash(&Hash::Sha1.digest(m)).unwrap();
        let der = signature::SignatureEncoding::to_vec(&sig);
        assert!(key.verifies(Hash::Sha1, m, &der));
        assert!(!key.verifies(Hash::Sha256, m, &der));
        assert!(!key.verifies(Hash::Sha1, m, &der[..der.len() - 1]));
    }
}
