//! Administration over the Handle protocol (RFC 3652 §3.3-3.4): create and delete handles, add, remove and
//! modify values, each through the node's one write path (authorization, templates, statistics, audit,
//! durability), after challenge and response ([`super::challenge`]) or on a connection that logged in (the
//! IDIS SDKs' opcode 2001).

use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix};
use crate::node::{Caller, Page, PutOutcome, ValueMode};
use crate::record::wire::{Reader, put_bytes, read_value};
use crate::record::{HandleValue, types};
use crate::request::{Operation, Protocol, Scope};

use super::challenge::{self, ChallengeAnswer};
use super::codec::{
    CodecError, Envelope, Header, Message, decode_message, digested_part, encode_message, op, opflag, rc,
};
use super::{Conversation, Responder, digest, digest_kind};

/// Whether a stored key (secret or public) proves an answer.
type KeyCheck<'a> = dyn Fn(&[u8]) -> bool + 'a;

/// Most values one request may carry.
const MAX_VALUES: usize = 4096;
/// Names a listing message carries, as Handle.Net's server sends them.
const LISTED_PER_MESSAGE: usize = 50;
/// Most handles one listing over the Handle protocol answers; bigger prefixes are listed over REST, by pages.
const MAX_LISTED: usize = 1_000_000;

fn names_bound_error() -> NodeError {
    NodeError::new(
        ErrorCode::BadRequest,
        format!("more than {MAX_LISTED} handles under the prefix; list them over REST, a page at a time"),
    )
}

/// The prefix a listing names: `0.NA/X`, or `X` as some clients send it.
fn listed_prefix(given: &str) -> Result<Prefix, NodeError> {
    let bare = given.strip_prefix("0.NA/").or_else(|| given.strip_prefix("0.na/")).unwrap_or(given);
    Prefix::parse(bare).map_err(|e| NodeError::new(ErrorCode::InvalidHandle, e.to_string()))
}

/// The operation an administrative opcode counts as.
pub fn operation(opcode: u32) -> Operation {
    match opcode {
        op::CREATE_HANDLE => Operation::Create,
        op::ADD_VALUE | op::MODIFY_VALUE => Operation::Update,
        op::DELETE_HANDLE | op::REMOVE_VALUE => Operation::Delete,
        op::LIST_HANDLES | op::LIST_HOMED_NAS => Operation::List,
        _ => Operation::Login,
    }
}

/// A decoded administrative request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRequest {
    /// `OC_CREATE_HANDLE`: the handle (with MINT, the start of it) and its values.
    Create(String, Vec<HandleValue>),
    /// `OC_DELETE_HANDLE`.
    Delete(String),
    /// `OC_ADD_VALUE`.
    AddValues(String, Vec<HandleValue>),
    /// `OC_REMOVE_VALUE`: the indexes.
    RemoveValues(String, Vec<u32>),
    /// `OC_MODIFY_VALUE`.
    ModifyValues(String, Vec<HandleValue>),
    /// The IDIS SDKs' login (opcode 2001): the identity's handle and key index.
    Login(String, u32),
    /// `OC_LIST_HANDLES`: the prefix handle (`0.NA/X`, or `X`).
    List(String),
    /// `OC_LIST_HOMED_NAS` (its handle, `/` by the clients, is ignored).
    ListPrefixes(String),
}

fn body_error(what: &str) -> CodecError {
    CodecError::Body(format!("malformed {what}"))
}

fn read_handle(r: &mut Reader<'_>, what: &str) -> Result<String, CodecError> {
    r.string().map(str::to_owned).map_err(|_| body_error(what))
}

fn read_values(r: &mut Reader<'_>, what: &str) -> Result<Vec<HandleValue>, CodecError> {
    let n = r.count(4 + 4 + 1 + 4 + 1 + 4 + 4 + 4).map_err(|_| body_error(what))?;
    if n > MAX_VALUES {
        return Err(CodecError::Body(format!("{n} values in one request; at most {MAX_VALUES}")));
    }
    (0..n).map(|_| read_value(r).map_err(|_| body_error(what))).collect()
}

