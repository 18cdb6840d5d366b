//! `Resolve`, `ResolveBatch` and `ResolveStream`. Outcomes per identifier are values; only authentication and
//! limits fail a whole call.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};

use super::convert::{error_out, value_out};
use super::response::encode_values;
use super::{ServiceState, pb, status};
use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Filter, Node, RenderingSlot};
use crate::request::Operation;

/// The Resolver service.
#[derive(Clone)]
pub struct ResolverService(pub(crate) ServiceState);

/// Where a cached record keeps the values of its public view, encoded as protobuf once.
static ENCODED_VALUES: std::sync::LazyLock<RenderingSlot<Bytes>> = std::sync::LazyLock::new(RenderingSlot::claim);

/// Whether resolving `req` may wait for the disk (see [`Node::may_wait_for_disk`]).
fn waits_for_disk(node: &Arc<Node>, req: &pb::ResolveRequest) -> bool {
    node.may_wait_for_disk(&req.handle)
}

/// Resolves one request for `caller`; every failure becomes the response's error.
fn resolve_one(node: &Node, req: pb::ResolveRequest, caller: &Caller) -> pb::ResolveResponse {
    let pb::ResolveRequest { handle, indexes, types, public_only } = req;
    let filter = Filter { indexes, types, public_only: public_only.unwrap_or(caller.is_anonymous()) };
    let outcome = node.parse_handle(&handle).and_then(|h| node.resolve(&h, &filter, caller));
    match outcome {
        Ok(r) => {
            let response_code = r.response_code();
            // The public view's values are encoded once per cached record.
            let encode = || encode_values(&r.values().map(value_out).collect::<Vec<_>>());
            let encoded_values = r.rendering(*ENCODED_VALUES, encode);
            pb::ResolveResponse { handle, response_code, encoded_values, ..Default::default() }
        }
        Err(e) => pb::ResolveResponse {
            handle,
            response_code: e.code.response_code(),
            error: Some(error_out(&e)),
            ..Default::default()
        },
    }
}

type ResolveStream = Pin<Box<dyn Stream<Item = Result<pb::ResolveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::resolver_server::Resolver for ResolverService {
    async fn resolve(&self, req: Request<pb::ResolveRequest>) -> Result<Response<pb::ResolveResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Resolve)?;
        let caller = self.0.caller(&req)?;
        let req = req.into_inner();
        let resolve = move |node: &Arc<Node>, req| resolve_one(node, req, &caller);
        Ok(Response::new(self.0.runtime.read(&self.0.node, req, waits_for_disk, resolve).await))
    }

    async fn resolve_batch(
        &self,
        req: Request<pb::ResolveBatchRequest>,
    ) -> Result<Response<pb::ResolveBatchResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::ResolveBatch)?;
        let max = self.0.settings.max_resolve_batch;
        let n = req.get_ref().requests.len();
        if n > max {
            return Err(status(NodeError::new(
                ErrorCode::BadRequest,
                format!("ResolveBatch of {n} identifiers exceeds the maximum of {max}"),
            )));
        }
        let caller = self.0.caller(&req)?;
        let requests = req.into_inner().requests;
        let any_waits = |node: &Arc<Node>, requests: &Vec<_>| requests.iter().any(|r| waits_for_disk(node, r));
        let resolve = move |node: &Arc<Node>, requests: Vec<_>| {
            requests.into_iter().map(|r| resolve_one(node, r, &caller)).collect()
        };
        let results = self.0.runtime.read(&self.0.node, requests, any_waits, resolve).await;
        Ok(Response::new(pb::ResolveBatchResponse { results }))
    }

    type ResolveStreamStream = ResolveStream;

    async fn resolve_stream(
        &self,
        req: Request<Streaming<pb::ResolveRequest>>,
    ) -> Result<Response<ResolveStream>, Status> {
        let admitted = self.0.dispatch(&req, Operation::ResolveStream)?;
        let caller = std::sync::Arc::new(self.0.caller(&req)?);
        let place = self.0.streams.enter(caller.origin().peer.map(|p| p.ip())).ok_or_else(|| {
            let max = self.0.settings.max_streams_per_client;
            let why = format!("this client holds {max} ResolveStream calls open already (grpc.max_streams_per_client)");
            status(NodeError::new(ErrorCode::Overloaded, why))
        })?;
        let (node, runtime) = (self.0.node.clone(), self.0.runtime.clone());
        let mut inbound = req.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let _held = (admitted, place);
            while let Some(item) = inbound.next().await {
                let reply = match item {
                    Ok(r) => {
                        let caller = caller.clone();
                        let resolve = move |node: &Arc<Node>, r| resolve_one(node, r, &caller);
                        Ok(runtime.read(&node, r, waits_for_disk, resolve).await)
                    }
                    Err(e) => Err(e),
                };
                let failed = reply.is_err();
                if tx.send(reply).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}
