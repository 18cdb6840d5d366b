//! Resolutions as the Handle.Net Java client library (`net.handle.hdllib.HandleResolver`, HSJ 9) sends them with
//! its defaults, so that the node can be measured against the stock clients' requests and not only its own:
//!
//! - the envelope at protocol 2.3 suggesting 2.11 (`02 03 02 0B`), session 0, a random request id;
//! - opflags recursive, cache-certify and public-only (`0x19000000`), site serial `0xFFFF` (no site info),
//!   recursion 0, expiration now + 12 h, no type or index filter, an empty credential section;
//! - over UDP, the same datagram sent again after 500, 1,000 and 1,500 ms without an answer, then TCP;
//! - over TCP, a new connection for every request (the client never keeps one alive).
//!
//! Read from the library's `HandleResolver`, `Encoder` and `AbstractMessage` (their defaults), not copied.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use idnode::hdl::client::{Answer, ClientError, exchange_tcp, exchange_udp};
use idnode::hdl::codec::{self, Envelope, Header, ResolutionRequest, encode_message, op};
use idnode::hdl::udp::{Datagrams, RecvBuffers};
use tokio::net::TcpStream;

/// Opflags of the Java client's resolutions: recursive, cache-certify, public-only.
pub const OPFLAGS: u32 = 0x1900_0000;
/// Seconds the Java client waits before sending a UDP request again, per attempt.
const UDP_WAITS_MS: [u64; 3] = [500, 1000, 1500];

/// UDP requests sent again for want of an answer, and requests that fell back to TCP, over the whole run.
pub static RETRIES: AtomicU64 = AtomicU64::new(0);
/// See [`RETRIES`].
pub static FALLBACKS: AtomicU64 = AtomicU64::new(0);

/// The envelope and message of a resolution of `handle` as the Java client builds it.
pub fn request(request_id: u32, handle: &str) -> (Envelope, Vec<u8>) {
    let body = ResolutionRequest { handle: handle.as_bytes().to_vec(), ..Default::default() }.encode();
    resolution(3, request_id, &body)
}

/// A resolution with `body` under the Java client's header, in an envelope at protocol 2.`minor` suggesting
/// 2.11: the Java client's own (2.3) and the SDKs derived from it (the Teleinfo SDK's 2.10).
pub fn resolution(minor: u8, request_id: u32, body: &[u8]) -> (Envelope, Vec<u8>) {
    let header = Header {
        opcode: op::RESOLUTION,
        opflags: OPFLAGS,
        site_serial: 0xFFFF,
        recursion: 0,
        expiration: idnode::node::now() + 43_200,
        ..Header::default()
    };
    let message = encode_message(&header, body);
    let env = Envelope {
        major: codec::MAJOR,
        minor,
        flags: 2,
        suggested_minor: 11,
        request_id,
        message_len: message.len() as u32,
        ..Envelope::default()
    };
    (env, message)
}

/// Resolves `handle` over UDP as the Java client does: waits, sends again, and falls back to TCP.
pub async fn resolve_udp(
    sock: &Datagrams,
    bufs: &mut RecvBuffers,
    server: SocketAddr,
    handle: &str,
) -> Result<Answer, ClientError> {
    let (env, msg) = request(rand::random::<u32>() >> 1, handle);
    for (attempt, wait) in UDP_WAITS_MS.iter().enumerate() {
        if attempt > 0 {
            RETRIES.fetch_add(1, Ordering::Relaxed);
        }
        // An answer the client cannot decode (a truncated one, say) is dropped and the request sent again.
        if let Ok(Ok(answer)) =
            tokio::time::timeout(Duration::from_millis(*wait), exchange_udp(sock, bufs, server, env, &msg)).await
        {
            return Ok(answer);
        }
    }
    FALLBACKS.fetch_add(1, Ordering::Relaxed);
    resolve_tcp(server, handle).await
}

/// Resolves `handle` over a new TCP connection, as the Java client does for every request.
pub async fn resolve_tcp(server: SocketAddr, handle: &str) -> Result<Answer, ClientError> {
    let (env, msg) = request(rand::random::<u32>() >> 1, handle);
    let mut s = TcpStream::connect(server).await?;
    s.set_nodelay(true)?;
    exchange_tcp(&mut s, env, &msg).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_java_clients() {
        let (env, msg) = request(7, "20.500/abc");
        let mut bytes = Vec::new();
        env.encode(&mut bytes);
        assert_eq!(&bytes[..4], &[2, 3, 2, 11], "version 2.3 suggesting 2.11");
        assert_eq!(&bytes[4..8], &[0; 4], "session 0");
        let m = codec::decode_message(&msg).unwrap();
        assert_eq!((m.header.opcode, m.header.opflags, m.header.site_serial), (1, 0x1900_0000, 0xFFFF));
        assert!(m.credential.is_empty());
        let r = ResolutionRequest::decode(&m.body).unwrap();
        assert_eq!((r.handle.as_slice(), r.indexes.len(), r.types.len()), (&b"20.500/abc"[..], 0, 0));
        assert_eq!(msg.len(), 24 + 22 + 4, "header, body, empty credential section");
    }
}
