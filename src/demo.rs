//! The deterministic demo data set: the node prefix `88.798`, five enterprise prefixes with their administrators,
//! and [`PRODUCTS_PER_ENTERPRISE`] ceramic products each, carrying a `URL`, an `HS_ADMIN`, a template pointer (index
//! 1000) and the ceramics attributes of domain.md (index 2000+). Loaded only into an empty store.
//!
//! Demo credentials (never use them outside a demo): node administrator `300:0.NA/88.798` with
//! [`DEMO_ADMIN_SECRET`] (unless a bootstrap secret is configured), enterprise `k` administrator
//! `300:0.NA/88.798.k` with secret `demo-secret-k`.

use crate::record::admin::{AdminRef, ValueRef, encode_vlist, perm};
use crate::record::{HandleValue, Perms, types};
use crate::store::{Batch, Store, StoreError};

/// Products registered per enterprise.
pub const PRODUCTS_PER_ENTERPRISE: u32 = 600;
/// Secret of the demo node administrator when no bootstrap secret is configured.
pub const DEMO_ADMIN_SECRET: &str = "demo-admin-secret";
/// The demo template identifier written at index 1000.
pub const TEMPLATE_ID: &str = "88.798/TPL-CERAMIC-PRODUCT";
/// Timestamp of every demo value: 2025-04-29T08:00:00Z.
const STAMP: u32 = 1_745_913_600;

const ENTERPRISES: [(&str, &str, &str); 5] = [
    ("景德镇青花瓷业有限公司", "91360200MA35A1B2C3", "青花"),
    ("景德镇玲珑瓷厂", "91360200MA35D4E5F6", "玲珑"),
    ("景德镇粉彩艺术陶瓷有限公司", "91360200MA35G7H8J9", "粉彩"),
    ("景德镇颜色釉瓷研究所", "91360200MA35K1L2M3", "颜色釉"),
    ("景德镇日用陶瓷集团有限公司", "91360200MA35N4P5Q6", "釉下彩"),
];
const CATEGORIES: [&str; 4] = ["日用瓷", "陈设艺术瓷", "建筑卫生陶瓷", "特种陶瓷"];
const SHAPES: [&str; 8] = ["碗", "盘", "杯", "瓶", "壶", "罐", "碟", "盏"];
const GLAZES: [&str; 5] = ["青白釉", "影青釉", "祭红釉", "天青釉", "白釉"];
const FORMING: [&str; 4] = ["拉坯", "注浆", "滚压", "手工"];
const KILNS: [&str; 3] = ["柴窑", "气窑", "电窑"];
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

/// The values of a ceramic product record of enterprise `ent` (any number; the demo's five repeat) under
/// `prefix`, drawn from the seeded generator: the same seed gives the same record.
pub fn product_record(seed: u64, ent: usize, prefix: &str, handle: &str) -> Vec<HandleValue> {
    product_values(&mut Rng(seed), ent % ENTERPRISES.len(), prefix, handle)
}

fn product_values(rng: &mut Rng, ent: usize, prefix: &str, handle: &str) -> Vec<HandleValue> {
    let (company, uscc, decoration) = ENTERPRISES[ent];
    let shape = rng.pick(&SHAPES);
    let name = format!("{decoration}{}{shape}", rng.pick(&MOTIFS));
    let temp = 1280 + (rng.next() % 60) as u32;
    let day = 1 + (rng.next() % 28) as u32;
    let month = 1 + (rng.next() % 12) as u32;
    let batch = format!("B2024{month:02}-{:03}", rng.next() % 200);
    vec![
        v(1, types::URL, format!("https://trace.example.cn/p/{handle}")),
        admin(100, &format!("0.NA/{prefix}"), 200, 0b0111_1111_0011),
        v(1000, "TEMPLATE_ID", TEMPLATE_ID),
        v(2000, "productName", name),
        v(2001, "category", rng.pick(&CATEGORIES)),
        v(2002, "decoration", decoration),
        v(2003, "shape", shape),
        v(2004, "glaze", rng.pick(&GLAZES)),
        v(2005, "bodyMaterial", "高岭土"),
        v(2006, "forming", rng.pick(&FORMING)),
        v(2007, "kiln", rng.pick(&KILNS)),
        v(2008, "firingTemperature", temp.to_string()),
        v(2009, "firingDate", format!("2024-{month:02}-{day:02}")),
        v(2010, "batchNo", batch),
        v(2011, "artisan", rng.pick(&ARTISANS)),
        v(2012, "manufacturer", company),
        v(2013, "uscc", uscc),
        v(2014, "origin", "江西省景德镇市"),
        v(2015, "standard", "GB/T 3532-2022 日用瓷器"),
        v(2016, "brandCertificate", format!("JDZZ-{:08}", rng.next() % 100_000_000)),
        v(2018, "leadCadmiumRelease", "铅<0.2 mg/L, 镉<0.02 mg/L (合格)"),
    ]
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
    for (k, (company, uscc, _)) in ENTERPRISES.iter().enumerate() {
        let prefix = format!("{node_prefix}.{}", k + 1);
        let ph = format!("0.NA/{prefix}");
        let extra = vec![v(2, "ORG_NAME", *company), v(3, "USCC", *uscc)];
        add(&mut batch, &ph, &identity_record(&ph, 300, &format!("demo-secret-{}", k + 1), extra));
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
        assert_eq!(n, 1 + 5 * (1 + PRODUCTS_PER_ENTERPRISE as usize));
        let key = b"88.798.1/JDZ-2024-000123";
        let ra = a.get(Space::Handles, key).unwrap().unwrap();
        assert_eq!(Some(ra.clone()), b.get(Space::Handles, key).unwrap());
        let rec = decode_record(&ra).unwrap();
        assert!(rec.values.iter().any(|v| v.index == 1000 && v.data == TEMPLATE_ID.as_bytes()));
        assert!(rec.values.iter().filter(|v| v.index >= 2000).count() >= 18);
        assert!(!crate::records::is_empty(&a).unwrap());
    }
}
