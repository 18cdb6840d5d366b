//! The UDP and TCP listeners of the Handle protocol.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::codec::{
    ENVELOPE_LEN, Envelope, Header, UDP_CHUNK, UDP_PACKET_LEN, flag, is_administrative, join_udp_parts, op, opflag,
    push_udp_packets, rc, resolution_has_trailer,
};
use super::limit::SourceLimit;
use super::udp::{Datagrams, RecvBuffers};
use super::{Conversation, Responder};
use crate::connection::{Connections, Tracked};
use crate::request::{Admission, Origin, Protocol};
use crate::runtime::{self, Place};
use answering::Answering;

/// Limits of the listeners.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests answered at once; more get response code 3 (too busy).
    pub max_in_flight: usize,
    /// UDP responses longer than this many packets are answered truncated (retry over TCP).
    pub udp_max_response_packets: usize,
    /// Answer bytes per second per UDP source block; beyond, answers go out truncated.
    pub udp_source_limit: Arc<SourceLimit>,
}

/// A response message as UDP datagrams, back to back: every packet but the last is [`UDP_PACKET_LEN`] bytes. A
/// message longer than `max_packets` packets is answered truncated instead (only the header, flagged so that the
/// client retries over TCP).
pub fn udp_datagrams(env: &Envelope, message: &[u8], max_packets: usize) -> Vec<u8> {
    let mut reply = env.reply(message.len());
    let chunks = message.len().div_ceil(UDP_CHUNK).max(1);
    if chunks > max_packets {
        let head = &message[..message.len().min(24)];
        reply.flags |= flag::TRUNCATED;
        reply.message_len = head.len() as u32;
        let mut p = Vec::with_capacity(ENVELOPE_LEN + head.len());
        reply.encode(&mut p);
        p.extend_from_slice(head);
        return p;
    }
    let mut out = Vec::with_capacity(chunks * ENVELOPE_LEN + message.len());
    push_udp_packets(&reply, message, &mut out);
    if message.is_empty() {
        reply.encode(&mut out);
    }
    out
}

/// A request being reassembled from several UDP packets.
struct Partial {
    env: Envelope,
    parts: Vec<Option<Vec<u8>>>,
    started: Instant,
}

mod answering;

/// Most partial UDP requests kept at once, and how long one may take to complete.
const MAX_PARTIALS: usize = 1024;
const PARTIAL_TTL: Duration = Duration::from_secs(5);

/// What the listeners count beside the requests: traffic, connections, UDP answers the budget truncated, and
/// UDP requests sent again while their first copy was being answered.
#[derive(Clone)]
struct Counted {
    connections: Arc<Connections>,
    udp_limited: metrics::Counter,
    udp_resent: metrics::Counter,
}

impl Counted {
    fn new(responder: &Responder, connections: Arc<Connections>) -> Self {
        let udp_limited = responder.node().metrics().counter(
            "idnode_handle_udp_limited_total",
            "Handle UDP answers sent truncated (retry over TCP), or error answers dropped: their source block was over its budget.",
        );
        let udp_resent = responder.node().metrics().counter(
            "idnode_handle_udp_resent_total",
            "Handle UDP requests dropped as copies of one still being answered on the blocking pool (a client's resend).",
        );
        Self { connections, udp_limited, udp_resent }
    }
}

/// What the datagrams of one receive asked for: complete requests, and answers already made (errors).
#[derive(Default)]
struct Received {
    requests: Vec<(SocketAddr, Envelope, Vec<u8>)>,
    answers: Vec<(SocketAddr, Vec<u8>)>,
    partials: HashMap<(SocketAddr, u32), Partial>,
}

