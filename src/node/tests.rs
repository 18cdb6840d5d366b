use std::sync::{Arc, Mutex};

use super::*;
use crate::demo;
use crate::error::ErrorCode;
use crate::record::admin::{AdminRef, perm};
use crate::record::{HandleValue, Perms, types};
use crate::store::{MemoryStore, Space};

const T: u32 = 1_745_913_600;

fn node() -> Node {
    let store = Arc::new(MemoryStore::new());
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    node_over(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]))
}

fn node_over(store: Arc<MemoryStore>, settings: NodeSettings) -> Node {
    Node::new(store, settings, Arc::default())
}

fn login(n: &Node, user: &str, secret: &str) -> Caller {
    Caller::authenticated(n.authenticate(user, secret.as_bytes()).unwrap())
}

fn h(n: &Node, s: &str) -> Handle {
    n.parse_handle(s).unwrap()
}

fn url(index: u32, s: &str) -> HandleValue {
    HandleValue::new(index, types::URL, s.as_bytes().to_vec(), T)
}

#[test]
fn authentication_checks_the_secret_key() {
    let n = node();
    assert!(n.authenticate("300:0.NA/88.798.1", b"demo-secret-1").is_ok());
    assert!(n.authenticate("0:0.NA/88.798.1", b"demo-secret-1").is_ok(), "index 0 means any key");
    for (user, secret) in [
        ("300:0.NA/88.798.1", "wrong"),
        ("301:0.NA/88.798.1", "demo-secret-1"),
        ("300:0.NA/88.798.9", "x"),
        ("x:0.NA/88.798.1", "demo-secret-1"),
        ("300:10.1/x", "x"),
        ("nocolon", "x"),
    ] {
        assert_eq!(
            n.authenticate(user, secret.as_bytes()).unwrap_err().code,
            ErrorCode::AuthenticationFailed,
            "{user}"
        );
    }
}

#[test]
fn resolution_filters_by_index_or_type() {
    let n = node();
    let x = h(&n, "88.798.1/JDZ-2024-000123");
    let all = n.resolve(&x, &Filter::default(), &Caller::anonymous()).unwrap();
    assert!(all.matched && all.values().len() > 20);
    let f = Filter { indexes: vec![1], types: vec!["TEMPLATE_ID".into()], public_only: true };
    let r = n.resolve(&x, &f, &Caller::anonymous()).unwrap();
    assert_eq!(r.values().map(|v| v.index).collect::<Vec<_>>(), vec![1, 1000]);
    let none =
        n.resolve(&x, &Filter { types: vec!["EMAIL".into()], ..Filter::default() }, &Caller::anonymous()).unwrap();
    assert!(!none.matched && none.values().len() == 0);
    let missing = n.resolve(&h(&n, "88.798.1/NOPE"), &Filter::default(), &Caller::anonymous()).unwrap_err();
    assert_eq!(missing.code, ErrorCode::HandleNotFound);
    let foreign = n.resolve(&h(&n, "10.1000/x"), &Filter::default(), &Caller::anonymous()).unwrap_err();
    assert_eq!(foreign.code, ErrorCode::NotResponsible);
}

#[test]
fn secrets_are_only_shown_to_authorized_readers() {
    let n = node();
    let ph = h(&n, "0.NA/88.798.1");
    let secret_shown = |c: &Caller, public_only| {
        let f = Filter { public_only, ..Filter::default() };
        n.resolve(&ph, &f, c).unwrap().values().any(|v| v.is(types::HS_SECKEY))
    };
    assert!(!secret_shown(&Caller::anonymous(), false));
    let own = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    assert!(secret_shown(&own, false));
    assert!(!secret_shown(&own, true));
    assert!(secret_shown(&login(&n, "300:0.NA/88.798", "root"), false), "node administrator");
    assert!(!secret_shown(&login(&n, "300:0.NA/88.798.2", "demo-secret-2"), false), "another enterprise");
}

