//! Resolutions as the Teleinfo/CAICT identifier SDK for Java (`cn.teleinfo.idpointer.sdk`, 2.3, the SDK that
//! Chinese enterprise systems embed, itself derived from the Handle.Net Java client) sends them with its
//! defaults:
//!
//! - over TCP only, on pooled connections kept open, one request in flight on each (it pairs an answer with
//!   the one request waiting on its connection, not by request id);
//! - the envelope at protocol 2.10 suggesting 2.11 (`02 0A 02 0B`), session 0, request ids counted up from 1
//!   across the process;
//! - the header of the Java client (opflags recursive, cache-certify and public-only, site serial `0xFFFF`,
//!   expiration now + 12 h);
//! - the body of a resolution followed by a 4-byte length of an "identity" to pass on when recursing, 0 when
//!   there is none: a field of its own, which a server must read past.
//!
//! Read from the SDK's encoder and its client defaults, not copied.

use std::sync::atomic::{AtomicU32, Ordering};

use idnode::hdl::client::{Answer, ClientError, exchange_tcp};
use idnode::hdl::codec::{Envelope, ResolutionRequest};
use tokio::net::TcpStream;

use super::java_client;

/// The SDK's request ids: one counter for the process, from 1.
static REQUEST_IDS: AtomicU32 = AtomicU32::new(1);

/// The envelope and message of a resolution of `handle` as the SDK builds it.
pub fn request(handle: &str) -> (Envelope, Vec<u8>) {
    let mut body = ResolutionRequest { handle: handle.as_bytes().to_vec(), ..Default::default() }.encode();
    body.extend_from_slice(&0u32.to_be_bytes()); // the identity's length: none
    let request_id = (REQUEST_IDS.fetch_add(1, Ordering::Relaxed) & 0x7FFF_FFFF).max(1);
    java_client::resolution(10, request_id, &body)
}

/// Resolves `handle` on the connection `s`, kept open between requests as the SDK's pool keeps it.
pub async fn resolve(s: &mut TcpStream, handle: &str) -> Result<Answer, ClientError> {
    let (env, msg) = request(handle);
    exchange_tcp(s, env, &msg).await
}

#[cfg(test)]
mod tests {
    use idnode::hdl::codec;

    use super::*;

    #[test]
    fn the_request_is_the_sdks() {
        let (env, msg) = request("88.798.1/abc");
        let mut bytes = Vec::new();
        env.encode(&mut bytes);
        assert_eq!(&bytes[..4], &[2, 10, 2, 11], "version 2.10 suggesting 2.11");
        assert!(env.request_id >= 1);
        let m = codec::decode_message(&msg).unwrap();
        assert_eq!((m.header.opcode, m.header.opflags, m.header.site_serial), (1, 0x1900_0000, 0xFFFF));
        let r = ResolutionRequest::decode(&m.body).unwrap();
        assert_eq!((r.handle.as_slice(), r.indexes.len(), r.types.len()), (&b"88.798.1/abc"[..], 0, 0));
        assert_eq!(m.body.len(), 4 + 12 + 4 + 4 + 4, "handle, no indexes, no types, no identity");
        assert!(m.credential.is_empty());
    }
}
