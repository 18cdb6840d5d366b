//! The Handle protocol codec (RFC 3652; handle-wire-protocol.md): envelope, message header, body, credential
//! section, resolution requests and responses. Total over all inputs: length fields are checked against the
//! bytes present and the contract's limits before anything is allocated.

use crate::record::HandleValue;
use crate::record::wire::{Reader, put_bytes, put_u32, put_value, read_value};

/// Envelope length.
pub const ENVELOPE_LEN: usize = 20;
/// Message header length.
pub const HEADER_LEN: usize = 24;
/// Largest message accepted.
pub const MAX_MESSAGE_LEN: usize = 262_144;
/// Largest UDP datagram.
pub const UDP_PACKET_LEN: usize = 512;
/// Message bytes per UDP packet.
pub const UDP_CHUNK: usize = UDP_PACKET_LEN - ENVELOPE_LEN;
/// Protocol major version.
pub const MAJOR: u8 = 2;
/// Highest minor version spoken.
pub const MAX_MINOR: u8 = 11;

/// Operation codes.
pub mod op {
    /// Resolution.
    pub const RESOLUTION: u32 = 1;
    /// Site information.
    pub const GET_SITE_INFO: u32 = 2;
    /// Create a handle.
    pub const CREATE_HANDLE: u32 = 100;
    /// Delete a handle.
    pub const DELETE_HANDLE: u32 = 101;
    /// Add values.
    pub const ADD_VALUE: u32 = 102;
    /// Remove values.
    pub const REMOVE_VALUE: u32 = 103;
    /// Modify values.
    pub const MODIFY_VALUE: u32 = 104;
    /// List the handles under a prefix.
    pub const LIST_HANDLES: u32 = 105;
    /// The answer to a challenge.
    pub const RESPONSE_TO_CHALLENGE: u32 = 200;
    /// List the prefixes homed here.
    pub const LIST_HOMED_NAS: u32 = 302;
    /// IDIS login with a password (the CAICT SDK).
    pub const LOGIN: u32 = 2000;
    /// IDIS login with a key (the CAICT and Teleinfo SDKs).
    pub const LOGIN_ID_SYSTEM: u32 = 2001;
}

/// Response codes.
pub mod rc {
    /// Success.
    pub const SUCCESS: u32 = 1;
    /// Error.
    pub const ERROR: u32 = 2;
    /// Server too busy.
    pub const TOO_BUSY: u32 = 3;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u32 = 4;
    /// Operation not supported.
    pub const NOT_SUPPORTED: u32 = 5;
    /// Authentication needed: the answer is a challenge.
    pub const AUTHENTICATION_NEEDED: u32 = 402;
    /// The authentication type is not accepted.
    pub const INVALID_CREDENTIAL: u32 = 404;
    /// No challenge is pending for the answer.
    pub const AUTHEN_TIMEOUT: u32 = 405;
}

/// Whether `message` is an administrative request or an answer to a challenge: it may write, so it is answered
/// on the blocking pool, and it may depend on its connection's login.
pub fn is_administrative(message: &[u8]) -> bool {
    let opcode = message.get(..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    matches!(
        opcode,
        op::CREATE_HANDLE..=op::LIST_HANDLES | op::RESPONSE_TO_CHALLENGE | op::LIST_HOMED_NAS | op::LOGIN_ID_SYSTEM
    )
}

/// The low bits of the envelope's flag byte: the suggested major version.
const SUGGESTED_MAJOR_MASK: u8 = 0x03;

/// Envelope flags.
pub mod flag {
    /// Compressed.
    pub const COMPRESSED: u8 = 0x80;
    /// Encrypted.
    pub const ENCRYPTED: u8 = 0x40;
    /// Truncated: retry over TCP.
    pub const TRUNCATED: u8 = 0x20;
}

/// OpFlag bits.
pub mod opflag {
    /// Authoritative.
    pub const AUTH: u32 = 0x8000_0000;
    /// Certified: sign the response.
    pub const CERT: u32 = 0x4000_0000;
    /// Encrypted.
    pub const ENCR: u32 = 0x2000_0000;
    /// Recursive.
    pub const RECU: u32 = 0x1000_0000;
    /// Cache authentication: a cache may answer certified requests.
    pub const CACR: u32 = 0x0800_0000;
    /// Continuous: more messages of this answer follow.
    pub const CONT: u32 = 0x0400_0000;
    /// Keep the TCP connection open after the answer.
    pub const KPAL: u32 = 0x0200_0000;
    /// Public values only.
    pub const PUBL: u32 = 0x0100_0000;
    /// Return the request digest.
    pub const RRDG: u32 = 0x0080_0000;
    /// Overwrite an existing handle or value.
    pub const OVRW: u32 = 0x0040_0000;
    /// Mint a new suffix for the handle.
    pub const MINT: u32 = 0x0020_0000;
    /// Do not refer.
    pub const DNRF: u32 = 0x0010_0000;
}

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Fewer bytes than a field needs.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A length outside the contract's limits.
    #[error("message length {0} is outside {HEADER_LEN}..={MAX_MESSAGE_LEN}")]
    BadLength(usize),
    /// The body length disagrees with the message.
    #[error("body length {body} exceeds the {available} bytes after the header")]
    BodyLength {
        /// Declared.
        body: usize,
        /// Present.
        available: usize,
    },
    /// An unsupported major version.
    #[error("protocol major version {0} is not supported (2 is)")]
    Version(u8),
    /// A malformed body.
    #[error("malformed body: {0}")]
    Body(String),
}

