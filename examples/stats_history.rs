//! Writes a year of statistics for 2,000 enterprise prefixes (four counters per prefix and day, as the node
//! keeps them) and the demo data into a new store, for `benches/stats_flood.sh`.
//!
//! Usage: `cargo run --release --example stats_history -- DIR [DAYS] [PREFIXES]`; the last day is today (UTC).

use std::sync::Arc;

use idnode::store::{Batch, RocksConfig, RocksStore, Space, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: stats_history DIR [DAYS] [PREFIXES]")?;
    let days: i64 = args.next().map_or(Ok(366), |a| a.parse())?;
    let prefixes: u32 = args.next().map_or(Ok(2000), |a| a.parse())?;
    let cfg = RocksConfig { path: dir.into(), ..RocksConfig::default() };
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(&cfg)?);
    idnode::demo::load(store.as_ref(), "88.798", "bench-admin-secret")?;
    let today = time::OffsetDateTime::now_utc().date();
    for d in 0..days {
        let day = today - time::Duration::days(d);
        let number = day.year() * 10_000 + i32::from(u8::from(day.month())) * 100 + i32::from(day.day());
        let mut batch = Batch::new();
        for p in 0..prefixes {
            for (kind, n) in [('c', 40), ('d', 1), ('r', 900), ('m', 12)] {
                batch.add(Space::Meta, format!("stats/day/{number}/88.798.{p}/{kind}").into_bytes(), n);
            }
        }
        store.write(batch)?;
    }
    let mut batch = Batch::new();
    for p in 0..prefixes {
        for (kind, n) in [('c', 40), ('d', 1), ('r', 900), ('m', 12)] {
            batch.add(Space::Meta, format!("stats/all/88.798.{p}/{kind}").into_bytes(), n * days);
        }
    }
    store.write(batch)?;
    store.flush()?;
    println!("{days} days of statistics for {prefixes} prefixes in {}", cfg.path.display());
    Ok(())
}
