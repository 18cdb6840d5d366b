//! The deterministic demo data set: the node prefix `88.798` with the shipped templates
//! ([`crate::template::ceramics`]), five enterprise prefixes with their administrators, twelve production batches
//! each and [`PRODUCTS_PER_ENTERPRISE`] ceramic products each. A product carries a `URL`, an `HS_ADMIN`, its
//! template (indexes 1000 and 1001) and the product template's attributes (index 2000+), among them the batch it
//! was fired in. Every record satisfies its template. Loaded only into an empty store.
//!
//! Demo credentials (never use them outside a demo): node administrator `300:0.NA/88.798` with
//! [`DEMO_ADMIN_SECRET`] (unless a bootstrap secret is configured), enterprise `k` administrator
//! `300:0.NA/88.798.k` with secret `demo-secret-k`.

use crate::record::admin::{AdminRef, ValueRef, encode_vlist, perm};
use crate::record::{HandleValue, Perms, types};
use crate::store::{Batch, Store, StoreError};
use crate::template::{TEMPLATE_ID_TYPE, TEMPLATE_VERSION_TYPE, ceramics};

/// Products registered per enterprise.
pub const PRODUCTS_PER_ENTERPRISE: u32 = 600;
/// Secret of the demo node administrator when no bootstrap secret is configured.
pub const DEMO_ADMIN_SECRET: &str = "demo-admin-secret";
/// Timestamp of every demo value: 2025-04-29T08:00:00Z.
const STAMP: u32 = 1_745_913_600;

/// The enterprises: name, credit code, the decoration they are known for, the standard they follow.
const ENTERPRISES: [(&str, &str, &str, &str); 5] = [
    ("景德镇青花瓷业有限公司", "91360200MA35A1B2C3", "釉下青花", "釉下青花"),
    ("景德镇玲珑瓷厂", "91360200MA35D4E5F6", "玲珑", "玲珑瓷"),
    ("景德镇粉彩艺术陶瓷有限公司", "91360200MA35G7H8J9", "粉彩", "粉彩硬质瓷"),
    ("景德镇颜色釉瓷研究所", "91360200MA35K1L2M3", "颜色釉之青白釉", "颜色釉之青白釉"),
    ("景德镇日用陶瓷集团有限公司", "91360200MA35N4P5Q6", "釉下彩", "日用硬质瓷器"),
];
/// Production batches per enterprise: one a month of 2024.
pub const BATCHES_PER_ENTERPRISE: u32 = 12;
const SHAPES: [&str; 8] = ["碗", "盘", "杯", "瓶", "壶", "罐", "碟", "盏"];
const GLAZES: [&str; 5] = ["青白釉", "影青釉", "祭红釉", "天青釉", "白釉"];
const ARTISANS: [&str; 6] = ["王志明", "李秀英", "张德华", "陈建国", "刘美玲", "黄文涛"];
const MOTIFS: [&str; 6] = ["缠枝莲纹", "山水", "花鸟", "百子图", "龙凤纹", "梅兰竹菊"];

/// A tiny deterministic generator (SplitMix64), so the demo set is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn v(index: u32, ty: &str, data: impl Into<Vec<u8>>) -> HandleValue {
    HandleValue::new(index, ty, data, STAMP)
}

fn admin(index: u32, handle: &str, admin_index: u32, perms: u16) -> HandleValue {
    v(index, types::HS_ADMIN, AdminRef { handle: handle.into(), index: admin_index, perms }.encode())
}

fn secret(index: u32, s: &str) -> HandleValue {
    HandleValue { perms: Perms::SECRET, ..v(index, types::HS_SECKEY, s.as_bytes()) }
}

/// The record of an administrator identity / prefix handle: `HS_ADMIN` at 100 (through the group at 200, as
/// pyhandle's records expect), the group `HS_VLIST` at 200 holding `key_index:<handle>`, the secret at `key_index`.
pub fn identity_record(handle: &str, key_index: u32, secret_text: &str, extra: Vec<HandleValue>) -> Vec<HandleValue> {
    let mut values = vec![
        admin(100, handle, 200, perm::ALL),
        v(200, types::HS_VLIST, encode_vlist(&[ValueRef { handle: handle.into(), index: key_index }])),
        secret(key_index, secret_text),
    ];
    values.extend(extra);
    values.sort_by_key(|v| v.index);
    values
}

fn product(rng: &mut Rng, ent: usize, prefix: &str, n: u32) -> (String, Vec<HandleValue>) {
    let handle = format!("{prefix}/JDZ-2024-{n:06}");
    let values = product_values(rng, ent, prefix, &handle);
    (handle, values)
}

