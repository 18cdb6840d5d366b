//! The gRPC API (`proto/idnode/v1/idnode.proto`): a thin tonic adapter over the [`Node`] core, with the standard
//! health service and server reflection.
//!
//! - [`pb`]: the generated code, included in one place;
//! - `convert`: protobuf values to and from core values;
//! - `resolver`: `Resolve`, `ResolveBatch`, `ResolveStream`;
//! - `registry`: writes, `BatchRegister`, listings;
//! - `statistics`: the published statistics report;
//! - `templates`: the data templates (define, change, publish, delete, read);
//! - `observe`: the scope of every call (request id, origin, span, request metrics) and the operation its method
//!   dispatched.

use std::sync::Arc;

use prost::Message as _;
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Node};
use crate::request::{Admission, Admitted, Credentials, Operation, Origin, Protocol};
use crate::runtime::Runtime;

mod config;
pub mod convert;
mod observe;
mod registry;
mod resolver;
mod response;
mod statistics;
mod templates;

pub use config::GrpcConfig;
pub use registry::RegistryService;
pub use resolver::ResolverService;
pub use statistics::StatisticsService;
pub use templates::TemplatesService;

/// Code generated from the proto files.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("idnode.v1");
    pub use super::response::ResolveResponse;

    /// The encoded descriptor set of the idnode protos, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/idnode_descriptor.bin"));
}

/// What both services share.
#[derive(Clone)]
pub(crate) struct ServiceState {
    pub node: Arc<Node>,
    pub settings: Arc<GrpcConfig>,
    pub credentials: Credentials,
    pub admission: Admission,
    pub runtime: Runtime,
    /// The `ResolveStream` calls each client holds open.
    pub streams: Arc<crate::net::PerClient>,
}

impl ServiceState {
    /// Dispatches the call of `req` as `op`, the first thing each method of ours does: marks the operation for
    /// the request metrics and admits the call under `grpc.max_concurrent_requests` (else `UNAVAILABLE`, rc 3).
    /// A call holds what this returns until it ends (a stream, until its last message).
    pub fn dispatch<T>(&self, req: &Request<T>, op: Operation) -> Result<Admitted, Status> {
        observe::dispatched(req, op);
        self.admission.admit().map_err(status)
    }

    /// The caller of a request, from `authorization` metadata, and where it came from.
    pub fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let origin =
            req.extensions().get::<Origin>().cloned().unwrap_or_else(|| Origin::new(Protocol::Grpc, req.remote_addr()));
        let Some(v) = req.metadata().get("authorization") else { return Ok(Caller::new(None, origin)) };
        self.credentials
            .admit(
                "authentication over plain-text gRPC is refused: use TLS (operators may allow it for loopback testing)",
            )
            .map_err(status)?;
        let text = v.to_str().map_err(|_| {
            status(NodeError::new(ErrorCode::AuthenticationFailed, "authorization metadata is not ASCII"))
        })?;
        self.node.caller_from(Some(text), origin).map_err(status)
    }
}

/// A gRPC status for a core error: the mapped code, the message, the Handle response code in the
/// `idnode-response-code` metadata and an encoded [`pb::Error`] in the details. The error is kept as the
/// status's source, from which the request metrics take the call's result.
pub fn status(e: NodeError) -> Status {
    let rc = e.code.response_code();
    let details = convert::error_out(&e).encode_to_vec();
    let mut st = Status::with_details(e.code.grpc_code(), e.message.clone(), details.into());
    st.metadata_mut().insert("idnode-response-code", MetadataValue::from(rc));
    st.set_source(Arc::new(e));
    st
}

/// The services the health service reports on: the server as a whole (`""`) and each API.
const HEALTH_SERVICES: [&str; 5] =
    ["", "idnode.v1.Resolver", "idnode.v1.Registry", "idnode.v1.Statistics", "idnode.v1.Templates"];

/// Reports every service as serving (`ready`) or not serving through the gRPC health service.
pub async fn set_health(reporter: &tonic_health::server::HealthReporter, ready: bool) {
    let status = if ready { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
    for name in HEALTH_SERVICES {
        reporter.set_service_status(name, status).await;
    }
}

/// Builds the routes of every gRPC service: Resolver, Registry, Statistics, Templates, health and reflection. The health service
/// reports "not serving" until the reporter says otherwise (see [`set_health`]).
pub async fn routes(
    node: Arc<Node>,
    settings: &GrpcConfig,
    credentials: Credentials,
    runtime: Runtime,
) -> Result<(tonic::service::Routes, tonic_health::server::HealthReporter), tonic_reflection::server::Error> {
    let max = settings.max_message_bytes;
    let admission = Admission::new(settings.max_concurrent_requests);
    let streams = crate::net::PerClient::new(settings.max_streams_per_client);
    let state = ServiceState { node, settings: Arc::new(settings.clone()), credentials, admission, runtime, streams };
    let resolver = pb::resolver_server::ResolverServer::new(ResolverService(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let registry = pb::registry_server::RegistryServer::new(RegistryService(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let statistics = pb::statistics_server::StatisticsServer::new(StatisticsService(state.clone()));
    let templates = pb::templates_server::TemplatesServer::new(TemplatesService(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, false).await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (reflection_v1, reflection_v1alpha) = (reflection().build_v1()?, reflection().build_v1alpha()?);
    let router = tonic::service::Routes::new(resolver)
        .add_service(registry)
        .add_service(statistics)
        .add_service(templates)
        .add_service(observe::Service(health))
        .add_service(observe::Service(reflection_v1))
        .add_service(observe::Service(reflection_v1alpha))
        .prepare()
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(crate::request::RequestMetrics::new(state.node.metrics())),
            observe::observe,
        ));
    Ok((tonic::service::Routes::from(router), reporter))
}
