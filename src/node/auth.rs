//! Authentication (`index:handle` identities against `HS_SECKEY` values) and authorization (`HS_ADMIN` bits,
//! `HS_VLIST` groups, and the chain of prefix handles above a handle).
//!
//! Policy: an identity may act on a handle when an `HS_ADMIN` value of the handle grants the bit, or when an
//! `HS_ADMIN` value of a prefix handle above it does: `0.NA/88.798.1` for `88.798.1/x`, then `0.NA/88.798` (the
//! node administrator) and so on up to the homed root. An enterprise administrator thus manages every identifier
//! of its prefix, and the node administrator every enterprise prefix.

use subtle::ConstantTimeEq;

use super::Node;
use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix};
use crate::record::admin::{AdminRef, decode_vlist, perm};
use crate::record::{HandleValue, types};

/// Deepest nesting of `HS_VLIST` groups followed.
const MAX_GROUP_DEPTH: usize = 4;

/// An authenticated identity: the secret key at `index` of `handle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The identity's handle.
    pub handle: Handle,
    /// The index of its key (0: any key of the handle).
    pub index: u32,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.index, self.handle)
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials.
    Anonymous,
    /// Authenticated.
    Identity(Identity),
}

impl Caller {
    /// The identity, or "authentication needed".
    pub fn require(&self) -> Result<&Identity, NodeError> {
        match self {
            Caller::Identity(i) => Ok(i),
            Caller::Anonymous => Err(NodeError::new(ErrorCode::AuthenticationNeeded, "authentication needed")),
        }
    }
}

fn auth_failed(user: &str) -> NodeError {
    NodeError::new(ErrorCode::AuthenticationFailed, format!("authentication failed for {user}"))
}

impl Node {
    /// Checks `secret` against the `HS_SECKEY` values of the identity `user` (`index:handle`).
    pub fn authenticate(&self, user: &str, secret: &[u8]) -> Result<Identity, NodeError> {
        let (index, handle) = user.split_once(':').ok_or_else(|| {
            NodeError::new(
                ErrorCode::AuthenticationFailed,
                format!("identity {user:?} is not of the form index:handle"),
            )
        })?;
        let index: u32 = index.trim().parse().map_err(|_| auth_failed(user))?;
        let handle = self.parse_handle(handle).map_err(|_| auth_failed(user))?;
        if self.check_responsible(&handle).is_err() {
            return Err(auth_failed(user));
        }
        let record = self.load(&handle)?.ok_or_else(|| auth_failed(user))?;
        let ok = record
            .values
            .iter()
            .filter(|v| v.is(types::HS_SECKEY) && (index == 0 || v.index == index))
            .fold(false, |acc, v| acc | bool::from(v.data.as_slice().ct_eq(secret)));
        if ok { Ok(Identity { handle, index }) } else { Err(auth_failed(user)) }
    }

    /// Whether `id` holds `bit` through the `HS_ADMIN` values among `values`.
    pub(crate) fn admin_grants(&self, id: &Identity, values: &[HandleValue], bit: u16) -> Result<bool, NodeError> {
        for v in values.iter().filter(|v| v.is(types::HS_ADMIN)) {
            let Ok(a) = AdminRef::decode(&v.data) else { continue };
            if a.perms & bit != 0 && self.refers_to(id, &a.handle, a.index, 0)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the reference (`handle`, `index`) names `id`, directly or through `HS_VLIST` groups.
    fn refers_to(&self, id: &Identity, handle: &str, index: u32, depth: usize) -> Result<bool, NodeError> {
        let Ok(h) = self.parse_handle(handle) else { return Ok(false) };
        if h.key() == id.handle.key() && (index == 0 || index == id.index || id.index == 0) {
            return Ok(true);
        }
        if depth >= MAX_GROUP_DEPTH || self.check_responsible(&h).is_err() {
            return Ok(false);
        }
        let Some(group) = self.load(&h)? else { return Ok(false) };
        for v in group.values.iter().filter(|v| v.is(types::HS_VLIST) && (index == 0 || v.index == index)) {
            for m in decode_vlist(&v.data).unwrap_or_default() {
                if self.refers_to(id, &m.handle, m.index, depth + 1)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Whether `id` holds `bit` on a prefix handle of the chain starting at `from` and going up while homed.
    pub(crate) fn chain_grants(&self, id: &Identity, from: Option<Prefix>, bit: u16) -> Result<bool, NodeError> {
        let mut next = from;
        while let Some(p) = next {
            if !self.homes(&p) {
                break;
            }
            if let Some(rec) = self.load(&Handle::prefix_handle(&p))?
                && self.admin_grants(id, &rec.values, bit)?
            {
                return Ok(true);
            }
            next = p.parent();
        }
        Ok(false)
    }

    /// Authorizes `bit` on `target` whose current values are `existing` (empty for a new handle).
    pub(crate) fn authorize(
        &self,
        id: &Identity,
        target: &Handle,
        existing: &[HandleValue],
        bit: u16,
    ) -> Result<(), NodeError> {
        if self.admin_grants(id, existing, bit)? {
            return Ok(());
        }
        // Prefix handles are governed by the prefix above the one they administer.
        let (start, bit) = match target.administered_prefix() {
            Some(p) => (p.parent(), derived_prefix_bit(bit)),
            None => (Some(target.prefix()), bit),
        };
        if self.chain_grants(id, start, bit)? {
            return Ok(());
        }
        Err(NodeError::new(ErrorCode::Forbidden, format!("{id} lacks the {} permission on {target}", perm_name(bit))))
    }
}

/// Creating or deleting a prefix handle needs the derived-prefix bits on the parent prefix.
fn derived_prefix_bit(bit: u16) -> u16 {
    match bit {
        perm::ADD_HANDLE => perm::ADD_DERIVED_PREFIX,
        perm::DELETE_HANDLE => perm::DELETE_DERIVED_PREFIX,
        other => other,
    }
}

/// The name of a single permission bit.
pub(crate) fn perm_name(bit: u16) -> &'static str {
    perm::NAMES.get(bit.trailing_zeros() as usize).copied().unwrap_or("unknown")
}
