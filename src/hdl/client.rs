//! The crate's own Handle protocol client, over UDP or TCP.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::codec::{
    CodecError, ENVELOPE_LEN, Envelope, Header, MAJOR, ResolutionRequest, UDP_CHUNK, UDP_PACKET_LEN, decode_message,
    decode_resolution, encode_message, flag, join_udp_parts, op, opflag, push_udp_packets, rc,
};
use super::udp::{Datagrams, RecvBuffers};
use crate::record::HandleValue;

pub mod admin;

/// How to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP datagrams (up to 512 bytes each).
    Udp,
    /// One TCP connection per request.
    Tcp,
}

/// A failed exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Network failure or time-out.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The answer did not decode.
    #[error("bad answer: {0}")]
    Codec(#[from] CodecError),
    /// The UDP answer was truncated: retry over TCP.
    #[error("answer truncated; retry over TCP")]
    Truncated,
}

/// A raw answer: envelope, header, body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The response envelope (of the first packet).
    pub envelope: Envelope,
    /// The response header.
    pub header: Header,
    /// The response body.
    pub body: Vec<u8>,
    /// The credential section (a signature, when the request was certified).
    pub credential: Vec<u8>,
}

impl Answer {
    /// The body after the request digest, when the answer carries one (`[digest]`, RRDG).
    pub fn after_digest(&self) -> &[u8] {
        let skip = match (self.header.opflags & opflag::RRDG != 0, self.body.first()) {
            (true, Some(kind)) => 1 + super::codec::digest_len(*kind).unwrap_or(0),
            _ => 0,
        };
        self.body.get(skip..).unwrap_or_default()
    }
}

/// The outcome of a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The response code (1 on success).
    pub response_code: u32,
    /// The values (response code 1).
    pub values: Vec<HandleValue>,
    /// The request digest, when asked for.
    pub digest: Option<(u8, Vec<u8>)>,
    /// The error message otherwise.
    pub message: String,
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a request message: envelope plus message.
pub fn request_bytes(request_id: u32, minor: u8, opcode: u32, opflags: u32, body: &[u8]) -> (Envelope, Vec<u8>) {
    let header = Header { opcode, opflags, expiration: crate::node::now() + 60, ..Header::default() };
    let message = encode_message(&header, body);
    // As CNRI's client does: the envelope at `minor`, the highest version spoken suggested.
    let env = Envelope {
        major: MAJOR,
        minor,
        flags: MAJOR,
        suggested_minor: super::codec::MAX_MINOR,
        request_id,
        message_len: message.len() as u32,
        ..Envelope::default()
    };
    (env, message)
}

/// Sends one request and reads the answer.
pub async fn exchange(
    addr: SocketAddr,
    transport: Transport,
    env: Envelope,
    message: &[u8],
) -> Result<Answer, ClientError> {
    match transport {
        Transport::Tcp => tokio::time::timeout(TIMEOUT, tcp(addr, env, message)).await.map_err(std::io::Error::from)?,
        Transport::Udp => tokio::time::timeout(TIMEOUT, udp(addr, env, message)).await.map_err(std::io::Error::from)?,
    }
}

async fn tcp(addr: SocketAddr, env: Envelope, message: &[u8]) -> Result<Answer, ClientError> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    exchange_tcp(&mut s, env, message).await
}

/// Sends one request on an open TCP connection and reads its answer (several requests may share a connection).
pub async fn exchange_tcp(s: &mut TcpStream, env: Envelope, message: &[u8]) -> Result<Answer, ClientError> {
    let mut out = Vec::with_capacity(ENVELOPE_LEN + message.len());
    env.encode(&mut out);
    out.extend_from_slice(message);
    s.write_all(&out).await?;
    read_tcp_answer(s).await
}

/// Reads one answer from a TCP stream.
pub async fn read_tcp_answer(s: &mut TcpStream) -> Result<Answer, ClientError> {
    let mut head = [0u8; ENVELOPE_LEN];
    s.read_exact(&mut head).await?;
    let envelope = Envelope::decode(&head)?;
    let mut body = vec![0u8; envelope.checked_len()?];
    s.read_exact(&mut body).await?;
    let m = decode_message(&body)?;
    Ok(Answer { envelope, header: m.header, body: m.body, credential: m.credential })
}

async fn udp(addr: SocketAddr, env: Envelope, message: &[u8]) -> Result<Answer, ClientError> {
    exchange_udp(&udp_socket(addr).await?, &mut RecvBuffers::new(1), addr, env, message).await
}

