//! Authentication (`index:handle` identities against `HS_SECKEY` values) and authorization (`HS_ADMIN` bits,
//! `HS_VLIST` groups, and the chain of prefix handles above a handle).
//!
//! Policy: an identity may act on a handle when an `HS_ADMIN` value of the handle grants the bit, or when an
//! `HS_ADMIN` value of a prefix handle above it does: `0.NA/88.798.1` for `88.798.1/x`, then `0.NA/88.798` (the
//! node administrator) and so on up to the homed root. An enterprise administrator thus manages every identifier
//! of its prefix, and the node administrator every enterprise prefix.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::percent_decode;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use std::time::Instant;

use super::throttle::{Failure, Throttle};
use super::{Homing, Journal, Records};
use crate::audit::Action;
use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix};
use crate::record::admin::{AdminRef, decode_vlist, perm};
use crate::record::{HandleValue, types};
use crate::request::Origin;

/// Deepest nesting of `HS_VLIST` groups followed.
const MAX_GROUP_DEPTH: usize = 4;
/// Most group records one authorization check loads.
const MAX_WALK_LOADS: usize = 32;
/// Most references (`HS_ADMIN` values and group members) one authorization check examines.
const MAX_WALK_REFERENCES: usize = 1024;

/// The budget of one authorization check. Every `HS_ADMIN` value it examines, of the prefix chain and of the
/// handle, and every `HS_VLIST` group they lead to, draw on it; once it is spent the check denies, at once.
#[derive(Default)]
struct Walk {
    visited: std::collections::HashSet<(String, u32)>,
    loads: usize,
    references: usize,
    spent: bool,
}

impl Walk {
    /// Takes one reference from the budget; false once it is spent.
    fn reference(&mut self) -> bool {
        self.references += 1;
        self.spent |= self.references > MAX_WALK_REFERENCES;
        !self.spent
    }

    /// Takes one group load from the budget; false once it is spent.
    fn load(&mut self) -> bool {
        self.loads += 1;
        self.spent |= self.loads > MAX_WALK_LOADS;
        !self.spent
    }
}

/// An authenticated identity: the secret key at `index` of `handle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The identity's handle.
    pub handle: Handle,
    /// The index of its key (0: any key of the handle).
    pub index: u32,
}

impl Identity {
    /// The normalized `index:handle` form that indexes the audit log.
    pub fn key(&self) -> String {
        format!("{}:{}", self.index, self.handle.key())
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.index, self.handle)
    }
}

/// Who is asking, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    identity: Option<Identity>,
    origin: Origin,
}

impl Caller {
    /// An anonymous caller from inside the process.
    pub fn anonymous() -> Self {
        Self { identity: None, origin: Origin::internal() }
    }

    /// An authenticated caller from inside the process.
    pub fn authenticated(identity: Identity) -> Self {
        Self { identity: Some(identity), origin: Origin::internal() }
    }

    /// A caller with `identity` (or none) from `origin`.
    pub fn new(identity: Option<Identity>, origin: Origin) -> Self {
        Self { identity, origin }
    }

    /// The identity, when authenticated.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// Whether no credentials came with the request.
    pub fn is_anonymous(&self) -> bool {
        self.identity.is_none()
    }

    /// Where the request came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The identity, or "authentication needed".
    pub fn require(&self) -> Result<&Identity, NodeError> {
        self.identity.as_ref().ok_or_else(|| NodeError::new(ErrorCode::AuthenticationNeeded, "authentication needed"))
    }
}

fn locked_out(secs: u64) -> NodeError {
    NodeError::new(
        ErrorCode::TooManyFailures,
        format!("too many failed authentications from this address; try again in {secs} s"),
    )
    .retry_after(secs)
}

fn auth_failed(user: &str) -> NodeError {
    NodeError::new(ErrorCode::AuthenticationFailed, format!("authentication failed for {user}"))
}

