//! The node's own key and certified answers (the CERT flag): an answer signed with the key whose public half
//! the node publishes in its `HS_SITE`, as CNRI's client checks by default (handle-auth.md; RFC 3652 §2.2.4).
//!
//! The credential section: `u8 version (0) | u8 reserved | u16 flags | bytes(signer handle) (empty) | u32 signer
//! index (0) | bytes("HS_SIGNED") | u32 length | bytes(hash id) | bytes(signature)`. What is signed, from 2.7:
//! the answer envelope's version (and, from 2.8, its suggested version), session id and request id, a counter
//! (0), then the header and body; before 2.6, the header and body alone.

use std::path::Path;

use anyhow::Context as _;

use super::codec::{Envelope, HEADER_LEN, digested_part};
use crate::record::pubkey::{Hash, PublicKey, rsa_sign};
use crate::record::wire::{Reader, put_bytes, put_u32};

/// The signature type of a credential signed with a private key.
const HS_SIGNED: &[u8] = b"HS_SIGNED";
/// Size of a node key made on first start.
const NODE_KEY_BITS: usize = 2048;

/// The node's RSA key pair.
pub struct NodeKey {
    private: rsa::RsaPrivateKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKey").finish_non_exhaustive()
    }
}

impl NodeKey {
    /// The key in `path` (PEM, PKCS#8 or PKCS#1), made and written there (readable by its owner only) when
    /// the file does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
        match std::fs::read_to_string(path) {
            Ok(pem) => {
                let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
                    .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&pem))
                    .with_context(|| format!("{} holds no RSA private key in PEM", path.display()))?;
                Ok(Self { private })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::io::Write as _;
                use std::os::unix::fs::OpenOptionsExt as _;
                let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, NODE_KEY_BITS)?;
                let pem = private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
                file.write_all(pem.as_bytes())?;
                file.sync_all()?;
                tracing::info!(path = %path.display(), "made the node key");
                Ok(Self { private })
            }
            Err(e) => Err(e).with_context(|| format!("reading the node key {}", path.display())),
        }
    }

    /// The public half, as `HS_SITE` publishes it.
    pub fn public(&self) -> PublicKey {
        PublicKey::Rsa(self.private.to_public_key())
    }

    /// Signs `message` (an encoded answer, its credential section empty) for the envelope `reply` it goes in:
    /// the credential section is replaced by the signature.
    pub fn sign(&self, reply: &Envelope, message: &mut Vec<u8>) {
        let hash = if reply.minor >= 7 { Hash::Sha256 } else { Hash::Sha1 };
        message.truncate(digested_part(message).len());
        let signature = rsa_sign(&self.private, hash, &signed_part(reply, message));
        let mut section = Vec::new();
        put_bytes(&mut section, hash.id());
        put_bytes(&mut section, &signature);
        let mut credential = vec![0, 0, 0, 0];
        put_bytes(&mut credential, &[]); // signer handle: the server itself
        put_u32(&mut credential, 0); // signer index, the session counter
        put_bytes(&mut credential, HS_SIGNED);
        put_bytes(&mut credential, &section);
        put_bytes(message, &credential);
    }
}

/// What the signature of an answer's header and body covers, for the answer envelope `reply` (see the module).
pub fn signed_part(reply: &Envelope, header_and_body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header_and_body.len() + 16);
    let (session, request, counter) = (reply.session_id.to_be_bytes(), reply.request_id.to_be_bytes(), [0u8; 4]);
    match reply.minor {
        8.. => {
            out.extend_from_slice(&[reply.major, reply.minor, reply.flags & 0x03, reply.suggested_minor]);
            [session, request, counter].iter().for_each(|f| out.extend_from_slice(f));
        }
        7 => {
            out.extend_from_slice(&[reply.major, reply.minor]);
            [session, request, counter].iter().for_each(|f| out.extend_from_slice(f));
        }
        // Handle.Net's 2.6 prefix, faithful to its encoder.
        6 => {
            out.extend_from_slice(&[reply.major, reply.minor, session[0], session[1]]);
            out.extend_from_slice(&counter);
            out.extend_from_slice(&[0; 6]);
        }
        _ => {}
    }
    out.extend_from_slice(header_and_body);
    out
}

/// Whether `credential`, the credential section of an answer received in `reply` with `header_and_body`,
/// is a valid signature by `key` (the crate's client).
pub fn verify(key: &PublicKey, reply: &Envelope, header_and_body: &[u8], credential: &[u8]) -> bool {
    let mut r = Reader::new(credential);
    let parsed = (|| {
        r.take(4).ok()?;
        r.bytes().ok()?;
        r.u32().ok()?;
        (r.bytes().ok()? == HS_SIGNED).then_some(())?;
        let mut section = Reader::new(r.bytes().ok()?);
        Some((Hash::from_id(section.bytes().ok()?)?, section.bytes().ok()?.to_vec()))
    })();
    let Some((hash, signature)) = parsed else { return false };
    header_and_body.len() >= HEADER_LEN && key.verifies(hash, &signed_part(reply, header_and_body), &signature)
}
