//! Metrics: one Prometheus recorder per node (the `metrics` crate's [`Recorder`] API), rendered on the admin
//! listener's `/metrics`. This module knows no other part of idnode: each part names, describes and registers
//! its own metrics here, with label values from closed sets ([`Label`]), never an identifier, a prefix or an
//! address. Each node owns its recorder, so two nodes in one process (the tests) never mix their figures.
//!
//! Names follow `idnode_<subsystem>_<name>_{total,seconds,bytes}`; process figures use the standard `process_*`
//! names every Prometheus tool knows.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

pub mod process;

/// Latency buckets, seconds: fine below a millisecond, where warm lookups land.
pub const LATENCY_BUCKETS: [f64; 17] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static META: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// A label whose values are a closed set, so that a metric's series are bounded and can be kept in an array.
pub trait Label: Copy + 'static {
    /// The label's name.
    const KEY: &'static str;
    /// Every value, in the order of [`Label::index`].
    const ALL: &'static [Self];
    /// The label value.
    fn value(self) -> &'static str;
    /// The position of this value in [`Label::ALL`].
    fn index(self) -> usize;
}

/// Implements [`Label`] for a fieldless enum with an inherent `ALL` (every variant, in declaration order) and
/// `label()` (the value of each), under the label name `$key`.
macro_rules! closed_label {
    ($ty:ty, $key:literal) => {
        impl $crate::metrics::Label for $ty {
            const KEY: &'static str = $key;
            const ALL: &'static [Self] = &<$ty>::ALL;
            fn value(self) -> &'static str {
                self.label()
            }
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}
pub(crate) use closed_label;

/// One label or a tuple of labels: the series of a [`Family`].
pub trait Labels: Copy {
    /// How many combinations there are.
    const COUNT: usize;
    /// The position of this combination among them.
    fn index(self) -> usize;
    /// The labels of this combination's series.
    fn labels(self) -> Vec<metrics::Label>;
}

fn label<L: Label>(l: L) -> metrics::Label {
    metrics::Label::from_static_parts(L::KEY, l.value())
}

impl<A: Label> Labels for A {
    const COUNT: usize = A::ALL.len();
    fn index(self) -> usize {
        Label::index(self)
    }
    fn labels(self) -> Vec<metrics::Label> {
        vec![label(self)]
    }
}

impl<A: Label, B: Label> Labels for (A, B) {
    const COUNT: usize = A::ALL.len() * B::ALL.len();
    fn index(self) -> usize {
        self.0.index() * B::ALL.len() + self.1.index()
    }
    fn labels(self) -> Vec<metrics::Label> {
        vec![label(self.0), label(self.1)]
    }
}

impl<A: Label, B: Label, C: Label> Labels for (A, B, C) {
    const COUNT: usize = A::ALL.len() * B::ALL.len() * C::ALL.len();
    fn index(self) -> usize {
        (self.0.index() * B::ALL.len() + self.1.index()) * C::ALL.len() + self.2.index()
    }
    fn labels(self) -> Vec<metrics::Label> {
        vec![label(self.0), label(self.1), label(self.2)]
    }
}

/// A kind of metric a [`Family`] holds.
pub trait Kind: Sized {
    /// Registers the series `key` on `recorder`.
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self;
    /// Describes the metric `name`.
    fn describe(recorder: &PrometheusRecorder, name: &'static str, help: &'static str);
}

impl Kind for Counter {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self {
        recorder.register_counter(key, &META)
    }
    fn describe(recorder: &PrometheusRecorder, name: &'static str, help: &'static str) {
        recorder.describe_counter(KeyName::from_const_str(name), None, SharedString::const_str(help));
    }
}

impl Kind for Gauge {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self {
        recorder.register_gauge(key, &META)
    }
    fn describe(recorder: &PrometheusRecorder, name: &'static str, help: &'static str) {
        recorder.describe_gauge(KeyName::from_const_str(name), None, SharedString::const_str(help));
    }
}

impl Kind for Histogram {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self {
        recorder.register_histogram(key, &META)
    }
    fn describe(recorder: &PrometheusRecorder, name: &'static str, help: &'static str) {
        recorder.describe_histogram(KeyName::from_const_str(name), None, SharedString::const_str(help));
    }
}

/// The series of one metric over every combination of its labels, each registered when first used (or all at
/// once, [`Family::register_all`], for series that should show as 0 from the start).
pub struct Family<L: Labels, M: Kind> {
    name: &'static str,
    recorder: Arc<PrometheusRecorder>,
    series: Box<[OnceLock<M>]>,
    labels: PhantomData<L>,
}

impl<L: Labels, M: Kind> std::fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<L: Labels, M: Kind> Family<L, M> {
    /// The series of `labels`.
    pub fn get(&self, labels: L) -> &M {
        self.series[labels.index()]
            .get_or_init(|| M::register(&self.recorder, &Key::from_parts(self.name, labels.labels())))
    }

    /// Registers the series of each of `all` now.
    pub fn register_all(self, all: impl IntoIterator<Item = L>) -> Self {
        for l in all {
            self.get(l);
        }
        self
    }
}

/// The recorder of one node.
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder: histograms whose names end in `_seconds` get [`LATENCY_BUCKETS`]; `idnode_build_info`
    /// is registered.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Self { recorder: Arc::new(recorder), handle };
        metrics
            .gauge_with("idnode_build_info", "Build information; always 1.", &[("version", env!("CARGO_PKG_VERSION"))])
            .set(1.0);
        metrics
    }

    fn describe<M: Kind>(&self, name: &'static str, help: &'static str) {
        M::describe(&self.recorder, name, help);
    }

    fn one<M: Kind>(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &'static str)]) -> M {
        self.describe::<M>(name, help);
        let labels: Vec<_> = labels.iter().map(|(k, v)| metrics::Label::from_static_parts(k, v)).collect();
        M::register(&self.recorder, &Key::from_parts(name, labels))
    }

    /// The counter `name`, described by `help`, registered now.
    pub fn counter(&self, name: &'static str, help: &'static str) -> Counter {
        self.one(name, help, &[])
    }

    /// The series of the counter `name` with the fixed `labels`, registered now.
    pub fn counter_with(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &'static str)],
    ) -> Counter {
        self.one(name, help, labels)
    }

    /// The gauge `name`, described by `help`, registered now.
    pub fn gauge(&self, name: &'static str, help: &'static str) -> Gauge {
        self.one(name, help, &[])
    }

    /// The series of the gauge `name` with the fixed `labels`, registered now.
    pub fn gauge_with(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &'static str)]) -> Gauge {
        self.one(name, help, labels)
    }

    /// The metric `name` over the labels `L`, described by `help`; its series are registered when first used.
    pub fn family<L: Labels, M: Kind>(&self, name: &'static str, help: &'static str) -> Family<L, M> {
        self.describe::<M>(name, help);
        Family {
            name,
            recorder: self.recorder.clone(),
            series: (0..L::COUNT).map(|_| OnceLock::new()).collect(),
            labels: PhantomData,
        }
    }

    /// Drains histogram samples into their buckets; run it periodically so an unscraped node stays small.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Everything recorded, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

#[cfg(test)]
mod tests;
