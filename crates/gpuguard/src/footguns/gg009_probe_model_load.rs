//! GG009 probe-model-load: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a model server whose startupProbe window (`initialDelaySeconds + failureThreshold ×
//! periodSeconds`) is shorter than the model's load time, or, with no `startupProbe`, whose
//! liveness probe gives up before the model can have loaded. A readiness probe is never a finding:
//! when it fails the kubelet only keeps the pod out of its Service until it passes, and it keeps
//! probing, so a server that loads for an hour simply becomes ready after an hour. When the weights come
//! from the hub with no persistent cache (GG006), the load time includes the download at
//! `hub-download-bytes-per-second` (`.gpuguard.yaml`, default 100 MB/s), stated in the evidence. The load time is the annotation
//! `gpuguard.io/model-load-seconds` (on the object or pod template) or an estimate from the model
//! id's parameter count (`7B`, `70B`, `8x7B`, `405B`; 2 bytes a parameter, 1 for FP8/INT8, ½ for
//! AWQ/GPTQ/INT4) read at 1 GB/s plus 30 s of CUDA and engine start-up. With neither, no finding.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use crate::lint::facts;
#[cfg(feature = "lint")]
use crate::{ProbeTiming, estimate_load_seconds, startup_window_covers};
#[cfg(feature = "lint")]
use regex::Regex;
#[cfg(feature = "lint")]
use std::sync::LazyLock;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG009.as_str(),
    slug: "probe-model-load",
    title: "Probes that kill a model server before its model has loaded",
    what: "The liveness probe fails while a 70B model is still loading, the kubelet restarts the \
           container, the load starts over, and the pod sits in CrashLoopBackOff forever.",
    why: "Kubernetes gives a probe initialDelaySeconds + failureThreshold × periodSeconds before it \
          acts (0 + 3 × 10 = 30 s with the defaults). Loading 140 GB of weights at 1 GB/s takes \
          2-3 minutes, and a server that downloads them from the hub at every start (no persistent \
          cache) adds 140 GB at the link's speed. A startupProbe holds the other probes off until \
          it succeeds, but only for its own window: a startupProbe that allows 3 s kills a 70B \
          server just as surely. gpuguard flags a window below the estimated load time.",
    fix: "Add a startupProbe on the server's health endpoint with failureThreshold × periodSeconds \
          at least 2 × the expected load time (e.g. periodSeconds: 10, failureThreshold: 60 for \
          up to 5 minutes of loading); keep liveness and readiness short.",
    example: "livenessProbe: {httpGet: {path: /health, port: 8000}, initialDelaySeconds: 30}\n# 70B model, no startupProbe",
    caught_by: &["manifest lint", "probe window math"],
    default_severity: Severity::Error,
};

/// Read throughput assumed for the weights (a local NVMe or a good network volume).
#[cfg(feature = "lint")]
const READ_BYTES_PER_SECOND: f64 = 1e9;
/// CUDA context, engine start-up, CUDA graph capture.
#[cfg(feature = "lint")]
const OVERHEAD_SECONDS: f64 = 30.0;
#[cfg(feature = "lint")]
const ANN_LOAD: &str = "gpuguard.io/model-load-seconds";

