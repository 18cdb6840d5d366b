//! Periodic work of a running node: flushing the resolution statistics, draining histogram samples, and
//! sweeping the audit log past its retention. Each task stops with the node; the statistics get a last flush.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::node::Node;

/// How often histogram samples are drained into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Runs `work` on the blocking pool every `period` until `stop`; once more at the end when `last` is set.
fn every(
    period: Duration,
    mut stop: watch::Receiver<bool>,
    last: bool,
    work: impl Fn() + Send + Sync + Clone + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let _ = tokio::task::spawn_blocking(work.clone()).await;
        }
        if last {
            let _ = tokio::task::spawn_blocking(work).await;
        }
    })
}

/// Starts the periodic tasks of `node`.
pub fn spawn(cfg: &Config, node: &Arc<Node>, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let n = node.clone();
    let flush = move || match n.stats().flush() {
        Ok(()) => n.metrics().stats_flushed(true),
        Err(e) => {
            n.metrics().stats_flushed(false);
            tracing::error!(error = %e, "cannot flush statistics; they stay counted for the next flush");
        }
    };
    let n = node.clone();
    let upkeep = move || n.metrics().upkeep();
    let mut tasks = vec![
        every(Duration::from_secs(cfg.statistics.flush_interval_secs), stop.clone(), true, flush),
        every(UPKEEP_INTERVAL, stop.clone(), false, upkeep),
    ];
    if cfg.audit.retention_days > 0 {
        let n = node.clone();
        let max_age = cfg.audit.retention_days.saturating_mul(86_400);
        let sweep = move || match n.audit().sweep(max_age) {
            Ok(0) => {}
            Ok(k) => tracing::info!(entries = k, "swept audit entries past retention"),
            Err(e) => tracing::error!(error = %e, "audit retention sweep failed"),
        };
        tasks.push(every(Duration::from_secs(cfg.audit.sweep_interval_secs), stop.clone(), false, sweep));
    }
    tasks
}
