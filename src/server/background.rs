//! Periodic work of a running node: flushing the resolution statistics, draining histogram samples, and
//! sweeping the audit log past its retention. Each task stops with the node; the statistics get a last flush.
//!
//! The work runs on one maintenance thread at the lowest CPU priority (nice 19), not on the blocking pool: a
//! statistics flush of a few thousand counters takes milliseconds of CPU, and on a busy core it must yield to
//! lookups rather than stall them (BENCHMARKS.md, tuning step 8).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::node::Node;

/// How often histogram samples are drained into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send>;

/// The maintenance thread's queue.
#[derive(Clone)]
struct Maintenance {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Maintenance {
    /// Starts the thread; it ends when every sender is gone.
    fn start() -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new().name("idnode-maint".into()).spawn(move || {
            lower_priority();
            for job in queue {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                    tracing::error!("a maintenance task panicked");
                }
            }
        })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the thread and waits for it.
    async fn run(&self, work: impl FnOnce() + Send + 'static) {
        let (done, finished) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            work();
            let _ = done.send(());
        });
        if self.jobs.send(job).is_ok() {
            let _ = finished.await;
        }
    }
}

/// Lowers the calling thread to nice 19 (on Linux the nice value is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who` 0 is the calling thread.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower the maintenance thread's priority");
    }
}

/// Runs `work` on the maintenance thread every `period` until `stop`; once more at the end when `last` is set.
fn every(
    maintenance: &Maintenance,
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
            maintenance.run(work.clone()).await;
        }
        if last {
            maintenance.run(work).await;
        }
    })
}

/// Starts the periodic tasks of `node`.
pub fn spawn(cfg: &Config, node: &Arc<Node>, stop: &watch::Receiver<bool>) -> std::io::Result<Vec<JoinHandle<()>>> {
    let m = Maintenance::start()?;
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
        every(&m, Duration::from_secs(cfg.statistics.flush_interval_secs), stop.clone(), true, flush),
        every(&m, UPKEEP_INTERVAL, stop.clone(), false, upkeep),
    ];
    if cfg.audit.retention_days > 0 {
        let n = node.clone();
        let max_age = cfg.audit.retention_days.saturating_mul(86_400);
        let sweep = move || match n.audit().sweep(max_age) {
            Ok(0) => {}
            Ok(k) => tracing::info!(entries = k, "swept audit entries past retention"),
            Err(e) => tracing::error!(error = %e, "audit retention sweep failed"),
        };
        tasks.push(every(&m, Duration::from_secs(cfg.audit.sweep_interval_secs), stop.clone(), false, sweep));
    }
    Ok(tasks)
}
