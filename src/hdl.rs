//! The Handle binary protocol (RFC 3652) on TCP and UDP: a thin adapter over the [`Node`] core.
//!
//! - [`codec`]: envelopes, headers, bodies (total decoder);
//! - [`server`]: the UDP listener (multi-packet messages both ways, truncation) and the TCP listener (several
//!   requests per connection, idle time-out, connection cap);
//! - [`client`]: the crate's own client (tests, `idnode resolve`, the load generator);
//! - [`admin`] and [`challenge`]: administration (create, delete, add, remove and modify values) after challenge
//!   and response, or on a connection that logged in.
//!
//! Answered: `OC_RESOLUTION` (index/type filters, public-only, request digests), `OC_GET_SITE_INFO` (the
//! node's own `HS_SITE`) and the administrative operations above; every other operation gets response code 5
//! (not supported).

use std::sync::Arc;

use md5::Digest as _;

use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Filter, Identity, Node, RenderingSlot, now};
use crate::record::wire::put_bytes;
use crate::request::{Operation, Origin, Outcome, Protocol, RequestMetrics, Scope};
use crate::runtime::Runtime;

pub mod admin;
pub mod challenge;
pub mod client;
pub mod codec;
mod config;
pub mod limit;
pub mod server;
pub mod signing;
pub mod udp;

use codec::{
    CodecError, Envelope, Header, ResolutionRequest, decode_message, encode_message, encode_resolution_message,
    encode_values_section, op, opflag, rc,
};
pub use config::HandleConfig;

/// What the protocol handler needs: the core, this node's `HS_SITE` data and the challenges it sent.
#[derive(Clone)]
pub struct Responder {
    node: Arc<Node>,
    requests: Arc<RequestMetrics>,
    site: Arc<Vec<u8>>,
    site_serial: u16,
    runtime: Runtime,
    challenges: Arc<challenge::Challenges>,
    node_key: Option<Arc<signing::NodeKey>>,
}

/// What a connection carries from one request to the next: the identity it logged in as (the IDIS SDKs'
/// opcode 2001); and, for the answer being sent, the session id its envelope names (a challenge's) and the
/// messages that follow the first (a listing's, flagged CONT but the last).
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The identity the connection logged in as.
    pub login: Option<Identity>,
    /// The session id of the answer's envelope, when it is not the request's.
    pub session: Option<u32>,
    /// The messages of the answer after the first.
    pub more: Vec<Vec<u8>>,
}

impl Conversation {
    /// The envelope of the answer to a request received with `env`, as it will be sent.
    fn answer_envelope(&self, env: &Envelope) -> Envelope {
        Envelope { session_id: self.session.unwrap_or(env.session_id), ..*env }
    }

    /// [`Conversation::answer_envelope`], ending the answer's session id (the next request starts without).
    pub fn reply_envelope(&mut self, env: &Envelope) -> Envelope {
        let reply = self.answer_envelope(env);
        self.session = None;
        reply
    }
}

/// Where a cached record keeps the values section of its public view, encoded once.
static VALUES_SECTION: std::sync::LazyLock<RenderingSlot<bytes::Bytes>> =
    std::sync::LazyLock::new(RenderingSlot::claim);

/// The hash type of request digests in an answer at protocol minor version `minor`, as Handle.Net chooses it:
/// SHA-256 from 2.7, SHA-1 from 2.1, MD5 before.
pub fn digest_kind(minor: u8) -> u8 {
    match minor {
        7.. => 3,
        1..=6 => 2,
        _ => 1,
    }
}

/// How long an answer may be cached, and after which the Java client refuses it: Handle.Net's 12 hours.
const ANSWER_LIFETIME_SECS: u32 = 43_200;

/// The digest of `message` with hash type `kind`.
pub fn digest(kind: u8, message: &[u8]) -> Vec<u8> {
    match kind {
        1 => md5::Md5::digest(message).to_vec(),
        2 => sha1::Sha1::digest(message).to_vec(),
        _ => sha2::Sha256::digest(message).to_vec(),
    }
}

fn error_body(message: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(message.len() + 4);
    put_bytes(&mut b, message.as_bytes());
    b
}

