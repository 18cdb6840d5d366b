//! Handle records in the store: the one place that knows how a record is keyed (the normalized handle, in the
//! `handles` space, so that a prefix's records are one range) and encoded (`u8 format | handle as created |
//! u32 count | values`, RFC 3652 value encoding; [`crate::record::wire`]). Everything that reads or writes
//! records, the core's commit and the demo and benchmark data sets alike, goes through here.

use sha2::Digest as _;

use crate::id::{Handle, Prefix, SuffixCase};
use crate::record::wire::{StoredRecord, decode_record, decode_record_handle, encode_record};
use crate::record::{HandleValue, RecordError};
use crate::store::{Batch, Space, Store, StoreError, Visit};

/// Reads the record of `h`: `None` if there is none, an error if the store failed or the bytes do not decode.
pub fn get(store: &dyn Store, h: &Handle) -> Result<Option<Result<StoredRecord, RecordError>>, StoreError> {
    Ok(store.get(Space::Handles, h.key().as_bytes())?.map(|bytes| decode_record(&bytes)))
}

/// Whether reading the record of `h` would read no file (see [`Store::in_memory`]).
pub fn in_memory(store: &dyn Store, h: &Handle) -> bool {
    store.in_memory(Space::Handles, h.key().as_bytes())
}

/// Whether `h` has a record.
pub fn exists(store: &dyn Store, h: &Handle) -> Result<bool, StoreError> {
    Ok(store.get(Space::Handles, h.key().as_bytes())?.is_some())
}

/// Whether the store holds no record at all.
pub fn is_empty(store: &dyn Store) -> Result<bool, StoreError> {
    let mut empty = true;
    store.scan(Space::Handles, b"", None, &mut |_, _| {
        empty = false;
        Visit::Stop
    })?;
    Ok(empty)
}

/// Puts the record of `h` (written `as_created` when it was created) with `values` into `batch`; returns its [`digest`].
pub fn put(batch: &mut Batch, h: &Handle, as_created: &str, values: &[HandleValue]) -> String {
    let record = encode_record(as_created, values);
    let digest = digest_of(&record);
    batch.put(Space::Handles, h.key().as_bytes().to_vec(), record);
    digest
}

/// Puts the record of a handle written `as_created` when it was created, keyed as a case-sensitive node keys it, into `batch`: for
/// the data sets, which generate valid handles (one that does not parse is keyed by its own text).
pub fn put_created(batch: &mut Batch, as_created: &str, values: &[HandleValue]) {
    let key = Handle::parse(as_created, SuffixCase::Sensitive)
        .map(|h| h.key().to_owned())
        .unwrap_or_else(|_| as_created.to_owned());
    batch.put(Space::Handles, key.into_bytes(), encode_record(as_created, values));
}

/// The digest the audit log records of a record (`sha256:` and the hex of its stored bytes).
pub fn digest(as_created: &str, values: &[HandleValue]) -> String {
    digest_of(&encode_record(as_created, values))
}

fn digest_of(record: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(record)))
}

/// Deletes the record of `h` in `batch`.
pub fn delete(batch: &mut Batch, h: &Handle) {
    batch.delete(Space::Handles, h.key().as_bytes().to_vec());
}

/// Visits the handles (as created, or the decoding error) of every record under `prefix`, in key order.
pub fn scan_prefix(
    store: &dyn Store,
    prefix: &Prefix,
    visit: &mut dyn FnMut(Result<&str, RecordError>) -> Visit,
) -> Result<(), StoreError> {
    store.scan(Space::Handles, prefix.key_prefix().as_bytes(), None, &mut |_, v| visit(decode_record_handle(v)))
}

/// Visits the normalized keys of the records whose keys start with `start`, in key order.
pub fn scan_keys(store: &dyn Store, start: &str, visit: &mut dyn FnMut(&str) -> Visit) -> Result<(), StoreError> {
    store.scan(Space::Handles, start.as_bytes(), None, &mut |k, _| match std::str::from_utf8(k) {
        Ok(k) => visit(k),
        Err(_) => Visit::Continue,
    })
}
