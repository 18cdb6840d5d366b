use super::*;
use crate::store::MemoryStore;

fn log() -> Audit {
    Audit::new(Arc::new(MemoryStore::new()))
}

fn event(handle: &str, identity: &str) -> Event<'static> {
    Event {
        identity: identity.into(),
        identity_key: identity.into(),
        client: Some("127.0.0.1:5000".into()),
        protocol: "rest",
        operation: "create",
        handle: handle.into(),
        handle_key: handle.into(),
        result: "ok".into(),
        ..Event::default()
    }
}

#[test]
fn queries_by_handle_identity_time_and_pages() {
    let a = log();
    let mut written = Vec::new();
    for i in 0..7 {
        let e = a
            .entry(event(&format!("88.798.1/X{}", i % 2), if i < 4 { "300:0.NA/88.798.1" } else { "300:0.NA/88.798" }));
        a.write(&e).unwrap();
        written.push(e);
    }
    let q = |q: AuditQuery| a.query(&q).unwrap().unwrap();
    assert_eq!(q(AuditQuery::default()).entries, written, "all, oldest first");
    let x0 = q(AuditQuery { handle_key: Some("88.798.1/X0".into()), ..AuditQuery::default() });
    assert_eq!(x0.entries.len(), 4);
    assert!(x0.entries.iter().all(|e| e.handle == "88.798.1/X0"));
    let by = q(AuditQuery { identity_key: Some("300:0.NA/88.798".into()), ..AuditQuery::default() });
    assert_eq!(by.entries, written[4..].to_vec());
    let both = q(AuditQuery {
        handle_key: Some("88.798.1/X1".into()),
        identity_key: Some("300:0.NA/88.798.1".into()),
        ..AuditQuery::default()
    });
    assert_eq!(both.entries, vec![written[1].clone(), written[3].clone()]);
    let window =
        q(AuditQuery { from_us: Some(written[2].time_us), to_us: Some(written[4].time_us), ..AuditQuery::default() });
    assert!(window.entries.iter().all(|e| e.time_us >= written[2].time_us && e.time_us <= written[4].time_us));
    assert!(window.entries.contains(&written[3]));
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let p = q(AuditQuery { limit: Some(3), after: after.clone(), ..AuditQuery::default() });
        pages.extend(p.entries);
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, written, "pages cover everything once");
    assert!(a.query(&AuditQuery { after: Some("garbage".into()), ..AuditQuery::default() }).unwrap().is_none());
}

#[test]
fn sweep_deletes_old_entries_and_their_indexes() {
    let a = log();
    let e = a.entry(event("88.798.1/OLD", "300:0.NA/88.798"));
    a.write(&e).unwrap();
    assert_eq!(a.sweep(Some(3600), None).unwrap(), (0, 0), "young entries stay");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let fresh_cut = a.entry(event("88.798.1/NEW", "300:0.NA/88.798"));
    assert_eq!(a.sweep(Some(0), None).unwrap(), (1, 0));
    a.write(&fresh_cut).unwrap();
    let all = a.query(&AuditQuery::default()).unwrap().unwrap().entries;
    assert_eq!(all, vec![fresh_cut]);
    let by_old = AuditQuery { handle_key: Some("88.798.1/OLD".into()), ..AuditQuery::default() };
    assert!(a.query(&by_old).unwrap().unwrap().entries.is_empty());
    let mut keys = 0;
    a.store
        .scan(Space::Audit, b"", None, &mut |_, _| {
            keys += 1;
            Visit::Continue
        })
        .unwrap();
    assert_eq!(keys, 3, "one entry and its two index keys remain");
}

/// Issue 15, finding 4: refused writes filled the disk with audit entries. The log has a byte bound, counted
/// exactly in the batches that write and delete entries; beyond it the oldest entries go first.
#[test]
fn the_oldest_entries_go_beyond_the_byte_bound() {
    let a = log();
    a.begin_counting().unwrap();
    let mut sizes = Vec::new();
    let entries: Vec<_> = (0..10)
        .map(|i| {
            let before = a.bytes().unwrap();
            let e = a.entry(event(&format!("88.798.1/E{i}"), "300:0.NA/88.798"));
            a.write(&e).unwrap();
            sizes.push(a.bytes().unwrap() - before);
            e
        })
        .collect();
    let total = a.bytes().unwrap();
    assert!(total > 10 * 100, "{total} bytes for ten entries");
    let each = total / 10;
    assert_eq!(a.sweep(None, Some(total)).unwrap(), (0, 0), "within the bound: nothing goes");
    // Room for about four: the six oldest go.
    assert_eq!(a.sweep(None, Some(4 * each + each / 2)).unwrap(), (0, 6));
    let kept = a.query(&AuditQuery::default()).unwrap().unwrap().entries;
    assert_eq!(kept, entries[6..].to_vec());
    assert_eq!(a.bytes().unwrap(), sizes[6..].iter().sum::<u64>(), "the count follows the deletions");
    let by_gone = AuditQuery { handle_key: Some("88.798.1/E0".into()), ..AuditQuery::default() };
    assert!(a.query(&by_gone).unwrap().unwrap().entries.is_empty(), "indexes go with their entries");
}

/// Entries written before the log counted its bytes are not taken off when deleted: the count stays that of the
/// counted entries.
#[test]
fn entries_from_before_the_count_are_not_taken_off() {
    let a = log();
    a.write(&a.entry(event("88.798.1/BEFORE", "300:0.NA/88.798"))).unwrap();
    a.store
        .write({
            let mut b = Batch::new();
            b.delete(Space::Meta, BYTES_KEY.to_vec());
            b
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    a.begin_counting().unwrap();
    a.write(&a.entry(event("88.798.1/AFTER", "300:0.NA/88.798"))).unwrap();
    let counted = a.bytes().unwrap();
    assert_eq!(a.sweep(None, Some(counted - 1)).unwrap(), (0, 2), "the uncounted entry goes first, then one");
    assert_eq!(a.bytes().unwrap(), 0);
}