#[cfg(feature = "lint")]
static PARAMS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)(?:^|[^a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?:$|[^a-z0-9])").ok());

/// Parameters (in billions) and bytes per parameter from a model id such as
/// `meta-llama/Llama-3.1-70B-Instruct` or `TheBloke/Mixtral-8x7B-AWQ`.
#[cfg(feature = "lint")]
pub(crate) fn model_size(model: &str) -> Option<(f64, f64)> {
    let name = model.rsplit('/').next().unwrap_or(model);
    let caps = PARAMS.as_ref()?.captures(name)?;
    let experts: f64 = caps.get(1).and_then(|m| m.as_str().parse().ok()).unwrap_or(1.0);
    let billions: f64 = caps.get(2)?.as_str().parse().ok()?;
    let lower = name.to_ascii_lowercase();
    let bytes_per_param =
        if ["awq", "gptq", "int4", "4bit", "w4a16", "bnb", "gguf", "q4"].iter().any(|q| lower.contains(q)) {
            0.5
        } else if ["fp8", "int8", "8bit", "w8a8"].iter().any(|q| lower.contains(q)) {
            1.0
        } else {
            2.0
        };
    Some((experts * billions, bytes_per_param))
}

#[cfg(feature = "lint")]
fn timing(probe: &serde_json::Value) -> ProbeTiming {
    let get = |k: &str, d: u32| probe[k].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(d);
    let d = ProbeTiming::default();
    ProbeTiming {
        initial_delay_seconds: get("initialDelaySeconds", d.initial_delay_seconds),
        period_seconds: get("periodSeconds", d.period_seconds),
        failure_threshold: get("failureThreshold", d.failure_threshold),
    }
}

/// How long the container takes to be ready, and how that was worked out.
#[cfg(feature = "lint")]
struct Load {
    seconds: f64,
    basis: String,
    model: Option<String>,
    download_seconds: Option<f64>,
}

#[cfg(feature = "lint")]
fn load_time(ctx: &Ctx<'_>, pod: &crate::k8s::PodSpec<'_>, c: &crate::k8s::Container<'_>) -> Option<Load> {
    let model = facts::model_id(c).map(str::to_owned).or_else(|| facts::nim_image_model(c));
    let annotated =
        pod.annotation(ANN_LOAD).or_else(|| ctx.obj.annotation(ANN_LOAD)).and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(s) = annotated.filter(|s| s.is_finite() && *s >= 0.0) {
        return Some(Load { seconds: s, basis: format!("annotation {ANN_LOAD}"), model, download_seconds: None });
    }
    let (billions, bpp) = model.as_deref().and_then(model_size)?;
    let bytes = billions * 1e9 * bpp;
    let read = estimate_load_seconds(bytes, READ_BYTES_PER_SECOND, OVERHEAD_SECONDS).ok()?;
    let mut basis = format!("{billions}B parameters × {bpp} bytes read at 1 GB/s + {OVERHEAD_SECONDS} s start-up");
    // Weights from the hub with no persistent cache (GG006) are downloaded first, every start.
    let download = super::gg006_model_cache::uncached_hub_pull(ctx, pod, c).map(|_| {
        let bps = ctx.opts.config.hub_bytes_per_second();
        basis = format!(
            "{:.0} GB downloaded from the hub at {} MB/s with no persistent cache (hub-download-bytes-per-second in .gpuguard.yaml), then {basis}",
            bytes / 1e9,
            bps / 1e6
        );
        bytes / bps
    });
    Some(Load { seconds: read + download.unwrap_or(0.0), basis, model, download_seconds: download })
}

/// A probe as the kubelet will run it, and where it comes from.
#[cfg(feature = "lint")]
struct Probe<'a> {
    value: std::borrow::Cow<'a, serde_json::Value>,
    /// Field path under the container (`startupProbe`, `startupProbe.probe`).
    path: String,
    /// `manifest`, or `NIM operator default` for a NIMService probe it fills in.
    from: &'static str,
}

#[cfg(feature = "lint")]
fn plain_probe<'a>(c: &crate::k8s::Container<'a>, key: &'static str) -> Option<Probe<'a>> {
    let v = &c.value[key];
    v.is_object().then(|| Probe { value: std::borrow::Cow::Borrowed(v), path: key.into(), from: "manifest" })
}

