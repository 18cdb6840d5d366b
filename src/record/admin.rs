//! `HS_ADMIN` and `HS_VLIST` data and the twelve admin permission bits.

use super::wire::{Reader, put_bytes, put_u32};
use super::{RecordError, parse_bits};

/// The twelve `HS_ADMIN` permission bits (handle-rest-api.md; character 0 of the string form is bit 11).
pub mod perm {
    /// Add handle.
    pub const ADD_HANDLE: u16 = 1 << 0;
    /// Delete handle.
    pub const DELETE_HANDLE: u16 = 1 << 1;
    /// Add derived prefix.
    pub const ADD_DERIVED_PREFIX: u16 = 1 << 2;
    /// Delete derived prefix.
    pub const DELETE_DERIVED_PREFIX: u16 = 1 << 3;
    /// Modify value.
    pub const MODIFY_VALUE: u16 = 1 << 4;
    /// Remove value.
    pub const REMOVE_VALUE: u16 = 1 << 5;
    /// Add value.
    pub const ADD_VALUE: u16 = 1 << 6;
    /// Modify admin.
    pub const MODIFY_ADMIN: u16 = 1 << 7;
    /// Remove admin.
    pub const REMOVE_ADMIN: u16 = 1 << 8;
    /// Add admin.
    pub const ADD_ADMIN: u16 = 1 << 9;
    /// Read values that are not public.
    pub const READ_VALUE: u16 = 1 << 10;
    /// List handles.
    pub const LIST_HANDLES: u16 = 1 << 11;
    /// All twelve bits.
    pub const ALL: u16 = 0x0FFF;
    /// Everything but listing (`011111111111`).
    pub const ALL_BUT_LIST: u16 = 0x07FF;
    /// Names accepted in array form, in bit order.
    pub const NAMES: [&str; 12] = [
        "add_handle",
        "delete_handle",
        "add_derived_prefix",
        "delete_derived_prefix",
        "modify_value",
        "remove_value",
        "add_value",
        "modify_admin",
        "remove_admin",
        "add_admin",
        "read_value",
        "list_handles",
    ];
}

/// An `HS_ADMIN` value: who administers, and with which permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRef {
    /// The administrator's handle (an identity or an `HS_VLIST` group).
    pub handle: String,
    /// The index of the identity's key or group value (0: any).
    pub index: u32,
    /// The twelve permission bits.
    pub perms: u16,
}

impl AdminRef {
    /// Encodes as `u16 permissions | UTF8String handle | u32 index`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + self.handle.len());
        out.extend_from_slice(&(self.perms & perm::ALL).to_be_bytes());
        put_bytes(&mut out, self.handle.as_bytes());
        put_u32(&mut out, self.index);
        out
    }

    /// Decodes `HS_ADMIN` data.
    pub fn decode(data: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader::new(data);
        let perms = r.u16()? & perm::ALL;
        let handle = r.string()?.to_owned();
        let index = r.u32()?;
        Ok(Self { handle, index, perms })
    }

    /// The twelve-character form, bit 11 first.
    pub fn perms_string(&self) -> String {
        (0..12).rev().map(|b| if self.perms & (1 << b) != 0 { '1' } else { '0' }).collect()
    }
}

/// Parses a twelve-bit permission string, read from the right (shorter strings allowed).
pub fn parse_admin_perms(s: &str) -> Result<u16, RecordError> {
    if s == "*" {
        return Ok(perm::ALL);
    }
    parse_bits(s, 12)
}

/// An `HS_VLIST` member or any (handle, index) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRef {
    /// The handle.
    pub handle: String,
    /// The index.
    pub index: u32,
}

/// Encodes an `HS_VLIST` as `u32 count` + `(UTF8String handle, u32 index)` pairs.
pub fn encode_vlist(members: &[ValueRef]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, members.len() as u32);
    for m in members {
        put_bytes(&mut out, m.handle.as_bytes());
        put_u32(&mut out, m.index);
    }
    out
}

/// Decodes `HS_VLIST` data.
pub fn decode_vlist(data: &[u8]) -> Result<Vec<ValueRef>, RecordError> {
    let mut r = Reader::new(data);
    let n = r.count(8)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let handle = r.string()?.to_owned();
        out.push(ValueRef { handle, index: r.u32()? });
    }
    Ok(out)
}