#[test]
fn enterprise_admins_manage_their_prefix_only() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let e2 = login(&n, "300:0.NA/88.798.2", "demo-secret-2");
    let x = h(&n, "88.798.1/NEW-1");
    assert_eq!(n.put_record(&e2, &x, vec![url(1, "u")], true).unwrap_err().code, ErrorCode::Forbidden);
    assert_eq!(
        n.put_record(&Caller::anonymous(), &x, vec![url(1, "u")], true).unwrap_err().code,
        ErrorCode::AuthenticationNeeded
    );
    assert_eq!(n.put_record(&e1, &x, vec![url(1, "u")], false).unwrap(), PutOutcome::Created);
    let rec = n.records.load(&x).unwrap().unwrap();
    let admin = rec.values.iter().find(|v| v.is(types::HS_ADMIN)).expect("default HS_ADMIN added");
    assert_eq!(AdminRef::decode(&admin.data).unwrap().handle, "0.NA/88.798.1");
    assert_eq!(n.put_record(&e1, &x, vec![url(1, "v")], false).unwrap_err().code, ErrorCode::HandleAlreadyExists);
    assert_eq!(
        n.put_values(&e2, &x, vec![url(2, "w")], None, ValueMode::Upsert).unwrap_err().code,
        ErrorCode::Forbidden
    );
    n.put_values(&e1, &x, vec![url(2, "w")], None, ValueMode::Upsert).unwrap();
    assert_eq!(
        n.put_values(&e1, &x, vec![url(2, "w")], None, ValueMode::Add).unwrap_err().code,
        ErrorCode::ValueAlreadyExists
    );
    assert_eq!(n.delete_values(&e1, &x, &[7]).unwrap_err().code, ErrorCode::ValuesNotFound);
    n.delete_values(&e1, &x, &[2]).unwrap();
    assert_eq!(n.delete_handle(&e2, &x).unwrap_err().code, ErrorCode::Forbidden);
    n.delete_handle(&e1, &x).unwrap();
    assert!(!crate::records::exists(n.store().as_ref(), &x).unwrap());
    assert_eq!(n.delete_handle(&e1, &x).unwrap_err().code, ErrorCode::HandleNotFound);
}

#[test]
fn handle_admins_and_groups_are_honoured() {
    let n = node();
    let root = login(&n, "300:0.NA/88.798", "root");
    // A personal identity, made an admin of one handle through a group.
    let person = h(&n, "88.798.3/user-li");
    n.put_record(&root, &person, demo::identity_record("88.798.3/user-li", 300, "pw", vec![]), false).unwrap();
    let group = h(&n, "88.798.3/group-qc");
    let vlist = crate::record::admin::encode_vlist(&[crate::record::admin::ValueRef {
        handle: "88.798.3/user-li".into(),
        index: 300,
    }]);
    n.put_record(&root, &group, vec![HandleValue::new(200, types::HS_VLIST, vlist, T)], false).unwrap();
    let target = h(&n, "88.798.3/JDZ-2024-000001");
    let adm = AdminRef { handle: "88.798.3/group-qc".into(), index: 200, perms: perm::MODIFY_VALUE };
    n.put_values(
        &root,
        &target,
        vec![HandleValue::new(101, types::HS_ADMIN, adm.encode(), T)],
        None,
        ValueMode::Upsert,
    )
    .unwrap();
    let li = login(&n, "300:88.798.3/user-li", "pw");
    n.put_values(&li, &target, vec![url(1, "https://changed")], None, ValueMode::Upsert).unwrap();
    assert_eq!(
        n.put_values(&li, &target, vec![url(3, "new")], None, ValueMode::Upsert).unwrap_err().code,
        ErrorCode::Forbidden,
        "no add_value bit"
    );
    assert_eq!(n.delete_handle(&li, &target).unwrap_err().code, ErrorCode::Forbidden);
}

#[test]
fn prefix_handles_need_derived_prefix_rights() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let root = login(&n, "300:0.NA/88.798", "root");
    let new_prefix = h(&n, "0.NA/88.798.9");
    let values = demo::identity_record("0.NA/88.798.9", 300, "s9", vec![]);
    assert_eq!(n.put_record(&e1, &new_prefix, values.clone(), false).unwrap_err().code, ErrorCode::Forbidden);
    n.put_record(&root, &new_prefix, values, false).unwrap();
    assert!(n.homed_prefixes(&root).unwrap().contains(&"88.798.9".to_owned()));
    let e9 = login(&n, "300:0.NA/88.798.9", "s9");
    n.put_record(&e9, &h(&n, "88.798.9/a"), vec![url(1, "u")], false).unwrap();
    assert_eq!(
        n.put_record(&e9, &h(&n, "88.798.1/a"), vec![url(1, "u")], false).unwrap_err().code,
        ErrorCode::Forbidden
    );
}

