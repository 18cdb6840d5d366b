//! What this node is responsible for: the prefixes it homes (and those derived from them) and how it reads a
//! handle (its suffix rule).

use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix, SuffixCase};

/// The homed prefixes and the suffix rule.
#[derive(Debug, Clone)]
pub(crate) struct Homing {
    prefixes: Vec<Prefix>,
    suffix_case: SuffixCase,
}

impl Homing {
    pub(crate) fn new(prefixes: Vec<Prefix>, suffix_case: SuffixCase) -> Self {
        Self { prefixes, suffix_case }
    }

    /// Parses a handle with this node's suffix rule. A leading `hdl:` is answered as the Handle.Net server does:
    /// it is a URI scheme, not part of a handle, so its "prefix" is foreign (rc 301).
    pub(crate) fn parse_handle(&self, s: &str) -> Result<Handle, NodeError> {
        if s.as_bytes().get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"hdl:")) {
            let msg = format!("\"hdl:\" is a URI scheme, not part of a handle: ask for {}", &s[4..]);
            return Err(NodeError::new(ErrorCode::NotResponsible, msg));
        }
        Ok(Handle::parse(s, self.suffix_case)?)
    }

    /// The configured prefixes, the first being the node prefix.
    pub(crate) fn configured(&self) -> &[Prefix] {
        &self.prefixes
    }

    /// Whether `prefix` is homed here (configured, or derived from a configured prefix).
    pub(crate) fn homes(&self, prefix: &Prefix) -> bool {
        self.prefixes.iter().any(|p| prefix.is_within(p))
    }

    /// Fails with "not responsible" unless the node homes the handle (for `0.NA/X`, the prefix `X`).
    pub(crate) fn check_responsible(&self, h: &Handle) -> Result<(), NodeError> {
        let p = h.administered_prefix().unwrap_or_else(|| h.prefix());
        if self.homes(&p) {
            Ok(())
        } else {
            Err(NodeError::new(
                ErrorCode::NotResponsible,
                format!("this node is not responsible for prefix {}", h.prefix_str()),
            ))
        }
    }
}
