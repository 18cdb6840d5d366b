//! Reports over the statistics counters: a period of days, node totals, and the top prefixes.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::{Date, Duration, macros::format_description};

use super::{ALL_KEYS, DAY_KEYS, Stats, day_number};
use crate::error::{ErrorCode, NodeError};
use crate::store::Visit;

/// Longest period of one report, days.
pub const MAX_DAYS: i64 = 366;
/// Most prefixes in one report.
pub const MAX_TOP: usize = 1000;
/// Days of a report when no start is given.
const DEFAULT_DAYS: i64 = 30;
/// Prefixes of a report when no number is given.
const DEFAULT_TOP: usize = 10;

/// Counts of one prefix or of the node, over a period or for all time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Handles created.
    pub created: u64,
    /// Handles deleted.
    pub deleted: u64,
    /// Resolutions of existing handles.
    pub resolutions: u64,
    /// Resolutions of handles that do not exist.
    pub misses: u64,
}

impl Counts {
    fn add(&mut self, kind: char, n: i64) {
        let n = u64::try_from(n).unwrap_or(0);
        match kind {
            'c' => self.created += n,
            'd' => self.deleted += n,
            'r' => self.resolutions += n,
            'm' => self.misses += n,
            _ => {}
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.created += o.created;
        self.deleted += o.deleted;
        self.resolutions += o.resolutions;
        self.misses += o.misses;
    }

    /// Handles registered now: created minus deleted.
    pub fn registered(&self) -> u64 {
        self.created.saturating_sub(self.deleted)
    }
}

/// What a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    /// First day (default: 29 days before `to`).
    pub from: Option<Date>,
    /// Last day (default: today).
    pub to: Option<Date>,
    /// Only this prefix, as the client wrote it (prefixes compare case-insensitively).
    pub prefix: Option<String>,
    /// Number of top prefixes (default 10, at most 1000).
    pub top: Option<usize>,
}

/// One day of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The day's counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// One prefix of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrefixRow {
    /// The enterprise prefix.
    pub prefix: String,
    /// Handles registered under it now.
    pub registered: u64,
    /// Its counts over the period.
    pub period: Counts,
    /// Its counts for all time.
    pub total: Counts,
}

/// A statistics report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// The UTC offset days are counted in, `+HH:MM`.
    pub utc_offset: String,
    /// Handles registered on the node now (all prefixes).
    pub registered: u64,
    /// Counts of the node for all time.
    pub total: Counts,
    /// Counts of the node (or of the requested prefix) over the period.
    pub period: Counts,
    /// Every day of the period.
    pub days: Vec<DayRow>,
    /// Number of prefixes with statistics.
    pub prefix_count: usize,
    /// The top prefixes by resolutions in the period, then by registered handles.
    pub prefixes: Vec<PrefixRow>,
}

fn bad(msg: impl Into<String>) -> NodeError {
    NodeError::new(ErrorCode::BadRequest, msg)
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<Date, NodeError> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|_| bad(format!("{s:?} is not a YYYY-MM-DD date")))
}

fn format_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

impl Stats {
    /// The report `q` asks for, unflushed resolutions included.
    pub fn report(&self, q: &ReportQuery) -> Result<Report, NodeError> {
        let today = self.today();
        let to = q.to.unwrap_or(today);
        let from = q.from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        if from > to {
            return Err(bad("from is after to"));
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(bad(format!("a report covers at most {MAX_DAYS} days")));
        }
        let top = q.top.unwrap_or(DEFAULT_TOP);
        if top > MAX_TOP {
            return Err(bad(format!("top is at most {MAX_TOP}")));
        }
        let (first, last, now) = (day_number(from), day_number(to), day_number(today));
        let dates = || (0..=(to - from).whole_days()).map(|i| from + Duration::days(i));
        let only = q.prefix.as_deref().map(str::to_ascii_uppercase);
        let want = |p: &str| only.as_deref().is_none_or(|w| w == p);
        let mut all: BTreeMap<String, Counts> = BTreeMap::new();
        self.scan_counters(ALL_KEYS, None, &mut |prefix, kind, n| {
            all.entry(prefix.to_owned()).or_default().add(kind, n);
            Visit::Continue
        })?;
        let mut days: BTreeMap<u32, Counts> = BTreeMap::new();
        let mut period: HashMap<String, Counts> = HashMap::new();
        let mut count = |day: u32, prefix: &str, kind: char, n: i64| {
            days.entry(day).or_default().add(kind, n);
            period.entry(prefix.to_owned()).or_default().add(kind, n);
        };
        match only.as_deref() {
            // One prefix: its four counters of each day, a seek per day (keys are day first, then prefix).
            Some(p) => {
                for day in dates().map(day_number) {
                    self.scan_counters(&format!("{DAY_KEYS}{day}/{p}/"), None, &mut |rest, kind, n| {
                        if rest.is_empty() {
                            count(day, p, kind, n);
                        }
                        Visit::Continue
                    })?;
                }
            }
            // Every prefix: one scan of the period's counters.
            None => {
                let after = format!("{DAY_KEYS}{first}");
                self.scan_counters(DAY_KEYS, Some(after.as_bytes()), &mut |rest, kind, n| {
                    let Some((day, prefix)) = rest.split_once('/') else { return Visit::Continue };
                    let Ok(day) = day.parse::<u32>() else { return Visit::Continue };
                    if day > last {
                        return Visit::Stop;
                    }
                    if day >= first {
                        count(day, prefix, kind, n);
                    }
                    Visit::Continue
                })?;
            }
        }
        for (prefix, r, m) in self.unflushed() {
            let c = Counts { resolutions: r, misses: m, ..Counts::default() };
            all.entry(prefix.clone()).or_default().merge(&c);
            if (first..=last).contains(&now) && want(&prefix) {
                days.entry(now).or_default().merge(&c);
                period.entry(prefix).or_default().merge(&c);
            }
        }
        let mut total = Counts::default();
        all.values().for_each(|c| total.merge(c));
        let mut sum = Counts::default();
        period.values().for_each(|c| sum.merge(c));
        let mut rows: Vec<PrefixRow> = all
            .iter()
            .filter(|(p, _)| want(p))
            .map(|(p, c)| PrefixRow {
                prefix: p.clone(),
                registered: c.registered(),
                period: period.get(p).copied().unwrap_or_default(),
                total: *c,
            })
            .collect();
        let prefix_count = rows.len();
        rows.sort_by(|a, b| {
            (b.period.resolutions, b.registered, &a.prefix).cmp(&(a.period.resolutions, a.registered, &b.prefix))
        });
        rows.truncate(top);
        let day_rows = dates()
            .map(|d| DayRow { date: format_date(d), counts: days.get(&day_number(d)).copied().unwrap_or_default() })
            .collect();
        let (h, m, _) = self.offset.as_hms();
        Ok(Report {
            from: format_date(from),
            to: format_date(to),
            utc_offset: format!("{}{:02}:{:02}", if self.offset.is_negative() { '-' } else { '+' }, h.abs(), m.abs()),
            registered: total.registered(),
            total,
            period: sum,
            days: day_rows,
            prefix_count,
            prefixes: rows,
        })
    }
}