/// A NIMService probe (`spec.startupProbe: {enabled, probe}`): the operator runs `probe`, or its
/// own default when none is given (startup 30 s + 120 × 10 s, liveness 15 s + 3 × 10 s), unless
/// `enabled: false` (k8s-nim-operator `GetDefaultStartupProbe`, `GetDefaultLivenessProbe`).
#[cfg(feature = "lint")]
fn nim_probe<'a>(c: &crate::k8s::Container<'a>, key: &'static str) -> Option<Probe<'a>> {
    let spec = &c.value[key];
    if spec["enabled"].as_bool() == Some(false) {
        return None;
    }
    if spec["probe"].is_object() {
        return Some(Probe {
            value: std::borrow::Cow::Borrowed(&spec["probe"]),
            path: format!("{key}.probe"),
            from: "manifest",
        });
    }
    let (delay, failures) = match key {
        "startupProbe" => (30, 120),
        "livenessProbe" => (15, 3),
        _ => return None,
    };
    let value = serde_json::json!({"initialDelaySeconds": delay, "periodSeconds": 10, "failureThreshold": failures});
    Some(Probe { value: std::borrow::Cow::Owned(value), path: key.into(), from: "NIM operator default" })
}

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        for c in pod.containers.iter().filter(|c| !c.init) {
            if facts::model_server(c).is_none() {
                continue;
            }
            let Some(load) = load_time(ctx, pod, c) else { continue };
            let hub_bps = ctx.opts.config.hub_bytes_per_second();
            let nim = facts::is_nim_service(ctx, pod, c);
            let probe_of = |key: &'static str| if nim { nim_probe(c, key) } else { plain_probe(c, key) };
            // With a startupProbe, liveness and readiness wait for it: its window is what counts.
            // Without one, only the liveness probe restarts the container; a failing readiness
            // probe just keeps the pod out of service until the model has loaded.
            let (probe_key, probe) = match probe_of("startupProbe") {
                Some(p) => ("startupProbe", p),
                None => match probe_of("livenessProbe") {
                    Some(p) => ("livenessProbe", p),
                    None => continue,
                },
            };
            let has_startup = probe_key == "startupProbe";
            let t = timing(&probe.value);
            let window = t.window_seconds();
            if startup_window_covers(window as f64, load.seconds, 1.0).unwrap_or(true) {
                continue;
            }
            let secs = load.seconds;
            let message = if has_startup {
                format!(
                    "startupProbe of {} allows {window} s (initialDelaySeconds + failureThreshold × periodSeconds), below the model's load time (~{secs:.0} s: {}): the kubelet kills it before it serves",
                    c.name, load.basis
                )
            } else {
                format!(
                    "livenessProbe of {} kills the container after {window} s, before the model can load (~{secs:.0} s: {}); no startupProbe",
                    c.name, load.basis
                )
            };
            let threshold = ((secs * 1.5) / 10.0).ceil().max(3.0);
            let fix = if nim && !has_startup {
                format!(
                    "turn the NIMService's startupProbe back on (the operator's default allows 30 s + 120 × 10 s), or set spec.startupProbe.probe with periodSeconds: 10 and failureThreshold: {threshold}"
                )
            } else if has_startup {
                format!(
                    "raise the startupProbe's window above the load time, e.g. periodSeconds: 10 and failureThreshold: {threshold}"
                )
            } else {
                format!(
                    "add a startupProbe covering the load, e.g. periodSeconds: 10 and failureThreshold: {threshold}"
                )
            };
            let f = ctx.emit(RuleId::GG009, message, fix, Some(c), format!("{}.{}", c.path, probe.path));
            f.evidence.insert("probe".into(), probe_key.into());
            if nim {
                f.evidence.insert("probe_from".into(), probe.from.into());
            }
            f.evidence.insert("window_seconds".into(), window.into());
            f.evidence.insert("load_seconds".into(), (secs.round() as u64).into());
            f.evidence.insert("load_basis".into(), load.basis.clone().into());
            f.evidence.insert("model".into(), load.model.clone().into());
            if let Some(d) = load.download_seconds {
                f.evidence.insert("download_seconds".into(), (d.round() as u64).into());
                f.evidence.insert("hub_download_bytes_per_second".into(), hub_bps.into());
            }
            f.evidence.insert("initial_delay_seconds".into(), t.initial_delay_seconds.into());
            f.evidence.insert("period_seconds".into(), t.period_seconds.into());
            f.evidence.insert("failure_threshold".into(), t.failure_threshold.into());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[cfg(feature = "lint")]
mod tests {
    use super::model_size;

    #[test]
    fn sizes() {
        assert_eq!(model_size("meta-llama/Llama-3.1-70B-Instruct"), Some((70.0, 2.0)));
        assert_eq!(model_size("meta-llama/Llama-3.1-405B-Instruct-FP8"), Some((405.0, 1.0)));
        assert_eq!(model_size("TheBloke/Mixtral-8x7B-v0.1-AWQ"), Some((56.0, 0.5)));
        assert_eq!(model_size("Qwen/Qwen2.5-0.5B-Instruct"), Some((0.5, 2.0)));
        assert_eq!(model_size("google/gemma-2b-it"), Some((2.0, 2.0)));
        assert_eq!(model_size("gpt2"), None);
        assert_eq!(model_size("bert-base-uncased"), None);
    }
}
