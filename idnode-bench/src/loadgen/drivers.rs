//! One client per protocol, as the load generator drives them: each answers whether the reply was the right one
//! (a record for an existing identifier, "not found" for a missing one). gRPC results are read from the
//! message and its status, never from HTTP/2 framing alone.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::grpc_client::{ResolveClient, ResolveSummary, right_response_code};
use super::{idpointer_client, java_client};
use idnode::grpc::pb;
use idnode::hdl::client::{exchange_tcp, exchange_udp, resolution_request, udp_socket};
use idnode::hdl::udp::{Datagrams, RecvBuffers};

/// Time allowed for one answer before it counts as an error.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A protocol to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// REST over HTTP/1.1 keep-alive, one connection per worker.
    Http1,
    /// REST over HTTP/2 (prior knowledge), workers sharing `connections` connections.
    Http2,
    /// gRPC `Resolve`, workers sharing `connections` channels.
    GrpcUnary,
    /// gRPC `ResolveStream`, one stream per worker with `depth` requests in flight.
    GrpcStream,
    /// The Handle protocol over UDP, one socket per worker.
    HandleUdp,
    /// The Handle protocol over TCP, one connection per worker.
    HandleTcp,
    /// The Handle protocol over UDP as the Handle.Net Java client sends it (see [`super::java_client`]): its
    /// version, flags and fields, its resends after 500, 1,000 and 1,500 ms, then TCP.
    HandleUdpJava,
    /// The Handle protocol over TCP as the Java client sends it: a new connection per request.
    HandleTcpJava,
    /// The Handle protocol over TCP as the Teleinfo/CAICT SDK sends it (see [`super::idpointer_client`]): its
    /// version and fields, one connection per worker kept open.
    HandleTcpIdpointer,
    /// Reference: etcd's serializable `Range` of the same keys, workers sharing `connections` channels.
    EtcdRange,
}

/// What a connection shared by workers is.
#[derive(Clone)]
pub enum Shared {
    /// An HTTP/2 connection.
    H2(http2::SendRequest<Empty<Bytes>>),
    /// A gRPC channel.
    Grpc(Channel),
}

/// Opens one shared connection for `proto` (HTTP/2 and gRPC unary).
pub async fn connect_shared(proto: Proto, addr: SocketAddr) -> anyhow::Result<Option<Shared>> {
    Ok(match proto {
        Proto::Http2 => {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let (send, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            Some(Shared::H2(send))
        }
        Proto::GrpcUnary | Proto::EtcdRange => Some(Shared::Grpc(channel(addr).await?)),
        _ => None,
    })
}

async fn channel(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true).connect().await?)
}

/// A worker's client.
pub enum Driver {
    /// HTTP/1.1.
    H1(http1::SendRequest<Empty<Bytes>>),
    /// HTTP/2.
    H2(http2::SendRequest<Empty<Bytes>>),
    /// gRPC unary.
    Unary(ResolveClient),
    /// gRPC stream: the request sender, the response stream, and the requests in flight.
    Stream(mpsc::Sender<pb::ResolveRequest>, tonic::Streaming<ResolveSummary>, VecDeque<(Instant, bool)>),
    /// Handle over UDP: the socket, its receive buffers, the server, and the last request id.
    Udp(Box<(Datagrams, RecvBuffers)>, SocketAddr, u32),
    /// Handle over TCP.
    Tcp(TcpStream, u32),
    /// Handle over UDP as the Java client: the socket, its receive buffers, the server.
    UdpJava(Box<(Datagrams, RecvBuffers)>, SocketAddr),
    /// Handle over TCP as the Java client: the server.
    TcpJava(SocketAddr),
    /// Handle over TCP as the Teleinfo/CAICT SDK.
    TcpIdpointer(TcpStream),
    /// etcd `Range`.
    Etcd(etcd::kv_client::KvClient<Channel>),
}

/// The client of etcd's KV API (reference measurements only).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod etcd {
    tonic::include_proto!("etcdserverpb");
}