impl AdminRequest {
    /// Decodes the body of an administrative request with `opcode`; `None` for other opcodes.
    pub fn decode(opcode: u32, body: &[u8]) -> Option<Result<Self, CodecError>> {
        let mut r = Reader::new(body);
        let r = &mut r;
        let decoded = match opcode {
            op::CREATE_HANDLE => {
                read_handle(r, "create request").and_then(|h| Ok(Self::Create(h, read_values(r, "create request")?)))
            }
            op::DELETE_HANDLE => read_handle(r, "delete request").map(Self::Delete),
            op::ADD_VALUE => {
                read_handle(r, "add request").and_then(|h| Ok(Self::AddValues(h, read_values(r, "add request")?)))
            }
            op::MODIFY_VALUE => read_handle(r, "modify request")
                .and_then(|h| Ok(Self::ModifyValues(h, read_values(r, "modify request")?))),
            op::REMOVE_VALUE => read_handle(r, "remove request").and_then(|h| {
                let n = r.count(4).map_err(|_| body_error("remove request"))?;
                let indexes: Result<Vec<u32>, _> =
                    (0..n).map(|_| r.u32().map_err(|_| body_error("remove request"))).collect();
                Ok(Self::RemoveValues(h, indexes?))
            }),
            op::LIST_HANDLES => read_handle(r, "list request").map(Self::List),
            op::LIST_HOMED_NAS => read_handle(r, "list request").map(Self::ListPrefixes),
            op::LOGIN_ID_SYSTEM => read_handle(r, "login request")
                .and_then(|h| Ok(Self::Login(h, r.u32().map_err(|_| body_error("login request"))?))),
            _ => return None,
        };
        Some(decoded)
    }

    /// The handle the request acts on.
    pub fn handle(&self) -> &str {
        match self {
            Self::Create(h, _)
            | Self::Delete(h)
            | Self::AddValues(h, _)
            | Self::RemoveValues(h, _)
            | Self::ModifyValues(h, _)
            | Self::Login(h, _)
            | Self::List(h)
            | Self::ListPrefixes(h) => h,
        }
    }

    /// Encodes the body (the crate's client).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        put_bytes(&mut b, self.handle().as_bytes());
        let values = |b: &mut Vec<u8>, vs: &[HandleValue]| {
            b.extend_from_slice(&(vs.len() as u32).to_be_bytes());
            vs.iter().for_each(|v| crate::record::wire::put_value(b, v));
        };
        match self {
            Self::Create(_, vs) | Self::AddValues(_, vs) | Self::ModifyValues(_, vs) => values(&mut b, vs),
            Self::RemoveValues(_, indexes) => {
                b.extend_from_slice(&(indexes.len() as u32).to_be_bytes());
                indexes.iter().for_each(|i| b.extend_from_slice(&i.to_be_bytes()));
            }
            Self::Login(_, index) => b.extend_from_slice(&index.to_be_bytes()),
            Self::Delete(_) | Self::List(_) | Self::ListPrefixes(_) => {}
        }
        b
    }

    /// The opcode of the request.
    pub fn opcode(&self) -> u32 {
        match self {
            Self::Create(..) => op::CREATE_HANDLE,
            Self::Delete(_) => op::DELETE_HANDLE,
            Self::AddValues(..) => op::ADD_VALUE,
            Self::RemoveValues(..) => op::REMOVE_VALUE,
            Self::ModifyValues(..) => op::MODIFY_VALUE,
            Self::Login(..) => op::LOGIN_ID_SYSTEM,
            Self::List(_) => op::LIST_HANDLES,
            Self::ListPrefixes(_) => op::LIST_HOMED_NAS,
        }
    }
}

