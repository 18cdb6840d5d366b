//! Statistics reports, computed one at a time on their own thread at nice 10. A year's report reads every
//! counter of every prefix for every day (at 2,000 prefixes, three million of them: over a second of CPU), and
//! `/api/stats` is public: on the blocking pool, a few clients asking for years at once would take every core
//! from resolution. On one low-priority thread a report yields to lookups, and when [`REPORT_QUEUE`] reports
//! already wait, the next is refused at once with "overloaded, retry later".

use std::sync::Arc;

use super::Node;
use crate::error::{ErrorCode, NodeError};
use crate::lowprio::{LowPriority, NotRun};
use crate::stats::{Report, ReportQuery};

/// Reports waiting for the reports thread at most.
pub const REPORT_QUEUE: usize = 8;
/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECS: u64 = 5;

impl Node {
    /// The statistics report `q` asks for, computed on the reports thread.
    pub async fn report(self: &Arc<Self>, q: ReportQuery) -> Result<Report, NodeError> {
        let lane = match self.reports.get() {
            Some(lane) => lane,
            None => {
                let lane = LowPriority::start("idnode-report", 10, REPORT_QUEUE).map_err(|e| {
                    NodeError::new(ErrorCode::Internal, format!("cannot start the reports thread: {e}"))
                })?;
                self.reports.get_or_init(|| lane)
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
