//! The JSON forms of values in the REST contract: lenient on input, canonical on output.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::record::admin::{AdminRef, ValueRef, decode_vlist, encode_vlist, parse_admin_perms, perm};
use crate::record::{DEFAULT_TTL, HandleValue, Perms, RecordError, Reference, Ttl, default_perms, site, types};

fn invalid(msg: impl Into<String>) -> RecordError {
    RecordError::Invalid(msg.into())
}

/// Formats epoch seconds as ISO-8601 UTC without fractions (`2025-04-29T08:00:00Z`).
pub fn format_time(epoch: u32) -> String {
    let t = OffsetDateTime::from_unix_timestamp(i64::from(epoch)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let d = t.date();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an ISO-8601 / RFC 3339 time into epoch seconds (fractions dropped).
pub fn parse_time(s: &str) -> Result<u32, RecordError> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .map_err(|_| invalid(format!("{s:?} is not an ISO-8601 date-time")))?;
    u32::try_from(t.unix_timestamp()).map_err(|_| invalid(format!("{s:?} is outside the representable range")))
}

/// Parses a PUT body: an array of values, an object with `values`, or a single value. `now` stamps values that
/// carry no timestamp.
pub fn parse_values(body: &Value, now: u32) -> Result<Vec<HandleValue>, RecordError> {
    match body {
        Value::Array(items) => items.iter().map(|v| parse_value(v, now)).collect(),
        Value::Object(o) => match o.get("values") {
            Some(Value::Array(items)) => items.iter().map(|v| parse_value(v, now)).collect(),
            Some(_) => Err(invalid("\"values\" must be an array")),
            None => Ok(vec![parse_value(body, now)?]),
        },
        _ => Err(invalid("body must be a JSON array of values or an object")),
    }
}

fn as_u32(v: &Value, what: &str) -> Result<u32, RecordError> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(format!("{what} must be an integer from 0 to 4294967295, got {v}")))
}

/// Parses one value object.
pub fn parse_value(v: &Value, now: u32) -> Result<HandleValue, RecordError> {
    let o = v.as_object().ok_or_else(|| invalid(format!("a value must be a JSON object, got {v}")))?;
    let index = as_u32(o.get("index").ok_or_else(|| invalid("value without \"index\""))?, "index")?;
    let ty = match o.get("type") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(invalid(format!("type of index {index} must not be empty"))),
        Some(other) => return Err(invalid(format!("type of index {index} must be a string, got {other}"))),
        None => return Err(invalid(format!("value at index {index} has no \"type\""))),
    };
    let data = parse_data(o.get("data").unwrap_or(&Value::Null), index)?;
    let ttl = match o.get("ttl") {
        None | Some(Value::Null) => Ttl::Relative(DEFAULT_TTL),
        Some(Value::String(s)) if s.trim().parse::<u32>().is_err() => Ttl::Absolute(parse_time(s)?),
        Some(t) => Ttl::Relative(as_u32(t, "ttl")?),
    };
    let timestamp = match o.get("timestamp") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => parse_time(s)?,
        Some(t) => as_u32(t, "timestamp")?,
    };
    let perms = match o.get("permissions") {
        None | Some(Value::Null) => default_perms(&ty),
        Some(Value::String(s)) => Perms::parse(s)?,
        Some(p) => return Err(invalid(format!("permissions must be a string such as \"1110\", got {p}"))),
    };
    let references = match o.get("references") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(parse_ref)
            .map(|r| r.map(|r| Reference { handle: r.handle, index: r.index }))
            .collect::<Result<_, _>>()?,
        Some(r) => return Err(invalid(format!("references must be an array, got {r}"))),
    };
    Ok(HandleValue { index, ty, data, ttl, timestamp, perms, references })
}

fn parse_ref(v: &Value) -> Result<ValueRef, RecordError> {
    let o =
        v.as_object().ok_or_else(|| invalid(format!("a reference must be an object {{handle, index}}, got {v}")))?;
    let handle =
        o.get("handle").and_then(Value::as_str).ok_or_else(|| invalid("reference without a \"handle\" string"))?;
    let index = as_u32(o.get("index").unwrap_or(&Value::Null), "reference index")?;
    Ok(ValueRef { handle: handle.to_owned(), index })
}

