//! The metrics the core records: identifiers resolved, changes committed, audit entries written and client
//! addresses locked out.

use metrics::Counter;

use crate::metrics::{Family, Metrics};
use crate::request::{Outcome, Protocol};
use crate::stats::Change;

/// The core's series on a node's recorder.
#[derive(Debug)]
pub(crate) struct CoreMetrics {
    resolutions: Family<(Protocol, Outcome), Counter>,
    registrations: Family<Change, Counter>,
    audited_changes: Counter,
    audited_refusals: Counter,
    auth_lockouts: Counter,
    walks_spent: Counter,
    refusals_suppressed: Counter,
}

impl CoreMetrics {
    pub(crate) fn new(m: &Metrics) -> Self {
        const AUDIT: &str = "idnode_audit_records_total";
        const AUDIT_HELP: &str = "Audit records written, by kind (change or denied).";
        Self {
            resolutions: m.family(
                "idnode_core_resolutions_total",
                "Identifiers resolved, by protocol and result (each identifier of a batch counts).",
            ),
            registrations: m
                .family("idnode_core_registrations_total", "Committed changes of records, by kind.")
                .register_all(Change::ALL),
            audited_changes: m.counter_with(AUDIT, AUDIT_HELP, &[("kind", "change")]),
            audited_refusals: m.counter_with(AUDIT, AUDIT_HELP, &[("kind", "denied")]),
            auth_lockouts: m.counter(
                "idnode_auth_lockouts_total",
                "Client addresses locked out of authentication after repeated failures.",
            ),
            refusals_suppressed: m.counter(
                "idnode_audit_refusals_suppressed_total",
                "Refusals not written to the audit log: their identity and client had written their share this minute.",
            ),
            walks_spent: m.counter(
                "idnode_auth_walk_exhausted_total",
                "Authorization checks that ran out of budget (too many HS_ADMIN values or HS_VLIST members) and denied.",
            ),
        }
    }

    /// One identifier resolved through `protocol`.
    pub(crate) fn resolution(&self, protocol: Protocol, outcome: Outcome) {
        self.resolutions.get((protocol, outcome)).increment(1);
    }

    /// A committed change.
    pub(crate) fn registration(&self, change: Change) {
        self.registrations.get(change).increment(1);
    }

    /// An audit entry written: of a change, or of a refusal (`denied`).
    pub(crate) fn audited(&self, denied: bool) {
        if denied { &self.audited_refusals } else { &self.audited_changes }.increment(1);
    }

    /// A refusal counted but not written to the audit log.
    pub(crate) fn refusal_suppressed(&self) {
        self.refusals_suppressed.increment(1);
    }

    /// An authorization check that ran out of budget.
    pub(crate) fn walk_spent(&self) {
        self.walks_spent.increment(1);
    }

    /// A client address locked out of authentication.
    pub(crate) fn auth_lockout(&self) {
        self.auth_lockouts.increment(1);
    }
}
