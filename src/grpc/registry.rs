//! Registration RPCs: single writes, `BatchRegister` with per-item results, and listings.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::convert::{error_out, values_in};
use super::{ServiceState, pb, status};
use crate::error::{ErrorCode, NodeError};
use crate::id::Prefix;
use crate::node::{Caller, Node, Page, PutOutcome, RecordMode, RecordWrite, ValueMode, now};
use crate::record::HandleValue;
use crate::request::Operation;
use crate::template::{TEMPLATE_VERSION_INDEX, TEMPLATE_VERSION_TYPE};

/// The Registry service.
#[derive(Clone)]
pub struct RegistryService(pub(crate) ServiceState);

/// Handles per message of a `ListHandles` stream.
const LIST_CHUNK: usize = 1000;

type ListStream = Pin<Box<dyn Stream<Item = Result<pb::ListHandlesResponse, Status>> + Send>>;

impl RegistryService {
    /// Runs a blocking core call (writes fsync) off the async workers.
    async fn run<T: Send + 'static>(
        &self,
        caller: Caller,
        f: impl FnOnce(&Node, &Caller) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, Status> {
        let node = self.0.node.clone();
        crate::runtime::blocking(move || f(&node, &caller))
            .await
            .map_err(|_| Status::internal("request task failed"))?
            .map_err(status)
    }

    async fn write(
        &self,
        caller: Caller,
        handle: String,
        mode: RecordMode,
        values: Vec<pb::HandleValue>,
        template_version: String,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        let written = handle.clone();
        let outcome = self
            .run(caller, move |node, caller| {
                let h = node.parse_handle(&handle)?;
                node.write_record(caller, &h, record_values(values, template_version)?, mode)
            })
            .await?;
        Ok(Response::new(pb::WriteResponse {
            handle: written,
            response_code: 1,
            created: outcome == PutOutcome::Created,
        }))
    }

    async fn values(
        &self,
        req: Request<pb::ValuesRequest>,
        mode: ValueMode,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        let caller = self.0.caller(&req)?;
        let pb::ValuesRequest { handle, values } = req.into_inner();
        let written = handle.clone();
        self.run(caller, move |node, caller| {
            let h = node.parse_handle(&handle)?;
            node.put_values(caller, &h, values_in(values, now())?, None, mode)
        })
        .await?;
        Ok(Response::new(pb::WriteResponse { handle: written, response_code: 1, created: false }))
    }
}

/// The core values of a record written with `values`, naming the template `version` when given.
fn record_values(values: Vec<pb::HandleValue>, version: String) -> Result<Vec<HandleValue>, NodeError> {
    let stamp = now();
    let mut out = values_in(values, stamp)?;
    if !version.is_empty() {
        out.retain(|v| v.index != TEMPLATE_VERSION_INDEX);
        out.push(HandleValue::new(TEMPLATE_VERSION_INDEX, TEMPLATE_VERSION_TYPE, version.into_bytes(), stamp));
    }
    Ok(out)
}

/// The results of a batch, in order: consecutive creates and updates go to the store as one write (one fsync),
/// a delete on its own between them.
fn batch_results(node: &Node, caller: &Caller, items: Vec<pb::BatchItem>) -> Vec<pb::BatchResult> {
    let mut results = Vec::with_capacity(items.len());
    let mut run: Vec<(String, Result<RecordWrite, NodeError>)> = Vec::new();
    let write = |node: &Node, handle: &str, values, version, mode| {
        let h = node.parse_handle(handle)?;
        Ok(RecordWrite { h, values: record_values(values, version)?, mode })
    };
    for item in items {
        match item.op {
            Some(pb::batch_item::Op::Create(c)) => {
                let mode = if c.overwrite { RecordMode::CreateOrReplace } else { RecordMode::CreateIdempotent };
                let w = write(node, &c.handle, c.values, c.template_version, mode);
                run.push((c.handle, w));
            }
            Some(pb::batch_item::Op::Update(u)) => {
                let w = write(node, &u.handle, u.values, u.template_version, RecordMode::Replace);
                run.push((u.handle, w));
            }
            other => {
                flush(node, caller, &mut run, &mut results);
                let (handle, outcome) = match other {
                    Some(pb::batch_item::Op::Delete(d)) => {
                        let done = node.parse_handle(&d.handle).and_then(|h| node.delete_handle(caller, &h));
                        (d.handle, done.map(|()| PutOutcome::Updated))
                    }
                    _ => (String::new(), Err(NodeError::new(ErrorCode::BadRequest, "batch item without an operation"))),
                };
                results.push(batch_result(handle, outcome));
            }
        }
    }
    flush(node, caller, &mut run, &mut results);
    results
}

/// Writes the pending run of record writes as one store write and appends their results.
fn flush(
    node: &Node,
    caller: &Caller,
    run: &mut Vec<(String, Result<RecordWrite, NodeError>)>,
    results: &mut Vec<pb::BatchResult>,
) {
    if run.is_empty() {
        return;
    }
    let (handles, writes): (Vec<String>, Vec<_>) = std::mem::take(run).into_iter().unzip();
    let outcomes = node.write_records(caller, writes);
    results.extend(handles.into_iter().zip(outcomes).map(|(h, o)| batch_result(h, o)));
}

