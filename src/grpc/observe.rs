//! What happens around every gRPC call: its request id (`x-request-id` metadata, taken or minted), its
//! [`Origin`] for the services, a tracing span, and the request metrics. A call's result is its final status:
//! the `idnode-response-code` or `grpc-status` of a trailers-only answer, or of the trailers at the end of the
//! response stream; its duration runs until then.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tracing::Instrument as _;

use crate::connection::Peer;
use crate::http::pipeline::request_id_header;
use crate::request::{Operation, Origin, Outcome, Protocol, REQUEST_ID, RequestMetrics, take_request_id};

fn operation(path: &str) -> Operation {
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
    match (service, method) {
        ("idnode.v1.Resolver", "Resolve") => Operation::Resolve,
        ("idnode.v1.Resolver", "ResolveBatch") => Operation::ResolveBatch,
        ("idnode.v1.Resolver", "ResolveStream") => Operation::ResolveStream,
        ("idnode.v1.Registry", "Create") => Operation::Create,
        ("idnode.v1.Registry", "Replace" | "AddValues" | "ModifyValues" | "RemoveValues") => Operation::Update,
        ("idnode.v1.Registry", "Delete") => Operation::Delete,
        ("idnode.v1.Registry", "BatchRegister") => Operation::BatchRegister,
        ("idnode.v1.Registry", "ListHandles" | "ListPrefixes") => Operation::List,
        ("idnode.v1.Statistics", _) => Operation::Statistics,
        (s, _) if s.starts_with("grpc.") => Operation::Service,
        _ => Operation::Other,
    }
}

/// The result a status in `headers` (or trailers) reports, if any.
fn outcome(headers: &HeaderMap) -> Option<Outcome> {
    let num = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
    if let Some(rc) = num("idnode-response-code") {
        return Some(Outcome::from_response_code(u32::try_from(rc).unwrap_or(2)));
    }
    num("grpc-status").map(|c| Outcome::from_grpc_code(i32::try_from(c).unwrap_or(2)))
}

/// Records the call when its final status is known.
struct Finish {
    metrics: Arc<RequestMetrics>,
    op: Operation,
    start: Instant,
}

impl Finish {
    fn record(self, outcome: Outcome) {
        self.metrics.record(Protocol::Grpc, self.op, outcome, self.start.elapsed());
    }
}

/// A response body that records the call at its trailers. A call dropped before its end (a client that
/// cancelled or went away) is not counted.
struct Observed {
    inner: Body,
    finish: Option<Finish>,
}

impl http_body::Body for Observed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        let end = match &r {
            Poll::Ready(Some(Ok(f))) => f.trailers_ref().map(|t| outcome(t).unwrap_or(Outcome::Ok)),
            Poll::Ready(Some(Err(_))) => Some(Outcome::Error),
            Poll::Ready(None) => Some(Outcome::Ok),
            Poll::Pending => None,
        };
        if let Some(o) = end
            && let Some(f) = this.finish.take()
        {
            f.record(o);
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The middleware.
pub async fn observe(State(metrics): State<Arc<RequestMetrics>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let op = operation(req.uri().path());
    let peer = req
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|c| c.remote_addr())
        .or_else(|| req.extensions().get::<ConnectInfo<Peer>>().map(|c| c.0.0));
    let id = take_request_id(req.headers().get(REQUEST_ID).map(|v| v.as_bytes()));
    let span = tracing::info_span!("request", request_id = %id, protocol = "grpc", method = %req.uri().path());
    req.extensions_mut().insert(Origin::new(Protocol::Grpc, peer).with_request_id(id.as_str()));
    let resp = next.run(req).instrument(span).await;
    let (mut parts, body) = resp.into_parts();
    if let Some(v) = request_id_header(&id) {
        parts.headers.insert(REQUEST_ID, v);
    }
    let finish = Finish { metrics, op, start };
    if let Some(o) = outcome(&parts.headers) {
        finish.record(o);
        return Response::from_parts(parts, body);
    }
    Response::from_parts(parts, Body::new(Observed { inner: body, finish: Some(finish) }))
}
