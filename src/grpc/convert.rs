//! Protobuf values to and from core values.

use super::pb;
use crate::error::{ErrorCode, NodeError};
use crate::record::admin::{AdminRef, ValueRef, decode_vlist, encode_vlist, parse_admin_perms, perm};
use crate::record::{DEFAULT_TTL, HandleValue, Perms, Reference, Ttl, default_perms, types};

fn invalid(msg: String) -> NodeError {
    NodeError::new(ErrorCode::InvalidValue, msg)
}

/// A core value from a protobuf value; `now` stamps values without a timestamp.
pub fn value_in(v: pb::HandleValue, now: u32) -> Result<HandleValue, NodeError> {
    if v.r#type.is_empty() {
        return Err(invalid(format!("value at index {} has no type", v.index)));
    }
    let data = if let Some(a) = v.admin {
        let perms = if a.permissions.is_empty() {
            perm::ALL_BUT_LIST
        } else {
            parse_admin_perms(&a.permissions).map_err(|e| invalid(format!("admin of index {}: {e}", v.index)))?
        };
        AdminRef { handle: a.handle, index: a.index, perms }.encode()
    } else if !v.vlist.is_empty() {
        encode_vlist(&v.vlist.into_iter().map(|r| ValueRef { handle: r.handle, index: r.index }).collect::<Vec<_>>())
    } else {
        v.data
    };
    let ttl = match pb::TtlType::try_from(v.ttl_type) {
        Ok(pb::TtlType::Relative) => Ttl::Relative(v.ttl.unwrap_or(DEFAULT_TTL)),
        Ok(pb::TtlType::Absolute) => {
            Ttl::Absolute(v.ttl.ok_or_else(|| invalid(format!("absolute ttl of index {} without a time", v.index)))?)
        }
        Err(_) => return Err(invalid(format!("unknown ttl_type {} at index {}", v.ttl_type, v.index))),
    };
    let timestamp = match v.timestamp {
        0 => now,
        t => u32::try_from(t).map_err(|_| invalid(format!("timestamp {t} of index {} is out of range", v.index)))?,
    };
    let perms = v.permissions.map_or(default_perms(&v.r#type), |p| {
        Perms(
            (u8::from(p.admin_read) * Perms::ADMIN_READ)
                | (u8::from(p.admin_write) * Perms::ADMIN_WRITE)
                | (u8::from(p.public_read) * Perms::PUBLIC_READ)
                | (u8::from(p.public_write) * Perms::PUBLIC_WRITE),
        )
    });
    let references = v.references.into_iter().map(|r| Reference { handle: r.handle, index: r.index }).collect();
    Ok(HandleValue { index: v.index, ty: v.r#type, data, ttl, timestamp, perms, references })
}

/// Core values from protobuf values.
pub fn values_in(values: Vec<pb::HandleValue>, now: u32) -> Result<Vec<HandleValue>, NodeError> {
    values.into_iter().map(|v| value_in(v, now)).collect()
}

/// A protobuf value from a core value, with its format and decoded admin / group data.
pub fn value_out(v: &HandleValue) -> pb::HandleValue {
    let mut out = pb::HandleValue {
        index: v.index,
        r#type: v.ty.clone(),
        data: v.data.clone(),
        format: pb::DataFormat::String as i32,
        ttl: Some(match v.ttl {
            Ttl::Relative(s) | Ttl::Absolute(s) => s,
        }),
        ttl_type: match v.ttl {
            Ttl::Relative(_) => pb::TtlType::Relative as i32,
            Ttl::Absolute(_) => pb::TtlType::Absolute as i32,
        },
        timestamp: u64::from(v.timestamp),
        permissions: Some(pb::ValuePermissions {
            admin_read: v.perms.0 & Perms::ADMIN_READ != 0,
            admin_write: v.perms.0 & Perms::ADMIN_WRITE != 0,
            public_read: v.perms.0 & Perms::PUBLIC_READ != 0,
            public_write: v.perms.0 & Perms::PUBLIC_WRITE != 0,
        }),
        references: v.references.iter().map(|r| pb::ValueRef { handle: r.handle.clone(), index: r.index }).collect(),
        admin: None,
        vlist: Vec::new(),
    };
    let admin = v.is(types::HS_ADMIN).then(|| AdminRef::decode(&v.data).ok()).flatten();
    let vlist = v.is(types::HS_VLIST).then(|| decode_vlist(&v.data).ok()).flatten();
    out.format = if let Some(a) = admin {
        out.admin = Some(pb::AdminRef { permissions: a.perms_string(), handle: a.handle, index: a.index });
        pb::DataFormat::Admin
    } else if let Some(members) = vlist {
        out.vlist = members.into_iter().map(|m| pb::ValueRef { handle: m.handle, index: m.index }).collect();
        pb::DataFormat::Vlist
    } else if v.is(types::HS_SITE) || v.is(types::HS_SITE_PREFIX) {
        pb::DataFormat::Site
    } else if v.is(types::HS_PUBKEY) {
        pb::DataFormat::Key
    } else if std::str::from_utf8(&v.data).is_ok() {
        pb::DataFormat::String
    } else {
        pb::DataFormat::Binary
    } as i32;
    out
}

/// The protobuf form of a per-item error.
pub fn error_out(e: &NodeError) -> pb::Error {
    pb::Error { response_code: e.code.response_code(), message: e.message.clone() }
}
