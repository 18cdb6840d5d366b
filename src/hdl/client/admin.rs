//! The crate's client for administration over the Handle protocol: requests answered after a challenge,
//! which the client answers with a secret key or an RSA private key, and the IDIS login that authenticates a TCP connection once.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{
    Answer, ClientError, RecvBuffers, TIMEOUT, Transport, exchange_tcp, exchange_udp, request_bytes, udp_socket,
};
use crate::hdl::admin::AdminRequest;
use crate::hdl::challenge::{ChallengeAnswer, challenged, pubkey_answer, seckey, seckey_answer};
use crate::hdl::codec::{CodecError, Envelope, MAX_MINOR, digest_len, digested_part, op, opflag, rc};
use crate::hdl::digest;
use crate::hdl::udp::Datagrams;
use crate::record::pubkey::Hash;
use crate::record::types;
use crate::record::wire::Reader;

/// An identity (`index:handle`) and the key that proves it.
#[derive(Debug, Clone)]
pub struct Key {
    /// The identity's handle.
    pub handle: String,
    /// The index of its `HS_SECKEY` or `HS_PUBKEY` value.
    pub index: u32,
    /// The key.
    pub proof: Proof,
}

/// What answers a challenge.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A secret key, and the form of the answers ([`seckey`]).
    Secret(Vec<u8>, u8),
    /// An RSA private key whose public half is an `HS_PUBKEY` of the identity.
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl Key {
    /// The secret key `secret` of `index:handle`, answering in the form CNRI's client uses (PBKDF2-HMAC-SHA1).
    pub fn secret(handle: &str, index: u32, secret: &[u8]) -> Self {
        Self::secret_in_form(handle, index, secret, seckey::PBKDF2_HMAC_SHA1)
    }

    /// The secret key `secret` of `index:handle`, answering in `form`.
    pub fn secret_in_form(handle: &str, index: u32, secret: &[u8], form: u8) -> Self {
        Self { handle: handle.to_owned(), index, proof: Proof::Secret(secret.to_vec(), form) }
    }

    /// The RSA private key `key` of `index:handle`.
    pub fn rsa(handle: &str, index: u32, key: rsa::RsaPrivateKey) -> Self {
        Self { handle: handle.to_owned(), index, proof: Proof::Rsa(Box::new(key)) }
    }
}

/// Where administrative requests go: one TCP connection (kept open between them), or a UDP socket.
pub enum Link {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A UDP socket and the server.
    Udp(Box<(Datagrams, RecvBuffers)>, SocketAddr),
}

impl Link {
    /// A link to `addr` over `transport`.
    pub async fn connect(addr: SocketAddr, transport: Transport) -> Result<Self, ClientError> {
        Ok(match transport {
            Transport::Tcp => {
                let s =
                    tokio::time::timeout(TIMEOUT, TcpStream::connect(addr)).await.map_err(std::io::Error::from)??;
                s.set_nodelay(true)?;
                Self::Tcp(s)
            }
            Transport::Udp => Self::Udp(Box::new((udp_socket(addr).await?, RecvBuffers::new(1))), addr),
        })
    }

    /// Sends one request and reads its answer.
    pub async fn exchange(&mut self, env: Envelope, message: &[u8]) -> Result<Answer, ClientError> {
        let exchanged = match self {
            Self::Tcp(s) => tokio::time::timeout(TIMEOUT, exchange_tcp(s, env, message)).await,
            Self::Udp(io, server) => {
                let (sock, bufs) = &mut **io;
                tokio::time::timeout(TIMEOUT, exchange_udp(sock, bufs, *server, env, message)).await
            }
        };
        exchanged.map_err(std::io::Error::from)?
    }

    /// Sends `request` with `opflags` (keep-alive is added) and, when it is challenged, answers the challenge
    /// with `key`; returns the final answer (or the challenge's error).
    pub async fn administer(&mut self, request: &AdminRequest, opflags: u32, key: &Key) -> Result<Answer, ClientError> {
        let (env, message) =
            request_bytes(rand::random(), MAX_MINOR, request.opcode(), opflags | opflag::KPAL, &request.encode());
        let first = self.exchange(env, &message).await?;
        if first.header.response_code != rc::AUTHENTICATION_NEEDED {
            return Ok(first);
        }
        let (env, answer) = answer_to(&first, &message, key)?;
        self.exchange(env, &answer).await
    }

