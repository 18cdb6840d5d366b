//! Periodic work of a running node: flushing the resolution statistics, draining histogram samples, bringing a
//! failed store back, and sweeping the audit log past its retention. Each task stops with the node; the
//! statistics get a last flush.
//!
//! The work runs on one maintenance thread ([`LowPriority`]), not on the blocking pool, at the workers' own
//! priority ([`MAINTENANCE_NICE`]). It ran at nice 19 once, so that a statistics flush (thousands of counter
//! merges, milliseconds of CPU) would yield to lookups; but a thread at nice 19 that holds something a worker
//! then waits for (a lock in the allocator, the kernel or RocksDB) runs at a seventieth of the worker's share on
//! a busy core, and the worker waited 300-400 ms for it (BENCHMARKS.md, "The maintenance thread's priority").

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::lowprio::LowPriority;
use crate::node::Node;

/// The maintenance thread's nice value: the workers' own (see the module's notes).
const MAINTENANCE_NICE: i32 = 0;

/// How often histogram samples are drained into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// How often a failed store tries to recover.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(1);

/// Jobs waiting for the maintenance thread at most: each periodic task waits for its own, so three at most.
const MAINTENANCE_QUEUE: usize = 8;

/// Runs `work` on the maintenance thread every `period` until `stop`; once more at the end when `last` is set.
fn every(
    maintenance: &LowPriority,
    period: Duration,
    mut stop: watch::Receiver<bool>,
    last: bool,
    work: impl Fn() + Send + Sync + Clone + 'static,
) -> JoinHandle<()> {
    let maintenance = maintenance.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            run(&maintenance, work.clone()).await;
        }
        if last {
            run(&maintenance, work).await;
        }
    })
}

async fn run(maintenance: &LowPriority, work: impl FnOnce() + Send + 'static) {
    if let Err(e) = maintenance.run(work).await {
        tracing::error!(?e, "a maintenance task did not run");
    }
}

/// Starts the periodic tasks of `node`.
pub fn spawn(cfg: &Config, node: &Arc<Node>, stop: &watch::Receiver<bool>) -> std::io::Result<Vec<JoinHandle<()>>> {
    let m = LowPriority::start("idnode-maint", MAINTENANCE_NICE, MAINTENANCE_QUEUE)?;
    let n = node.clone();
    let [flushed, failed] = ["ok", "error"].map(|result| {
        let help = "Flushes of the resolution statistics to the store, by result.";
        node.metrics().counter_with("idnode_stats_flushes_total", help, &[("result", result)])
    });
    let flush = move || match n.stats().flush() {
        Ok(()) => flushed.increment(1),
        Err(e) => {
            failed.increment(1);
            tracing::error!(error = %e, "cannot flush statistics; they stay counted for the next flush");
        }
    };
    let n = node.clone();
    let upkeep = move || n.metrics().upkeep();
    let n = node.clone();
    let still_failed = Arc::new(crate::log::Sparse::new());
    let recover = move || {
        if let Err(e) = n.store().recover()
            && still_failed.due().is_some()
        {
            tracing::warn!(error = %e, "the store is still failed; trying again every second");
        }
    };
    let mut tasks = vec![
        every(&m, Duration::from_secs(cfg.statistics.flush_interval_secs), stop.clone(), true, flush),
        every(&m, UPKEEP_INTERVAL, stop.clone(), false, upkeep),
        every(&m, RECOVERY_INTERVAL, stop.clone(), false, recover),
    ];
    let max_age = (cfg.audit.retention_days > 0).then(|| cfg.audit.retention_days.saturating_mul(86_400));
    let max_bytes = (cfg.audit.max_mb > 0).then(|| cfg.audit.max_mb.saturating_mul(1 << 20));
    if max_age.is_some() || max_bytes.is_some() {
        let n = node.clone();
        let help = "Bytes of the audit log (entries and indexes) written since it began counting.";
        let size = node.metrics().gauge("idnode_audit_bytes", help);
        let help = "Audit entries deleted, oldest first, to keep the log within audit.max_mb.";
        let evicted = node.metrics().counter("idnode_audit_evicted_total", help);
        let sweep = move || {
            match n.audit().sweep(max_age, max_bytes) {
                Ok((0, 0)) => {}
                Ok((aged, bounded)) => {
                    evicted.increment(bounded as u64);
                    tracing::info!(aged, bounded, "swept audit entries past retention or beyond audit.max_mb");
                }
                Err(e) => tracing::error!(error = %e, "audit sweep failed"),
            }
            if let Ok(bytes) = n.audit().bytes() {
                size.set(bytes as f64);
            }
        };
        tasks.push(every(&m, Duration::from_secs(cfg.audit.sweep_interval_secs), stop.clone(), false, sweep));
    }
    Ok(tasks)
}