#[test]
fn unwritable_values_stay() {
    let n = node();
    let root = login(&n, "300:0.NA/88.798", "root");
    let x = h(&n, "88.798.2/locked");
    let locked = HandleValue { perms: Perms(Perms::PUBLIC_READ | Perms::ADMIN_READ), ..url(5, "fixed") };
    n.put_record(&root, &x, vec![url(1, "u"), locked], false).unwrap();
    assert_eq!(
        n.put_values(&root, &x, vec![url(5, "changed")], None, ValueMode::Upsert).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(n.delete_values(&root, &x, &[5]).unwrap_err().code, ErrorCode::Forbidden);
}

#[test]
fn listing_pages_and_counts() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let p = Prefix::parse("88.798.1").unwrap();
    n.authorize_list(&e1, &p).unwrap();
    let e2 = login(&n, "300:0.NA/88.798.2", "demo-secret-2");
    assert_eq!(n.authorize_list(&e2, &p).unwrap_err().code, ErrorCode::Forbidden);
    let root = login(&n, "300:0.NA/88.798", "root");
    n.authorize_list(&root, &p).unwrap();
    assert_eq!(n.authorize_list(&Caller::anonymous(), &p).unwrap_err().code, ErrorCode::AuthenticationNeeded);
    let mut got = Vec::new();
    let total = n
        .list_handles(&p, Page::Page { page: 1, size: 10 }, &mut |h| {
            got.push(h.to_owned());
            true
        })
        .unwrap();
    assert_eq!(total, u64::from(demo::PRODUCTS_PER_ENTERPRISE + demo::BATCHES_PER_ENTERPRISE));
    assert_eq!(got.first().map(String::as_str), Some("88.798.1/BATCH-202411"));
    assert_eq!(got.len(), 10);
    let mut count = 0;
    n.list_handles(&p, Page::Page { page: 0, size: 0 }, &mut |_| {
        count += 1;
        true
    })
    .unwrap();
    assert_eq!(count, 0);
}

#[test]
fn minting_makes_fresh_handles() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let p = Prefix::parse("88.798.1").unwrap();
    let a = n.mint(&e1, &p, "M-", vec![url(1, "u")]).unwrap();
    let b = n.mint(&e1, &p, "M-", vec![url(1, "u")]).unwrap();
    assert_ne!(a, b);
    assert!(a.suffix().starts_with("M-") && crate::records::exists(n.store().as_ref(), &a).unwrap());
}

#[test]
fn idempotent_create_and_value_modes() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let x = h(&n, "88.798.1/IDEM");
    assert_eq!(n.write_record(&e1, &x, vec![url(1, "u")], RecordMode::CreateIdempotent).unwrap(), PutOutcome::Created);
    let retry = HandleValue { timestamp: T + 5, ..url(1, "u") };
    assert_eq!(n.write_record(&e1, &x, vec![retry], RecordMode::CreateIdempotent).unwrap(), PutOutcome::Unchanged);
    let other = n.write_record(&e1, &x, vec![url(1, "different")], RecordMode::CreateIdempotent).unwrap_err();
    assert_eq!(other.code, ErrorCode::HandleAlreadyExists);
    assert_eq!(
        n.write_record(&e1, &h(&n, "88.798.1/NONE"), vec![url(1, "u")], RecordMode::Replace).unwrap_err().code,
        ErrorCode::HandleNotFound
    );
    assert_eq!(
        n.put_values(&e1, &x, vec![url(9, "u")], None, ValueMode::Modify).unwrap_err().code,
        ErrorCode::ValuesNotFound
    );
    n.put_values(&e1, &x, vec![url(1, "v")], None, ValueMode::Modify).unwrap();
}

/// The URL (index 1) a resolution of `x` returns now.
fn resolved_url(n: &Node, x: &Handle) -> Option<Vec<u8>> {
    let r = n.resolve(x, &Filter { indexes: vec![1], ..Filter::default() }, &Caller::anonymous()).ok()?;
    r.values().next().map(|v| v.data.clone())
}

