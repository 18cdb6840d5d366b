//! Registration: create, replace, add/modify/remove values, delete, and minting suffixes.
//!
//! Every change is authorized value by value: adding, modifying or removing an `HS_ADMIN` value needs the admin
//! bits, any other value the value bits; a value whose permissions lack admin-write cannot be changed.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::Rng;

use super::templates::Templates;
use super::{Access, Caller, Homing, Identity, Journal, Records, now};
use crate::audit::Action;
use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix};
use crate::record::admin::{AdminRef, perm};
use crate::record::{HandleValue, Perms, types};

/// Index given to the `HS_ADMIN` value added to a new record that has none.
const DEFAULT_ADMIN_INDEX: u32 = 100;
/// Alphabet of minted suffixes (Crockford base32: no I, L, O, U).
const MINT_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Length of a minted suffix.
const MINT_LEN: usize = 12;

/// What a write of a whole record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The handle was new.
    Created,
    /// An existing record was replaced or updated.
    Updated,
    /// An idempotent create found an identical record.
    Unchanged,
}

/// How a whole-record write treats an existing or missing handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordMode {
    /// Only create; an existing handle is an error.
    Create,
    /// Create, or succeed without change when an identical record exists (retries after time-outs).
    CreateIdempotent,
    /// Create or replace (REST `PUT`).
    CreateOrReplace,
    /// Only replace; a missing handle is an error.
    Replace,
}

/// One whole-record write.
pub struct RecordWrite {
    /// The handle.
    pub h: Handle,
    /// Its new values.
    pub values: Vec<HandleValue>,
    /// How an existing or missing record is treated.
    pub mode: RecordMode,
}

/// How values are merged into an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueMode {
    /// Only new indexes.
    Add,
    /// Only existing indexes.
    Modify,
    /// Either.
    Upsert,
}

/// Whether two values are the same, timestamps aside.
fn same_value(a: &HandleValue, b: &HandleValue) -> bool {
    a.index == b.index
        && a.ty == b.ty
        && a.data == b.data
        && a.ttl == b.ttl
        && a.perms == b.perms
        && a.references == b.references
}

/// Keeps the stored version (and its timestamp) of every value the write resends unchanged.
pub(super) fn keep_unchanged(old: &[HandleValue], new: &mut [HandleValue]) {
    let old = by_index(old);
    for n in new.iter_mut() {
        if let Some(o) = old.get(&n.index).filter(|o| same_value(o, n)) {
            n.clone_from(o);
        }
    }
}

/// The values of a record by index (indexes are unique: [`Records::check_values`]), so that comparing two
/// records costs linear time, not quadratic.
fn by_index(values: &[HandleValue]) -> HashMap<u32, &HandleValue> {
    values.iter().map(|v| (v.index, v)).collect()
}

/// Whether two records hold the same values, timestamps aside (the node stamps values on every write).
pub(super) fn same_content(a: &[HandleValue], b: &[HandleValue]) -> bool {
    let key = |v: &HandleValue| (v.index, v.ty.clone(), v.data.clone(), v.ttl, v.perms, v.references.clone());
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort_by_key(|k| k.0);
    y.sort_by_key(|k| k.0);
    x == y
}

pub(super) fn not_found(h: &Handle) -> NodeError {
    NodeError::new(ErrorCode::HandleNotFound, format!("handle {h} not found"))
}

/// The permission bit needed to go from `old` to `new` (0 when nothing changes).
fn change_bit(old: Option<&HandleValue>, new: Option<&HandleValue>) -> u16 {
    let admin = old.is_some_and(|v| v.is(types::HS_ADMIN)) || new.is_some_and(|v| v.is(types::HS_ADMIN));
    match (old, new, admin) {
        (None, Some(_), false) => perm::ADD_VALUE,
        (None, Some(_), true) => perm::ADD_ADMIN,
        (Some(_), None, false) => perm::REMOVE_VALUE,
        (Some(_), None, true) => perm::REMOVE_ADMIN,
        (Some(o), Some(n), a) if !same_value(o, n) => {
            if a {
                perm::MODIFY_ADMIN
            } else {
                perm::MODIFY_VALUE
            }
        }
        _ => 0,
    }
}

/// Registration: every change authorized value by value and committed through the [`Journal`].
pub(crate) struct Registrar<'a> {
    pub(crate) homing: &'a Homing,
    pub(crate) records: &'a Records,
    pub(crate) journal: &'a Journal,
    pub(crate) templates: &'a Templates,
    pub(crate) access: Access<'a>,
}