    /// Sends a listing request (`OC_LIST_HANDLES`, `OC_LIST_HOMED_NAS`) and reads every message of its answer
    /// (TCP): the response code, and the names (or the error's message).
    pub async fn list(&mut self, request: &AdminRequest, key: &Key) -> Result<(u32, Vec<String>), ClientError> {
        let mut answer = self.administer(request, 0, key).await?;
        let mut names = Vec::new();
        loop {
            let code = answer.header.response_code;
            if code != rc::SUCCESS {
                return Ok((code, vec![crate::hdl::codec::decode_error_message(&answer.body)]));
            }
            let mut r = Reader::new(&answer.body);
            let bad = |_| CodecError::Body("malformed listing".into());
            for _ in 0..r.count(4).map_err(bad)? {
                names.push(String::from_utf8_lossy(r.bytes().map_err(bad)?).into_owned());
            }
            let (Self::Tcp(s), true) = (&mut *self, answer.header.opflags & opflag::CONT != 0) else {
                return Ok((code, names));
            };
            answer = tokio::time::timeout(TIMEOUT, super::read_tcp_answer(s)).await.map_err(std::io::Error::from)??;
        }
    }

    /// Logs the connection in as `key`'s identity (the IDIS SDKs' opcode 2001): later requests on it are not
    /// challenged. Returns the login's answer.
    pub async fn login(&mut self, key: &Key) -> Result<Answer, ClientError> {
        self.administer(&AdminRequest::Login(key.handle.clone(), key.index), opflag::RRDG, key).await
    }
}

/// The parts of a challenge's body at the answer version `minor`: the digest and the nonce.
pub fn challenge_parts(minor: u8, body: &[u8]) -> Result<(u8, Vec<u8>, Vec<u8>), CodecError> {
    let bad = || CodecError::Body("malformed challenge".into());
    if minor == 0 {
        let mut r = Reader::new(body);
        let nonce = r.bytes().map_err(|_| bad())?.to_vec();
        return Ok((1, r.bytes().map_err(|_| bad())?.to_vec(), nonce));
    }
    let (&kind, rest) = body.split_first().ok_or_else(bad)?;
    let n = digest_len(kind).ok_or_else(bad)?;
    let d = rest.get(..n).ok_or_else(bad)?.to_vec();
    let nonce = Reader::new(&rest[n..]).bytes().map_err(|_| bad())?.to_vec();
    Ok((kind, d, nonce))
}

/// The answer (envelope and message) to the challenge `challenge` of the request `message`, with `key`. The
/// challenge's digest is checked first: a client answers only a challenge to its own request.
pub fn answer_to(challenge: &Answer, message: &[u8], key: &Key) -> Result<(Envelope, Vec<u8>), ClientError> {
    let minor = challenge.envelope.minor;
    let (kind, d, nonce) = challenge_parts(minor, &challenge.body)?;
    if d != digest(kind, digested_part(message)) {
        return Err(CodecError::Body("the challenge's digest is not that of the request".into()).into());
    }
    let m = challenged(&nonce, &d);
    let (auth_type, signed) = match (&key.proof, minor) {
        (Proof::Secret(secret, _), 0) => {
            (types::HS_SECKEY, seckey_answer(seckey::MD5, secret, &m, &[], 0).split_off(1))
        }
        (Proof::Secret(secret, form), _) => {
            (types::HS_SECKEY, seckey_answer(*form, secret, &m, &rand::random::<[u8; 16]>(), 10_000))
        }
        // As CNRI's client signs: SHA-256 from 2.7, SHA-1 before.
        (Proof::Rsa(private), _) => {
            let hash = if minor >= 7 { Hash::Sha256 } else { Hash::Sha1 };
            (types::HS_PUBKEY, pubkey_answer(private, hash, &m))
        }
    };
    let body = ChallengeAnswer {
        auth_type: auth_type.as_bytes().to_vec(),
        handle: key.handle.as_bytes().to_vec(),
        index: key.index,
        signed,
    }
    .encode();
    let (mut env, answer) = request_bytes(rand::random(), minor, op::RESPONSE_TO_CHALLENGE, opflag::KPAL, &body);
    env.session_id = challenge.envelope.session_id;
    Ok((env, answer))
}
