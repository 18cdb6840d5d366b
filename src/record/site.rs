//! `HS_SITE` data (RFC 3651 §3.2.2): the binary form and its JSON form.
//!
//! Binary: `u16 version | u8 major | u8 minor | u16 serial | u8 primary mask | u8 hash option | ByteArray hash
//! filter | u32 count × (name, value) attributes | u32 count × server`, a server being `u32 id | 16-byte address
//! | ByteArray public key | u32 count × (u8 type, u8 protocol, u32 port)`.

use std::net::{IpAddr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::RecordError;
use super::wire::{Reader, put_bytes, put_u32};

fn invalid(msg: impl Into<String>) -> RecordError {
    RecordError::Invalid(msg.into())
}

/// A service interface of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// 0 out of service, 1 admin, 2 query, 3 both.
    pub kind: u8,
    /// 0 UDP, 1 TCP, 2 HTTP, 3 HTTPS.
    pub protocol: u8,
    /// Port number.
    pub port: u32,
}

/// One server of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Server id within the site.
    pub id: u32,
    /// Address (IPv4 is encoded as 12 zero bytes and its 4 bytes; a v4-mapped address is read as IPv4 too).
    pub address: IpAddr,
    /// Public key record bytes.
    pub public_key: Vec<u8>,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
}

/// A site: a group of servers answering for the same prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Data format version (1).
    pub version: u16,
    /// Protocol version major.
    pub major: u8,
    /// Protocol version minor.
    pub minor: u8,
    /// Serial number, bumped on change.
    pub serial: u16,
    /// Primary site.
    pub primary: bool,
    /// Multi-primary.
    pub multi_primary: bool,
    /// Hash option.
    pub hash_option: u8,
    /// Hash filter.
    pub hash_filter: Vec<u8>,
    /// Attributes (`desc`, ...).
    pub attributes: Vec<(String, String)>,
    /// Servers.
    pub servers: Vec<Server>,
}

const PROTOCOLS: [&str; 4] = ["UDP", "TCP", "HTTP", "HTTPS"];

impl Site {
    /// Encodes the binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.version.to_be_bytes());
        out.push(self.major);
        out.push(self.minor);
        out.extend_from_slice(&self.serial.to_be_bytes());
        out.push(if self.primary { 0x80 } else { 0 } | if self.multi_primary { 0x40 } else { 0 });
        out.push(self.hash_option);
        put_bytes(&mut out, &self.hash_filter);
        put_u32(&mut out, self.attributes.len() as u32);
        for (k, v) in &self.attributes {
            put_bytes(&mut out, k.as_bytes());
            put_bytes(&mut out, v.as_bytes());
        }
        put_u32(&mut out, self.servers.len() as u32);
        for s in &self.servers {
            put_u32(&mut out, s.id);
            // The Handle encoding of an IPv4 address is 12 zero bytes and the address: a v4-mapped form makes
            // CNRI's client take the server for IPv6-only.
            let v6 = match s.address {
                IpAddr::V4(a) => a.to_ipv6_compatible(),
                IpAddr::V6(a) => a,
            };
            out.extend_from_slice(&v6.octets());
            put_bytes(&mut out, &s.public_key);
            put_u32(&mut out, s.interfaces.len() as u32);
            for i in &s.interfaces {
                out.push(i.kind);
                out.push(i.protocol);
                put_u32(&mut out, i.port);
            }
        }
        out
    }

    /// Decodes the binary form.
    pub fn decode(data: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader::new(data);
        let version = r.u16()?;
        let (major, minor) = (r.u8()?, r.u8()?);
        let serial = r.u16()?;
        let mask = r.u8()?;
        let hash_option = r.u8()?;
        let hash_filter = r.bytes()?.to_vec();
        let n = r.count(8)?;
        let mut attributes = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.string()?.to_owned();
            attributes.push((k, r.string()?.to_owned()));
        }
        let n = r.count(28)?;
        let mut servers = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.u32()?;
            let mut octets = [0u8; 16];
            octets.copy_from_slice(r.take(16)?);
            let v6 = Ipv6Addr::from(octets);
            let address = match octets[..12].iter().all(|b| *b == 0) {
                true => IpAddr::V4(std::net::Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15])),
                false => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            };
            let public_key = r.bytes()?.to_vec();
            let m = r.count(6)?;
            let mut interfaces = Vec::with_capacity(m);
            for _ in 0..m {
                interfaces.push(Interface { kind: r.u8()?, protocol: r.u8()?, port: r.u32()? });
            }
            servers.push(Server { id, address, public_key, interfaces });
        }
        Ok(Site {
            version,
            major,
            minor,
            serial,
            primary: mask & 0x80 != 0,
            multi_primary: mask & 0x40 != 0,
            hash_option,
            hash_filter,
            attributes,
            servers,
        })
    }
}

