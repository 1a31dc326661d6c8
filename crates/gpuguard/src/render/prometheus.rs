//! The Prometheus text exposition format (0.0.4), as node_exporter's textfile collector reads
//! it. A small general writer: families with HELP and TYPE, samples with escaped labels. Names
//! that are not valid Prometheus names are repaired (bad characters become `_`), never emitted.

use std::fmt::Write;

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

/// Replaces characters a Prometheus name may not hold (`[a-zA-Z_:][a-zA-Z0-9_:]*`; no `:` in
/// label names) with `_`.
fn sanitize(name: &str, colon: bool) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':') { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn escape(value: &str, quote: bool) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '"' if quote => s.push_str("\\\""),
            c => s.push(c),
        }
    }
    s
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Renders families in order; empty families are left out (promtool rejects TYPE without samples
/// in some versions, and they say nothing).
///
/// ```
/// use gpuguard::render::prometheus::{MetricFamily, MetricType, to_prometheus};
/// let mut f = MetricFamily::new("gpuguard_xid_events_total", "XID events.", MetricType::Counter);
/// f.push(&[("gpu", "0000:3b:00"), ("msg", "a \"quoted\"\nline")], 2.0);
/// let text = to_prometheus(&[f]);
/// assert!(text.starts_with("# HELP gpuguard_xid_events_total XID events.\n# TYPE gpuguard_xid_events_total counter\n"));
/// assert!(text.contains(r#"{gpu="0000:3b:00",msg="a \"quoted\"\nline"} 2"#));
/// ```
pub fn to_prometheus(families: &[MetricFamily]) -> String {
    let mut out = String::new();
    for f in families.iter().filter(|f| !f.samples.is_empty()) {
        let name = sanitize(&f.name, true);
        let kind = match f.kind {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
        };
        let _ = writeln!(out, "# HELP {name} {}", escape(&f.help, false));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in &f.samples {
            out.push_str(&name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{}=\"{}\"", sanitize(k, false), escape(v, true));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(s.value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_empty_families() {
        let mut f = MetricFamily::new("9bad-name", "a\\b\nc", MetricType::Gauge);
        f.push(&[("le:x", "v")], f64::INFINITY);
        f.push(&[], 0.25);
        let empty = MetricFamily::new("unused", "x", MetricType::Gauge);
        let t = to_prometheus(&[f, empty]);
        assert_eq!(
            t,
            "# HELP _9bad_name a\\\\b\\nc\n# TYPE _9bad_name gauge\n_9bad_name{le_x=\"v\"} +Inf\n_9bad_name 0.25\n"
        );
    }
}
