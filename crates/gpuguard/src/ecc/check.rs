//! ECC counters and rates → GG005 findings and Prometheus families.

use super::rate::EccRate;
use super::smi::GpuEcc;
use crate::finding::Finding;
use crate::render::prometheus::{MetricFamily, MetricType};
use crate::severity::Severity;

/// GG005 findings for one snapshot: uncorrected errors, failed or pending remaps, pending page
/// retirements.
///
/// ```
/// let g = gpuguard::ecc::GpuEcc { gpu: "00000000:3B:00.0".into(), remapped_rows_failure: Some(true), ..Default::default() };
/// let f = gpuguard::ecc::ecc_findings(&[g]);
/// assert_eq!(f[0].severity, gpuguard::Severity::Error);
/// assert!(f[0].message.contains("remapping failed"));
/// ```
pub fn ecc_findings(gpus: &[GpuEcc]) -> Vec<Finding> {
    let mut out = Vec::new();
    for g in gpus {
        let mut push = |sev: Severity, msg: String, fix: &str| {
            out.push(Finding::new("GG005", sev, format!("GPU {}: {msg}", g.gpu), fix).with_path(g.gpu.clone()));
        };
        if g.remapped_rows_failure == Some(true) {
            push(
                Severity::Error,
                "row remapping failed; the memory cannot repair itself".into(),
                "Drain the node and replace the GPU.",
            );
        }
        if let Some(n) = g.volatile_uncorrected.filter(|n| *n > 0) {
            push(
                Severity::Error,
                format!("{n} uncorrected (double-bit) ECC error(s) since the driver loaded"),
                "Results computed since then may be corrupt: stop jobs, reset the GPU, and replace it if errors return.",
            );
        }
        if g.remapped_rows_pending == Some(true) {
            push(
                Severity::Warning,
                "a row remap is pending until the GPU is reset".into(),
                "Drain the GPU and reset it (nvidia-smi -r) to apply the remap.",
            );
        }
        if g.retired_pages_pending == Some(true) {
            push(
                Severity::Warning,
                "a page retirement is pending until the driver reloads".into(),
                "Drain the GPU and reload the driver or reboot to retire the page.",
            );
        }
    }
    out
}

/// A GG005 warning when the corrected-error rate climbs past its threshold.
///
/// ```
/// let r = gpuguard::ecc::EccRate { increase: 500, per_hour: 100.0, peak_per_hour: 400.0, alert: true };
/// let f = gpuguard::ecc::ecc_rate_finding("0000:3b:00", &r, 100.0).unwrap();
/// assert!(f.message.contains("400.0/h"));
/// ```
pub fn ecc_rate_finding(gpu: &str, rate: &EccRate, threshold_per_hour: f64) -> Option<Finding> {
    rate.alert.then(|| {
        Finding::new(
            "GG005",
            Severity::Warning,
            format!(
                "GPU {gpu}: corrected ECC errors climbing at up to {:.1}/h (threshold {threshold_per_hour}/h; {} new, {:.1}/h on average)",
                rate.peak_per_hour, rate.increase, rate.per_hour
            ),
            "A fast rise in corrected errors precedes uncorrectable ones: plan to drain the node and run dcgmi diag; replace the GPU if it keeps rising.",
        )
        .with_path(gpu.to_owned())
        .with_evidence("peak_per_hour", rate.peak_per_hour)
        .with_evidence("per_hour", rate.per_hour)
        .with_evidence("increase", rate.increase)
    })
}

/// Prometheus families for ECC snapshots (counters labelled by GPU, type and scope).
///
/// ```
/// let g = gpuguard::ecc::GpuEcc { gpu: "00000000:3B:00.0".into(), volatile_corrected: Some(7), ..Default::default() };
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard::ecc::ecc_metrics(&[g]));
/// assert!(text.contains(r#"gpuguard_ecc_errors_total{gpu="00000000:3B:00.0",type="corrected",scope="volatile"} 7"#));
/// ```
pub fn ecc_metrics(gpus: &[GpuEcc]) -> Vec<MetricFamily> {
    let mut errors = MetricFamily::new(
        "gpuguard_ecc_errors_total",
        "ECC errors counted by the GPU, from nvidia-smi -q.",
        MetricType::Counter,
    );
    let mut retired =
        MetricFamily::new("gpuguard_ecc_retired_pages", "GPU memory pages retired, by cause.", MetricType::Gauge);
    let mut remapped =
        MetricFamily::new("gpuguard_ecc_remapped_rows", "GPU memory rows remapped, by error type.", MetricType::Gauge);
    let mut pending = MetricFamily::new(
        "gpuguard_ecc_pending",
        "1 when a page retirement or row remap waits for a reset.",
        MetricType::Gauge,
    );
    let mut failure = MetricFamily::new(
        "gpuguard_ecc_remap_failure",
        "1 when row remapping failed (replace the GPU).",
        MetricType::Gauge,
    );
    for g in gpus {
        let gpu = g.gpu.as_str();
        for (v, t, s) in [
            (g.volatile_corrected, "corrected", "volatile"),
            (g.volatile_uncorrected, "uncorrected", "volatile"),
            (g.aggregate_corrected, "corrected", "aggregate"),
            (g.aggregate_uncorrected, "uncorrected", "aggregate"),
        ] {
            if let Some(v) = v {
                errors.push(&[("gpu", gpu), ("type", t), ("scope", s)], v as f64);
            }
        }
        for (v, c) in [(g.retired_pages_sbe, "sbe"), (g.retired_pages_dbe, "dbe")] {
            if let Some(v) = v {
                retired.push(&[("gpu", gpu), ("cause", c)], v as f64);
            }
        }
        for (v, t) in [(g.remapped_rows_correctable, "correctable"), (g.remapped_rows_uncorrectable, "uncorrectable")] {
            if let Some(v) = v {
                remapped.push(&[("gpu", gpu), ("type", t)], v as f64);
            }
        }
        for (v, what) in [(g.retired_pages_pending, "page_retirement"), (g.remapped_rows_pending, "row_remap")] {
            if let Some(v) = v {
                pending.push(&[("gpu", gpu), ("what", what)], f64::from(u8::from(v)));
            }
        }
        if let Some(v) = g.remapped_rows_failure {
            failure.push(&[("gpu", gpu)], f64::from(u8::from(v)));
        }
    }
    vec![errors, retired, remapped, pending, failure]
}