impl Registrar<'_> {
    /// Authorizes the change from `old` to `new` values of an existing handle.
    pub(super) fn authorize_changes(
        &self,
        id: &Identity,
        h: &Handle,
        old: &[HandleValue],
        new: &[HandleValue],
    ) -> Result<(), NodeError> {
        let (old_at, new_at) = (by_index(old), by_index(new));
        let mut needed = 0u16;
        for n in new.iter() {
            let o = old_at.get(&n.index).copied();
            let bit = change_bit(o, Some(n));
            if bit != 0 {
                check_writable(o, n.index)?;
            }
            needed |= bit;
        }
        for o in old.iter().filter(|o| !new_at.contains_key(&o.index)) {
            needed |= change_bit(Some(o), None);
            check_writable(Some(o), o.index)?;
        }
        // What the node publishes on its prefix handles is the node's: only the chain above may change it.
        let changed = |v: &HandleValue| new_at.get(&v.index) != Some(&v) || old_at.get(&v.index) != Some(&v);
        let site =
            h.administered_prefix().is_some() && old.iter().chain(new).any(|v| v.is(types::HS_SITE) && changed(v));
        for bit in (0..12).map(|b| 1u16 << b).filter(|b| needed & b != 0) {
            if site {
                self.access.authorize_from_above(id, h, old, bit)?;
            } else {
                self.access.authorize(id, h, old, bit)?;
            }
        }
        Ok(())
    }

    /// Creates `h` with `values`, or replaces its whole record (unless `overwrite` is false: then an existing
    /// handle is [`ErrorCode::HandleAlreadyExists`]).
    pub fn put_record(
        &self,
        caller: &Caller,
        h: &Handle,
        values: Vec<HandleValue>,
        overwrite: bool,
    ) -> Result<PutOutcome, NodeError> {
        let mode = if overwrite { RecordMode::CreateOrReplace } else { RecordMode::Create };
        self.write_record(caller, h, values, mode)
    }

    /// Writes a whole record as `mode` says.
    pub fn write_record(
        &self,
        caller: &Caller,
        h: &Handle,
        values: Vec<HandleValue>,
        mode: RecordMode,
    ) -> Result<PutOutcome, NodeError> {
        let write = RecordWrite { h: h.clone(), values, mode };
        let result = self.commit_records(caller, vec![Ok(write)]).pop().expect("one result");
        self.journal.audit_refusal(caller, Action::Write, h, result)
    }

    /// Adds or replaces `values` in the existing record of `h`, as `mode` allows. With `only` given, values whose
    /// index is not listed are ignored.
    pub fn put_values(
        &self,
        caller: &Caller,
        h: &Handle,
        values: Vec<HandleValue>,
        only: Option<&[u32]>,
        mode: ValueMode,
    ) -> Result<(), NodeError> {
        self.journal.audit_refusal(caller, Action::ModifyValues, h, self.commit_values(caller, h, values, only, mode))
    }

    fn commit_values(
        &self,
        caller: &Caller,
        h: &Handle,
        mut values: Vec<HandleValue>,
        only: Option<&[u32]>,
        mode: ValueMode,
    ) -> Result<(), NodeError> {
        let id = caller.require()?;
        self.homing.check_responsible(h)?;
        self.records.check_values(&values)?;
        if let Some(only) = only {
            let only: HashSet<u32> = only.iter().copied().collect();
            values.retain(|v| only.contains(&v.index));
        }
        if values.is_empty() {
            return Err(NodeError::new(ErrorCode::InvalidValue, "no value given (or none at the requested indexes)"));
        }
        let _guard = self.records.lock(h);
        let existing = self.records.load(h)?.ok_or_else(|| not_found(h))?;
        // Values resent unchanged keep their stored timestamp.
        keep_unchanged(&existing.values, &mut values);
        let mut merged: BTreeMap<u32, HandleValue> = existing.values.iter().map(|v| (v.index, v.clone())).collect();
        for v in values {
            match (merged.get_mut(&v.index), mode) {
                (Some(_), ValueMode::Add) => {
                    return Err(NodeError::new(
                        ErrorCode::ValueAlreadyExists,
                        format!("value at index {} of {h} already exists", v.index),
                    ));
                }
                (None, ValueMode::Modify) => {
                    return Err(NodeError::new(
                        ErrorCode::ValuesNotFound,
                        format!("{h} has no value at index {}", v.index),
                    ));
                }
                (Some(o), _) => *o = v,
                (None, _) => {
                    merged.insert(v.index, v);
                }
            }
        }
        let mut merged: Vec<HandleValue> = merged.into_values().collect();
        self.records.check_values(&merged)?;
        self.templates.apply(h, &mut merged)?;
        merged.sort_by_key(|v| v.index);
        self.records.check_values(&merged)?;
        self.authorize_changes(id, h, &existing.values, &merged)?;
        self.journal.commit(
            self.records,
            caller,
            Action::ModifyValues,
            h,
            &existing.handle,
            Some(&existing.values),
            Some(&merged),
        )
    }

    /// Removes the values at `indexes`; all of them must exist ([`ErrorCode::ValuesNotFound`]).
    pub fn delete_values(&self, caller: &Caller, h: &Handle, indexes: &[u32]) -> Result<(), NodeError> {
        self.journal.audit_refusal(caller, Action::RemoveValues, h, self.commit_value_removal(caller, h, indexes))
    }

    fn commit_value_removal(&self, caller: &Caller, h: &Handle, indexes: &[u32]) -> Result<(), NodeError> {
        let id = caller.require()?;
        self.homing.check_responsible(h)?;
        let _guard = self.records.lock(h);
        let existing = self.records.load(h)?.ok_or_else(|| not_found(h))?;
        let present = by_index(&existing.values);
        if let Some(missing) = indexes.iter().find(|i| !present.contains_key(i)) {
            return Err(NodeError::new(ErrorCode::ValuesNotFound, format!("{h} has no value at index {missing}")));
        }
        let gone: HashSet<u32> = indexes.iter().copied().collect();
        let mut kept: Vec<HandleValue> = existing.values.iter().filter(|v| !gone.contains(&v.index)).cloned().collect();
        self.templates.apply(h, &mut kept)?;
        kept.sort_by_key(|v| v.index);
        self.authorize_changes(id, h, &existing.values, &kept)?;
        self.journal.commit(
            self.records,
            caller,
            Action::RemoveValues,
            h,
            &existing.handle,
            Some(&existing.values),
            Some(&kept),
        )
    }

    /// Deletes the handle and its record.
    pub fn delete_handle(&self, caller: &Caller, h: &Handle) -> Result<(), NodeError> {
        self.journal.audit_refusal(caller, Action::Delete, h, self.commit_deletion(caller, h))
    }

    fn commit_deletion(&self, caller: &Caller, h: &Handle) -> Result<(), NodeError> {
        let id = caller.require()?;
        self.homing.check_responsible(h)?;
        let _guard = self.records.lock(h);
        let existing = self.records.load(h)?.ok_or_else(|| not_found(h))?;
        self.access.authorize(id, h, &existing.values, perm::DELETE_HANDLE)?;
        self.journal.commit(self.records, caller, Action::Delete, h, &existing.handle, Some(&existing.values), None)
    }

    /// Creates a handle `prefix/<stem><random>` and returns it.
    pub fn mint(
        &self,
        caller: &Caller,
        prefix: &Prefix,
        stem: &str,
        values: Vec<HandleValue>,
    ) -> Result<Handle, NodeError> {
        let mut rng = rand::rng();
        for _ in 0..8 {
            let suffix: String =
                (0..MINT_LEN).map(|_| MINT_ALPHABET[rng.random_range(0..MINT_ALPHABET.len())] as char).collect();
            let h = self.homing.parse_handle(&format!("{prefix}/{stem}{suffix}"))?;
            match self.put_record(caller, &h, values.clone(), false) {
                Err(e) if e.code == ErrorCode::HandleAlreadyExists => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(h),
            }
        }
        Err(NodeError::new(ErrorCode::Internal, "could not mint a free suffix"))
    }
}

