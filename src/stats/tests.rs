use super::*;
use crate::store::MemoryStore;

fn stats() -> (Arc<dyn Store>, Stats) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let s = Stats::new(store.clone(), 480);
    s.load().unwrap();
    (store, s)
}

fn commit(store: &dyn Store, s: &Stats, prefix: &str, change: Change, n: usize) {
    for _ in 0..n {
        let mut b = Batch::new();
        s.count_change(&mut b, prefix, change);
        store.write(b).unwrap();
    }
}

#[test]
fn counts_registrations_exactly_and_resolutions_after_flush() {
    let (store, s) = stats();
    commit(store.as_ref(), &s, "88.798.1", Change::Create, 3);
    commit(store.as_ref(), &s, "88.798.1", Change::Delete, 1);
    commit(store.as_ref(), &s, "88.798.2", Change::Create, 1);
    commit(store.as_ref(), &s, "88.798.2", Change::Update, 5);
    for _ in 0..4 {
        s.count_resolution("88.798.1", true);
    }
    s.count_resolution("88.798.2", false);
    s.count_resolution("88.798.999", false);
    let before = s.report(&ReportQuery::default()).unwrap();
    s.flush().unwrap();
    let after = s.report(&ReportQuery::default()).unwrap();
    assert_eq!(before, after, "a report includes unflushed resolutions");
    assert_eq!(after.registered, 3);
    assert_eq!(after.total, Counts { created: 4, deleted: 1, resolutions: 4, misses: 2 });
    assert_eq!(after.period, after.total);
    assert_eq!(after.days.len(), 30);
    assert_eq!(after.days.last().unwrap().counts, after.total, "everything happened today");
    assert_eq!(after.prefixes[0].prefix, "88.798.1");
    assert_eq!(after.prefixes[0].registered, 2);
    assert_eq!(after.prefixes[0].period.resolutions, 4);
    assert!(after.prefixes.iter().any(|p| p.prefix == OTHER && p.total.misses == 1), "{after:?}");
    assert_eq!(after.utc_offset, "+08:00");
    let reopened = Stats::new(store, 480);
    assert_eq!(reopened.load().unwrap(), 2, "two prefixes known");
    assert_eq!(reopened.report(&ReportQuery::default()).unwrap(), after, "flushed figures are durable");
}

#[test]
fn filters_by_prefix_and_bounds_queries() {
    let (store, s) = stats();
    commit(store.as_ref(), &s, "88.798.1", Change::Create, 2);
    commit(store.as_ref(), &s, "88.798.2", Change::Create, 1);
    commit(store.as_ref(), &s, "88.798.10", Change::Create, 5);
    let only = s.report(&ReportQuery { prefix: Some("88.798.2".into()), ..ReportQuery::default() }).unwrap();
    assert_eq!(only.period.created, 1);
    assert_eq!(only.prefixes.len(), 1);
    assert_eq!(only.registered, 8, "node totals stay node-wide");
    // 88.798.1 is not 88.798.10, and a filtered report agrees with the prefix's row of the whole report, over
    // several days (resolutions written on an earlier day here).
    let earlier = day_number(s.today() - time::Duration::days(3));
    let mut b = Batch::new();
    b.add(Space::Meta, format!("stats/day/{earlier}/88.798.1/r").into_bytes(), 7);
    b.add(Space::Meta, format!("stats/day/{earlier}/88.798.10/r").into_bytes(), 100);
    store.write(b).unwrap();
    let one = s.report(&ReportQuery { prefix: Some("88.798.1".into()), ..ReportQuery::default() }).unwrap();
    assert_eq!((one.period.created, one.period.resolutions), (2, 7));
    let whole = s.report(&ReportQuery { top: Some(100), ..ReportQuery::default() }).unwrap();
    let row = whole.prefixes.iter().find(|r| r.prefix == "88.798.1").unwrap();
    assert_eq!(row.period, one.period);
    let day = one.days.iter().filter(|d| d.counts.resolutions == 7).count();
    assert_eq!(day, 1, "{:?}", one.days);
    let today = s.today();
    let yesterday = s
        .report(&ReportQuery {
            from: Some(today.previous_day().unwrap()),
            to: today.previous_day(),
            ..ReportQuery::default()
        })
        .unwrap();
    assert_eq!(yesterday.period, Counts::default());
    assert_eq!(yesterday.days.len(), 1);
    let err = |q: ReportQuery| s.report(&q).unwrap_err().code;
    use crate::error::ErrorCode;
    assert_eq!(
        err(ReportQuery { from: Some(today), to: today.previous_day(), ..ReportQuery::default() }),
        ErrorCode::BadRequest
    );
    assert_eq!(
        err(ReportQuery { from: Some(today - time::Duration::days(400)), ..ReportQuery::default() }),
        ErrorCode::BadRequest
    );
    assert_eq!(err(ReportQuery { top: Some(5000), ..ReportQuery::default() }), ErrorCode::BadRequest);
    assert!(report::parse_date("2026-13-01").is_err());
    assert_eq!(day_number(report::parse_date("2026-11-28").unwrap()), 20261128);
}

#[test]
fn a_failed_flush_keeps_the_counts() {
    #[derive(Debug, Default)]
    struct Failing(MemoryStore, std::sync::atomic::AtomicBool);
    impl Store for Failing {
        fn get(&self, s: Space, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.get(s, k)
        }
        fn write(&self, b: Batch) -> Result<(), StoreError> {
            if self.1.load(Ordering::Relaxed) { Err(StoreError::Engine("disk full".into())) } else { self.0.write(b) }
        }
        fn scan(
            &self,
            s: Space,
            p: &[u8],
            a: Option<&[u8]>,
            v: &mut dyn FnMut(&[u8], &[u8]) -> Visit,
        ) -> Result<(), StoreError> {
            self.0.scan(s, p, a, v)
        }
        fn flush(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }
    let store = Arc::new(Failing::default());
    let s = Stats::new(store.clone(), 0);
    s.count_resolution("88.798.1", true);
    store.1.store(true, Ordering::Relaxed);
    assert!(s.flush().is_err());
    store.1.store(false, Ordering::Relaxed);
    s.flush().unwrap();
    assert_eq!(s.report(&ReportQuery::default()).unwrap().total.resolutions, 1);
    assert!(s.unflushed().is_empty());
}

#[test]
fn seeding_counts_existing_handles_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    crate::demo::load(store.as_ref(), "88.798", "s").unwrap();
    let s = Stats::new(store.clone(), 480);
    assert_eq!(s.seed().unwrap(), Some(3066));
    assert_eq!(s.seed().unwrap(), None, "only once");
    s.load().unwrap();
    let r = s.report(&ReportQuery { prefix: Some("88.798.3".into()), ..ReportQuery::default() }).unwrap();
    assert_eq!(r.prefixes[0].registered, 612);
    assert_eq!(r.period.created, 0, "seeded handles belong to no day");
    assert_eq!(r.registered, 3066);
}
