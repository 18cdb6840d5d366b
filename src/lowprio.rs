//! A thread at a lowered CPU priority running queued jobs one at a time. Periodic maintenance (nice 19) and
//! statistics reports (nice 10) run on such threads rather than on the blocking pool: their work is long next to
//! a lookup, and on a busy core it must yield to lookups rather than stall them.
//! The queue is bounded, so that work sent faster than it is done is refused at once instead of piling up.

use std::sync::mpsc::{SyncSender, TrySendError};

type Job = Box<dyn FnOnce() + Send>;

/// The job could not be run: the queue is full, or the thread is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRun {
    /// As many jobs as the queue holds are waiting.
    Busy,
    /// The job panicked, or the thread has ended.
    Failed,
}

/// The queue of one low-priority thread; the thread ends when every clone is gone.
#[derive(Clone)]
pub struct LowPriority {
    jobs: SyncSender<Job>,
}

impl LowPriority {
    /// Starts the thread `name` at `nice`, with room for `queue` waiting jobs.
    pub fn start(name: &str, nice: i32, queue: usize) -> std::io::Result<Self> {
        let (jobs, waiting) = std::sync::mpsc::sync_channel::<Job>(queue);
        let thread = name.to_owned();
        std::thread::Builder::new().name(name.into()).spawn(move || {
            lower_priority(nice);
            for job in waiting {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                    tracing::error!(thread, "a low-priority job panicked");
                }
            }
        })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the thread and waits for its result. A job whose caller has stopped waiting (a client that
    /// went away) is skipped when its turn comes.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, NotRun> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        match self.jobs.try_send(job) {
            Ok(()) => result.await.map_err(|_| NotRun::Failed),
            Err(TrySendError::Full(_)) => Err(NotRun::Busy),
            Err(TrySendError::Disconnected(_)) => Err(NotRun::Failed),
        }
    }
}

/// Lowers the calling thread to `nice` (on Linux the nice value is per thread).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who` 0 is the calling thread.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), nice, "cannot lower a thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Poll;
    use std::time::Duration;

    use super::*;

    /// Occupies the thread until the returned sender sends or is dropped.
    async fn occupy(
        lane: &LowPriority,
    ) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<Result<bool, NotRun>>) {
        let (started, running) = tokio::sync::oneshot::channel();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let lane = lane.clone();
        let held = tokio::spawn(async move {
            lane.run(move || {
                let _ = started.send(());
                hold.recv().is_ok()
            })
            .await
        });
        running.await.unwrap();
        (release, held)
    }

    #[tokio::test]
    async fn runs_jobs_refuses_beyond_the_queue_and_survives_a_panic() {
        let lane = LowPriority::start("idnode-test-lp", 10, 1).unwrap();
        assert_eq!(lane.run(|| 6 * 7).await, Ok(42));
        // With the thread held and the one place in the queue taken, the next job is refused.
        let (release, held) = occupy(&lane).await;
        let mut queued = Box::pin(lane.run(|| "queued"));
        let pending = std::future::poll_fn(|cx| Poll::Ready(queued.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "queued behind the held job");
        assert_eq!(lane.run(|| "refused").await, Err(NotRun::Busy));
        release.send(()).unwrap();
        assert_eq!(held.await.unwrap(), Ok(true));
        assert_eq!(queued.await, Ok("queued"));
        assert_eq!(lane.run(|| -> u8 { panic!("boom") }).await, Err(NotRun::Failed));
        assert_eq!(lane.run(|| 1).await, Ok(1), "the thread goes on after a panic");
    }

    #[tokio::test]
    async fn a_job_nobody_waits_for_is_skipped() {
        let lane = LowPriority::start("idnode-test-lp2", 10, 4).unwrap();
        let (release, held) = occupy(&lane).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let abandoned =
            tokio::time::timeout(Duration::from_millis(50), lane.run(move || flag.store(true, Ordering::SeqCst))).await;
        assert!(abandoned.is_err(), "still waiting behind the held job");
        release.send(()).unwrap();
        assert_eq!(held.await.unwrap(), Ok(true));
        assert_eq!(lane.run(|| ()).await, Ok(()));
        assert!(!ran.load(Ordering::SeqCst));
    }
}
