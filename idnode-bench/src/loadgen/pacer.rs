//! The open loop's clock: one thread that hands each worker the times its requests are due.
//!
//! Tokio's timers fire on a one-millisecond wheel, so workers that each slept until their next send woke in
//! batches: at 40,000 requests a second, forty arrived at the server in the same instant every millisecond, and
//! the queue of each batch was charged to the server as its latency (a p50 of half a millisecond for a server
//! that answers in 12 µs). The pacer sleeps on the kernel's high-resolution timer instead and releases each
//! request within a tenth of a millisecond of its time. How the worker counts a late request is its own rule
//! (see `worker` in the parent module).

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// How often the pacer wakes to release what fell due meanwhile: a request goes out at most this late (plus the
/// kernel's timer slack, 50 µs). Waking for every request would cost the generator a quarter of its CPU at
/// 35,000 a second.
const TICK: Duration = Duration::from_micros(100);

/// The due times of one worker's requests, in order; `None` once the schedule has ended.
pub struct Tickets(mpsc::UnboundedReceiver<Instant>);

impl Tickets {
    /// When the next request is due, waiting for that time; `None` after the last.
    pub async fn next(&mut self) -> Option<Instant> {
        self.0.recv().await
    }
}

/// Starts the clock for `workers` workers sending `rate` requests a second in all, from `start` until `end`:
/// request `i` is due at `start + i / rate` and goes to worker `i % workers`, so each worker keeps a schedule
/// of its own, as a client with that many connections would.
pub fn start(rate: f64, workers: usize, start: Instant, end: Instant) -> std::io::Result<Vec<Tickets>> {
    let workers = workers.max(1);
    let (senders, tickets): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| {
            let (tx, rx) = mpsc::unbounded_channel();
            (tx, Tickets(rx))
        })
        .unzip();
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    std::thread::Builder::new().name("pacer".into()).spawn(move || {
        let mut i: u32 = 0;
        loop {
            let now = Instant::now();
            let mut due = start + period * i;
            while due <= now && due < end {
                // A worker gone (its connection failed for good) no longer takes tickets.
                let _ = senders[i as usize % workers].send(due);
                i += 1;
                due = start + period * i;
            }
            if due >= end {
                return;
            }
            std::thread::sleep((due - now).max(TICK));
        }
    })?;
    Ok(tickets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tickets_come_on_time_in_turn() {
        let begin = Instant::now() + Duration::from_millis(20);
        let end = begin + Duration::from_millis(100);
        let mut tickets = start(1000.0, 4, begin, end).unwrap();
        let mut seen = Vec::new();
        for (w, t) in tickets.iter_mut().enumerate() {
            while let Some(due) = t.next().await {
                assert!(Instant::now() >= due, "released before its time");
                seen.push((due, w));
            }
        }
        seen.sort();
        assert_eq!(seen.len(), 100, "one a millisecond over 100 ms");
        for (i, (due, w)) in seen.iter().enumerate() {
            assert_eq!(*w, i % 4, "in turn");
            assert_eq!(*due, begin + Duration::from_millis(i as u64), "on the schedule");
        }
    }
}
