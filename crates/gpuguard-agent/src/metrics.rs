//! What a node looks like to Prometheus: the doctor's findings and checks, and NVML's view of
//! each GPU, as metric families. The agent serves them on `/metrics`; `gpuguard doctor --format
//! prometheus` writes the same families once, for node_exporter's textfile collector.

use gpuguard::probe::nvml::{GpuInfo, NvmlFacts};
use gpuguard::render::prometheus::{MetricFamily, MetricType};
use gpuguard::xid::{XidSummary, xid_metrics};
use gpuguard::{CheckStatus, Report, Severity};

const STATUSES: [CheckStatus; 3] = [CheckStatus::Ok, CheckStatus::Finding, CheckStatus::Skipped];

/// `gpuguard_finding{rule,severity}`: how many findings of each rule at each severity, with a zero
/// for every pair that has none, so one alert rule (`gpuguard_finding{severity="error"} > 0`)
/// covers every footgun and "no finding" is a value, not an absent series. Also
/// `gpuguard_check_status{check,status}` (1 for the check's current status, 0 for the others).
///
/// ```
/// use gpuguard::{Finding, Report, Severity};
/// let mut r = Report::new("doctor");
/// r.findings.push(Finding::new("GG001", Severity::Error, "/dev/shm is 64 MiB", "set sizeLimit"));
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard_agent::finding_metrics(&r));
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

/// Per-GPU families from NVML: identity, MIG mode, compute processes (more than one without
/// MIG is time-slicing), and the ECC counters, retired pages and remapped rows under the same
/// names `gpuguard xid --nvidia-smi` uses ([`gpuguard::ecc::ecc_metrics`]).
///
/// ```
/// use gpuguard::probe::nvml::{GpuInfo, NvmlFacts};
/// let g = GpuInfo { pci_bus_id: "00000000:3B:00.0".into(), processes: vec![7, 8], ecc_volatile_corrected: Some(5), ..Default::default() };
/// let facts = NvmlFacts { gpus: vec![g], ..Default::default() };
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard_agent::nvml_metrics(&facts));
/// assert!(text.contains(r#"gpuguard_gpu_processes{gpu="00000000:3B:00.0"} 2"#));
/// assert!(text.contains(r#"xid_gpu="0000:3b:00""#));
/// assert!(text.contains(r#"gpuguard_ecc_errors_total{gpu="00000000:3B:00.0",type="corrected",scope="volatile"} 5"#));
/// ```
pub fn nvml_metrics(facts: &NvmlFacts) -> Vec<MetricFamily> {
    let mut info = MetricFamily::new(
        "gpuguard_gpu_info",
        "GPUs NVML sees (value 1), with their identity as labels.",
        MetricType::Gauge,
    );
    let mut mig =
        MetricFamily::new("gpuguard_gpu_mig_enabled", "1 when MIG mode is on for the GPU.", MetricType::Gauge);
    let mut mig_pending = MetricFamily::new(
        "gpuguard_gpu_mig_pending_change",
        "1 when a MIG mode change waits for a GPU reset.",
        MetricType::Gauge,
    );
    let mut procs = MetricFamily::new(
        "gpuguard_gpu_processes",
        "Compute processes on the GPU (more than one without MIG is time-slicing).",
        MetricType::Gauge,
    );
    for g in &facts.gpus {
        let gpu = g.pci_bus_id.as_str();
        let index = g.index.to_string();
        let logged = pci_as_logged(gpu);
        info.push(&[("gpu", gpu), ("index", &index), ("uuid", &g.uuid), ("name", &g.name), ("xid_gpu", &logged)], 1.0);
        if let Some(on) = g.mig_enabled {
            mig.push(&[("gpu", gpu)], f64::from(u8::from(on)));
            if let Some(next) = g.mig_pending {
                mig_pending.push(&[("gpu", gpu)], f64::from(u8::from(on != next)));
            }
        }
        procs.push(&[("gpu", gpu)], g.processes.len() as f64);
    }
    let mut driver =
        MetricFamily::new("gpuguard_driver_info", "The NVIDIA driver NVML reports (value 1).", MetricType::Gauge);
    if let Some(v) = &facts.driver_version {
        let cuda = facts.cuda_version.map_or(String::new(), |c| format!("{}.{}", c / 1000, c % 1000 / 10));
        driver.push(&[("driver_version", v), ("cuda_version", &cuda)], 1.0);
    }
    let ecc: Vec<gpuguard::ecc::GpuEcc> = facts.gpus.iter().map(GpuInfo::ecc).collect();
    let mut out = vec![info, driver, mig, mig_pending, procs];
    out.extend(gpuguard::ecc::ecc_metrics(&ecc));
    out
}

/// NVML's bus id (`00000000:3B:00.0`) as the driver writes it in XID lines (`0000:3b:00`), so
/// `gpuguard_gpu_info{xid_gpu}` joins `gpuguard_xid_events_total{gpu}` to a GPU's uuid and name.
fn pci_as_logged(nvml: &str) -> String {
    let mut parts = nvml.rsplit_once('.').map_or(nvml, |(head, _function)| head).split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(domain), Some(bus), Some(device)) => {
            let domain = &domain[domain.len().saturating_sub(4)..];
            format!("{domain}:{bus}:{device}").to_ascii_lowercase()
        }
        _ => nvml.to_ascii_lowercase(),
    }
}

/// Everything known about a node, as the agent serves it and `gpuguard doctor --format
/// prometheus` writes it: XID counts, `gpuguard_nvml_up` and NVML's families when it answered,
/// and the doctor's findings and checks.
///
/// ```
/// let text = gpuguard::render::prometheus::to_prometheus(&gpuguard_agent::node_metrics(&Default::default(), None, None));
/// assert!(text.contains("gpuguard_nvml_up 0"));
/// ```
pub fn node_metrics(xid: &XidSummary, facts: Option<&NvmlFacts>, report: Option<&Report>) -> Vec<MetricFamily> {
    let mut out = xid_metrics(xid);
    let mut up = MetricFamily::new(
        "gpuguard_nvml_up",
        "1 when NVML answered (0: no NVIDIA driver library, or it failed).",
        MetricType::Gauge,
    );
    up.push(&[], f64::from(u8::from(facts.is_some())));
    out.push(up);
    if let Some(facts) = facts {
        out.extend(nvml_metrics(facts));
    }
    if let Some(report) = report {
        out.extend(finding_metrics(report));
    }
    out
}