/// The identifier of enterprise `prefix`'s batch of `month` (1-12) of 2024.
fn batch_handle(prefix: &str, month: u32) -> String {
    format!("{prefix}/BATCH-2024{month:02}")
}

/// The node prefix above an enterprise prefix (`88.798` for `88.798.1`).
fn node_prefix_of(prefix: &str) -> &str {
    prefix.rsplit_once('.').map_or(prefix, |(node, _)| node)
}

/// The record of enterprise `ent`'s production batch of `month`, following the batch template.
fn batch_values(rng: &mut Rng, ent: usize, prefix: &str, month: u32) -> Vec<HandleValue> {
    let (company, uscc, _, standard) = ENTERPRISES[ent];
    let node = node_prefix_of(prefix);
    let handle = batch_handle(prefix, month);
    vec![
        v(1, types::URL, format!("https://trace.example.cn/b/{handle}")),
        admin(100, &format!("0.NA/{prefix}"), 200, 0b0111_1111_0011),
        v(1000, TEMPLATE_ID_TYPE, ceramics::batch_handle(node)),
        v(1001, TEMPLATE_VERSION_TYPE, ceramics::BATCH_VERSION),
        v(2000, "batchNo", format!("B2024{month:02}")),
        v(2001, "manufacturer", company),
        v(2002, "uscc", uscc),
        v(2003, "productionDate", format!("2024-{month:02}-01")),
        v(2004, "kiln", rng.pick(&ceramics::KILNS)),
        v(2005, "firingTemperature", (1280 + rng.next() % 60).to_string()),
        v(2006, "quantity", (200 + rng.next() % 800).to_string()),
        v(2007, "standard", standard),
        v(2008, "inspectionResult", "合格"),
        v(2009, "qcReport", format!("https://qc.example.cn/r/{handle}")),
        v(2010, "leadCadmiumRelease", "铅<0.2 mg/L, 镉<0.02 mg/L (合格)"),
    ]
}

/// The values of a ceramic product record of enterprise `ent` (any number; the demo's five repeat) under
/// `prefix`, drawn from the seeded generator: the same seed gives the same record.
pub fn product_record(seed: u64, ent: usize, prefix: &str, handle: &str) -> Vec<HandleValue> {
    product_values(&mut Rng(seed), ent % ENTERPRISES.len(), prefix, handle)
}

fn product_values(rng: &mut Rng, ent: usize, prefix: &str, handle: &str) -> Vec<HandleValue> {
    let (company, uscc, decoration, standard) = ENTERPRISES[ent];
    let shape = rng.pick(&SHAPES);
    let name = format!("{decoration}{}{shape}", rng.pick(&MOTIFS));
    let temp = 1280 + (rng.next() % 60) as u32;
    let day = 1 + (rng.next() % 28) as u32;
    let month = 1 + (rng.next() % u64::from(BATCHES_PER_ENTERPRISE)) as u32;
    let node = node_prefix_of(prefix);
    let mut values = vec![
        v(1, types::URL, format!("https://trace.example.cn/p/{handle}")),
        admin(100, &format!("0.NA/{prefix}"), 200, 0b0111_1111_0011),
        v(1000, TEMPLATE_ID_TYPE, ceramics::product_handle(node)),
        v(1001, TEMPLATE_VERSION_TYPE, ceramics::PRODUCT_VERSION),
        v(2000, "productName", name),
        v(2001, "category", rng.pick(&ceramics::CATEGORIES[..2])),
        v(2002, "decoration", decoration),
        v(2003, "shape", shape),
        v(2004, "glaze", rng.pick(&GLAZES)),
        v(2005, "bodyMaterial", "高岭土"),
        v(2006, "forming", rng.pick(&ceramics::FORMING)),
        v(2007, "kiln", rng.pick(&ceramics::KILNS)),
        v(2008, "firingTemperature", temp.to_string()),
        v(2009, "firingDate", format!("2024-{month:02}-{day:02}")),
        v(2010, "batchNo", format!("B2024{month:02}")),
        v(2011, "artisan", rng.pick(&ARTISANS)),
        v(2012, "manufacturer", company),
        v(2013, "uscc", uscc),
        v(2014, "origin", "江西省景德镇市"),
        v(2015, "standard", standard),
        v(2016, "brandCertificate", format!("JDZZ-{:08}", rng.next() % 100_000_000)),
        v(2018, "leadCadmiumRelease", "铅<0.2 mg/L, 镉<0.02 mg/L (合格)"),
        v(2019, "qcReport", format!("https://qc.example.cn/r/{}", batch_handle(prefix, month))),
        v(2020, "batchId", batch_handle(prefix, month)),
    ];
    // Pieces signed by an artisan carry the design's copyright registration.
    if rng.next().is_multiple_of(4) {
        values.push(v(2017, "copyrightRegNo", format!("赣作登字-2024-F-{:08}", rng.next() % 100_000_000)));
        values.sort_by_key(|x| x.index);
    }
    values
}