/// The 20-byte envelope before every message (and every UDP packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Envelope {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Flags (high bits) and suggested major version (low bits).
    pub flags: u8,
    /// Suggested minor version.
    pub suggested_minor: u8,
    /// Session id.
    pub session_id: u32,
    /// Request id.
    pub request_id: u32,
    /// Sequence number of the packet.
    pub sequence: u32,
    /// Length of the whole message.
    pub message_len: u32,
}

impl Envelope {
    /// Decodes an envelope from the first 20 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self, CodecError> {
        if b.len() < ENVELOPE_LEN {
            return Err(CodecError::Truncated("envelope"));
        }
        let u = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(Self {
            major: b[0],
            minor: b[1],
            flags: b[2],
            suggested_minor: b[3],
            session_id: u(4),
            request_id: u(8),
            sequence: u(12),
            message_len: u(16),
        })
    }

    /// Checks the message length against the contract's limits.
    pub fn checked_len(&self) -> Result<usize, CodecError> {
        let n = self.message_len as usize;
        if (HEADER_LEN..=MAX_MESSAGE_LEN).contains(&n) { Ok(n) } else { Err(CodecError::BadLength(n)) }
    }

    /// Appends the encoded envelope.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.major, self.minor, self.flags, self.suggested_minor]);
        for v in [self.session_id, self.request_id, self.sequence, self.message_len] {
            put_u32(out, v);
        }
    }

    /// The version the sender suggests: the low bits of the flags and byte 3, or, when those bits are 0 (older
    /// senders), the envelope's own version.
    pub fn suggested(&self) -> (u8, u8) {
        match self.flags & SUGGESTED_MAJOR_MASK {
            0 => (self.major, self.minor),
            major => (major, self.suggested_minor),
        }
    }

    /// The minor version of the answer to `self`: the highest both sides speak, as Handle.Net answers (a 2.3
    /// client that suggests 2.11 is answered at 2.11). Digests and signatures follow it.
    pub fn answer_minor(&self) -> u8 {
        match self.suggested() {
            (major, _) if major > MAJOR => MAX_MINOR,
            (_, minor) => minor.min(MAX_MINOR),
        }
    }

    /// The envelope of a response to `self`: the answer's version ([`Envelope::answer_minor`]), our suggestion.
    pub fn reply(&self, message_len: usize) -> Self {
        Self {
            major: MAJOR,
            minor: self.answer_minor(),
            flags: MAJOR & SUGGESTED_MAJOR_MASK,
            suggested_minor: MAX_MINOR,
            session_id: self.session_id,
            request_id: self.request_id,
            sequence: 0,
            message_len: message_len as u32,
        }
    }
}

/// The 24-byte message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Operation code.
    pub opcode: u32,
    /// Response code (0 in requests).
    pub response_code: u32,
    /// OpFlag bits.
    pub opflags: u32,
    /// Site info serial number.
    pub site_serial: u16,
    /// Recursion count.
    pub recursion: u8,
    /// Expiration time, epoch seconds.
    pub expiration: u32,
    /// Body length.
    pub body_len: u32,
}

/// A decoded message: header, body and credential section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The body.
    pub body: Vec<u8>,
    /// The credential section (empty when unsigned).
    pub credential: Vec<u8>,
}

