//! Statistics reports, computed one at a time on their own thread at nice 10. A year's report reads every
//! counter of every prefix for every day (at 2,000 prefixes, three million of them: over a second of CPU), and
//! `/api/stats` is public: on the blocking pool, a few clients asking for years at once would take every core
//! from resolution. On one low-priority thread a report yields to lookups, and when [`REPORT_QUEUE`] reports
//! already wait, the next is refused at once with "overloaded, retry later". A client (an address; IPv6 per /56)
//! has one report in the queue at a time, so that one client cannot hold every place.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use super::Node;
use crate::error::{ErrorCode, NodeError};
use crate::lowprio::{LowPriority, NotRun};
use crate::stats::{Report, ReportQuery};

/// Reports waiting for the reports thread at most.
pub const REPORT_QUEUE: usize = 8;
/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// The reports thread, started with the first report, and the clients with a report queued or running.
#[derive(Default)]
pub(crate) struct Reports {
    pub(super) lane: OnceLock<LowPriority>,
    clients: Mutex<HashSet<IpAddr>>,
}

/// A client's place in the queue, given back when its report is done or abandoned.
struct QueuePlace<'a> {
    reports: &'a Reports,
    client: Option<IpAddr>,
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client {
            self.reports.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&c);
        }
    }
}

impl Reports {
    /// A place for `client` (none: from inside the process), unless it has one already.
    fn place(&self, client: Option<IpAddr>) -> Option<QueuePlace<'_>> {
        let client = client.map(crate::net::client);
        if let Some(c) = client
            && !self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(c)
        {
            return None;
        }
        Some(QueuePlace { reports: self, client })
    }
}

impl Node {
    /// The statistics report `q` asks for by `client`, computed on the reports thread.
    pub async fn report(self: &Arc<Self>, q: ReportQuery, client: Option<IpAddr>) -> Result<Report, NodeError> {
        let Some(_place) = self.reports.place(client) else {
            return Err(NodeError::new(
                ErrorCode::Overloaded,
                "a statistics report of this client is being computed already; retry when it is done",
            )
            .retry_after(RETRY_AFTER_SECS));
        };
        let reports = &self.reports.lane;
        let lane = match reports.get() {
            Some(lane) => lane,
            None => {
                let lane = LowPriority::start("idnode-report", 10, REPORT_QUEUE).map_err(|e| {
                    NodeError::new(ErrorCode::Internal, format!("cannot start the reports thread: {e}"))
                })?;
                reports.get_or_init(|| lane)
            }
        };
        let node = self.clone();
        match lane.run(move || node.stats().report(&q)).await {
            Ok(report) => report,
            Err(NotRun::Busy) => Err(NodeError::new(
                ErrorCode::Overloaded,
                format!("{REPORT_QUEUE} statistics reports are waiting already; retry later"),
            )
            .retry_after(RETRY_AFTER_SECS)),
            Err(NotRun::Failed) => Err(NodeError::new(ErrorCode::Internal, "the statistics report failed")),
        }
    }
}
