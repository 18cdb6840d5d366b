//! The gRPC client of the load generator: it reads of each `idnode.v1.ResolveResponse` only what decides whether
//! the answer is right (its response code and how many values came) and skips the values undecoded, so that the
//! generator's own decoding does not cap the rate it can measure.

use bytes::{Buf, BufMut};
use prost::DecodeError;
use prost::encoding::{DecodeContext, WireType, skip_field, uint32};
use tonic::codec::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{IntoRequest, IntoStreamingRequest, Status};
use tonic_prost::ProstCodec;

use idnode::grpc::pb::ResolveRequest;

/// What the generator reads of a `ResolveResponse`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResolveSummary {
    /// Field 2: the Handle response code.
    pub response_code: u32,
    /// Entries of field 3 (the values), counted, not decoded.
    pub values: usize,
}

impl ResolveSummary {
    /// Whether this is the right answer for an identifier that exists when `hit`: response code 1 with values,
    /// or "handle not found".
    pub fn is_right(&self, hit: bool) -> bool {
        right_response_code(self.response_code, hit) && (!hit || self.values > 0)
    }
}

/// Whether `rc` is the right Handle response code for an identifier that exists when `hit`.
pub fn right_response_code(rc: u32, hit: bool) -> bool {
    rc == if hit { idnode::hdl::codec::rc::SUCCESS } else { idnode::error::ErrorCode::HandleNotFound.response_code() }
}

impl prost::Message for ResolveSummary {
    /// Only the response code: the generator never sends a `ResolveSummary`.
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if self.response_code != 0 {
            uint32::encode(2, &self.response_code, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            2 => uint32::merge(wire_type, &mut self.response_code, buf, ctx),
            3 => {
                self.values += 1;
                skip_field(wire_type, tag, buf, ctx)
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        if self.response_code == 0 { 0 } else { uint32::encoded_len(2, &self.response_code) }
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// `idnode.v1.Resolver`'s `Resolve` and `ResolveStream`, answered as [`ResolveSummary`]s.
#[derive(Debug, Clone)]
pub struct ResolveClient(tonic::client::Grpc<Channel>);

impl ResolveClient {
    /// A client over `channel`.
    pub fn new(channel: Channel) -> Self {
        Self(tonic::client::Grpc::new(channel))
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.0.ready().await.map_err(|e| Status::unknown(format!("channel not ready: {e}")))
    }

    /// Calls `Resolve`.
    pub async fn resolve(&mut self, req: impl IntoRequest<ResolveRequest>) -> Result<ResolveSummary, Status> {
        self.ready().await?;
        let path = PathAndQuery::from_static("/idnode.v1.Resolver/Resolve");
        let codec = ProstCodec::<ResolveRequest, ResolveSummary>::default();
        Ok(self.0.unary(req.into_request(), path, codec).await?.into_inner())
    }

    /// Opens `ResolveStream` over `requests`.
    pub async fn resolve_stream(
        &mut self,
        requests: impl IntoStreamingRequest<Message = ResolveRequest>,
    ) -> Result<Streaming<ResolveSummary>, Status> {
        self.ready().await?;
        let path = PathAndQuery::from_static("/idnode.v1.Resolver/ResolveStream");
        let codec = ProstCodec::<ResolveRequest, ResolveSummary>::default();
        Ok(self.0.streaming(requests.into_streaming_request(), path, codec).await?.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use idnode::grpc::pb;

    #[test]
    fn a_summary_reads_the_code_and_counts_the_values() {
        let value = |i| pb::HandleValue { index: i, r#type: "URL".into(), data: b"x".to_vec(), ..Default::default() };
        let found = pb::ResolveResponse {
            handle: "88.798.1/a".into(),
            response_code: 1,
            values: vec![value(1), value(2)],
            ..Default::default()
        };
        let v = ResolveSummary::decode(found.encode_to_vec().as_slice()).unwrap();
        assert_eq!(v, ResolveSummary { response_code: 1, values: 2 });
        assert!(v.is_right(true) && !v.is_right(false));
        let empty = pb::ResolveResponse { response_code: 1, ..Default::default() };
        assert!(
            !ResolveSummary::decode(empty.encode_to_vec().as_slice()).unwrap().is_right(true),
            "a record has values"
        );
        let missing = pb::ResolveResponse { response_code: 100, ..Default::default() };
        assert!(ResolveSummary::decode(missing.encode_to_vec().as_slice()).unwrap().is_right(false));
    }
}