/// Decodes a message (the bytes after the envelope).
pub fn decode_message(b: &[u8]) -> Result<Message, CodecError> {
    if b.len() > MAX_MESSAGE_LEN {
        return Err(CodecError::BadLength(b.len()));
    }
    if b.len() < HEADER_LEN {
        return Err(CodecError::Truncated("message header"));
    }
    let mut r = Reader::new(b);
    let t = |_| CodecError::Truncated("message header");
    let header = Header {
        opcode: r.u32().map_err(t)?,
        response_code: r.u32().map_err(t)?,
        opflags: r.u32().map_err(t)?,
        site_serial: r.u16().map_err(t)?,
        recursion: r.u8().map_err(t)?,
        expiration: {
            r.u8().map_err(t)?;
            r.u32().map_err(t)?
        },
        body_len: r.u32().map_err(t)?,
    };
    let available = r.remaining();
    let body = r
        .take(header.body_len as usize)
        .map_err(|_| CodecError::BodyLength { body: header.body_len as usize, available })?;
    // The credential section is `u32 length` + bytes; senders of unsigned messages may leave it out.
    let credential = if r.remaining() >= 4 {
        r.bytes().map_err(|_| CodecError::Truncated("credential section"))?.to_vec()
    } else {
        Vec::new()
    };
    Ok(Message { header, body: body.to_vec(), credential })
}

/// Encodes a message with an empty credential section.
pub fn encode_message(header: &Header, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 4);
    put_header(&mut out, header, body.len());
    out.extend_from_slice(body);
    put_u32(&mut out, 0);
    out
}

/// Appends the message header and the length of a body of `body_len` bytes.
fn put_header(out: &mut Vec<u8>, header: &Header, body_len: usize) {
    put_u32(out, header.opcode);
    put_u32(out, header.response_code);
    put_u32(out, header.opflags);
    out.extend_from_slice(&header.site_serial.to_be_bytes());
    out.push(header.recursion);
    out.push(0);
    put_u32(out, header.expiration);
    put_u32(out, body_len as u32);
}

/// The header and body of a message: what request digests, and the answers to challenges, cover (not the
/// credential section).
pub fn digested_part(message: &[u8]) -> &[u8] {
    let body_len = message.get(20..24).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    &message[..message.len().min(HEADER_LEN + body_len)]
}

/// The handle a message (the bytes after the envelope) asks to resolve, read in place; `None` for any other
/// message, or one too short to hold it. For a quick look before the message is decoded.
pub fn resolution_handle(message: &[u8]) -> Option<&[u8]> {
    let opcode = u32::from_be_bytes(message.get(..4)?.try_into().ok()?);
    if opcode != op::RESOLUTION {
        return None;
    }
    Reader::new(message.get(HEADER_LEN..)?).bytes().ok()
}

/// Whether a resolution request (the bytes after the envelope) carries bytes after its handle and lists (the
/// Teleinfo SDK's identity field), read in place.
pub fn resolution_has_trailer(message: &[u8]) -> bool {
    let body_len = message.get(20..24).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let Some(body) = message.get(HEADER_LEN..HEADER_LEN.saturating_add(body_len)) else { return false };
    let mut r = Reader::new(body);
    let mut walk = || -> Result<(), crate::record::RecordError> {
        r.bytes()?;
        let indexes = r.u32()? as usize;
        r.take(indexes.saturating_mul(4))?;
        for _ in 0..r.u32()? {
            r.bytes()?;
        }
        Ok(())
    };
    walk().is_ok() && r.remaining() > 0
}

/// A resolution request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolutionRequest {
    /// The handle bytes.
    pub handle: Vec<u8>,
    /// Requested indexes.
    pub indexes: Vec<u32>,
    /// Requested types.
    pub types: Vec<String>,
}

impl ResolutionRequest {
    /// Decodes a resolution body.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let bad = |e: crate::record::RecordError| CodecError::Body(e.to_string());
        let mut r = Reader::new(body);
        let handle = r.bytes().map_err(bad)?.to_vec();
        let n = r.count(4).map_err(bad)?;
        let indexes = (0..n).map(|_| r.u32()).collect::<Result<_, _>>().map_err(bad)?;
        let n = r.count(4).map_err(bad)?;
        let types = (0..n).map(|_| r.string().map(str::to_owned)).collect::<Result<_, _>>().map_err(bad)?;
        Ok(Self { handle, indexes, types })
    }

    /// Encodes a resolution body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_bytes(&mut out, &self.handle);
        put_u32(&mut out, self.indexes.len() as u32);
        for i in &self.indexes {
            put_u32(&mut out, *i);
        }
        put_u32(&mut out, self.types.len() as u32);
        for t in &self.types {
            put_bytes(&mut out, t.as_bytes());
        }
        out
    }
}