fn parse_data(d: &Value, index: u32) -> Result<Vec<u8>, RecordError> {
    let (format, value) = match d {
        Value::String(s) => return Ok(s.as_bytes().to_vec()),
        Value::Object(o) => {
            let f = o.get("format").and_then(Value::as_str).unwrap_or("string");
            (f.to_ascii_lowercase(), o.get("value").unwrap_or(&Value::Null))
        }
        Value::Null => return Err(invalid(format!("value at index {index} has no \"data\""))),
        other => {
            return Err(invalid(format!("data of index {index} must be a string or {{format, value}}, got {other}")));
        }
    };
    let text =
        || value.as_str().ok_or_else(|| invalid(format!("data of index {index} in format {format} must be a string")));
    match format.as_str() {
        "string" => match value {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Null => Err(invalid(format!("data of index {index} has no \"value\""))),
            other => Ok(other.to_string().into_bytes()),
        },
        "base64" | "key" => {
            B64.decode(text()?.trim()).map_err(|e| invalid(format!("data of index {index} is not valid base64: {e}")))
        }
        "hex" => {
            hex::decode(text()?.trim()).map_err(|e| invalid(format!("data of index {index} is not valid hex: {e}")))
        }
        "admin" => parse_admin(value, index).map(|a| a.encode()),
        "vlist" => match value {
            Value::Array(a) => Ok(encode_vlist(&a.iter().map(parse_ref).collect::<Result<Vec<_>, _>>()?)),
            _ => Err(invalid(format!("vlist data of index {index} must be an array of {{handle, index}}"))),
        },
        "site" => site::from_json(value).map_err(|e| invalid(format!("site data of index {index}: {e}"))),
        other => Err(invalid(format!(
            "unknown data format {other:?} at index {index} (string, base64, hex, admin, vlist, site, key)"
        ))),
    }
}

fn parse_admin(v: &Value, index: u32) -> Result<AdminRef, RecordError> {
    let o = v.as_object().ok_or_else(|| invalid(format!("admin data of index {index} must be an object")))?;
    let handle = o
        .get("handle")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("admin data of index {index} has no \"handle\"")))?;
    let admin_index = as_u32(o.get("index").unwrap_or(&Value::Null), "admin index")?;
    let perms = match o.get("permissions") {
        None | Some(Value::Null) => perm::ALL_BUT_LIST,
        Some(Value::String(s)) => parse_admin_perms(s)?,
        Some(Value::Bool(true)) => perm::ALL,
        Some(Value::Bool(false)) => 0,
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| *n <= u64::from(perm::ALL))
            .map(|n| n as u16)
            .ok_or_else(|| invalid("admin permissions number must be 0..4095"))?,
        Some(Value::Array(a)) => perms_from_array(a)?,
        Some(other) => return Err(invalid(format!("admin permissions {other} not understood"))),
    };
    Ok(AdminRef { handle: handle.to_owned(), index: admin_index, perms })
}

/// Array form: permission names (`add_handle`, `addHandle`, ...) or twelve booleans, most significant first.
fn perms_from_array(a: &[Value]) -> Result<u16, RecordError> {
    if a.iter().all(Value::is_boolean) {
        let s: String = a.iter().map(|b| if b.as_bool() == Some(true) { '1' } else { '0' }).collect();
        return parse_admin_perms(&s);
    }
    let mut bits = 0;
    for name in a {
        let n = name.as_str().ok_or_else(|| invalid("admin permission names must be strings"))?;
        let snake: String = n
            .chars()
            .flat_map(|c| if c.is_ascii_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] })
            .collect();
        let bit = perm::NAMES
            .iter()
            .position(|p| *p == snake)
            .ok_or_else(|| invalid(format!("unknown admin permission {n:?}")))?;
        bits |= 1 << bit;
    }
    Ok(bits)
}