impl Responder {
    /// A responder answering with `site` (binary `HS_SITE` data) for site-info requests.
    pub fn new(node: Arc<Node>, site: Vec<u8>, site_serial: u16, runtime: Runtime) -> Self {
        let requests = Arc::new(RequestMetrics::new(node.metrics()));
        let challenges = Arc::new(challenge::Challenges::new(std::time::Duration::from_secs(20)));
        Self { node, requests, site: Arc::new(site), site_serial, runtime, challenges, node_key: None }
    }

    /// The responder signing the answers to certified requests with `key`.
    pub fn with_node_key(self, key: Arc<signing::NodeKey>) -> Self {
        Self { node_key: Some(key), ..self }
    }

    /// The responder with challenges that wait `ttl` for their answers.
    pub fn with_challenge_ttl(self, ttl: std::time::Duration) -> Self {
        Self { challenges: Arc::new(challenge::Challenges::new(ttl)), ..self }
    }

    fn header(&self, req: &Header, response_code: u32) -> Header {
        Header {
            opcode: req.opcode,
            response_code,
            // Echoed as Handle.Net echoes them; this node is the primary of what it answers for, so authoritative.
            opflags: req.opflags & (opflag::PUBL | opflag::RRDG | opflag::CACR | opflag::DNRF)
                | opflag::AUTH
                | opflag::RECU,
            site_serial: self.site_serial,
            recursion: req.recursion,
            expiration: now().saturating_add(ANSWER_LIFETIME_SECS),
            body_len: 0,
        }
    }

    /// An error message in answer to `req`.
    pub fn error(&self, req: &Header, code: u32, message: &str) -> Vec<u8> {
        encode_message(&self.header(req, code), &error_body(message))
    }

    /// Answers one request message (the bytes after the envelope) received with `env`; returns the response
    /// message (without envelope).
    pub fn respond(&self, env: &Envelope, message: &[u8]) -> Vec<u8> {
        self.respond_from(env, message, Origin::internal())
    }

    /// Answers a request from `origin`, and records it in the request metrics of the origin's protocol.
    pub fn respond_from(&self, env: &Envelope, message: &[u8], origin: Origin) -> Vec<u8> {
        self.respond_in(env, message, origin, &mut Conversation::default())
    }

    /// [`Responder::respond_from`] on a connection that carries `conv` from one request to the next.
    pub fn respond_in(&self, env: &Envelope, message: &[u8], origin: Origin, conv: &mut Conversation) -> Vec<u8> {
        let mut scope = Scope::open(origin);
        let (rc, mut response) = self.answer(env, message, &mut scope, conv);
        let certified =
            message.get(8..12).is_some_and(|f| u32::from_be_bytes([f[0], f[1], f[2], f[3]]) & opflag::CERT != 0);
        if let (true, Some(key)) = (certified, &self.node_key) {
            // A certified request gets signed answers, whatever they say, as Handle.Net signs its answers.
            let reply = conv.answer_envelope(env).reply(0);
            for m in std::iter::once(&mut response).chain(conv.more.iter_mut()) {
                if let Some(flags) = m.get_mut(8..12) {
                    flags[0] |= (opflag::CERT >> 24) as u8;
                    key.sign(&reply, m);
                }
            }
        }
        scope.finish(&self.requests, Outcome::from_response_code(rc));
        response
    }

    /// [`Responder::respond_from`] as a read of the node: inline, or on the blocking pool, as the runtime says.
    pub async fn respond_read(&self, env: Envelope, message: Vec<u8>, origin: Origin) -> Vec<u8> {
        let waits = |this: &Self, message: &Vec<u8>| this.waits_for_disk(message);
        let respond = move |this: &Self, message: Vec<u8>| this.respond_from(&env, &message, origin);
        self.runtime.read(self, message, waits, respond).await
    }

    /// Whether answering `message` may wait for the disk: it writes, or it resolves a handle whose record may
    /// (see [`Node::may_wait_for_disk`]).
    pub fn waits_for_disk(&self, message: &[u8]) -> bool {
        if codec::is_administrative(message) {
            return true;
        }
        let handle = codec::resolution_handle(message).and_then(|h| std::str::from_utf8(h).ok());
        handle.is_some_and(|h| self.node.may_wait_for_disk(h))
    }

