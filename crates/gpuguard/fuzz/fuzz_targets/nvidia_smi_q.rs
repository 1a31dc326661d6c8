//! Arbitrary text through the `nvidia-smi -q` ECC parser and the corrected-error rate, the way
//! `gpuguard xid --ecc a.txt --ecc b.txt` uses them: the input is split at form feeds (`\x0c`)
//! into snapshots; each is parsed, timestamped, and the per-GPU series go through the rate math,
//! the findings and the Prometheus metrics. An input starting with `RATE` instead feeds raw
//! samples (16 bytes each: f64 seconds, u64 count, little-endian) to the rate math.
#![no_main]

use gpuguard::ecc::{EccRate, EccSample, corrected_error_rate, ecc_findings, ecc_metrics, ecc_rate_finding, parse_nvidia_smi_q, smi_timestamp_seconds};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fn check_rate(gpu: &str, samples: &[EccSample], threshold: f64) {
    let Ok(r): Result<EccRate, _> = corrected_error_rate(samples, threshold) else { return };
    assert!(r.per_hour >= 0.0, "{r:?}");
    assert!(r.peak_per_hour >= 0.0, "{r:?}");
    assert_eq!(r.alert, r.peak_per_hour > threshold);
    if let Some(f) = ecc_rate_finding(gpu, &r, threshold) {
        let _ = serde_json::to_string(&f);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(raw) = data.strip_prefix(b"RATE") {
        let mut chunks = raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
        let threshold = chunks.next().map_or(0.0, f64::from_bits);
        let mut samples = Vec::new();
        while let (Some(t), Some(c)) = (chunks.next(), chunks.next()) {
            samples.push(EccSample { time_seconds: f64::from_bits(t), corrected: c });
        }
        check_rate("raw", &samples, threshold);
        return;
    }

    let text = String::from_utf8_lossy(data);
    let mut series: BTreeMap<String, Vec<EccSample>> = BTreeMap::new();
    for snapshot in text.split('\x0c') {
        let gpus = parse_nvidia_smi_q(snapshot);
        let time = smi_timestamp_seconds(snapshot);
        if let Some(t) = time {
            assert!(t.is_finite());
        }
        for g in &gpus {
            assert!(!g.gpu.contains('\n'));
            if let (Some(t), Some(c)) = (time, g.volatile_corrected.or(g.aggregate_corrected)) {
                series.entry(g.gpu.clone()).or_default().push(EccSample { time_seconds: t, corrected: c });
            }
        }
        let findings = ecc_findings(&gpus);
        let _ = serde_json::to_string(&findings);
        let _ = serde_json::to_string(&gpus);
        let _ = gpuguard::render::prometheus::to_prometheus(&ecc_metrics(&gpus));
    }
    for (gpu, samples) in &series {
        for threshold in [0.0, 100.0] {
            check_rate(gpu, samples, threshold);
        }
    }
});