#[test]
fn record_cache_serves_hits_and_follows_changes() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let x = h(&n, "88.798.1/CACHED");
    n.write_record(&e1, &x, vec![url(1, "a")], RecordMode::Create).unwrap();
    let before = n.cache_figures();
    assert_eq!(resolved_url(&n, &x).as_deref(), Some(&b"a"[..]));
    assert_eq!(resolved_url(&n, &x).as_deref(), Some(&b"a"[..]));
    let after = n.cache_figures();
    assert_eq!((after.misses - before.misses, after.hits - before.hits), (1, 1), "{after:?}");
    assert!(after.entries >= 1 && after.bytes > 0 && after.bytes <= after.capacity_bytes);
    n.put_values(&e1, &x, vec![url(1, "b")], None, ValueMode::Modify).unwrap();
    assert_eq!(resolved_url(&n, &x).as_deref(), Some(&b"b"[..]), "a modification invalidates");
    n.write_record(&e1, &x, vec![url(1, "c")], RecordMode::Replace).unwrap();
    assert_eq!(resolved_url(&n, &x).as_deref(), Some(&b"c"[..]), "a replacement invalidates");
    n.delete_handle(&e1, &x).unwrap();
    assert_eq!(resolved_url(&n, &x), None, "a deletion invalidates");
    let store = Arc::new(MemoryStore::new());
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    let off = node_over(
        store,
        NodeSettings { record_cache_bytes: 0, ..NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]) },
    );
    assert_eq!(resolved_url(&off, &h(&off, "88.798.1/JDZ-2024-000123")).map(|u| u.is_empty()), Some(false));
    assert_eq!(off.cache_figures(), CacheFigures::default(), "a disabled cache counts nothing");
}

/// A store that holds the first read of `key` after its value was read, until the test lets it go: the
/// interleaving "read, concurrent change, then cache insert" happens every time, not by chance.
/// It also counts its reads: the work of a check, measured without timing it.
struct HeldRead {
    inner: MemoryStore,
    gets: std::sync::atomic::AtomicUsize,
    key: Vec<u8>,
    armed: std::sync::atomic::AtomicBool,
    /// Batches written that hold a record.
    record_writes: std::sync::atomic::AtomicU64,
    reached: std::sync::mpsc::SyncSender<()>,
    resume: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Store for HeldRead {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let value = self.inner.get(space, key)?;
        if key == self.key && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.reached.send(()).unwrap();
            self.resume.lock().unwrap().recv().unwrap();
        }
        Ok(value)
    }
    fn write(&self, batch: crate::store::Batch) -> Result<(), crate::store::StoreError> {
        if batch.ops.iter().any(|op| op.space == Space::Handles) {
            self.record_writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.write(batch)
    }
    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> crate::store::Visit,
    ) -> Result<(), crate::store::StoreError> {
        self.inner.scan(space, prefix, after, visit)
    }
    fn flush(&self) -> Result<(), crate::store::StoreError> {
        Ok(())
    }
}

#[test]
fn record_cache_never_keeps_a_record_read_before_a_change() {
    let (reached_tx, reached) = std::sync::mpsc::sync_channel(1);
    let (resume, resume_rx) = std::sync::mpsc::sync_channel(1);
    let store = Arc::new(HeldRead {
        inner: MemoryStore::new(),
        gets: 0.into(),
        key: Handle::parse("88.798.1/RACE", crate::id::SuffixCase::Sensitive).unwrap().key().as_bytes().to_vec(),
        armed: false.into(),
        record_writes: 0.into(),
        reached: reached_tx,
        resume: Mutex::new(resume_rx),
    });
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    let settings = NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]);
    let n = Arc::new(Node::new(store.clone(), settings, Arc::default()));
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let x = h(&n, "88.798.1/RACE");
    n.write_record(&e1, &x, vec![url(1, "old")], RecordMode::Create).unwrap();
    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let reader = {
        let (n, x) = (n.clone(), x.clone());
        std::thread::spawn(move || resolved_url(&n, &x))
    };
    reached.recv().unwrap();
    n.put_values(&e1, &x, vec![url(1, "new")], None, ValueMode::Modify).unwrap();
    resume.send(()).unwrap();
    assert_eq!(reader.join().unwrap().as_deref(), Some(&b"old"[..]), "the reader read before the change");
    assert_eq!(resolved_url(&n, &x).as_deref(), Some(&b"new"[..]), "and its read was not cached after it");
}