/// A client UDP socket for talking to `server`, on an ephemeral port: of the loopback interface for a loopback
/// server, else of every interface of the matching address family.
pub async fn udp_socket(server: SocketAddr) -> std::io::Result<Datagrams> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip: IpAddr = match (server.is_ipv4(), server.ip().is_loopback()) {
        (true, true) => Ipv4Addr::LOCALHOST.into(),
        (true, false) => Ipv4Addr::UNSPECIFIED.into(),
        (false, true) => Ipv6Addr::LOCALHOST.into(),
        (false, false) => Ipv6Addr::UNSPECIFIED.into(),
    };
    Datagrams::new(UdpSocket::bind(SocketAddr::new(ip, 0)).await?)
}

/// Sends one request to `server` and reassembles its answer; datagrams from elsewhere and answers to other
/// request ids are skipped. No time-out: the caller sets one.
pub async fn exchange_udp(
    sock: &Datagrams,
    bufs: &mut RecvBuffers,
    server: SocketAddr,
    env: Envelope,
    message: &[u8],
) -> Result<Answer, ClientError> {
    let mut datagrams = Vec::with_capacity(message.len() + ENVELOPE_LEN * message.len().div_ceil(UDP_CHUNK));
    push_udp_packets(&env, message, &mut datagrams);
    sock.send(server, &datagrams, UDP_PACKET_LEN).await?;
    let mut parts: Vec<Option<Vec<u8>>> = Vec::new();
    let mut first: Option<Envelope> = None;
    let mut failure = None;
    loop {
        sock.recv(bufs, |packet, from| {
            if from != server || failure.is_some() {
                return;
            }
            let e = match Envelope::decode(packet) {
                Ok(e) if e.request_id == env.request_id => e,
                Ok(_) => return,
                Err(err) => return failure = Some(ClientError::from(err)),
            };
            if e.flags & flag::TRUNCATED != 0 {
                return failure = Some(ClientError::Truncated);
            }
            let total = match e.checked_len() {
                Ok(n) => n,
                Err(err) => return failure = Some(ClientError::from(err)),
            };
            if first.is_none() {
                parts = vec![None; total.div_ceil(UDP_CHUNK).max(1)];
                first = Some(e);
            }
            if let Some(slot) = parts.get_mut(e.sequence as usize) {
                *slot = Some(packet[ENVELOPE_LEN..].to_vec());
            }
        })
        .await?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(e) = first.filter(|_| parts.iter().all(Option::is_some)) {
            let mut message = join_udp_parts(parts);
            message.truncate(e.message_len as usize);
            let m = decode_message(&message)?;
            return Ok(Answer { envelope: e, header: m.header, body: m.body, credential: m.credential });
        }
    }
}

/// A resolution request for `handle` with request id `id`: envelope plus message (public values only).
pub fn resolution_request(
    id: u32,
    handle: &str,
    indexes: &[u32],
    types: &[String],
    request_digest: bool,
) -> (Envelope, Vec<u8>) {
    let body =
        ResolutionRequest { handle: handle.as_bytes().to_vec(), indexes: indexes.to_vec(), types: types.to_vec() }
            .encode();
    // Keep-alive: callers may send more requests on the same TCP connection.
    let flags = opflag::PUBL | opflag::KPAL | if request_digest { opflag::RRDG } else { 0 };
    request_bytes(id, 10, op::RESOLUTION, flags, &body)
}

/// Resolves `handle` (with optional filters) at `addr`.
pub async fn resolve(
    addr: SocketAddr,
    transport: Transport,
    handle: &str,
    indexes: &[u32],
    types: &[String],
    request_digest: bool,
) -> Result<Resolved, ClientError> {
    let (env, message) = resolution_request(rand::random(), handle, indexes, types, request_digest);
    let a = exchange(addr, transport, env, &message).await?;
    if a.header.response_code == rc::SUCCESS {
        let r = decode_resolution(&a.body, request_digest)?;
        Ok(Resolved { response_code: 1, values: r.values, digest: r.digest, message: String::new() })
    } else {
        let message = super::codec::decode_error_message(&a.body);
        Ok(Resolved { response_code: a.header.response_code, values: Vec::new(), digest: None, message })
    }
}

/// Asks `addr` for its site information; returns the binary `HS_SITE` data.
pub async fn site_info(addr: SocketAddr, transport: Transport) -> Result<(u32, Vec<u8>), ClientError> {
    let (env, message) = request_bytes(rand::random(), 10, op::GET_SITE_INFO, 0, &[]);
    let a = exchange(addr, transport, env, &message).await?;
    Ok((a.header.response_code, a.body))
}