/// The result of one batch item.
fn batch_result(handle: String, outcome: Result<PutOutcome, NodeError>) -> pb::BatchResult {
    match outcome {
        Ok(o) => pb::BatchResult { handle, response_code: 1, error: None, created: o == PutOutcome::Created },
        Err(e) => pb::BatchResult {
            handle,
            response_code: e.code.response_code(),
            error: Some(error_out(&e)),
            created: false,
        },
    }
}

#[tonic::async_trait]
impl pb::registry_server::Registry for RegistryService {
    async fn create(&self, req: Request<pb::CreateRequest>) -> Result<Response<pb::WriteResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Create)?;
        let caller = self.0.caller(&req)?;
        let pb::CreateRequest { handle, values, overwrite, template_version } = req.into_inner();
        let mode = if overwrite { RecordMode::CreateOrReplace } else { RecordMode::Create };
        self.write(caller, handle, mode, values, template_version).await
    }

    async fn replace(&self, req: Request<pb::ReplaceRequest>) -> Result<Response<pb::WriteResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Update)?;
        let caller = self.0.caller(&req)?;
        let pb::ReplaceRequest { handle, values, template_version } = req.into_inner();
        self.write(caller, handle, RecordMode::Replace, values, template_version).await
    }

    async fn add_values(&self, req: Request<pb::ValuesRequest>) -> Result<Response<pb::WriteResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Update)?;
        self.values(req, ValueMode::Add).await
    }

    async fn modify_values(&self, req: Request<pb::ValuesRequest>) -> Result<Response<pb::WriteResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Update)?;
        self.values(req, ValueMode::Modify).await
    }

    async fn remove_values(
        &self,
        req: Request<pb::RemoveValuesRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Update)?;
        let caller = self.0.caller(&req)?;
        let pb::RemoveValuesRequest { handle, indexes } = req.into_inner();
        let written = handle.clone();
        self.run(caller, move |node, caller| node.delete_values(caller, &node.parse_handle(&handle)?, &indexes))
            .await?;
        Ok(Response::new(pb::WriteResponse { handle: written, response_code: 1, created: false }))
    }

    async fn delete(&self, req: Request<pb::DeleteRequest>) -> Result<Response<pb::WriteResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Delete)?;
        let caller = self.0.caller(&req)?;
        let handle = req.into_inner().handle;
        let written = handle.clone();
        self.run(caller, move |node, caller| node.delete_handle(caller, &node.parse_handle(&handle)?)).await?;
        Ok(Response::new(pb::WriteResponse { handle: written, response_code: 1, created: false }))
    }

    async fn batch_register(
        &self,
        req: Request<pb::BatchRegisterRequest>,
    ) -> Result<Response<pb::BatchRegisterResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::BatchRegister)?;
        let caller = self.0.caller(&req)?;
        caller.require().map_err(status)?;
        let items = req.into_inner().items;
        let max = self.0.settings.max_register_batch;
        if items.len() > max {
            let msg = format!("BatchRegister of {} items exceeds the maximum of {max}", items.len());
            return Err(status(NodeError::new(ErrorCode::BadRequest, msg)));
        }
        let results = self.run(caller, move |node, caller| Ok(batch_results(node, caller, items))).await?;
        let succeeded = results.iter().filter(|r| r.response_code == 1).count() as u32;
        let failed = results.len() as u32 - succeeded;
        Ok(Response::new(pb::BatchRegisterResponse { results, succeeded, failed }))
    }

    type ListHandlesStream = ListStream;

    async fn list_handles(&self, req: Request<pb::ListHandlesRequest>) -> Result<Response<ListStream>, Status> {
        let admitted = self.0.dispatch(&req, Operation::List)?;
        let caller = self.0.caller(&req)?;
        let raw = req.into_inner().prefix;
        let prefix = Prefix::parse_listed(&raw).map_err(|e| status(e.into()))?;
        self.0.node.authorize_list(&caller, &prefix).map_err(status)?;
        let node = self.0.node.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let client = caller.origin().peer.map(|p| p.ip());
        self.0
            .runtime
            .stream(client, move || {
                let _admitted = admitted;
                let mut chunk = Vec::with_capacity(LIST_CHUNK);
                let total = node.list_handles(&prefix, Page::All, &mut |h| {
                    chunk.push(h.to_owned());
                    if chunk.len() < LIST_CHUNK {
                        return true;
                    }
                    let msg = pb::ListHandlesResponse { handles: std::mem::take(&mut chunk), total_count: None };
                    crate::runtime::send_within(&tx, Ok(msg), crate::runtime::STALLED_STREAM)
                });
                let last =
                    total.map(|t| pb::ListHandlesResponse { handles: chunk, total_count: Some(t) }).map_err(status);
                crate::runtime::send_within(&tx, last, crate::runtime::STALLED_STREAM);
            })
            .map_err(status)?;
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn list_prefixes(
        &self,
        req: Request<pb::ListPrefixesRequest>,
    ) -> Result<Response<pb::ListPrefixesResponse>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::List)?;
        let caller = self.0.caller(&req)?;
        let prefixes = self.0.node.homed_prefixes(&caller).map_err(status)?;
        Ok(Response::new(pb::ListPrefixesResponse { prefixes }))
    }
}