fn check_writable(old: Option<&HandleValue>, index: u32) -> Result<(), NodeError> {
    match old {
        Some(o) if o.perms.0 & Perms::ADMIN_WRITE == 0 => Err(NodeError::new(
            ErrorCode::Forbidden,
            format!("value at index {index} is not writable (permissions {})", o.perms.to_bits_string()),
        )),
        _ => Ok(()),
    }
}

/// Authorizes `id` to create `h`, and makes it the administrator of `values` (sorted by index) when they name
/// none. Creating a handle that is not a prefix handle depends only on the chain above its prefix, so within one
/// call the prefixes in `granted` are not asked again: a batch of 2,000 under one prefix walks the chain once.
pub(super) fn authorize_new(
    r: &Registrar<'_>,
    id: &Identity,
    h: &Handle,
    values: &mut Vec<HandleValue>,
    granted: &mut HashSet<String>,
) -> Result<(), NodeError> {
    let by_prefix = h.administered_prefix().is_none();
    if !(by_prefix && granted.contains(h.prefix_key())) {
        r.access.authorize(id, h, &[], perm::ADD_HANDLE)?;
        if by_prefix {
            granted.insert(h.prefix_key().to_owned());
        }
    }
    if !values.iter().any(|v| v.is(types::HS_ADMIN)) {
        values.push(default_admin(id, values));
    }
    values.sort_by_key(|v| v.index);
    Ok(())
}

/// The `HS_ADMIN` value naming the creator, for records created without one.
fn default_admin(id: &Identity, values: &[HandleValue]) -> HandleValue {
    let index = (DEFAULT_ADMIN_INDEX..).find(|i| !values.iter().any(|v| v.index == *i)).unwrap_or(DEFAULT_ADMIN_INDEX);
    let admin = AdminRef { handle: id.handle.as_str().to_owned(), index: id.index, perms: perm::ALL_BUT_LIST };
    HandleValue::new(index, types::HS_ADMIN, admin.encode(), now())
}
