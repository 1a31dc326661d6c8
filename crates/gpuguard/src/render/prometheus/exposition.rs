//! Writes metric families in the Prometheus text format (0.0.4) or OpenMetrics 1.0, through the
//! Prometheus project's Rust client (`prometheus-client`): its encoders own the escaping, the
//! `_total` suffix rules and OpenMetrics' `# EOF`, so gpuguard writes no exposition format by
//! hand. The agent chooses the format from a scraper's `Accept` header ([`Format::negotiate`]);
//! the CLI writes the text format that node_exporter's textfile collector reads.

use super::{MetricFamily, MetricType};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4: what curl, node_exporter's textfile collector and older
    /// scrapers read.
    Prometheus,
    /// OpenMetrics 1.0 text, which Prometheus asks for first.
    OpenMetrics,
}

/// The `Content-Type` of OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Format {
    /// The format to answer a request whose `Accept` header is `accept`: OpenMetrics when the
    /// client ranks it at least as high as the classic text format (by `q`, RFC 9110 §12.5.1),
    /// else the text format. No header, or one naming neither, gets the text format.
    ///
    /// ```
    /// use gpuguard::render::prometheus::Format;
    /// // What Prometheus 2.x sends.
    /// let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
    /// assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
    /// assert_eq!(Format::negotiate(None), Format::Prometheus);
    /// assert_eq!(Format::negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")), Format::Prometheus);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else { return Format::Prometheus };
        let (mut openmetrics, mut text) = (0.0f32, 0.0f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, v)| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= text { Format::OpenMetrics } else { Format::Prometheus }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// A gathered set of families, handed to `prometheus-client` as one collector of constant
/// metrics (the way node_exporter's collectors hand over const metrics on each scrape).
#[derive(Debug)]
struct Gathered(Vec<MetricFamily>);

impl Collector for Gathered {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in self.0.iter().filter(|f| !f.samples.is_empty()) {
            let (name, kind) = match f.kind {
                // The encoders add `_total` to counters themselves.
                MetricType::Counter => {
                    (f.name.strip_suffix("_total").unwrap_or(&f.name), prometheus_client::metrics::MetricType::Counter)
                }
                MetricType::Gauge => (f.name.as_str(), prometheus_client::metrics::MetricType::Gauge),
            };
            let mut family = encoder.encode_descriptor(name, &f.help, None, kind)?;
            for s in &f.samples {
                let labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let metric = family.encode_family(&labels)?;
                // Whole numbers (counts, 0/1 states) are written as integers: `1`, not `1.0`.
                let whole = s.value.fract() == 0.0 && s.value.abs() < 9.0e15;
                match f.kind {
                    MetricType::Counter if whole => ConstCounter::new(s.value.max(0.0) as u64).encode(metric)?,
                    MetricType::Counter => ConstCounter::new(s.value.max(0.0)).encode(metric)?,
                    MetricType::Gauge if whole => ConstGauge::new(s.value as i64).encode(metric)?,
                    MetricType::Gauge => ConstGauge::new(s.value).encode(metric)?,
                }
            }
        }
        Ok(())
    }
}

/// `families` as a page in `format`. Empty families are left out (they say nothing, and some
/// parsers reject a TYPE line without samples). Names are gpuguard's own constants, valid
/// Prometheus names; a counter's name ends in `_total` (OpenMetrics writes the family without it).
///
/// ```
/// use gpuguard::render::prometheus::{Format, MetricFamily, MetricType, encode};
/// let mut f = MetricFamily::new("gpuguard_xid_events_total", "NVIDIA XID events.", MetricType::Counter);
/// f.push(&[("gpu", "0000:3b:00"), ("xid", "48")], 2.0);
/// let text = encode(std::slice::from_ref(&f), Format::Prometheus);
/// assert!(text.contains("# TYPE gpuguard_xid_events_total counter\n"));
/// assert!(text.contains(r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48"} 2"#));
/// let om = encode(&[f], Format::OpenMetrics);
/// assert!(om.contains("# TYPE gpuguard_xid_events counter\n") && om.ends_with("# EOF\n"));
/// ```
pub fn encode(families: &[MetricFamily], format: Format) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Gathered(families.to_vec())));
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in the families.
    let result = match format {
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut out, &registry),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry),
    };
    if let Err(e) = result {
        out.push_str(&format!("# gpuguard: encoding failed: {e}\n"));
    }
    out
}

/// `families` in the Prometheus text format 0.0.4 ([`encode`] with [`Format::Prometheus`]): what
/// `gpuguard xid --format prometheus` and `gpuguard doctor --format prometheus` print for
/// node_exporter's textfile collector.
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
    encode(families, Format::Prometheus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(kind: MetricType, name: &str, samples: &[(&[(&str, &str)], f64)]) -> MetricFamily {
        let mut f = MetricFamily::new(name, "Help with a \\ backslash\nand a newline.", kind);
        for (labels, value) in samples {
            f.push(labels, *value);
        }
        f
    }

    #[test]
    fn both_formats_escape_keep_whole_numbers_whole_and_leave_out_empty_families() {
        let families = [
            family(MetricType::Counter, "gpuguard_x_total", &[(&[("msg", "a\\b \"c\"\nd")], 3.0)]),
            family(MetricType::Gauge, "gpuguard_y", &[(&[], 0.25), (&[("gpu", "0")], 1.0)]),
            family(MetricType::Gauge, "gpuguard_unused", &[]),
        ];
        let text = encode(&families, Format::Prometheus);
        assert_eq!(
            text,
            "# HELP gpuguard_x_total Help with a \\\\ backslash\\nand a newline.\n\
             # TYPE gpuguard_x_total counter\n\
             gpuguard_x_total{msg=\"a\\\\b \\\"c\\\"\\nd\"} 3\n\
             # HELP gpuguard_y Help with a \\\\ backslash\\nand a newline.\n\
             # TYPE gpuguard_y gauge\n\
             gpuguard_y 0.25\n\
             gpuguard_y{gpu=\"0\"} 1\n"
        );
        let om = encode(&families, Format::OpenMetrics);
        assert!(om.contains("# TYPE gpuguard_x counter\n") && om.contains("gpuguard_x_total{"), "{om}");
        assert!(!om.contains("gpuguard_unused") && om.ends_with("# EOF\n"), "{om}");
        assert_eq!(to_prometheus(&families), text);
    }
}