/// Loads the demo data into `store` (which should be empty) and returns the number of handles written.
pub fn load(store: &dyn Store, node_prefix: &str, admin_secret: &str) -> Result<usize, StoreError> {
    let mut rng = Rng(798);
    let mut batch = Batch::new();
    let mut count = 0;
    let mut add = |batch: &mut Batch, handle: &str, values: &[HandleValue]| {
        crate::records::put_created(batch, handle, values);
        count += 1;
    };
    for t in ceramics::all(node_prefix) {
        crate::template::put(&mut batch, &t);
    }
    let node_handle = format!("0.NA/{node_prefix}");
    add(
        &mut batch,
        &node_handle,
        &identity_record(
            &node_handle,
            300,
            admin_secret,
            vec![v(2, "ORG_NAME", "景德镇陶瓷行业标识解析二级节点 (演示)")],
        ),
    );
    for (k, (company, uscc, ..)) in ENTERPRISES.iter().enumerate() {
        let prefix = format!("{node_prefix}.{}", k + 1);
        let ph = format!("0.NA/{prefix}");
        let extra = vec![v(2, "ORG_NAME", *company), v(3, "USCC", *uscc)];
        add(&mut batch, &ph, &identity_record(&ph, 300, &format!("demo-secret-{}", k + 1), extra));
        for month in 1..=BATCHES_PER_ENTERPRISE {
            add(&mut batch, &batch_handle(&prefix, month), &batch_values(&mut rng, k, &prefix, month));
        }
        for n in 1..=PRODUCTS_PER_ENTERPRISE {
            let (h, values) = product(&mut rng, k, &prefix, n);
            add(&mut batch, &h, &values);
            if batch.ops.len() >= 500 {
                store.write(std::mem::take(&mut batch))?;
            }
        }
    }
    store.write(batch)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::wire::decode_record;
    use crate::store::{MemoryStore, Space};

    #[test]
    fn demo_is_deterministic_and_complete() {
        let a = MemoryStore::new();
        let b = MemoryStore::new();
        assert!(crate::records::is_empty(&a).unwrap());
        let n = load(&a, "88.798", "s").unwrap();
        load(&b, "88.798", "s").unwrap();
        assert_eq!(n, 1 + 5 * (1 + BATCHES_PER_ENTERPRISE as usize + PRODUCTS_PER_ENTERPRISE as usize));
        let key = b"88.798.1/JDZ-2024-000123";
        let ra = a.get(Space::Handles, key).unwrap().unwrap();
        assert_eq!(Some(ra.clone()), b.get(Space::Handles, key).unwrap());
        let rec = decode_record(&ra).unwrap();
        assert!(rec.values.iter().filter(|v| v.index >= 2000).count() >= 18);
        assert!(!crate::records::is_empty(&a).unwrap());
    }

    #[test]
    fn every_demo_record_follows_its_template_and_its_batch_exists() {
        let store = MemoryStore::new();
        load(&store, "88.798", "s").unwrap();
        let templates: Vec<crate::template::Template> = ceramics::all("88.798");
        let (mut products, mut batches) = (0, 0);
        store
            .scan(Space::Handles, b"", None, &mut |_, bytes| {
                let rec = decode_record(bytes).unwrap();
                let named = rec.values.iter().find(|v| v.index == 1000);
                if let Some(named) = named {
                    let t = templates.iter().find(|t| t.handle.as_bytes() == named.data).unwrap();
                    t.check(&rec.values).unwrap_or_else(|e| panic!("{}: {}", rec.handle, e.english()));
                    let version = rec.values.iter().find(|v| v.index == 1001).unwrap();
                    assert_eq!(version.data, t.version.as_bytes());
                    if let Some(batch) = rec.values.iter().find(|v| v.index == 2020) {
                        assert!(store.get(Space::Handles, &batch.data).unwrap().is_some(), "{}", rec.handle);
                        products += 1;
                    } else {
                        batches += 1;
                    }
                }
                crate::store::Visit::Continue
            })
            .unwrap();
        assert_eq!((products, batches), (5 * PRODUCTS_PER_ENTERPRISE, 5 * BATCHES_PER_ENTERPRISE));
        let mut stored = 0;
        store
            .scan(Space::Templates, b"", None, &mut |_, bytes| {
                assert!(templates.contains(&crate::template::decode(bytes).unwrap()));
                stored += 1;
                crate::store::Visit::Continue
            })
            .unwrap();
        assert_eq!(stored, templates.len());
    }
}
