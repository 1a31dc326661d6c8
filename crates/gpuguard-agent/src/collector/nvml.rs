//! NVML's view of each GPU (identity, MIG, compute processes, ECC counters, retired pages,
//! remapped rows), whether NVML answered, and how often it was sampled.

use super::Collector;
use crate::state::AgentState;
use gpuguard::probe::nvml::{GpuInfo, NvmlFacts};
use gpuguard::render::prometheus::{MetricFamily, MetricType};

/// `gpuguard_nvml_*`, `gpuguard_gpu_*`, `gpuguard_driver_info` and `gpuguard_ecc_*`.
#[derive(Debug, Clone, Copy)]
pub struct NvmlCollector;

/// `gpuguard_nvml_up`: 1 when NVML answered on the last sample.
pub fn nvml_up(answered: bool) -> Vec<MetricFamily> {
    let mut up = MetricFamily::new(
        "gpuguard_nvml_up",
        "1 when NVML answered (0: no NVIDIA driver library, or it failed).",
        MetricType::Gauge,
    );
    up.push(&[], f64::from(u8::from(answered)));
    vec![up]
}

/// Per-GPU families from NVML: identity, MIG mode, compute processes (more than one without
/// MIG is time-slicing), and the ECC counters, retired pages and remapped rows under the same
/// names `gpuguard xid --nvidia-smi` uses ([`gpuguard::ecc::ecc_metrics`]).
///
/// ```
/// use gpuguard::probe::nvml::{GpuInfo, NvmlFacts};
/// let g = GpuInfo { pci_bus_id: "00000000:3B:00.0".into(), processes: vec![7, 8], ecc_volatile_corrected: Some(5), ..Default::default() };
/// let facts = NvmlFacts { gpus: vec![g], ..Default::default() };
/// let text = gpuguard_agent::exposition::encode(&gpuguard_agent::nvml_metrics(&facts), gpuguard_agent::exposition::Format::Prometheus);
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

impl Collector for NvmlCollector {
    fn name(&self) -> &'static str {
        "nvml"
    }

    fn collect(&self, state: &AgentState, out: &mut Vec<MetricFamily>) {
        let sample = &state.nvml;
        out.extend(nvml_up(sample.facts.is_some()));
        if let Some(facts) = &sample.facts {
            out.extend(nvml_metrics(facts));
        }
        let mut samples = MetricFamily::new("gpuguard_nvml_samples_total", "NVML samples taken.", MetricType::Counter);
        samples.push(&[], sample.samples as f64);
        out.push(samples);
        if sample.samples > 0 {
            let mut at = MetricFamily::new(
                "gpuguard_nvml_last_sample_timestamp_seconds",
                "When NVML was last sampled (Unix time).",
                MetricType::Gauge,
            );
            at.push(&[], sample.at);
            out.push(at);
        }
    }
}