/// Splits decoded Basic credentials into identity and secret. The identity is normally percent-encoded
/// (`300%3A0.NA/88.798`); a raw `300:0.NA/88.798:secret` is accepted too.
fn split_credentials(decoded: &[u8]) -> Option<(String, Vec<u8>)> {
    let first = decoded.iter().position(|b| *b == b':')?;
    let (user, secret) = if decoded[..first].iter().all(u8::is_ascii_digit) && first > 0 {
        let second = first + 1 + decoded[first + 1..].iter().position(|b| *b == b':')?;
        (&decoded[..second], &decoded[second + 1..])
    } else {
        (&decoded[..first], &decoded[first + 1..])
    };
    let user = percent_decode(user).decode_utf8().ok()?.into_owned();
    Some((user, secret.to_vec()))
}

/// The identity and secret of an `Authorization` value `Basic base64(index%3Ahandle:secret)`.
fn basic_credentials(value: &str) -> Result<(String, Vec<u8>), NodeError> {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(NodeError::new(
            ErrorCode::AuthenticationNeeded,
            format!("authorization scheme {scheme:?} is not supported; use Basic with index:handle and the secret key"),
        ));
    }
    let decoded = B64
        .decode(rest.trim())
        .map_err(|_| NodeError::new(ErrorCode::AuthenticationFailed, "Basic credentials are not valid base64"))?;
    split_credentials(&decoded).ok_or_else(|| {
        NodeError::new(ErrorCode::AuthenticationFailed, "Basic credentials must be index:handle and a secret")
    })
}

/// Authentication (with the lockout of addresses that fail it) and authorization.
pub(crate) struct Access<'a> {
    pub(crate) homing: &'a Homing,
    pub(crate) records: &'a Records,
    pub(crate) journal: &'a Journal,
    pub(crate) throttle: &'a Throttle,
}