/// Puts `keys` (each with a value of `value_len` bytes) into etcd at `addr`, `concurrency` at a time.
pub async fn etcd_preload(
    addr: SocketAddr,
    keys: Vec<String>,
    value_len: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let client = etcd::kv_client::KvClient::new(channel(addr).await?);
    let value = vec![b'x'; value_len];
    let keys = std::sync::Arc::new(std::sync::Mutex::new(keys));
    let mut tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>> = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (mut client, keys, value) = (client.clone(), keys.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(key) = keys.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop() else { return Ok(()) };
                client.put(etcd::PutRequest { key: key.into_bytes(), value: value.clone(), lease: 0 }).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

impl Driver {
    /// Opens the worker's client (using `shared` for HTTP/2 and gRPC unary).
    pub async fn open(proto: Proto, addr: SocketAddr, shared: Option<Shared>) -> anyhow::Result<Self> {
        Ok(match (proto, shared) {
            (Proto::Http1, _) => {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                let (send, conn) = http1::handshake(TokioIo::new(tcp)).await?;
                tokio::spawn(conn);
                Driver::H1(send)
            }
            (Proto::Http2, Some(Shared::H2(s))) => Driver::H2(s),
            (Proto::GrpcUnary, Some(Shared::Grpc(c))) => Driver::Unary(ResolveClient::new(c)),
            (Proto::EtcdRange, Some(Shared::Grpc(c))) => Driver::Etcd(etcd::kv_client::KvClient::new(c)),
            (Proto::GrpcStream, _) => {
                let (tx, rx) = mpsc::channel(1024);
                let mut client = ResolveClient::new(channel(addr).await?);
                let responses = client.resolve_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await?;
                Driver::Stream(tx, responses, VecDeque::new())
            }
            (Proto::HandleUdp, _) => {
                Driver::Udp(Box::new((udp_socket(addr).await?, RecvBuffers::new(1))), addr, rand::random())
            }
            (Proto::HandleTcp, _) => {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                Driver::Tcp(tcp, rand::random())
            }
            (Proto::HandleUdpJava, _) => {
                Driver::UdpJava(Box::new((udp_socket(addr).await?, RecvBuffers::new(1))), addr)
            }
            (Proto::HandleTcpJava, _) => Driver::TcpJava(addr),
            (Proto::HandleTcpIdpointer, _) => {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                Driver::TcpIdpointer(tcp)
            }
            (p, _) => anyhow::bail!("{p:?} needs a shared connection"),
        })
    }

    /// Whether the driver pipelines (gRPC stream): then use [`Driver::send`] and [`Driver::receive`].
    pub fn pipelined(&self) -> bool {
        matches!(self, Driver::Stream(..))
    }

    /// Resolves `handle`, which exists when `hit`; `Ok(true)` when the answer is the right one.
    pub async fn call(&mut self, handle: &str, hit: bool) -> anyhow::Result<bool> {
        match self {
            Driver::H1(s) => {
                s.ready().await?;
                let resp = s.send_request(get(handle)?).await?;
                http_ok(resp, hit).await
            }
            Driver::H2(s) => {
                let mut s = s.clone();
                s.ready().await?;
                let resp = s.send_request(get(handle)?).await?;
                http_ok(resp, hit).await
            }
            Driver::Unary(c) => {
                let v = c.resolve(pb::ResolveRequest { handle: handle.into(), ..Default::default() }).await?;
                Ok(v.is_right(hit))
            }
            Driver::Udp(io, server, id) => {
                *id = id.wrapping_add(1);
                let (env, msg) = resolution_request(*id, handle, &[], &[], false);
                let (sock, bufs) = &mut **io;
                let a = tokio::time::timeout(ANSWER_TIMEOUT, exchange_udp(sock, bufs, *server, env, &msg)).await??;
                Ok(right_response_code(a.header.response_code, hit))
            }
            Driver::Tcp(s, id) => {
                *id = id.wrapping_add(1);
                let (env, msg) = resolution_request(*id, handle, &[], &[], false);
                let a = tokio::time::timeout(ANSWER_TIMEOUT, exchange_tcp(s, env, &msg)).await??;
                Ok(right_response_code(a.header.response_code, hit))
            }
            Driver::UdpJava(io, server) => {
                let (sock, bufs) = &mut **io;
                let a = java_client::resolve_udp(sock, bufs, *server, handle).await?;
                Ok(right_response_code(a.header.response_code, hit))
            }
            Driver::TcpJava(server) => {
                let a = tokio::time::timeout(ANSWER_TIMEOUT, java_client::resolve_tcp(*server, handle)).await??;
                Ok(right_response_code(a.header.response_code, hit))
            }
            Driver::TcpIdpointer(s) => {
                let a = tokio::time::timeout(ANSWER_TIMEOUT, idpointer_client::resolve(s, handle)).await??;
                Ok(right_response_code(a.header.response_code, hit))
            }
            Driver::Etcd(c) => {
                let req =
                    etcd::RangeRequest { key: handle.as_bytes().to_vec(), serializable: true, ..Default::default() };
                let kvs = c.range(req).await?.into_inner().kvs;
                Ok(kvs.len() == usize::from(hit))
            }
            Driver::Stream(..) => anyhow::bail!("a stream is driven with send and receive"),
        }
    }

    /// Pipelined drivers: queues a request.
    pub async fn send(&mut self, handle: &str, hit: bool) -> anyhow::Result<()> {
        let Driver::Stream(tx, _, inflight) = self else { anyhow::bail!("not pipelined") };
        inflight.push_back((Instant::now(), hit));
        tx.send(pb::ResolveRequest { handle: handle.into(), ..Default::default() }).await?;
        Ok(())
    }

    /// Pipelined drivers: the oldest answer: when it was asked, and whether it was right.
    pub async fn receive(&mut self) -> anyhow::Result<(Instant, bool)> {
        let Driver::Stream(_, responses, inflight) = self else { anyhow::bail!("not pipelined") };
        let r = responses.message().await?.ok_or_else(|| anyhow::anyhow!("stream ended"))?;
        let (sent, hit) = inflight.pop_front().ok_or_else(|| anyhow::anyhow!("answer without a request"))?;
        Ok((sent, r.is_right(hit)))
    }

    /// Pipelined drivers: requests in flight.
    pub fn in_flight(&self) -> usize {
        match self {
            Driver::Stream(_, _, q) => q.len(),
            _ => 0,
        }
    }
}

fn get(handle: &str) -> anyhow::Result<hyper::Request<Empty<Bytes>>> {
    Ok(hyper::Request::get(format!("/api/handles/{handle}")).header("host", "idnode").body(Empty::new())?)
}

async fn http_ok(resp: hyper::Response<hyper::body::Incoming>, hit: bool) -> anyhow::Result<bool> {
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status == if hit { 200 } else { 404 })
}
