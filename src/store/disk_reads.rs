//! Whether the store's reads wait for the disk lately, for `node.reads = "tiered"`. While the data is in memory
//! (RocksDB's block cache, or the OS page cache, which RocksDB cannot tell from the disk) a read costs a few
//! microseconds, less than handing it to the blocking pool, so every read runs inline and nothing else is
//! asked. Once reads wait for the disk, the doors ask of each request whether its record is in memory and send
//! the others to the pool. A read waited for the disk when the kernel read blocks from storage for its thread
//! while it ran (`getrusage(RUSAGE_THREAD)`'s `ru_inblock`): not a matter of time, so that a read preempted on
//! a busy CPU, or slowed by the pool's own threads, never passes for one.

use std::sync::atomic::{AtomicU32, Ordering};

/// The share of reads that waited for the disk from which the store counts as waiting for it: a stray one
/// (the first read of a file that a compaction just wrote) does not turn a node whose data is in memory.
const DISK_SHARE: u32 = ONE / 8;

/// 1 in the fixed point of [`DiskReads`].
const ONE: u32 = 1 << 16;

/// The moving share of the reads that waited for the disk among the recent ones (each new one weighs 1/16),
/// in 1/65,536.
#[derive(Debug, Default)]
pub struct DiskReads {
    share: AtomicU32,
}

impl DiskReads {
    /// Whether the recent reads wait for the disk.
    pub fn waiting(&self) -> bool {
        self.share.load(Ordering::Relaxed) >= DISK_SHARE
    }

    /// Notes a read, which `waited` for the disk or not. Racing updates may lose one: a moving share needs no
    /// more.
    pub fn note(&self, waited: bool) {
        let share = self.share.load(Ordering::Relaxed);
        self.share.store(share - share / 16 + if waited { ONE / 16 } else { 0 }, Ordering::Relaxed);
    }

    /// Runs the read `f` on this thread and notes whether the kernel read from storage for it meanwhile.
    pub fn read<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = blocks_read();
        let t = f();
        self.note(blocks_read() != before);
        t
    }
}

/// Blocks the kernel has read from storage for this thread (0 where it cannot tell).
fn blocks_read() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the buffer it is given, which is that size.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: zeroed, then filled by the kernel on success.
    unsafe { usage.assume_init() }.ru_inblock
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::DiskReads;

    #[test]
    fn reads_that_wait_turn_it_waiting_and_others_back() {
        let reads = DiskReads::default();
        assert!(!reads.waiting(), "nothing known yet");
        for i in 0..2000 {
            reads.note(i % 50 == 0);
        }
        assert!(!reads.waiting(), "one read in fifty from the disk");
        for _ in 0..3 {
            reads.note(true);
        }
        assert!(reads.waiting(), "three reads in a row waited for the disk");
        for _ in 0..200 {
            reads.note(true);
        }
        let mut quick_after = 0;
        while reads.waiting() {
            reads.note(false);
            quick_after += 1;
        }
        assert!((20..60).contains(&quick_after), "back to inline after {quick_after} reads from memory");
    }

    #[test]
    fn a_read_from_the_page_cache_did_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        let reads = DiskReads::default();
        for _ in 0..16 {
            let read = reads.read(|| std::fs::File::open(&path).unwrap().read_to_end(&mut Vec::new()).unwrap());
            assert_eq!(read, 1 << 20);
        }
        assert!(!reads.waiting(), "a file just written is in the page cache");
    }

    #[test]
    fn a_read_from_storage_waited() {
        use std::os::fd::AsRawFd as _;
        // /var/tmp is on storage where /tmp may be a tmpfs, whose reads never wait.
        let dir = tempfile::tempdir_in("/var/tmp").unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 4 << 20]).unwrap();
        let reads = DiskReads::default();
        for _ in 0..4 {
            let f = std::fs::File::open(&path).unwrap();
            f.sync_all().unwrap();
            // SAFETY: a valid descriptor; the advice only drops the file's clean pages from the page cache.
            assert_eq!(unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) }, 0);
            let read = reads.read(|| (&f).read_to_end(&mut Vec::new()).unwrap());
            assert_eq!(read, 4 << 20);
        }
        assert!(reads.waiting(), "every read went to storage");
    }
}