#[test]
fn one_authorization_check_has_one_budget_over_every_hs_admin_value() {
    use crate::record::admin::{ValueRef, encode_vlist};
    use std::sync::atomic::Ordering;
    let (reached, _) = std::sync::mpsc::sync_channel(1);
    let resume = Mutex::new(std::sync::mpsc::sync_channel(1).1);
    let store = Arc::new(HeldRead {
        inner: MemoryStore::new(),
        gets: 0.into(),
        key: vec![],
        armed: false.into(),
        record_writes: 0.into(),
        reached,
        resume,
    });
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    // 300 HS_ADMIN values, each naming a group of 100 identities that do not exist: before, each value had a
    // budget of its own (9,600 loads for one read), and every member past it logged a warning.
    let mut b = crate::store::Batch::new();
    let mut values = vec![HandleValue { perms: Perms::SECRET, ..url(1, "private") }];
    for i in 0..300u32 {
        let group = format!("88.798.1/G{i}");
        let members: Vec<ValueRef> =
            (0..100).map(|j| ValueRef { handle: format!("88.798.1/nobody-{i}-{j}"), index: 300 }).collect();
        let vlist = vec![HandleValue::new(1, types::HS_VLIST, encode_vlist(&members), T)];
        crate::records::put(&mut b, &Handle::parse(&group, crate::id::SuffixCase::Sensitive).unwrap(), &group, &vlist);
        let adm = AdminRef { handle: group, index: 1, perms: perm::READ_VALUE };
        values.push(HandleValue::new(1000 + i, types::HS_ADMIN, adm.encode(), T));
    }
    let bomb = Handle::parse("88.798.1/BOMB", crate::id::SuffixCase::Sensitive).unwrap();
    crate::records::put(&mut b, &bomb, bomb.as_str(), &values);
    store.write(b).unwrap();
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let n = Node::new(store.clone(), NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), metrics.clone());
    let e2 = login(&n, "300:0.NA/88.798.2", "demo-secret-2");
    let everything = Filter { public_only: false, ..Filter::default() };
    let before = store.gets.load(Ordering::Relaxed);
    let r = n.resolve(&bomb, &everything, &e2).unwrap();
    let loads = store.gets.load(Ordering::Relaxed) - before;
    assert!(loads <= 40, "{loads} store reads for one check");
    assert!(r.values().all(|v| v.data != b"private"), "nothing private for another enterprise");
    assert!(metrics.render().contains("idnode_auth_walk_exhausted_total 1"), "{}", metrics.render());
    // The enterprise's administrator is granted through the prefix chain, which the record cannot starve.
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    assert!(n.resolve(&bomb, &everything, &e1).unwrap().values().any(|v| v.data == b"private"));
}

#[test]
fn a_prefix_handle_is_deleted_and_published_on_only_from_above() {
    let n = node();
    let root = login(&n, "300:0.NA/88.798", "root");
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let own = h(&n, "0.NA/88.798.1");
    let site = HandleValue::new(1, types::HS_SITE, b"site".to_vec(), T);
    n.put_values(&root, &own, vec![site], None, ValueMode::Add).unwrap();
    // Its own HS_ADMIN names 300:0.NA/88.798.1, which must not let the enterprise delete it or change the site.
    assert_eq!(n.delete_handle(&e1, &own).unwrap_err().code, ErrorCode::Forbidden);
    assert_eq!(n.delete_values(&e1, &own, &[1]).unwrap_err().code, ErrorCode::Forbidden);
    let elsewhere = HandleValue::new(1, types::HS_SITE, b"elsewhere".to_vec(), T);
    let moved = n.put_values(&e1, &own, vec![elsewhere.clone()], None, ValueMode::Modify);
    assert_eq!(moved.unwrap_err().code, ErrorCode::Forbidden);
    // Its other values are its own: a second key.
    n.put_values(&e1, &own, vec![url(7, "https://example.com")], None, ValueMode::Add).unwrap();
    // The node administrator, above it, may change the site; the top of the node governs itself.
    n.put_values(&root, &own, vec![elsewhere], None, ValueMode::Modify).unwrap();
    n.put_values(&root, &h(&n, "0.NA/88.798"), vec![url(7, "https://top")], None, ValueMode::Add).unwrap();
    let top_site = HandleValue::new(8, types::HS_SITE, b"top".to_vec(), T);
    n.put_values(&root, &h(&n, "0.NA/88.798"), vec![top_site], None, ValueMode::Add).unwrap();
    n.delete_handle(&root, &own).unwrap();
}

