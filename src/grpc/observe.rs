//! What happens around every gRPC call: its [`Scope`] (request id from `x-request-id` metadata, taken or
//! minted; origin; span), and its request metrics when its final status is known: a trailers-only answer, or the
//! trailers at the end of the response stream; its duration runs until then. The operation is the one the
//! service method marks when it starts ([`Dispatched`]; [`Service`] for the health and reflection services);
//! the result comes from the error a method answered with ([`super::status`] keeps it as the status's source),
//! else from the gRPC status of tonic's own answers and of the transport.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tracing::Instrument as _;

use crate::connection::Peer;
use crate::error::NodeError;
use crate::http::pipeline::request_id_header;
use crate::request::{Operation, Origin, Outcome, Protocol, REQUEST_ID, RequestMetrics, Scope, take_request_id};

/// The operation a call's method dispatched, shared by the middleware and the method (through the request's
/// extensions).
#[derive(Debug, Clone, Default)]
pub struct Dispatched(Arc<AtomicUsize>);

impl Dispatched {
    const UNSET: usize = usize::MAX;

    fn new() -> Self {
        Self(Arc::new(AtomicUsize::new(Self::UNSET)))
    }

    /// The method dispatched the call as `op`.
    pub fn set(&self, op: Operation) {
        self.0.store(op as usize, Ordering::Relaxed);
    }

    fn get(&self) -> Option<Operation> {
        Operation::ALL.get(self.0.load(Ordering::Relaxed)).copied()
    }
}

/// Marks the call of `req` as `op`: the first thing each method of ours does.
pub fn dispatched<T>(req: &tonic::Request<T>, op: Operation) {
    if let Some(d) = req.extensions().get::<Dispatched>() {
        d.set(op);
    }
}

/// A service that is not ours (health, reflection), its calls marked [`Operation::Service`].
#[derive(Debug, Clone)]
pub struct Service<S>(pub S);

impl<S: tonic::server::NamedService> tonic::server::NamedService for Service<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<axum::http::Request<B>> for Service<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        if let Some(d) = req.extensions().get::<Dispatched>() {
            d.set(Operation::Service);
        }
        self.0.call(req)
    }
}

/// The result of a call whose answer is `headers` (and its extensions), if it is final there.
fn outcome(headers: &HeaderMap, answered: Option<&tonic::Status>) -> Option<Outcome> {
    if let Some(status) = answered {
        let ours = std::error::Error::source(status).and_then(|s| s.downcast_ref::<NodeError>());
        return Some(
            ours.map_or_else(|| Outcome::from_grpc_code(status.code() as i32), |e| Outcome::from_code(e.code)),
        );
    }
    grpc_status(headers)
}

/// The result the transport's `grpc-status` reports, if any.
fn grpc_status(headers: &HeaderMap) -> Option<Outcome> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(Outcome::from_grpc_code(code))
}

/// Finishes a call's scope with what its method dispatched.
struct Finish {
    metrics: Arc<RequestMetrics>,
    scope: Scope,
    dispatched: Dispatched,
}

impl Finish {
    fn record(mut self, outcome: Outcome) {
        self.scope.dispatched(self.dispatched.get().unwrap_or(Operation::Other));
        self.scope.finish(&self.metrics, outcome);
    }
}

/// A response body that finishes the call at its trailers. A call dropped before its end (a client that
/// cancelled or went away) is not counted.
struct CountedBody {
    inner: Body,
    finish: Option<Finish>,
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        let end = match &r {
            Poll::Ready(Some(Ok(f))) => f.trailers_ref().map(|t| grpc_status(t).unwrap_or(Outcome::Ok)),
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
    let peer = req
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|c| c.remote_addr())
        .or_else(|| req.extensions().get::<ConnectInfo<Peer>>().map(|c| c.0.0));
    let id = take_request_id(req.headers().get(REQUEST_ID).map(|v| v.as_bytes()));
    let scope = Scope::open(Origin::new(Protocol::Grpc, peer).with_request_id(id));
    let dispatched = Dispatched::new();
    req.extensions_mut().insert(scope.origin().clone());
    req.extensions_mut().insert(dispatched.clone());
    let resp = next.run(req).instrument(scope.span()).await;
    let (mut parts, body) = resp.into_parts();
    if let Some(v) = request_id_header(scope.request_id()) {
        parts.headers.insert(REQUEST_ID, v);
    }
    let finish = Finish { metrics, scope, dispatched };
    if let Some(o) = outcome(&parts.headers, parts.extensions.get::<tonic::Status>()) {
        finish.record(o);
        return Response::from_parts(parts, body);
    }
    Response::from_parts(parts, Body::new(CountedBody { inner: body, finish: Some(finish) }))
}
