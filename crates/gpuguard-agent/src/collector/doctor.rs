//! The doctor's findings and checks on this node, and when it last ran.

use super::Collector;
use crate::state::AgentState;
use gpuguard::render::prometheus::{MetricFamily, MetricType};
use gpuguard::{CheckStatus, Report, Severity};

const STATUSES: [CheckStatus; 3] = [CheckStatus::Ok, CheckStatus::Finding, CheckStatus::Skipped];

/// `gpuguard_finding`, `gpuguard_check_status` and the doctor's run times.
#[derive(Debug, Clone, Copy)]
pub struct DoctorCollector;

/// `gpuguard_finding{rule,severity}`: how many findings of each rule at each severity, with a zero
/// for every pair that has none, so one alert rule (`gpuguard_finding{severity="error"} > 0`)
/// covers every footgun and "no finding" is a value, not an absent series. Also
/// `gpuguard_check_status{check,status}` (1 for the check's current status, 0 for the others).
///
/// ```
/// use gpuguard::{Finding, Report, Severity};
/// let mut r = Report::new("doctor");
/// r.findings.push(Finding::new("GG001", Severity::Error, "/dev/shm is 64 MiB", "set sizeLimit"));
/// let text = gpuguard_agent::exposition::encode(&gpuguard_agent::finding_metrics(&r), gpuguard_agent::exposition::Format::Prometheus);
/// assert!(text.contains(r#"gpuguard_finding{rule="GG001",severity="error"} 1"#));
/// assert!(text.contains(r#"gpuguard_finding{rule="GG005",severity="error"} 0"#));
/// ```
pub fn finding_metrics(report: &Report) -> Vec<MetricFamily> {
    let mut findings = MetricFamily::new(
        "gpuguard_finding",
        "Findings of the gpuguard doctor on this node, by rule and severity.",
        MetricType::Gauge,
    );
    let mut rules: Vec<&str> = gpuguard::catalog().iter().map(|f| f.id).collect();
    // A rule id outside the catalog (a newer gpuguard's report) still gets its series.
    for f in &report.findings {
        if !rules.contains(&f.rule.as_str()) {
            rules.push(&f.rule);
        }
    }
    for rule in rules {
        for severity in Severity::ALL {
            let n = report.findings.iter().filter(|f| f.rule == rule && f.severity == severity).count();
            findings.push(&[("rule", rule), ("severity", severity.as_str())], n as f64);
        }
    }
    let mut checks = MetricFamily::new(
        "gpuguard_check_status",
        "1 for the current status of each doctor check (ok, finding, skipped), 0 for the others.",
        MetricType::Gauge,
    );
    for c in &report.checks {
        for s in STATUSES {
            checks.push(&[("check", &c.name), ("status", s.as_str())], f64::from(u8::from(c.status == s)));
        }
    }
    vec![findings, checks]
}

impl Collector for DoctorCollector {
    fn name(&self) -> &'static str {
        "doctor"
    }

    fn collect(&self, state: &AgentState, out: &mut Vec<MetricFamily>) {
        let Some((report, at, took)) = &state.doctor else { return };
        out.extend(finding_metrics(report));
        let mut last = MetricFamily::new(
            "gpuguard_doctor_last_run_timestamp_seconds",
            "When the doctor last ran (Unix time).",
            MetricType::Gauge,
        );
        last.push(&[], *at);
        let mut duration = MetricFamily::new(
            "gpuguard_doctor_duration_seconds",
            "How long the last doctor run took.",
            MetricType::Gauge,
        );
        duration.push(&[], *took);
        out.extend([last, duration]);
    }
}