#[test]
fn a_handles_own_hs_admin_grants_even_deleting_it() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let e2 = login(&n, "300:0.NA/88.798.2", "demo-secret-2");
    let x = h(&n, "88.798.1/SHARED");
    let adm = AdminRef { handle: "0.NA/88.798.2".into(), index: 300, perms: perm::DELETE_HANDLE };
    let values = vec![url(1, "u"), HandleValue::new(100, types::HS_ADMIN, adm.encode(), T)];
    n.put_record(&e1, &x, values, false).unwrap();
    n.delete_handle(&e2, &x).unwrap();
}

#[test]
fn new_suffixes_hide_nothing_from_the_reader() {
    let n = node();
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    for s in ["JDZ\u{200B}-1", "JDZ-\u{202E}1-ZDJ", "JDZ\u{2066}-1", "\u{FEFF}JDZ-1", "JDZ\u{00AD}-1", "JDZ\u{3164}1"] {
        let h = h(&n, &format!("88.798.1/{s}"));
        let e = n.put_record(&e1, &h, vec![url(1, "u")], false).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidHandle, "{s:?}");
        assert!(e.message.contains("invisible or direction-changing"), "{e}");
    }
    let e = n.mint(&e1, &Prefix::parse("88.798.1").unwrap(), "JDZ\u{200D}", vec![url(1, "u")]).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidHandle);
    // Han, Latin and Cyrillic side by side are a registrant's choice.
    n.put_record(&e1, &h(&n, "88.798.1/景德镇-JDZ-Жк-1"), vec![url(1, "u")], false).unwrap();
}

#[test]
fn refusals_cannot_fill_the_audit_log() {
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let store = Arc::new(MemoryStore::new());
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    let n = Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), metrics.clone());
    let e2 = login(&n, "300:0.NA/88.798.2", "demo-secret-2");
    let long = "X".repeat(2000);
    for i in 0..100 {
        let target = h(&n, &format!("88.798.1/{long}{i}"));
        assert_eq!(n.put_record(&e2, &target, vec![url(1, "u")], false).unwrap_err().code, ErrorCode::Forbidden);
    }
    let q = crate::audit::AuditQuery { limit: Some(1000), ..Default::default() };
    let page = n.audit().query(&q).unwrap().unwrap();
    let refused: Vec<_> = page.entries.iter().filter(|e| e.result.starts_with("denied")).collect();
    // At most 30 a minute per identity and client (the loop may straddle a minute: then up to twice that).
    assert!((30..=60).contains(&refused.len()), "{} refusals written", refused.len());
    assert!(refused.iter().all(|e| e.handle.len() <= 260 && e.result.len() <= 300), "entries are bounded");
    let suppressed = format!("idnode_audit_refusals_suppressed_total {}", 100 - refused.len());
    assert!(metrics.render().contains(&suppressed), "{}", metrics.render());
}

#[cfg(feature = "rocksdb")]
#[test]
fn a_record_is_in_memory_once_read_and_the_probe_counts_nothing() {
    use crate::store::{RocksConfig, RocksStore};
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    let open = || {
        let store = Arc::new(RocksStore::open(&cfg).unwrap());
        (store.clone(), Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), Arc::default()))
    };
    let (store, n) = open();
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    let x = h(&n, "88.798.1/JDZ-2024-000123");
    assert!(n.in_memory(&x), "just written: in the memtable");
    store.compact().unwrap();
    drop((store, n));
    let (_store, n) = open();
    let before = n.cache_figures();
    assert!(!n.in_memory(&x), "only in a file whose blocks are not cached yet");
    assert!(n.in_memory(&h(&n, "99.1/ELSEWHERE")), "not homed here: answered without a read");
    assert_eq!(n.cache_figures(), before, "a probe counts nothing");
    assert!(resolved_url(&n, &x).is_some());
    assert!(n.in_memory(&x), "read once: in the record cache");
}

#[test]
fn only_records_not_in_memory_may_wait_for_the_disk() {
    let n = node();
    assert!(!n.may_wait_for_disk("88.798.1/JDZ-2024-000123"), "a store in memory never waits");
    let store = Arc::new(crate::store::tests::OnDisk::default());
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    let n = Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), Arc::default());
    let x = "88.798.1/JDZ-2024-000123";
    assert!(n.may_wait_for_disk(x) && n.may_wait_for_disk("88.798.1/NOT-READ-YET"));
    assert!(resolved_url(&n, &h(&n, x)).is_some());
    assert!(!n.may_wait_for_disk(x), "in the record cache now");
    assert!(!n.may_wait_for_disk("99.1/ELSEWHERE"), "not homed here: answered without a read");
    assert!(!n.may_wait_for_disk("not a handle"), "refused without a read");
}

