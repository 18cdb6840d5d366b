//! Connections that count, for every listener: [`Tracked`] wraps a stream, adds the bytes it reads and writes to
//! its protocol's counters and holds one unit of the open-connections gauge until it is dropped.
//! [`TrackedListener`] hands out tracked TCP connections to axum.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use metrics::{Counter, Gauge};

use crate::metrics::{Family, Metrics};
use crate::request::Protocol;

/// Bytes received and sent and connections open, by protocol.
#[derive(Debug)]
pub struct ConnectionMetrics {
    received: Family<Protocol, Counter>,
    sent: Family<Protocol, Counter>,
    open: Family<Protocol, Gauge>,
}

impl ConnectionMetrics {
    /// The connection metrics of `metrics`, every protocol's series registered.
    pub fn new(metrics: &Metrics) -> Self {
        let all = Protocol::ALL;
        Self {
            received: metrics
                .family("idnode_api_received_bytes_total", "Bytes received, by protocol.")
                .register_all(all),
            sent: metrics.family("idnode_api_sent_bytes_total", "Bytes sent, by protocol.").register_all(all),
            open: metrics.family("idnode_api_open_connections", "Open connections, by protocol.").register_all(all),
        }
    }

    /// Counts bytes received and sent through `protocol`.
    pub fn bytes(&self, protocol: Protocol, received: u64, sent: u64) {
        if received > 0 {
            self.received.get(protocol).increment(received);
        }
        if sent > 0 {
            self.sent.get(protocol).increment(sent);
        }
    }
}

/// A stream whose traffic and lifetime are counted.
#[derive(Debug)]
pub struct Tracked<S> {
    inner: S,
    metrics: Arc<ConnectionMetrics>,
    protocol: Protocol,
}

impl<S> Tracked<S> {
    /// Starts counting `inner` as a connection of `protocol`.
    pub fn new(inner: S, metrics: Arc<ConnectionMetrics>, protocol: Protocol) -> Self {
        metrics.open.get(protocol).increment(1.0);
        Self { inner, metrics, protocol }
    }
}

impl<S> Drop for Tracked<S> {
    fn drop(&mut self) {
        self.metrics.open.get(self.protocol).decrement(1.0);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.metrics.bytes(self.protocol, n as u64, 0);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.metrics.bytes(self.protocol, 0, *n as u64);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &r {
            self.metrics.bytes(self.protocol, 0, *n as u64);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Tracked<TcpStream> {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// The client address of a tracked connection, as axum's `ConnectInfo` (plain and TLS listeners alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TrackedListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TrackedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<SocketAddr> for Peer {
    fn connect_info(addr: SocketAddr) -> Self {
        Peer(addr)
    }
}

/// A TCP listener for axum whose connections are [`Tracked`] and have `TCP_NODELAY` set.
#[derive(Debug)]
pub struct TrackedListener {
    inner: TcpListener,
    metrics: Arc<ConnectionMetrics>,
    protocol: Protocol,
}

impl TrackedListener {
    /// Tracks the connections `inner` accepts as `protocol`.
    pub fn new(inner: TcpListener, metrics: Arc<ConnectionMetrics>, protocol: Protocol) -> Self {
        Self { inner, metrics, protocol }
    }
}

impl axum::serve::Listener for TrackedListener {
    type Io = Tracked<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (Tracked::new(stream, self.metrics.clone(), self.protocol), addr);
                }
                // Out of descriptors or a connection reset before accept: back off briefly, keep serving.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
