//! How long the store's reads of records take lately, for `node.reads = "tiered"`. While the data is in memory
//! (RocksDB's block cache, or the OS page cache, which RocksDB cannot tell from the disk) a read costs a few
//! microseconds, less than handing it to the blocking pool, so every read runs inline and nothing else is
//! asked. Once reads wait for the disk, the doors ask of each request whether its record is in memory and send
//! the others to the pool. Every read is timed wherever it runs, so the choice follows the disk both ways.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A read slower than this waited for the disk (or was preempted): a read from the block cache takes 1-2 µs
/// on this project's machines, one from the page cache 3-10 µs (the block copied and decompressed); a disk
/// read takes 0.1 ms (NVMe) to several milliseconds (network block storage).
pub const SLOW_STORE_READ: Duration = Duration::from_micros(50);

/// The share of slow reads from which the store counts as slow. A read preempted on a busy CPU is slow too,
/// but few are (one in hundreds), while most reads that miss the block cache of a store larger than memory
/// wait for the disk: counting slow reads, rather than averaging times, keeps the one from passing for the
/// other.
const SLOW_SHARE: u32 = ONE / 8;

/// 1 in the fixed point of [`StoreReads`].
const ONE: u32 = 1 << 16;

/// The moving share of slow reads among the recent ones (each new one weighs 1/16), in 1/65,536.
#[derive(Debug, Default)]
pub(crate) struct StoreReads {
    slow_share: AtomicU32,
}

impl StoreReads {
    /// Whether the recent reads were slow: they wait for the disk.
    pub(crate) fn slow(&self) -> bool {
        self.slow_share.load(Ordering::Relaxed) >= SLOW_SHARE
    }

    /// Notes that a read took `took`. Racing updates may lose one sample: a moving share needs no more.
    pub(crate) fn note(&self, took: Duration) {
        let share = self.slow_share.load(Ordering::Relaxed);
        let sample = if took >= SLOW_STORE_READ { ONE / 16 } else { 0 };
        self.slow_share.store(share - share / 16 + sample, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::StoreReads;

    #[test]
    fn slow_reads_turn_it_slow_and_quick_ones_back() {
        let (quick, slow) = (Duration::from_micros(8), Duration::from_millis(2));
        let reads = StoreReads::default();
        assert!(!reads.slow(), "nothing known yet");
        for i in 0..2000 {
            reads.note(if i % 50 == 0 { slow } else { quick });
        }
        assert!(!reads.slow(), "page-cache reads, one in fifty preempted");
        for _ in 0..3 {
            reads.note(slow);
        }
        assert!(reads.slow(), "three reads in a row waited for the disk");
        for _ in 0..200 {
            reads.note(slow);
        }
        let mut quick_after = 0;
        while reads.slow() {
            reads.note(quick);
            quick_after += 1;
        }
        assert!((20..60).contains(&quick_after), "back to inline after {quick_after} quick reads");
    }
}