/// The canonical output form of one value. Text data, times and TTLs are written straight from the value
/// (no intermediate JSON tree, no allocation per field): the REST answer of a product record is rendered many
/// thousands of times a second.
#[derive(Serialize)]
pub struct ValueJson<'a> {
    index: u32,
    #[serde(rename = "type")]
    ty: &'a str,
    data: DataJson<'a>,
    ttl: TtlJson,
    timestamp: TimeJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    references: Option<Vec<Value>>,
}

/// `{"format": ..., "value": ...}`: text borrowed from the value, other formats built as JSON.
enum DataJson<'a> {
    Text(&'a str),
    Built(&'static str, Value),
}

impl Serialize for DataJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(2))?;
        match self {
            DataJson::Text(t) => {
                m.serialize_entry("format", "string")?;
                m.serialize_entry("value", t)?;
            }
            DataJson::Built(f, v) => {
                m.serialize_entry("format", f)?;
                m.serialize_entry("value", v)?;
            }
        }
        m.end()
    }
}

/// A TTL: seconds, or an absolute time.
enum TtlJson {
    Seconds(u32),
    At(TimeJson),
}

impl Serialize for TtlJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TtlJson::Seconds(n) => s.serialize_u32(*n),
            TtlJson::At(t) => t.serialize(s),
        }
    }
}

/// Epoch seconds written as ISO-8601 UTC, formatted into a stack buffer.
struct TimeJson(u32);

impl Serialize for TimeJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = OffsetDateTime::from_unix_timestamp(i64::from(self.0)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let d = t.date();
        let mut b = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, n: u32, width: usize| {
            for k in 0..width {
                b[at + width - 1 - k] = b'0' + ((n / 10u32.pow(k as u32)) % 10) as u8;
            }
        };
        put(0, d.year().clamp(0, 9999) as u32, 4);
        put(5, u32::from(u8::from(d.month())), 2);
        put(8, u32::from(d.day()), 2);
        put(11, u32::from(t.hour()), 2);
        put(14, u32::from(t.minute()), 2);
        put(17, u32::from(t.second()), 2);
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("1970-01-01T00:00:00Z"))
    }
}

/// Renders a value canonically.
pub fn value_json(v: &HandleValue) -> ValueJson<'_> {
    ValueJson {
        index: v.index,
        ty: &v.ty,
        data: data_json(v),
        ttl: match v.ttl {
            Ttl::Relative(s) => TtlJson::Seconds(s),
            Ttl::Absolute(t) => TtlJson::At(TimeJson(t)),
        },
        timestamp: TimeJson(v.timestamp),
        permissions: (v.perms != Perms::DEFAULT).then(|| v.perms.to_bits_string()),
        references: (!v.references.is_empty())
            .then(|| v.references.iter().map(|r| json!({"handle": r.handle, "index": r.index})).collect()),
    }
}

fn data_json(v: &HandleValue) -> DataJson<'_> {
    let typed = if v.is(types::HS_ADMIN) {
        AdminRef::decode(&v.data)
            .ok()
            .map(|a| ("admin", json!({"handle": a.handle, "index": a.index, "permissions": a.perms_string()})))
    } else if v.is(types::HS_VLIST) {
        decode_vlist(&v.data).ok().map(|m| {
            ("vlist", Value::Array(m.into_iter().map(|r| json!({"handle": r.handle, "index": r.index})).collect()))
        })
    } else if v.is(types::HS_SITE) || v.is(types::HS_SITE_PREFIX) {
        site::to_json(&v.data).ok().map(|s| ("site", s))
    } else if v.is(types::HS_PUBKEY) {
        Some(("key", Value::String(B64.encode(&v.data))))
    } else {
        None
    };
    match typed {
        Some((format, value)) => DataJson::Built(format, value),
        None => match std::str::from_utf8(&v.data) {
            Ok(s) => DataJson::Text(s),
            Err(_) => DataJson::Built("base64", Value::String(B64.encode(&v.data))),
        },
    }
}

#[cfg(test)]
mod tests;
