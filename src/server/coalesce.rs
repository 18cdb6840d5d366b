//! Fewer, fuller writes for HTTP/2 connections (gRPC, and REST over TLS).
//!
//! The `h2` crate writes a DATA frame larger than 256 bytes straight from its buffer and must flush it before it
//! encodes the next frame, so a gRPC answer (HEADERS, DATA, trailers) goes out in two `writev` calls, each a TCP
//! segment of its own: the second one carries ten bytes of trailers; under TLS every such flush is a TLS record
//! and a write. [`Coalesced`] takes the bytes instead of
//! writing them and answers the first flush of a batch without writing; it writes everything it holds at the
//! next flush, read or shutdown. A deferred flush wakes the connection's task, whose next poll flushes, so bytes
//! never wait for more traffic; what it holds is bounded by [`HOLD_LIMIT`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes held before a write goes out regardless of flushes.
pub const HOLD_LIMIT: usize = 64 * 1024;

/// A stream whose writes are gathered and written at the second flush of a batch (see the module).
#[derive(Debug)]
pub struct Coalesced<S> {
    inner: S,
    held: Vec<u8>,
    /// How much of `held` has been written.
    sent: usize,
    /// A flush was answered without writing `held`.
    deferred: bool,
}

impl<S> Coalesced<S> {
    /// Gathers the writes to `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner, held: Vec::new(), sent: 0, deferred: false }
    }
}

impl<S: tonic::transport::server::Connected> tonic::transport::server::Connected for Coalesced<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

impl<S: AsyncWrite + Unpin> Coalesced<S> {
    /// Writes out everything held.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.held.clear();
        self.sent = 0;
        self.deferred = false;
        Poll::Ready(Ok(()))
    }

    fn poll_hold(&mut self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if self.held.len() >= HOLD_LIMIT {
            ready!(self.poll_drain(cx))?;
        }
        let before = self.held.len();
        for b in bufs {
            self.held.extend_from_slice(b);
        }
        Poll::Ready(Ok(self.held.len() - before))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Coalesced<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Bytes whose flush was deferred go out before the task waits for more requests. A full socket is no
        // reason not to read: the write is retried when it drains (the waker is registered for both).
        if !this.held.is_empty()
            && let Poll::Ready(Err(e)) = this.poll_drain(cx)
        {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesced<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_hold(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_hold(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.held.is_empty() {
            if !this.deferred {
                // The first flush of a batch: more frames of the same poll may follow. The task is polled again
                // and flushes then at the latest.
                this.deferred = true;
                cx.waker().wake_by_ref();
                return Poll::Ready(Ok(()));
            }
            ready!(this.poll_drain(cx))?;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    #[tokio::test]
    async fn the_second_flush_writes_what_both_gathered() {
        let (near, mut far) = duplex(1 << 20);
        let mut c = Coalesced::new(near);
        c.write_all(b"headers+data").await.unwrap();
        c.flush().await.unwrap();
        let mut buf = [0u8; 64];
        let nothing = tokio::time::timeout(std::time::Duration::from_millis(50), far.read(&mut buf)).await;
        assert!(nothing.is_err(), "the first flush of a batch writes nothing yet");
        c.write_all(b"+trailers").await.unwrap();
        c.flush().await.unwrap();
        let n = far.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"headers+data+trailers", "one write with both");
    }

    #[tokio::test]
    async fn a_read_or_a_shutdown_writes_a_deferred_flush() {
        let (near, mut far) = duplex(1 << 20);
        let mut c = Coalesced::new(near);
        c.write_all(b"answer").await.unwrap();
        c.flush().await.unwrap();
        far.write_all(b"next request").await.unwrap();
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next request");
        let n = far.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"answer", "written before the read");
        c.write_all(b"last").await.unwrap();
        c.flush().await.unwrap();
        c.shutdown().await.unwrap();
        let mut rest = Vec::new();
        far.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"last");
    }

    #[tokio::test]
    async fn a_deferred_flush_wakes_the_task() {
        let (near, mut far) = duplex(1 << 20);
        let mut c = Coalesced::new(near);
        c.write_all(b"lone answer").await.unwrap();
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        assert!(Pin::new(&mut c).poll_flush(&mut Context::from_waker(&waker)).is_ready());
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1, "polled again, the task flushes what it deferred");
        c.flush().await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(far.read(&mut buf).await.unwrap(), 11);
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn a_large_answer_is_written_whole() {
        // Smaller than the held limit on the far side: the writer must drain while the reader reads.
        let (near, mut far) = duplex(4096);
        let body: Vec<u8> = (0..HOLD_LIMIT * 3).map(|i| (i % 251) as u8).collect();
        let writer = tokio::spawn({
            let body = body.clone();
            async move {
                let mut c = Coalesced::new(near);
                for chunk in body.chunks(1000) {
                    c.write_all(chunk).await.unwrap();
                    c.flush().await.unwrap();
                }
                c.shutdown().await.unwrap();
            }
        });
        let mut got = Vec::new();
        far.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, body);
    }
}