#[test]
fn a_batch_of_record_writes_is_one_store_write_and_sees_its_own_items() {
    let (reached, _) = std::sync::mpsc::sync_channel(1);
    let store = Arc::new(HeldRead {
        inner: MemoryStore::new(),
        gets: 0.into(),
        key: Vec::new(),
        armed: false.into(),
        record_writes: 0.into(),
        reached,
        resume: Mutex::new(std::sync::mpsc::sync_channel(1).1),
    });
    demo::load(store.as_ref(), "88.798", "root").unwrap();
    let settings = NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]);
    let n = Node::new(store.clone(), settings, Arc::new(crate::metrics::Metrics::new()));
    let e1 = login(&n, "300:0.NA/88.798.1", "demo-secret-1");
    let url = |u: &str| vec![HandleValue::new(1, types::URL, u.as_bytes(), 0)];
    let w = |h: &str, values, mode| Ok(RecordWrite { h: n.parse_handle(h).unwrap(), values, mode });
    let writes = vec![
        w("88.798.1/BATCH-A", url("a"), RecordMode::CreateIdempotent),
        w("88.798.1/BATCH-A", url("a"), RecordMode::CreateIdempotent), // the same again: unchanged
        w("88.798.1/BATCH-A", url("b"), RecordMode::CreateIdempotent), // other values: exists
        w("88.798.1/BATCH-A", url("c"), RecordMode::Replace),          // sees the first item's record
        w("88.798.2/BATCH-B", url("x"), RecordMode::CreateIdempotent), // not e1's prefix
        Err(NodeError::new(ErrorCode::InvalidHandle, "did not parse")),
    ];
    let before = store.record_writes.load(std::sync::atomic::Ordering::Relaxed);
    let results = n.write_records(&e1, writes);
    assert_eq!(store.record_writes.load(std::sync::atomic::Ordering::Relaxed) - before, 1, "one write of records");
    let codes: Vec<Result<PutOutcome, ErrorCode>> = results.into_iter().map(|r| r.map_err(|e| e.code)).collect();
    assert_eq!(
        codes,
        vec![
            Ok(PutOutcome::Created),
            Ok(PutOutcome::Unchanged),
            Err(ErrorCode::HandleAlreadyExists),
            Ok(PutOutcome::Updated),
            Err(ErrorCode::Forbidden),
            Err(ErrorCode::InvalidHandle),
        ]
    );
    let res = n.resolve(&n.parse_handle("88.798.1/BATCH-A").unwrap(), &Filter::default(), &e1).unwrap();
    assert!(res.values().any(|v| v.data == b"c"), "the last write wins");
    assert_eq!(n.stats().report(&Default::default()).unwrap().period.created, 1, "counted once");
}

#[test]
fn a_batch_is_authorized_prefix_by_prefix_and_writes_prefix_handles_alone() {
    let n = node();
    let root = login(&n, "300:0.NA/88.798", "root");
    let w =
        |h: &str, values| Ok(RecordWrite { h: n.parse_handle(h).unwrap(), values, mode: RecordMode::CreateIdempotent });
    // The new enterprise's administrator writes under its prefix in the same batch that creates the prefix.
    let identity = demo::identity_record("0.NA/88.798.9", 300, "nine", vec![]);
    let results = n.write_records(&root, vec![w("0.NA/88.798.9", identity)]);
    assert!(results[0].is_ok(), "{results:?}");
    let nine = login(&n, "300:0.NA/88.798.9", "nine");
    let url = vec![HandleValue::new(1, types::URL, b"https://nine".to_vec(), 0)];
    let identity = demo::identity_record("0.NA/88.798.8", 300, "eight", vec![]);
    let results = n.write_records(
        &root,
        vec![w("88.798.9/A", url.clone()), w("0.NA/88.798.8", identity), w("88.798.8/B", url.clone())],
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let results = n.write_records(&nine, vec![w("88.798.9/C", url.clone()), w("88.798.8/D", url)]);
    let codes: Vec<Result<PutOutcome, ErrorCode>> = results.into_iter().map(|r| r.map_err(|e| e.code)).collect();
    assert_eq!(codes, vec![Ok(PutOutcome::Created), Err(ErrorCode::Forbidden)]);
}