impl Responder {
    /// Answers an administrative request or an answer to a challenge: its response code and message. A
    /// successful IDIS login logs `conv` in; a challenge names its session in `conv`.
    pub(super) fn administer(
        &self,
        env: &Envelope,
        message: &[u8],
        msg: &Message,
        scope: &mut Scope,
        conv: &mut Conversation,
    ) -> (u32, Vec<u8>) {
        let h = &msg.header;
        if h.opcode == op::RESPONSE_TO_CHALLENGE {
            return self.challenge_answered(env, msg, scope, conv);
        }
        scope.dispatched(operation(h.opcode));
        let request = match AdminRequest::decode(h.opcode, &msg.body) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return self.failure(env, h, message, rc::PROTOCOL_ERROR, &e.to_string()),
            None => {
                let text = format!("operation {} is not supported by this server", h.opcode);
                return (rc::NOT_SUPPORTED, self.error(h, rc::NOT_SUPPORTED, &text));
            }
        };
        // What can be refused without knowing who asks is refused before the challenge.
        let listing = matches!(request, AdminRequest::List(_) | AdminRequest::ListPrefixes(_));
        if listing && scope.origin().protocol == Protocol::HandleUdp {
            return self.failure(env, h, message, rc::PROTOCOL_ERROR, "listings are answered over TCP only");
        }
        if let Err(e) = self.precheck(&request) {
            return self.failure(env, h, message, e.code.response_code(), &e.message);
        }
        match conv.login.clone() {
            // A login is always challenged, as the IDIS SDKs expect.
            Some(id) if !matches!(request, AdminRequest::Login(..)) => {
                let caller = Caller::new(Some(id), scope.origin().clone());
                self.perform(env, h, message, &request, &caller, conv)
            }
            _ => self.challenge(env, h, message, conv),
        }
    }

    /// The checks that need no identity: the handle's syntax and that this node is responsible for it.
    fn precheck(&self, request: &AdminRequest) -> Result<(), NodeError> {
        match request {
            AdminRequest::List(p) => listed_prefix(p).map(drop),
            AdminRequest::Login(..) | AdminRequest::ListPrefixes(_) => Ok(()),
            AdminRequest::Create(h, _) if h.ends_with('/') => self.node.parse_handle(&format!("{h}x")).map(drop),
            r => self.node.parse_handle(r.handle()).map(drop),
        }
    }

    /// The challenge to a request (response code 402): a new pending challenge, named by the session id of the
    /// answer's envelope.
    fn challenge(&self, env: &Envelope, h: &Header, message: &[u8], conv: &mut Conversation) -> (u32, Vec<u8>) {
        let minor = env.answer_minor();
        let kind = if minor >= 1 { digest_kind(minor) } else { 1 };
        let request_digest = digest(kind, digested_part(message));
        let Some((session, nonce)) = self.challenges.issue(*env, message, minor, request_digest.clone()) else {
            return (rc::TOO_BUSY, self.error(h, rc::TOO_BUSY, "too many authentications pending; try again"));
        };
        let mut header = self.header(h, rc::AUTHENTICATION_NEEDED);
        header.opflags |= opflag::RRDG;
        conv.session = Some(session);
        let body = challenge::challenge_body(minor, kind, &request_digest, &nonce);
        (rc::AUTHENTICATION_NEEDED, encode_message(&header, &body))
    }

    /// Checks an answer to a challenge and, when it proves the identity, runs the challenged request.
    fn challenge_answered(
        &self,
        env: &Envelope,
        msg: &Message,
        scope: &mut Scope,
        conv: &mut Conversation,
    ) -> (u32, Vec<u8>) {
        let h = &msg.header;
        let Some(pending) = self.challenges.take(env.session_id) else {
            scope.dispatched(Operation::Login);
            let text = "no challenge is pending for this session: it was answered already, or it expired";
            return (rc::AUTHEN_TIMEOUT, self.error(h, rc::AUTHEN_TIMEOUT, text));
        };
        let original = match decode_message(&pending.message) {
            Ok(m) => m,
            Err(e) => return (rc::PROTOCOL_ERROR, self.error(h, rc::PROTOCOL_ERROR, &e.to_string())),
        };
        let oh = &original.header;
        scope.dispatched(operation(oh.opcode));
        let answer = match ChallengeAnswer::decode(&msg.body) {
            Ok(a) => a,
            Err(e) => return (rc::PROTOCOL_ERROR, self.error(h, rc::PROTOCOL_ERROR, &e.to_string())),
        };
        let user = format!("{}:{}", answer.index, String::from_utf8_lossy(&answer.handle));
        let m = challenge::challenged(&pending.nonce, &pending.digest);
        let by_secret = |secret: &[u8]| challenge::seckey_proves(secret, &m, &answer.signed, pending.minor);
        let by_signature = |key: &[u8]| challenge::pubkey_proves(key, &m, &answer.signed);
        let (key_type, proves): (_, &KeyCheck) = match answer.auth_type.as_slice() {
            b"HS_SECKEY" => (types::HS_SECKEY, &by_secret),
            b"HS_PUBKEY" => (types::HS_PUBKEY, &by_signature),
            other => {
                let text = format!("authentication type {:?} is not accepted", String::from_utf8_lossy(other));
                return (rc::INVALID_CREDENTIAL, self.error(oh, rc::INVALID_CREDENTIAL, &text));
            }
        };
        let caller = match self.node.login(&user, key_type, proves, scope.origin().clone()) {
            Ok(c) => c,
            Err(e) => return self.failure(&pending.env, oh, &pending.message, e.code.response_code(), &e.message),
        };
        let request = match AdminRequest::decode(oh.opcode, &original.body) {
            Some(Ok(r)) => r,
            _ => {
                return (
                    rc::PROTOCOL_ERROR,
                    self.error(oh, rc::PROTOCOL_ERROR, "the challenged request is not administrative"),
                );
            }
        };
        self.perform(&pending.env, oh, &pending.message, &request, &caller, conv)
    }

    /// Runs an authenticated administrative request through the node: its response code and message.
    fn perform(
        &self,
        env: &Envelope,
        h: &Header,
        message: &[u8],
        request: &AdminRequest,
        caller: &Caller,
        conv: &mut Conversation,
    ) -> (u32, Vec<u8>) {
        let mut flags = 0;
        let done = match request {
            AdminRequest::Login(..) => {
                conv.login = caller.identity().cloned();
                Ok(None)
            }
            AdminRequest::List(_) | AdminRequest::ListPrefixes(_) => {
                return match self.listing(request, caller) {
                    Ok(names) => self.list_messages(env, h, message, &names, conv),
                    Err(e) => self.failure(env, h, message, e.code.response_code(), &e.message),
                };
            }
            AdminRequest::Create(h_text, values) if h.opflags & opflag::MINT != 0 => {
                flags |= opflag::MINT;
                self.mint(caller, h_text, values.clone()).map(Some)
            }
            AdminRequest::Create(h_text, values) => self.node.parse_handle(h_text).and_then(|handle| {
                let outcome = self.node.put_record(caller, &handle, values.clone(), h.opflags & opflag::OVRW != 0)?;
                if outcome == PutOutcome::Updated {
                    flags |= opflag::OVRW;
                }
                Ok(Some(handle.as_str().to_owned()))
            }),
            AdminRequest::Delete(h_text) => self
                .node
                .parse_handle(h_text)
                .and_then(|handle| self.node.delete_handle(caller, &handle))
                .map(|()| None),
            AdminRequest::AddValues(h_text, values) | AdminRequest::ModifyValues(h_text, values) => {
                let mode = match request {
                    AdminRequest::ModifyValues(..) => ValueMode::Modify,
                    _ if h.opflags & opflag::OVRW != 0 => ValueMode::Upsert,
                    _ => ValueMode::Add,
                };
                if values.is_empty() {
                    Err(NodeError::new(ErrorCode::InvalidValue, "no value given"))
                } else {
                    self.node
                        .parse_handle(h_text)
                        .and_then(|handle| self.node.put_values(caller, &handle, values.clone(), None, mode))
                        .map(|()| None)
                }
            }
            AdminRequest::RemoveValues(h_text, indexes) => self
                .node
                .parse_handle(h_text)
                .and_then(|handle| self.node.delete_values(caller, &handle, indexes))
                .map(|()| None),
        };
        match done {
            Ok(created) => {
                let mut header = self.header(h, rc::SUCCESS);
                header.opflags |= flags;
                let mut body = self.request_digest(env, h, message);
                if let Some(handle) = created {
                    put_bytes(&mut body, handle.as_bytes());
                }
                (rc::SUCCESS, encode_message(&header, &body))
            }
            Err(e) => self.failure(env, h, message, e.code.response_code(), &e.message),
        }
    }

    /// The names a listing answers: the handles under the prefix, or the prefix handles homed here.
    fn listing(&self, request: &AdminRequest, caller: &Caller) -> Result<Vec<String>, NodeError> {
        if let AdminRequest::List(p) = request {
            let prefix = listed_prefix(p)?;
            self.node.authorize_list(caller, &prefix)?;
            let mut names = Vec::new();
            self.node.list_handles(&prefix, Page::All, &mut |h| {
                names.push(h.to_owned());
                names.len() <= MAX_LISTED
            })?;
            return if names.len() > MAX_LISTED { Err(names_bound_error()) } else { Ok(names) };
        }
        self.node.authorize_node_admin(caller)?;
        Ok(self.node.homed_prefixes(caller)?.iter().map(|p| format!("0.NA/{p}")).collect())
    }

    /// A listing's answer: [`LISTED_PER_MESSAGE`] names a message, every message but the last flagged CONT
    /// (the first is returned, the rest go in `conv`).
    fn list_messages(
        &self,
        env: &Envelope,
        h: &Header,
        message: &[u8],
        names: &[String],
        conv: &mut Conversation,
    ) -> (u32, Vec<u8>) {
        let chunks: Vec<&[String]> =
            if names.is_empty() { vec![&[]] } else { names.chunks(LISTED_PER_MESSAGE).collect() };
        let last = chunks.len() - 1;
        let mut messages = chunks.iter().enumerate().map(|(i, chunk)| {
            let mut header = self.header(h, rc::SUCCESS);
            if i < last {
                header.opflags |= opflag::CONT;
            }
            let mut body = self.request_digest(env, h, message);
            body.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            chunk.iter().for_each(|n| put_bytes(&mut body, n.as_bytes()));
            encode_message(&header, &body)
        });
        let first = messages.next().unwrap_or_default();
        conv.more = messages.collect();
        (rc::SUCCESS, first)
    }

    /// Creates a handle under the start `given` (`prefix/` or `prefix/stem`) with a minted suffix.
    fn mint(&self, caller: &Caller, given: &str, values: Vec<HandleValue>) -> Result<String, NodeError> {
        let (prefix, stem) = given.split_once('/').unwrap_or((given, ""));
        let prefix = Prefix::parse(prefix).map_err(|e| NodeError::new(ErrorCode::InvalidHandle, e.to_string()))?;
        self.node.mint(caller, &prefix, stem, values).map(|h: Handle| h.as_str().to_owned())
    }

    /// The request digest an answer to `h` starts with when the request asked for it (`[digest]`), else nothing.
    fn request_digest(&self, env: &Envelope, h: &Header, message: &[u8]) -> Vec<u8> {
        if h.opflags & opflag::RRDG == 0 {
            return Vec::new();
        }
        let kind = digest_kind(env.answer_minor());
        let mut b = vec![kind];
        b.extend(digest(kind, digested_part(message)));
        b
    }

    /// An error answer to the request `h`: `[digest]` and the message.
    fn failure(&self, env: &Envelope, h: &Header, message: &[u8], code: u32, text: &str) -> (u32, Vec<u8>) {
        let mut body = self.request_digest(env, h, message);
        put_bytes(&mut body, text.as_bytes());
        (code, encode_message(&self.header(h, code), &body))
    }
}