/// The JSON form of binary `HS_SITE` data.
pub fn to_json(data: &[u8]) -> Result<Value, RecordError> {
    let s = Site::decode(data)?;
    let servers: Vec<Value> = s
        .servers
        .iter()
        .map(|sv| {
            let interfaces: Vec<Value> = sv
                .interfaces
                .iter()
                .map(|i| {
                    json!({"query": i.kind & 2 != 0, "admin": i.kind & 1 != 0,
                           "protocol": PROTOCOLS.get(i.protocol as usize).copied().unwrap_or("UNKNOWN"), "port": i.port})
                })
                .collect();
            json!({"serverId": sv.id, "address": sv.address.to_string(),
                   "publicKey": {"format": "base64", "value": B64.encode(&sv.public_key)}, "interfaces": interfaces})
        })
        .collect();
    Ok(json!({
        "version": s.version,
        "protocolVersion": format!("{}.{}", s.major, s.minor),
        "serialNumber": s.serial,
        "primarySite": s.primary,
        "multiPrimary": s.multi_primary,
        "hashOption": s.hash_option,
        "hashFilter": B64.encode(&s.hash_filter),
        "attributes": s.attributes.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "servers": servers,
    }))
}

fn num(o: &serde_json::Map<String, Value>, key: &str, default: u64, max: u64) -> Result<u64, RecordError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => {
            v.as_u64().filter(|n| *n <= max).ok_or_else(|| invalid(format!("{key} must be an integer up to {max}")))
        }
    }
}

/// Encodes the JSON form of a site into binary `HS_SITE` data.
pub fn from_json(v: &Value) -> Result<Vec<u8>, RecordError> {
    let o = v.as_object().ok_or_else(|| invalid("site data must be an object"))?;
    let (major, minor) = match o.get("protocolVersion").and_then(Value::as_str) {
        None => (2, 10),
        Some(pv) => {
            let (a, b) = pv.split_once('.').ok_or_else(|| invalid("protocolVersion must look like \"2.10\""))?;
            (
                a.parse().map_err(|_| invalid("bad protocolVersion"))?,
                b.parse().map_err(|_| invalid("bad protocolVersion"))?,
            )
        }
    };
    let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
    let attributes = match o.get("attributes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                let n = x.get("name").and_then(Value::as_str).ok_or_else(|| invalid("attribute without name"))?;
                let v = x.get("value").and_then(Value::as_str).unwrap_or("");
                Ok((n.to_owned(), v.to_owned()))
            })
            .collect::<Result<_, RecordError>>()?,
        Some(_) => return Err(invalid("attributes must be an array")),
    };
    let servers = match o.get("servers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(server_from_json).collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("servers must be an array")),
    };
    let hash_filter = match o.get("hashFilter").and_then(Value::as_str) {
        Some(s) => B64.decode(s).map_err(|_| invalid("hashFilter must be base64"))?,
        None => Vec::new(),
    };
    Ok(Site {
        version: num(o, "version", 1, u64::from(u16::MAX))? as u16,
        major,
        minor,
        serial: num(o, "serialNumber", 1, u64::from(u16::MAX))? as u16,
        primary: flag("primarySite"),
        multi_primary: flag("multiPrimary"),
        hash_option: num(o, "hashOption", 0, 255)? as u8,
        hash_filter,
        attributes,
        servers,
    }
    .encode())
}

fn server_from_json(v: &Value) -> Result<Server, RecordError> {
    let o = v.as_object().ok_or_else(|| invalid("a server must be an object"))?;
    let address: IpAddr = o
        .get("address")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| invalid("server address must be an IP address"))?;
    let public_key = match o.get("publicKey") {
        Some(Value::Object(k)) => B64
            .decode(k.get("value").and_then(Value::as_str).unwrap_or(""))
            .map_err(|_| invalid("publicKey value must be base64"))?,
        Some(Value::String(s)) => B64.decode(s).map_err(|_| invalid("publicKey must be base64"))?,
        _ => Vec::new(),
    };
    let interfaces = match o.get("interfaces") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|i| {
                let p = i.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_ascii_uppercase();
                let protocol =
                    PROTOCOLS.iter().position(|x| *x == p).ok_or_else(|| invalid(format!("unknown protocol {p}")))?
                        as u8;
                let q = i.get("query").and_then(Value::as_bool).unwrap_or(true);
                let a = i.get("admin").and_then(Value::as_bool).unwrap_or(false);
                let port = i
                    .get("port")
                    .and_then(Value::as_u64)
                    .filter(|p| *p <= 65535)
                    .ok_or_else(|| invalid("interface port must be 0..65535"))?;
                Ok(Interface { kind: u8::from(q) * 2 + u8::from(a), protocol, port: port as u32 })
            })
            .collect::<Result<_, RecordError>>()?,
        _ => Vec::new(),
    };
    Ok(Server { id: num(o, "serverId", 1, u64::from(u32::MAX))? as u32, address, public_key, interfaces })
}
