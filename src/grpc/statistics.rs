//! `Statistics`: the published statistics report, as `GET /api/stats` serves it.

use tonic::{Request, Response, Status};

use super::{ServiceState, pb, status};
use crate::error::NodeError;
use crate::request::{Operation, Origin};
use crate::stats::{Counts, Report, ReportQuery, parse_date};

/// The `idnode.v1.Statistics` service.
#[derive(Clone)]
pub struct StatisticsService(pub(crate) ServiceState);

fn counts(c: &Counts) -> Option<pb::Counts> {
    Some(pb::Counts { created: c.created, deleted: c.deleted, resolutions: c.resolutions, misses: c.misses })
}

fn report(r: Report) -> pb::StatisticsReport {
    pb::StatisticsReport {
        from: r.from,
        to: r.to,
        utc_offset: r.utc_offset,
        registered: r.registered,
        total: counts(&r.total),
        period: counts(&r.period),
        days: r.days.iter().map(|d| pb::DayCounts { date: d.date.clone(), counts: counts(&d.counts) }).collect(),
        prefix_count: r.prefix_count as u64,
        prefixes: r
            .prefixes
            .iter()
            .map(|p| pb::PrefixCounts {
                prefix: p.prefix.clone(),
                registered: p.registered,
                period: counts(&p.period),
                total: counts(&p.total),
            })
            .collect(),
    }
}

fn query(req: &pb::StatisticsRequest) -> Result<ReportQuery, NodeError> {
    let date = |s: &str| if s.is_empty() { Ok(None) } else { parse_date(s).map(Some) };
    Ok(ReportQuery {
        from: date(&req.from)?,
        to: date(&req.to)?,
        prefix: (!req.prefix.is_empty()).then(|| req.prefix.clone()),
        top: req.top.map(|t| t as usize),
    })
}

#[tonic::async_trait]
impl pb::statistics_server::Statistics for StatisticsService {
    async fn get_statistics(
        &self,
        req: Request<pb::StatisticsRequest>,
    ) -> Result<Response<pb::StatisticsReport>, Status> {
        let _admitted = self.0.dispatch(&req, Operation::Statistics)?;
        let q = query(req.get_ref()).map_err(status)?;
        let client =
            req.extensions().get::<Origin>().and_then(|o| o.peer).or_else(|| req.remote_addr()).map(|p| p.ip());
        self.0.runtime.report(&self.0.node, q, client).await.map(|r| Response::new(report(r))).map_err(status)
    }
}