impl Access<'_> {
    /// The caller of a request from `origin` with an `Authorization` header value (or none). Failed
    /// authentications are written to the audit log; an address that fails too often as one identity, or far too
    /// often as any, is locked out of it, or of all, for a while ([`throttle`](super::throttle)), and that is
    /// written once.
    pub fn caller_from(&self, authorization: Option<&str>, origin: Origin) -> Result<Caller, NodeError> {
        let Some(value) = authorization else { return Ok(Caller::new(None, origin)) };
        match basic_credentials(value) {
            Ok((user, secret)) => {
                self.login(&user, types::HS_SECKEY, &|stored| bool::from(stored.ct_eq(&secret)), origin)
            }
            Err(e) => self.throttled(|| Err(e), "", origin),
        }
    }

    /// The caller `user` (`index:handle`) from `origin`, when one of the identity's keys of `key_type`
    /// (`HS_SECKEY`, `HS_PUBKEY`) at its index satisfies `proves` (given the stored key: for a secret, the secret
    /// itself, or a digest the client derived from it). Throttled, and audited when refused, as
    /// [`Access::caller_from`] says.
    pub fn login(
        &self,
        user: &str,
        key_type: &str,
        proves: &dyn Fn(&[u8]) -> bool,
        origin: Origin,
    ) -> Result<Caller, NodeError> {
        let identity = self.identity(user);
        // Failures count against the handle whose key is guessed at, however its identity is spelt (`300:X`,
        // `0300:X`, `0:x`): one count per handle, not per spelling.
        let guessed = match &identity {
            Ok((_, handle)) => handle.key().to_owned(),
            Err(_) => String::new(),
        };
        let authenticate =
            || identity.and_then(|(index, handle)| self.check_key(user, index, handle, key_type, proves));
        self.throttled(authenticate, &guessed, origin)
    }

    /// The caller of a login from `origin` at the key of `guessed` (a handle's key): none while the address
    /// is locked out; a refusal is audited and counted towards a lockout.
    fn throttled(
        &self,
        authenticate: impl FnOnce() -> Result<Identity, NodeError>,
        guessed: &str,
        origin: Origin,
    ) -> Result<Caller, NodeError> {
        let peer = origin.peer.map(|p| p.ip());
        let now = Instant::now();
        if let Err(secs) = self.throttle.check(peer, guessed, now) {
            return Err(locked_out(secs));
        }
        match authenticate() {
            Ok(id) => Ok(Caller::new(Some(id), origin)),
            Err(e) => {
                if e.code == ErrorCode::AuthenticationFailed {
                    let caller = Caller::new(None, origin);
                    self.journal.write_refusal(&caller, Action::Authenticate, "", "", &e);
                    if let Failure::LockedOut(secs) = self.throttle.failed(peer, guessed, now) {
                        tracing::warn!(peer = ?caller.origin().peer, secs, "authentication locked out after repeated failures");
                        self.journal.counters().auth_lockout();
                        self.journal.write_refusal(&caller, Action::Authenticate, "", "", &locked_out(secs));
                    }
                }
                Err(e)
            }
        }
    }

    /// A digest of the `HS_SECKEY` value that authenticates `id`, or `None` when it is gone: a session opened
    /// with it ends when it changes.
    pub fn key_fingerprint(&self, id: &Identity) -> Result<Option<[u8; 32]>, NodeError> {
        let record = self.records.load(&id.handle)?;
        let key = record.and_then(|r| r.values.into_iter().find(|v| v.index == id.index && v.is(types::HS_SECKEY)));
        Ok(key.map(|v| sha2::Sha256::digest(&v.data).into()))
    }

    /// Checks `secret` against the `HS_SECKEY` values of the identity `user` (`index:handle`).
    pub fn authenticate(&self, user: &str, secret: &[u8]) -> Result<Identity, NodeError> {
        let (index, handle) = self.identity(user)?;
        self.check_key(user, index, handle, types::HS_SECKEY, &|stored| bool::from(stored.ct_eq(secret)))
    }

    /// The key index (`None` when it is not a number) and the handle of the identity `user` (`index:handle`).
    fn identity(&self, user: &str) -> Result<(Option<u32>, Handle), NodeError> {
        let (index, handle) = user.split_once(':').ok_or_else(|| {
            NodeError::new(
                ErrorCode::AuthenticationFailed,
                format!("identity {user:?} is not of the form index:handle"),
            )
        })?;
        let handle = self.homing.parse_handle(handle).map_err(|_| auth_failed(user))?;
        Ok((index.trim().parse().ok(), handle))
    }

    /// Checks the keys of `key_type` at `index` of `handle`, the identity `user`, with `proves`.
    fn check_key(
        &self,
        user: &str,
        index: Option<u32>,
        handle: Handle,
        key_type: &str,
        proves: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Identity, NodeError> {
        let index = index.ok_or_else(|| auth_failed(user))?;
        if self.homing.check_responsible(&handle).is_err() {
            return Err(auth_failed(user));
        }
        let record = self.records.load(&handle)?.ok_or_else(|| auth_failed(user))?;
        // The identity is the key that matched: index 0 ("any key") never grants the rights of other keys.
        let matched = record
            .values
            .iter()
            .filter(|v| v.is(key_type) && (index == 0 || v.index == index))
            .fold(None, |acc, v| if proves(&v.data) { acc.or(Some(v.index)) } else { acc });
        matched.map(|index| Identity { handle, index }).ok_or_else(|| auth_failed(user))
    }

    /// Whether `id` holds `bit` through the `HS_ADMIN` values among `values`, within `walk`'s budget.
    fn admin_grants(
        &self,
        id: &Identity,
        values: &[HandleValue],
        bit: u16,
        walk: &mut Walk,
    ) -> Result<bool, NodeError> {
        for v in values.iter().filter(|v| v.is(types::HS_ADMIN)) {
            if !walk.reference() {
                return Ok(false);
            }
            let Ok(a) = AdminRef::decode(&v.data) else { continue };
            if a.perms & bit != 0 && self.refers_to(id, &a.handle, a.index, walk, 0)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the reference (`handle`, `index`) names `id`, directly or through `HS_VLIST` groups. Each group is
    /// visited once and the walk draws on the check's budget, so cyclic or huge groups cannot stall the node.
    fn refers_to(
        &self,
        id: &Identity,
        handle: &str,
        index: u32,
        walk: &mut Walk,
        depth: usize,
    ) -> Result<bool, NodeError> {
        let Ok(h) = self.homing.parse_handle(handle) else { return Ok(false) };
        if h.key() == id.handle.key() && (index == 0 || index == id.index) {
            return Ok(true);
        }
        if depth >= MAX_GROUP_DEPTH
            || !walk.visited.insert((h.key().to_owned(), index))
            || self.homing.check_responsible(&h).is_err()
        {
            return Ok(false);
        }
        if !walk.load() {
            return Ok(false);
        }
        let Some(group) = self.records.load_shared(&h)? else { return Ok(false) };
        for v in group.record.values.iter().filter(|v| v.is(types::HS_VLIST) && (index == 0 || v.index == index)) {
            for m in decode_vlist(&v.data).unwrap_or_default() {
                if !walk.reference() {
                    return Ok(false);
                }
                if self.refers_to(id, &m.handle, m.index, walk, depth + 1)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Whether `id` holds `bit` on a prefix handle of the chain starting at `from` and going up while homed.
    fn chain_grants(&self, id: &Identity, from: Option<Prefix>, bit: u16, walk: &mut Walk) -> Result<bool, NodeError> {
        let mut next = from;
        while let Some(p) = next {
            if !self.homing.homes(&p) {
                break;
            }
            if let Some(rec) = self.records.load_shared(&Handle::prefix_handle(&p))?
                && self.admin_grants(id, &rec.record.values, bit, walk)?
            {
                return Ok(true);
            }
            next = p.parent();
        }
        Ok(false)
    }

    /// Checks that `caller` is a node administrator: holds the list-handles permission on the prefix handle of
    /// the node's first configured prefix (`0.NA/88.798`) or above. The audit log is theirs to read.
    pub fn authorize_node_admin(&self, caller: &Caller) -> Result<(), NodeError> {
        let id = caller.require()?;
        let prefix = self.homing.configured().first().cloned();
        let name = prefix.as_ref().map(|p| format!("0.NA/{p}")).unwrap_or_default();
        if self.checked(|walk| self.chain_grants(id, prefix.clone(), perm::LIST_HANDLES, walk))? {
            Ok(())
        } else {
            Err(NodeError::new(ErrorCode::Forbidden, format!("{id} is not an administrator of {name}")))
        }
    }

    /// Checks that `caller` may list the handles under `prefix`.
    pub fn authorize_list(&self, caller: &Caller, prefix: &Prefix) -> Result<(), NodeError> {
        self.authorize_on_prefix(caller, prefix, perm::LIST_HANDLES, "")
    }

    /// Checks that `caller` may define the data templates of `prefix`: holds the add-handle permission on
    /// `0.NA/<prefix>` or above (whoever registers under a prefix administers its metadata).
    pub fn authorize_templates(&self, caller: &Caller, prefix: &Prefix) -> Result<(), NodeError> {
        self.authorize_on_prefix(caller, prefix, perm::ADD_HANDLE, ", needed for its templates")
    }

    /// Checks that `caller` holds `bit` on the prefix handle of `prefix` (homed here) or above; `purpose`
    /// ends the refusal's message.
    fn authorize_on_prefix(&self, caller: &Caller, prefix: &Prefix, bit: u16, purpose: &str) -> Result<(), NodeError> {
        let id = caller.require()?;
        if !self.homing.homes(prefix) {
            return Err(NodeError::new(
                ErrorCode::NotResponsible,
                format!("this node is not responsible for prefix {prefix}"),
            ));
        }
        if self.checked(|walk| self.chain_grants(id, Some(prefix.clone()), bit, walk))? {
            Ok(())
        } else {
            Err(NodeError::new(
                ErrorCode::Forbidden,
                format!("{id} lacks the {} permission on 0.NA/{prefix}{purpose}", perm_name(bit)),
            ))
        }
    }

    /// Runs one authorization check with a fresh budget. A check that spends it is counted, and warned of at most
    /// once a minute: a request must not be able to drive the log.
    fn checked(&self, check: impl FnOnce(&mut Walk) -> Result<bool, NodeError>) -> Result<bool, NodeError> {
        static LINE: crate::log::Sparse = crate::log::Sparse::new();
        let mut walk = Walk::default();
        let granted = check(&mut walk)?;
        if walk.spent {
            self.journal.counters().walk_spent();
            if let Some(unlogged) = LINE.due() {
                tracing::warn!(
                    loads = walk.loads,
                    references = walk.references,
                    unlogged,
                    "an authorization check ran out of budget and denied (HS_ADMIN or HS_VLIST too large); \
                     counted in idnode_auth_walk_exhausted_total"
                );
            }
        }
        Ok(granted)
    }

    /// Authorizes `bit` on `target` whose current values are `existing` (empty for a new handle). A prefix
    /// handle (`0.NA/X`) is created and deleted only by the prefix above `X` (its derived-prefix bits), never
    /// through its own `HS_ADMIN` values, so that an enterprise cannot delete its own allocation; its other
    /// values its own administrators manage too. The top of this node's hierarchy, with nothing homed above it,
    /// governs itself.
    pub(crate) fn authorize(
        &self,
        id: &Identity,
        target: &Handle,
        existing: &[HandleValue],
        bit: u16,
    ) -> Result<(), NodeError> {
        let own = !matches!(bit, perm::ADD_HANDLE | perm::DELETE_HANDLE);
        self.authorize_in(id, target, existing, bit, own)
    }

    /// Authorizes `bit` on `target` by the chain above it only (the handle's own `HS_ADMIN` values do not count,
    /// but at the top of the node, with nothing above): for what the node publishes on its prefix handles
    /// (`HS_SITE`).
    pub(crate) fn authorize_from_above(
        &self,
        id: &Identity,
        target: &Handle,
        existing: &[HandleValue],
        bit: u16,
    ) -> Result<(), NodeError> {
        self.authorize_in(id, target, existing, bit, false)
    }

    /// Authorizes `bit` on `target`. The chain of prefix handles above is asked first: its values are the
    /// administrators', and the handle's own cannot starve it. The handle's own `HS_ADMIN` values among
    /// `existing` count for every handle, for a prefix handle only when `own`, and at the top of the node always.
    fn authorize_in(
        &self,
        id: &Identity,
        target: &Handle,
        existing: &[HandleValue],
        bit: u16,
        own: bool,
    ) -> Result<(), NodeError> {
        let (chain, chain_bit, own) = match target.administered_prefix() {
            Some(p) => match p.parent().filter(|parent| self.homing.homes(parent)) {
                Some(parent) => (Some(parent), derived_prefix_bit(bit), own),
                None => (None, bit, true),
            },
            None => (Some(target.prefix()), bit, true),
        };
        let granted = self.checked(|walk| {
            Ok(self.chain_grants(id, chain, chain_bit, walk)? || (own && self.admin_grants(id, existing, bit, walk)?))
        })?;
        if granted {
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

#[cfg(test)]
mod tests {
    use super::split_credentials;

    #[test]
    fn encoded_and_raw_identities() {
        let (u, s) = split_credentials(b"300%3A0.NA/88.798.1:pa:ss").unwrap();
        assert_eq!((u.as_str(), s.as_slice()), ("300:0.NA/88.798.1", &b"pa:ss"[..]));
        let (u, s) = split_credentials(b"300:0.NA/88.798.1:secret").unwrap();
        assert_eq!((u.as_str(), s.as_slice()), ("300:0.NA/88.798.1", &b"secret"[..]));
        assert!(split_credentials(b"nocolon").is_none());
        assert!(split_credentials(b"300:noseparator").is_none());
    }
}
