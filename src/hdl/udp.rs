//! UDP sockets of the Handle protocol with batched system calls: up to 32 datagrams per receive (`recvmmsg`,
//! with GRO-coalesced buffers split at their stride), and a multi-packet message sent in one `sendmsg` with UDP
//! segmentation offload (GSO) where the kernel has it, packet by packet where it has not. A Handle answer is
//! typically three or four 512-byte packets, so this turns four system calls into one.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;

use quinn_udp::{BATCH_SIZE, RecvMeta, Transmit, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Bytes of one receive buffer: a GRO-coalesced run of datagrams may fill a whole 64 KiB.
const RECV_BUFFER: usize = 65_536;

/// A UDP socket with batched receives and segmented sends.
#[derive(Debug)]
pub struct Datagrams {
    socket: UdpSocket,
    state: UdpSocketState,
}

/// Buffers for [`Datagrams::recv`].
#[derive(Debug)]
pub struct RecvBuffers {
    storage: Vec<u8>,
    meta: Vec<RecvMeta>,
}

impl RecvBuffers {
    /// Room for `batch` receives per system call (at most 32 are used).
    pub fn new(batch: usize) -> Self {
        let batch = batch.clamp(1, BATCH_SIZE);
        Self { storage: vec![0; batch * RECV_BUFFER], meta: vec![RecvMeta::default(); batch] }
    }
}

impl Datagrams {
    /// Wraps a bound (or connected) socket; asks the kernel for GRO where it has it.
    pub fn new(socket: UdpSocket) -> io::Result<Self> {
        let state = UdpSocketState::new((&socket).into())?;
        Ok(Self { socket, state })
    }

    /// Waits for datagrams, then visits each one received by one system call with its sender.
    pub async fn recv(&self, bufs: &mut RecvBuffers, mut visit: impl FnMut(&[u8], SocketAddr)) -> io::Result<()> {
        let n = {
            let mut slices: Vec<IoSliceMut<'_>> = bufs.storage.chunks_mut(RECV_BUFFER).map(IoSliceMut::new).collect();
            let meta = &mut bufs.meta;
            self.socket
                .async_io(Interest::READABLE, || self.state.recv((&self.socket).into(), &mut slices, meta))
                .await?
        };
        for (meta, buf) in bufs.meta[..n].iter().zip(bufs.storage.chunks(RECV_BUFFER)) {
            let len = meta.len.min(buf.len());
            for datagram in buf[..len].chunks(meta.stride.max(1)) {
                visit(datagram, meta.addr);
            }
        }
        Ok(())
    }

    /// Sends `datagrams`, consecutive packets of `size` bytes (the last may be shorter), to `peer`.
    pub async fn send(&self, peer: SocketAddr, datagrams: &[u8], size: usize) -> io::Result<()> {
        let count = datagrams.len().div_ceil(size.max(1));
        if count > 1 && self.state.max_gso_segments() >= count {
            let t =
                Transmit { destination: peer, ecn: None, contents: datagrams, segment_size: Some(size), src_ip: None };
            match self.socket.async_io(Interest::WRITABLE, || self.state.try_send((&self.socket).into(), &t)).await {
                Ok(()) => return Ok(()),
                // The kernel refused the offload (quinn-udp then turns it off): send packet by packet.
                Err(_) if self.state.max_gso_segments() == 1 => {}
                Err(e) => return Err(e),
            }
        }
        for packet in datagrams.chunks(size.max(1)) {
            self.socket.send_to(packet, peer).await?;
        }
        Ok(())
    }
}