    /// The "too busy" answer to `message`, counted as shed.
    pub fn busy(&self, protocol: Protocol, message: &[u8]) -> Vec<u8> {
        let mut scope = Scope::open(Origin::new(protocol, None));
        scope.dispatched(operation(message));
        scope.finish(&self.requests, Outcome::Overloaded);
        self.error(&Header::default(), rc::TOO_BUSY, crate::request::BUSY)
    }

    /// The node answering.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// How it runs reads.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The answer to a request, dispatched on its opcode: its response code and message.
    fn answer(&self, env: &Envelope, message: &[u8], scope: &mut Scope, conv: &mut Conversation) -> (u32, Vec<u8>) {
        let mut failed = |code: u32, e: &dyn std::fmt::Display| {
            scope.dispatched(operation(message));
            (code, self.error(&Header::default(), code, &e.to_string()))
        };
        if env.major != codec::MAJOR {
            return failed(rc::PROTOCOL_ERROR, &CodecError::Version(env.major));
        }
        let msg = match decode_message(message) {
            Ok(m) => m,
            Err(e) => return failed(rc::PROTOCOL_ERROR, &e),
        };
        let h = &msg.header;
        match h.opcode {
            op::RESOLUTION => {
                scope.dispatched(Operation::Resolve);
                let caller = Caller::new(None, scope.origin().clone());
                self.resolve(env, h, &msg.body, message, &caller)
            }
            op::GET_SITE_INFO => {
                scope.dispatched(Operation::SiteInfo);
                (rc::SUCCESS, encode_message(&self.header(h, rc::SUCCESS), &self.site))
            }
            _ if codec::is_administrative(message) => self.administer(env, message, &msg, scope, conv),
            other => {
                let text = format!("operation {other} is not supported by this server");
                (rc::NOT_SUPPORTED, self.error(h, rc::NOT_SUPPORTED, &text))
            }
        }
    }

    /// Answers a resolution request: the response code and the message.
    fn resolve(&self, env: &Envelope, h: &Header, body: &[u8], message: &[u8], caller: &Caller) -> (u32, Vec<u8>) {
        let ResolutionRequest { handle, indexes, types } = match ResolutionRequest::decode(body) {
            Ok(r) => r,
            Err(e) => return (rc::PROTOCOL_ERROR, self.error(h, rc::PROTOCOL_ERROR, &e.to_string())),
        };
        let outcome = std::str::from_utf8(&handle)
            .map_err(|_| NodeError::new(ErrorCode::InvalidHandle, "handle is not UTF-8"))
            .and_then(|s| self.node.parse_handle(s))
            .and_then(|parsed| self.node.resolve(&parsed, &Filter { indexes, types, public_only: true }, caller));
        match outcome {
            Ok(r) if r.matched => {
                let digest = (h.opflags & opflag::RRDG != 0).then(|| {
                    let kind = digest_kind(env.answer_minor());
                    (kind, digest(kind, codec::digested_part(message)))
                });
                // The public view's values are encoded once per cached record.
                let section = r.rendering(*VALUES_SECTION, || encode_values_section(r.values()).into());
                let header = self.header(h, rc::SUCCESS);
                (rc::SUCCESS, encode_resolution_message(&header, digest, &handle, &section))
            }
            Ok(_) => {
                let code = ErrorCode::ValuesNotFound.response_code();
                (code, self.error(h, code, "no value matches the requested indexes or types"))
            }
            Err(e) => (e.code.response_code(), self.error(h, e.code.response_code(), &e.message)),
        }
    }
}

/// The operation label of a request message that was not decoded (shed, or malformed), from its opcode.
fn operation(message: &[u8]) -> Operation {
    match message.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) {
        Some(op::RESOLUTION) => Operation::Resolve,
        Some(op::GET_SITE_INFO) => Operation::SiteInfo,
        _ => Operation::Other,
    }
}

#[cfg(test)]
mod tests;