/// Appends `message` as UDP packets of `env`'s request: each chunk of [`UDP_CHUNK`] bytes behind its envelope
/// with an increasing sequence number, so that every packet but the last is [`UDP_PACKET_LEN`] bytes.
pub fn push_udp_packets(env: &Envelope, message: &[u8], out: &mut Vec<u8>) {
    for (i, chunk) in message.chunks(UDP_CHUNK).enumerate() {
        Envelope { sequence: i as u32, ..*env }.encode(out);
        out.extend_from_slice(chunk);
    }
}

/// Joins the payloads of a multi-packet UDP message, all received, in sequence order.
pub fn join_udp_parts(parts: Vec<Option<Vec<u8>>>) -> Vec<u8> {
    let mut message = Vec::with_capacity(parts.iter().flatten().map(Vec::len).sum());
    for part in parts.iter().flatten() {
        message.extend_from_slice(part);
    }
    message
}

/// Encodes a resolution response body (after the optional request digest).
pub fn encode_resolution<'a>(
    digest: Option<(u8, Vec<u8>)>,
    handle: &[u8],
    values: impl ExactSizeIterator<Item = &'a HandleValue>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + values.len() * 64);
    resolution_head(&mut out, digest, handle);
    out.extend_from_slice(&encode_values_section(values));
    out
}

/// The values part of a resolution response body: their count and the values.
pub fn encode_values_section<'a>(values: impl ExactSizeIterator<Item = &'a HandleValue>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + values.len() * 64);
    put_u32(&mut out, values.len() as u32);
    for v in values {
        put_value(&mut out, v);
    }
    out
}

/// A whole resolution response message in one buffer: `header`, then the body of the optional request digest,
/// the handle and the values `section` ([`encode_values_section`]), then the empty signature.
pub fn encode_resolution_message(
    header: &Header,
    digest: Option<(u8, Vec<u8>)>,
    handle: &[u8],
    section: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 + handle.len());
    resolution_head(&mut body, digest, handle);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + section.len() + 4);
    put_header(&mut out, header, body.len() + section.len());
    out.extend_from_slice(&body);
    out.extend_from_slice(section);
    put_u32(&mut out, 0);
    out
}

fn resolution_head(out: &mut Vec<u8>, digest: Option<(u8, Vec<u8>)>, handle: &[u8]) {
    if let Some((kind, d)) = digest {
        out.push(kind);
        out.extend_from_slice(&d);
    }
    put_bytes(out, handle);
}

/// Length of a digest of hash type `kind` (1 MD5, 2 SHA-1, 3 SHA-256).
pub fn digest_len(kind: u8) -> Option<usize> {
    match kind {
        1 => Some(16),
        2 => Some(20),
        3 => Some(32),
        _ => None,
    }
}

/// A decoded resolution response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionResponse {
    /// The request digest, when asked for (hash type, bytes).
    pub digest: Option<(u8, Vec<u8>)>,
    /// The handle.
    pub handle: Vec<u8>,
    /// The values.
    pub values: Vec<HandleValue>,
}

/// Decodes a resolution response body; `with_digest` when the request set RRDG.
pub fn decode_resolution(body: &[u8], with_digest: bool) -> Result<ResolutionResponse, CodecError> {
    let bad = |e: crate::record::RecordError| CodecError::Body(e.to_string());
    let mut r = Reader::new(body);
    let digest = if with_digest {
        let kind = r.u8().map_err(bad)?;
        let n = digest_len(kind).ok_or_else(|| CodecError::Body(format!("unknown digest type {kind}")))?;
        Some((kind, r.take(n).map_err(bad)?.to_vec()))
    } else {
        None
    };
    let handle = r.bytes().map_err(bad)?.to_vec();
    let n = r.count(22).map_err(bad)?;
    let values = (0..n).map(|_| read_value(&mut r)).collect::<Result<_, _>>().map_err(bad)?;
    Ok(ResolutionResponse { digest, handle, values })
}

/// Decodes an error body (a UTF8String message), leniently.
pub fn decode_error_message(body: &[u8]) -> String {
    Reader::new(body).string().map(str::to_owned).unwrap_or_default()
}
