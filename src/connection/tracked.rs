//! Connections that count, for every listener: [`Tracked`] wraps an admitted stream, adds the bytes it reads and
//! writes to its protocol's counters, notes its activity for the sweep and holds its place until it is dropped.
//! [`TrackedListener`] hands out tracked TCP connections to axum.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::{Connections, Open};
use crate::request::Protocol;

/// An admitted stream, its traffic counted and its activity noted.
#[derive(Debug)]
pub struct Tracked<S> {
    inner: S,
    connections: Arc<Connections>,
    open: Arc<Open>,
    id: u64,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, connections: Arc<Connections>, open: Arc<Open>, id: u64) -> Self {
        Self { inner, connections, open, id }
    }
}

impl<S> Drop for Tracked<S> {
    // Runs before `inner` is dropped, so the connection leaves the registry while its descriptor is still open.
    fn drop(&mut self) {
        self.connections.forget(self.id, self.open.protocol);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.open.activity.read();
            self.connections.metrics.bytes(self.open.protocol, n as u64, 0);
        }
        r
    }
}

impl<S> Tracked<S> {
    #[inline]
    fn wrote(&self, r: &Poll<io::Result<usize>>) {
        match r {
            Poll::Ready(Ok(n)) => {
                self.open.activity.wrote();
                self.connections.metrics.bytes(self.open.protocol, 0, *n as u64);
            }
            Poll::Pending => self.open.activity.blocked(),
            Poll::Ready(Err(_)) => {}
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&r);
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

/// A TCP listener for axum whose connections are admitted, [`Tracked`] and have `TCP_NODELAY` set.
#[derive(Debug)]
pub struct TrackedListener {
    inner: TcpListener,
    connections: Arc<Connections>,
    protocol: Protocol,
}

impl TrackedListener {
    /// Admits the connections `inner` accepts as `protocol`.
    pub fn new(inner: TcpListener, connections: Arc<Connections>, protocol: Protocol) -> Self {
        Self { inner, connections, protocol }
    }
}

impl axum::serve::Listener for TrackedListener {
    type Io = Tracked<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Refused: dropped, which closes it (and counted).
                    let Ok(tracked) = self.connections.admit(stream, Some(addr.ip()), self.protocol) else { continue };
                    let _ = tracked.inner.set_nodelay(true);
                    return (tracked, addr);
                }
                // Out of descriptors or a connection reset before accept: back off briefly, keep serving.
                Err(e) => {
                    static LINE: crate::log::Sparse = crate::log::Sparse::new();
                    if let Some(unlogged) = LINE.due() {
                        tracing::warn!(error = %e, unlogged, "accept failed (unlogged: failures since the last line)");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
