//! `idnode.v1.ResolveResponse`, written by hand (mapped with `extern_path` in `build.rs`) so that the answer for a
//! record's public view can carry its values already encoded, made once per cached record
//! ([`crate::node::Resolution::rendering`]) instead of converted and encoded on every call. The wire format
//! and the public fields are those of the generated type; encoded values go out after `values` as more entries
//! of the same repeated field, and a decoded message always has them in `values`.

use bytes::{Buf, BufMut, Bytes};
use prost::DecodeError;
use prost::encoding::{DecodeContext, WireType, message, skip_field, string, uint32};

use super::pb;

/// The outcome for one identifier.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct ResolveResponse {
    /// The identifier exactly as requested.
    pub handle: String,
    /// Handle response code: 1 resolved, 200 nothing matched the filters, or an error code.
    pub response_code: u32,
    /// The values (response code 1).
    pub values: Vec<pb::HandleValue>,
    /// Set when `response_code` is neither 1 nor 200.
    pub error: Option<pb::Error>,
    /// More values of field 3, already encoded (each with its tag and length); a decoded message has none.
    pub encoded_values: Bytes,
}

/// Encodes `values` as entries of `ResolveResponse.values` (field 3), for [`ResolveResponse::encoded_values`].
pub(crate) fn encode_values(values: &[pb::HandleValue]) -> Bytes {
    let mut out = Vec::with_capacity(message::encoded_len_repeated(3, values));
    message::encode_repeated(3, values, &mut out);
    Bytes::from(out)
}

impl prost::Message for ResolveResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if !self.handle.is_empty() {
            string::encode(1, &self.handle, buf);
        }
        if self.response_code != 0 {
            uint32::encode(2, &self.response_code, buf);
        }
        message::encode_repeated(3, &self.values, buf);
        buf.put_slice(&self.encoded_values);
        if let Some(e) = &self.error {
            message::encode(4, e, buf);
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
            1 => string::merge(wire_type, &mut self.handle, buf, ctx),
            2 => uint32::merge(wire_type, &mut self.response_code, buf, ctx),
            3 => message::merge_repeated(wire_type, &mut self.values, buf, ctx),
            4 => message::merge(wire_type, self.error.get_or_insert_with(Default::default), buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let handle = if self.handle.is_empty() { 0 } else { string::encoded_len(1, &self.handle) };
        let code = if self.response_code == 0 { 0 } else { uint32::encoded_len(2, &self.response_code) };
        handle
            + code
            + message::encoded_len_repeated(3, &self.values)
            + self.encoded_values.len()
            + self.error.as_ref().map_or(0, |e| message::encoded_len(4, e))
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    fn value(index: u32, data: &str) -> pb::HandleValue {
        pb::HandleValue { index, r#type: "URL".into(), data: data.as_bytes().to_vec(), ..Default::default() }
    }

    #[test]
    fn encoded_values_are_the_values_on_the_wire() {
        let values = vec![value(1, "https://a"), value(2, "青花")];
        let error = Some(pb::Error { message: "x".into(), ..Default::default() });
        let plain = ResolveResponse {
            handle: "88.798.1/A".into(),
            response_code: 1,
            values: values.clone(),
            error,
            ..Default::default()
        };
        let pre = ResolveResponse { values: Vec::new(), encoded_values: encode_values(&values), ..plain.clone() };
        assert_eq!(pre.encode_to_vec(), plain.encode_to_vec());
        assert_eq!(pre.encoded_len(), plain.encode_to_vec().len());
        let decoded = ResolveResponse::decode(&pre.encode_to_vec()[..]).unwrap();
        assert_eq!(decoded, plain, "a decoded message has every value in `values`");
        assert_eq!(ResolveResponse::decode(&[][..]).unwrap(), ResolveResponse::default());
        assert!(ResolveResponse::decode(&[0x1a, 0x05, 0x08][..]).is_err(), "a truncated value is an error");
    }
}
