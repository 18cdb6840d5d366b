//! Whole-record writes, one or many in one call: each checked against its template, planned against the record
//! it finds (in the store, or written by an earlier item of the same call) and authorized, and all of them staged
//! into one store batch, so that a batch of 2,000 records costs one atomic, durable write (one fsync), not 2,000.
//! A write of a prefix handle (`0.NA/X`) is a batch of its own, as authorization under `X` reads it.

use std::collections::{HashMap, HashSet};

use super::registration::{
    PutOutcome, RecordMode, RecordWrite, Registrar, authorize_new, keep_unchanged, not_found, same_content,
};
use super::{Caller, Identity};
use crate::audit::Action;
use crate::error::{ErrorCode, NodeError};
use crate::id::Handle;
use crate::record::HandleValue;
use crate::record::wire::StoredRecord;
use crate::store::Batch;

/// What a write will do to the record it found.
enum Plan {
    /// An idempotent create found the identical record.
    Unchanged,
    /// Writes `new` over `old` (none: a new handle).
    Write {
        action: Action,
        as_created: String,
        old: Option<Vec<HandleValue>>,
        new: Vec<HandleValue>,
        outcome: PutOutcome,
    },
}

impl Registrar<'_> {
    /// Writes whole records, in order, as one store write; one result per item. Items fail on their own (a
    /// request that did not parse, template, permission, existence); a failed store write fails every item it
    /// carried.
    pub fn write_records(
        &self,
        caller: &Caller,
        writes: Vec<Result<RecordWrite, NodeError>>,
    ) -> Vec<Result<PutOutcome, NodeError>> {
        let handles: Vec<Option<Handle>> = writes.iter().map(|w| w.as_ref().ok().map(|w| w.h.clone())).collect();
        // A prefix handle's record decides who may write under the prefix, and authorization reads the store: so
        // each write of one is committed on its own, and the items after it are authorized against it.
        let mut results = Vec::with_capacity(writes.len());
        let mut group = Vec::new();
        for w in writes {
            let prefix_handle = w.as_ref().is_ok_and(|w| w.h.administered_prefix().is_some());
            if prefix_handle && !group.is_empty() {
                results.extend(self.commit_records(caller, std::mem::take(&mut group)));
            }
            group.push(w);
            if prefix_handle {
                results.extend(self.commit_records(caller, std::mem::take(&mut group)));
            }
        }
        results.extend(self.commit_records(caller, group));
        let audited = |(r, h): (Result<PutOutcome, NodeError>, &Option<Handle>)| match h {
            Some(h) => self.journal.audit_refusal(caller, Action::Write, h, r),
            None => r,
        };
        results.into_iter().zip(&handles).map(audited).collect()
    }

    pub(super) fn commit_records(
        &self,
        caller: &Caller,
        writes: Vec<Result<RecordWrite, NodeError>>,
    ) -> Vec<Result<PutOutcome, NodeError>> {
        let id = match caller.require() {
            Ok(id) => id,
            Err(e) => return writes.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results: Vec<Option<Result<PutOutcome, NodeError>>> = (0..writes.len()).map(|_| None).collect();
        let mut checked = Vec::with_capacity(writes.len());
        for (pos, write) in writes.into_iter().enumerate() {
            let RecordWrite { h, mut values, mode } = match write {
                Ok(w) => w,
                Err(e) => {
                    results[pos] = Some(Err(e));
                    continue;
                }
            };
            let check = self
                .homing
                .check_responsible(&h)
                .and_then(|()| self.records.check_values(&values))
                .and_then(|()| self.templates.apply(&h, &mut values));
            match check {
                Ok(()) => checked.push((pos, h, values, mode)),
                Err(e) => results[pos] = Some(Err(e)),
            }
        }
        let _guards = self.records.lock_all(checked.iter().map(|c| &c.1));
        let (mut batch, mut pending) = (Batch::new(), HashMap::<String, StoredRecord>::new());
        let (mut staged, mut written) = (Vec::new(), Vec::new());
        // The prefixes under which this call may create handles, once asked (see `authorize_new`).
        let mut granted = HashSet::new();
        for (pos, h, values, mode) in checked {
            let existing = match pending.get(h.key()) {
                Some(r) => Ok(Some(r.clone())),
                None => self.records.load(&h),
            };
            match existing.and_then(|e| self.plan(id, &h, values, mode, e, &mut granted)) {
                Err(e) => results[pos] = Some(Err(e)),
                Ok(Plan::Unchanged) => results[pos] = Some(Ok(PutOutcome::Unchanged)),
                Ok(Plan::Write { action, as_created, old, new, outcome }) => {
                    let s = self.journal.stage(&mut batch, caller, action, &h, &as_created, old.as_deref(), Some(&new));
                    pending.insert(h.key().to_owned(), StoredRecord { handle: as_created, values: new });
                    staged.push((pos, s, outcome));
                    written.push(h);
                }
            }
        }
        if !staged.is_empty() {
            let write = self.records.write(&written, batch);
            if write.is_ok() {
                self.journal.committed_batch(&staged.iter().map(|(_, s, _)| s).collect::<Vec<_>>());
            }
            for (pos, _, outcome) in staged {
                results[pos] = Some(write.clone().map(|()| outcome));
            }
        }
        results.into_iter().map(|r| r.expect("every item has a result")).collect()
    }

    /// What writing `values` as `mode` does to `existing`, authorized for `id`.
    fn plan(
        &self,
        id: &Identity,
        h: &Handle,
        mut values: Vec<HandleValue>,
        mode: RecordMode,
        existing: Option<StoredRecord>,
        granted: &mut HashSet<String>,
    ) -> Result<Plan, NodeError> {
        let Some(existing) = existing else {
            if mode == RecordMode::Replace {
                return Err(not_found(h));
            }
            h.check_new()?;
            authorize_new(self, id, h, &mut values, granted)?;
            let as_created = h.as_str().to_owned();
            return Ok(Plan::Write {
                action: Action::Create,
                as_created,
                old: None,
                new: values,
                outcome: PutOutcome::Created,
            });
        };
        match mode {
            RecordMode::Create => {
                Err(NodeError::new(ErrorCode::HandleAlreadyExists, format!("handle {h} already exists")))
            }
            RecordMode::CreateIdempotent => {
                // Only a caller who may create the handle learns whether the record matches.
                authorize_new(self, id, h, &mut values, granted)?;
                if same_content(&existing.values, &values) {
                    Ok(Plan::Unchanged)
                } else {
                    Err(NodeError::new(
                        ErrorCode::HandleAlreadyExists,
                        format!("handle {h} already exists with other values"),
                    ))
                }
            }
            RecordMode::CreateOrReplace | RecordMode::Replace => {
                values.sort_by_key(|v| v.index);
                keep_unchanged(&existing.values, &mut values);
                self.authorize_changes(id, h, &existing.values, &values)?;
                Ok(Plan::Write {
                    action: Action::Replace,
                    as_created: existing.handle,
                    old: Some(existing.values),
                    new: values,
                    outcome: PutOutcome::Updated,
                })
            }
        }
    }
}
