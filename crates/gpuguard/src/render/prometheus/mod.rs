//! Prometheus metrics: the families gpuguard's checks produce ([`MetricFamily`], always built,
//! even in the lean crate) and, with the `prometheus` feature, their exposition in the Prometheus
//! text format 0.0.4 or OpenMetrics 1.0 through the Prometheus project's Rust client
//! (`prometheus-client`; see [`encode`]). The CLI (`xid`/`doctor --format prometheus`) and the
//! agent's `/metrics` use that one writer.

#[cfg(feature = "prometheus")]
mod exposition;
#[cfg(feature = "prometheus")]
pub use exposition::{Format, OPENMETRICS_CONTENT_TYPE, encode, to_prometheus};

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only goes up (name it `…_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One sample: label pairs and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `(name, value)` pairs, in output order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A metric family: every sample of one name, written together as the format requires.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// Metric name.
    pub name: String,
    /// One line of help.
    pub help: String,
    /// Counter or gauge.
    pub kind: MetricType,
    /// Its samples.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    /// An empty family.
    ///
    /// ```
    /// use gpuguard::render::prometheus::{MetricFamily, MetricType};
    /// let mut f = MetricFamily::new("gpuguard_xid_events_total", "XID events.", MetricType::Counter);
    /// f.push(&[("gpu", "0000:3b:00"), ("xid", "48")], 2.0);
    /// assert_eq!(f.samples.len(), 1);
    /// ```
    pub fn new(name: &str, help: &str, kind: MetricType) -> Self {
        MetricFamily { name: name.to_owned(), help: help.to_owned(), kind, samples: Vec::new() }
    }

    /// Adds a sample.
    pub fn push(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.samples.push(Sample { labels, value });
    }
}