impl Received {
    /// Takes one datagram: a whole request, a part of one, or garbage (dropped).
    fn datagram(&mut self, responder: &Responder, limits: &Limits, counted: &Counted, packet: &[u8], peer: SocketAddr) {
        counted.connections.metrics().bytes(Protocol::HandleUdp, packet.len() as u64, 0);
        let Ok(env) = Envelope::decode(packet) else { return };
        let Ok(total) = env.checked_len() else {
            let msg = responder.error(&Header::default(), rc::PROTOCOL_ERROR, "message length outside the limits");
            queue_error(&mut self.answers, limits, counted, peer, udp_datagrams(&env, &msg, 1));
            return;
        };
        let chunk = &packet[ENVELOPE_LEN..];
        let message = if total <= UDP_CHUNK && env.sequence == 0 {
            chunk.get(..total).map(<[u8]>::to_vec)
        } else {
            reassemble(&mut self.partials, peer, env, chunk, total)
        };
        if let Some(message) = message {
            self.requests.push((peer, env, message));
        }
    }
}

/// Serves UDP on one socket until `stop` turns true, each request admitted under `admission` (shared by every
/// socket of the listener). A request is answered in the receive loop when its read runs inline, and in a task
/// of its own when it runs on the blocking pool (see [`crate::runtime::Runtime::place`]).
pub async fn serve_udp(
    socket: Datagrams,
    responder: Responder,
    limits: Limits,
    admission: Admission,
    connections: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) {
    let counted = Counted::new(&responder, connections);
    let socket = Arc::new(socket);
    let mut bufs = RecvBuffers::new(32);
    let mut received = Received::default();
    let answering = Answering::default();
    loop {
        let r = tokio::select! {
            r = socket.recv(&mut bufs, |packet, peer| received.datagram(&responder, &limits, &counted, packet, peer)) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        if r.is_err() {
            continue;
        }
        for (peer, env, message) in received.requests.drain(..) {
            if answering.is_copy(peer, &env, &message) {
                counted.udp_resent.increment(1);
                continue;
            }
            let origin = Origin::new(Protocol::HandleUdp, Some(peer));
            let Ok(admitted) = admission.admit() else {
                let msg = responder.busy(Protocol::HandleUdp, &message);
                queue_error(&mut received.answers, &limits, &counted, peer, udp_datagrams(&env, &msg, 1));
                continue;
            };
            // A write runs on the blocking pool whatever the reads do, and its answer may name a challenge.
            let writes = is_administrative(&message);
            if !writes && responder.runtime().place(|| responder.waits_for_disk(&message)) == Place::Inline {
                let response = responder.respond_from(&env, &message, origin);
                received.answers.push((peer, answer(&limits, &counted, peer, &env, &response)));
                continue;
            }
            let entered = answering.enter(peer, &env, &message);
            let (socket, responder, limits, counted) =
                (socket.clone(), responder.clone(), limits.clone(), counted.clone());
            tokio::spawn(async move {
                // Over UDP nothing carries from one request to the next but a challenge's session id.
                let respond = move |r: &Responder, m: Vec<u8>| {
                    let mut conv = Conversation::default();
                    let response = r.respond_in(&env, &m, origin, &mut conv);
                    (response, conv.reply_envelope(&env))
                };
                let (response, env) = runtime::on_pool(&responder, message, respond).await;
                send(&socket, &counted, peer, &answer(&limits, &counted, peer, &env, &response)).await;
                drop((admitted, entered));
            });
        }
        for (peer, datagrams) in received.answers.drain(..) {
            send(&socket, &counted, peer, &datagrams).await;
        }
    }
}

/// Queues an error answer (a protocol error, "too busy") to `peer`, charged to its source's budget like every
/// answer: an error has nothing to truncate, so over the budget it is dropped (and counted), and bad requests
/// cannot draw unbudgeted answers.
fn queue_error(
    answers: &mut Vec<(SocketAddr, Vec<u8>)>,
    limits: &Limits,
    counted: &Counted,
    peer: SocketAddr,
    datagrams: Vec<u8>,
) {
    if limits.udp_source_limit.allow(peer.ip(), datagrams.len()) {
        answers.push((peer, datagrams));
    } else {
        counted.udp_limited.increment(1);
    }
}

/// The datagrams of an answer to `peer`: in full, or truncated when they would take `peer`'s block over its
/// budget ([`SourceLimit`]).
fn answer(limits: &Limits, counted: &Counted, peer: SocketAddr, env: &Envelope, response: &[u8]) -> Vec<u8> {
    let full = udp_datagrams(env, response, limits.udp_max_response_packets);
    if limits.udp_source_limit.allow(peer.ip(), full.len()) {
        return full;
    }
    counted.udp_limited.increment(1);
    udp_datagrams(env, response, 0)
}

fn reassemble(
    partials: &mut HashMap<(SocketAddr, u32), Partial>,
    peer: SocketAddr,
    env: Envelope,
    chunk: &[u8],
    total: usize,
) -> Option<Vec<u8>> {
    let count = total.div_ceil(UDP_CHUNK);
    let seq = env.sequence as usize;
    let expected = if seq + 1 == count { total - seq * UDP_CHUNK } else { UDP_CHUNK };
    if seq >= count || chunk.len() < expected {
        return None;
    }
    partials.retain(|_, p| p.started.elapsed() < PARTIAL_TTL);
    if partials.len() >= MAX_PARTIALS && !partials.contains_key(&(peer, env.request_id)) {
        return None;
    }
    let p = partials.entry((peer, env.request_id)).or_insert_with(|| Partial {
        env,
        parts: vec![None; count],
        started: Instant::now(),
    });
    if p.parts.len() != count || p.env.message_len != env.message_len {
        return None;
    }
    p.parts[seq] = Some(chunk[..expected].to_vec());
    if p.parts.iter().all(Option::is_some) {
        let p = partials.remove(&(peer, env.request_id))?;
        Some(join_udp_parts(p.parts))
    } else {
        None
    }
}

async fn send(socket: &Datagrams, counted: &Counted, peer: SocketAddr, datagrams: &[u8]) {
    if socket.send(peer, datagrams, UDP_PACKET_LEN).await.is_ok() {
        counted.connections.metrics().bytes(Protocol::HandleUdp, 0, datagrams.len() as u64);
    }
}

/// Bytes of a TCP message allocated before they arrive.
const READ_CHUNK: usize = 16 * 1024;

/// Serves TCP until `stop` turns true.
pub async fn serve_tcp(
    listener: TcpListener,
    responder: Responder,
    limits: Limits,
    connections: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) {
    let admission = Admission::new(limits.max_in_flight);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((stream, peer)) = accepted else {
            // Out of descriptors, say: back off briefly rather than spin on the error.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Refused (over its source's cap or the node's): dropped, which closes it.
        let Ok(stream) = connections.admit(stream, Some(peer.ip()), Protocol::HandleTcp) else { continue };
        let (responder, admission, stop) = (responder.clone(), admission.clone(), stop.clone());
        tokio::spawn(connection(stream, peer, responder, admission, stop));
    }
}

async fn connection(
    mut stream: Tracked<TcpStream>,
    peer: SocketAddr,
    responder: Responder,
    admission: Admission,
    mut stop: watch::Receiver<bool>,
) {
    // The connection's timeouts (idle, a message trickling in) are the sweep's: it ends the reads below.
    let mut head = [0u8; ENVELOPE_LEN];
    let (mut first, mut conv) = (true, Conversation::default());
    loop {
        let read = tokio::select! {
            r = stream.read_exact(&mut head) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        if read.is_err() {
            return; // closed, broken or expired
        }
        let Ok(env) = Envelope::decode(&head) else { return };
        let total = match env.checked_len() {
            Ok(n) => n,
            Err(e) => {
                let msg = responder.error(&Header::default(), rc::PROTOCOL_ERROR, &e.to_string());
                let _ = write_message(&mut stream, &env, &msg).await;
                return;
            }
        };
        // The message grows as its bytes arrive: a frame that only declares a large length costs nothing.
        let mut message = Vec::with_capacity(total.min(READ_CHUNK));
        let mut body = (&mut stream).take(total as u64);
        if !matches!(body.read_to_end(&mut message).await, Ok(n) if n == total) {
            return;
        }
        let last = first && one_request_connection(&message);
        let origin = Origin::new(Protocol::HandleTcp, Some(peer));
        let response = match admission.admit() {
            Err(_) => responder.busy(Protocol::HandleTcp, &message),
            Ok(_admitted) if is_administrative(&message) => {
                let respond = move |r: &Responder, (m, mut c): (Vec<u8>, Conversation)| {
                    (r.respond_in(&env, &m, origin, &mut c), c)
                };
                let (response, c) = runtime::on_pool(&responder, (message, conv), respond).await;
                conv = c;
                response
            }
            Ok(_admitted) => responder.respond_read(env, message, origin).await,
        };
        let reply = conv.reply_envelope(&env);
        let mut written = write_message(&mut stream, &reply, &response).await;
        for m in std::mem::take(&mut conv.more) {
            written = match written {
                Ok(()) => write_message(&mut stream, &reply, &m).await,
                failed => failed,
            };
        }
        if written.is_err() || last {
            return;
        }
        first = false;
    }
}

/// Whether a connection ends after answering `message`, its first request. CNRI's client opens a
/// connection per request, never asks for keep-alive (KPAL) and sends nothing else on it: such a connection is
/// closed after its answer, as Handle.Net closes it, without waiting for the client to. The IDIS SDKs keep one
/// connection for many requests without asking either, and show it: CAICT's opens with site information,
/// Teleinfo's logs in or sends resolutions that carry one more field after the lists (an identity to pass on).
/// Read in place: on CNRI's pattern every request is a first one.
fn one_request_connection(message: &[u8]) -> bool {
    let word = |at: usize| message.get(at..at + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let persistent = match word(0) {
        _ if word(8) & opflag::KPAL != 0 => true,
        op::GET_SITE_INFO | op::LOGIN | op::LOGIN_ID_SYSTEM => true,
        op::RESOLUTION => resolution_has_trailer(message),
        _ => false,
    };
    !persistent
}

async fn write_message(stream: &mut Tracked<TcpStream>, env: &Envelope, message: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(ENVELOPE_LEN + message.len());
    env.reply(message.len()).encode(&mut out);
    out.extend_from_slice(message);
    stream.write_all(&out).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::connection::ConnectionConfig;
    use crate::id::Prefix;
    use crate::metrics::Metrics;
    use crate::node::{Node, NodeSettings, Reads};
    use crate::runtime::Runtime;
    use crate::store::tests::OnDisk;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_sent_again_while_it_is_answered_is_answered_once() {
        let store = Arc::new(OnDisk::default());
        crate::demo::load(store.as_ref(), "88.798", "root").unwrap();
        store.delay.store(300, Ordering::Relaxed); // every read of a record takes 300 ms from now on
        let metrics = Arc::new(Metrics::new());
        let settings = NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]);
        let node = Arc::new(Node::new(store, settings, metrics.clone()));
        let responder = Responder::new(node, Vec::new(), 1, Runtime::new(Reads::Pool, &metrics));
        let limits = Limits {
            max_in_flight: 64,
            udp_max_response_packets: 64,
            udp_source_limit: Arc::new(SourceLimit::new(0, Vec::new())),
        };
        let connections = Connections::new(&ConnectionConfig::default(), 1 << 16, &metrics).unwrap();
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let serving = tokio::spawn(serve_udp(
            Datagrams::new(server).unwrap(),
            responder,
            limits,
            Admission::new(64),
            connections,
            stopped,
        ));

        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (env, msg) = crate::hdl::client::resolution_request(7, "88.798.1/JDZ-2024-000123", &[], &[], false);
        let mut datagram = Vec::new();
        env.encode(&mut datagram);
        datagram.extend_from_slice(&msg);
        client.send_to(&datagram, addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.send_to(&datagram, addr).await.unwrap(); // the client's resend, while the first is read
        let mut buf = [0u8; 2048];
        let first = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf)).await;
        assert!(first.is_ok_and(|r| r.is_ok()), "the request is answered");
        // Whatever else comes is the rest of that one answer; wait out a second read had there been one.
        while tokio::time::timeout(Duration::from_millis(700), client.recv(&mut buf)).await.is_ok() {}
        let m = metrics.render();
        assert!(m.contains("idnode_handle_udp_resent_total 1"), "{m}");
        assert!(m.contains("idnode_reads_on_pool_total 1"), "one read, not two: {m}");
        stop.send(true).unwrap();
        serving.await.unwrap();
    }
}
