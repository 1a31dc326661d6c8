//! GG006 model-cache.
//!
//! **What**: a model server (vLLM, TGI, SGLang, KServe's Hugging Face server and the like) that
//! pulls its model from the Hugging Face hub while the cache (`HF_HOME`, `HF_HUB_CACHE`,
//! `--download-dir`, the server's default such as `~/.cache/huggingface` or TGI's `/data`) is not
//! on a persistent volume (a PVC, hostPath, NFS, CSI; `HF_HOME`/`HF_HUB_CACHE` on one), and KServe
//! `storageUri: hf://…` (downloaded into an emptyDir at every start). Models are named the
//! servers' ways: vLLM `--model` or `vllm serve ORG/NAME`, TGI `--model-id`/`MODEL_ID`, SGLang
//! `--model-path`, `HF_MODEL_ID`. A model served from a path (a volume, or baked into the image)
//! or from object storage, or `HF_HUB_OFFLINE=1`, is not a finding.
//!
//! **Why**: every restart, reschedule and scale-up downloads the weights again: 140 GB for a 70B
//! model is many minutes of idle GPUs, and hub rate limits can fail the start outright.
//!
//! **Example**: `args: [--model, meta-llama/Llama-3.1-8B-Instruct]` with no volume at
//! `/root/.cache/huggingface`.
//!
//! **Fix**: mount a PersistentVolumeClaim (ReadWriteMany for several replicas) at the cache
//! directory, or pre-stage the weights on a volume / object storage and serve from that path.

use super::super::Ctx;
use crate::k8s::{Container, PodSpec};

const CACHE_FLAGS: &[&str] = &["--download-dir", "--download_dir", "--huggingface-hub-cache", "--model-cache-dir"];
const CACHE_ENVS: &[&str] = &["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_HOME"];

/// A model pulled from the Hugging Face hub into a cache that does not outlive the pod.
#[derive(Debug, Clone)]
pub(crate) struct UncachedPull {
    /// The model id (`meta-llama/Llama-3.1-8B-Instruct`).
    pub model: String,
    /// Who pulls it (`vLLM`, `KServe storage initializer`).
    pub puller: &'static str,
    /// Where it lands.
    pub cache: String,
    /// What set `cache` (`--download-dir`, `HF_HOME`, `default`).
    pub source: &'static str,
    /// The volume type under `cache` (`emptyDir`, `container filesystem`).
    pub volume_type: String,
}

/// The hub pull of a container whose weights do not survive a restart, if it makes one.
pub(crate) fn uncached_hub_pull(ctx: &Ctx<'_>, pod: &PodSpec<'_>, c: &Container<'_>) -> Option<UncachedPull> {
    if c.init {
        return None;
    }
    // KServe: the storage initializer downloads `hf://org/model` into an emptyDir at /mnt/models
    // before every start.
    let storage_uri = c.value["storageUri"].as_str().or_else(|| pod.spec["storageUri"].as_str());
    if let Some(uri) = storage_uri {
        let model = uri.strip_prefix("hf://")?;
        return Some(UncachedPull {
            model: model.to_owned(),
            puller: "KServe storage initializer",
            cache: "/mnt/models".into(),
            source: "storageUri",
            volume_type: "emptyDir".into(),
        });
    }
    let server = super::model_server(c)?;
    let model = super::model_id(c)?;
    let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"]
        .iter()
        .any(|e| matches!(c.env(e), Some("1" | "true" | "TRUE" | "True")));
    if offline || !super::is_hub_model(model) {
        return None;
    }
    let words = super::words(c);
    let (cache, source) = match super::flag_value(&words, CACHE_FLAGS) {
        Some(d) => (d.to_owned(), "flag"),
        None => match CACHE_ENVS.iter().find_map(|e| c.env(e).map(|v| (*e, v))) {
            Some(("HF_HOME", v)) => (format!("{}/hub", v.trim_end_matches('/')), "HF_HOME"),
            Some((e, v)) => (v.to_owned(), e),
            None => (server.default_cache().to_owned(), "default"),
        },
    };
    let volume_type = match super::volume_for_path(pod, c, &cache) {
        Some((_, Some(vol))) if super::is_persistent(vol) => return None,
        // A mount with no pod volume: a StatefulSet volumeClaimTemplate.
        Some((_, None)) if super::has_claim_templates(ctx) => return None,
        Some((_, Some(vol))) => super::volume_source(vol).to_owned(),
        _ => "container filesystem".to_owned(),
    };
    Some(UncachedPull { model: model.to_owned(), puller: server.name(), cache, source, volume_type })
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for pod in ctx.pods.clone() {
        for c in &pod.containers {
            let Some(pull) = uncached_hub_pull(ctx, &pod, c) else { continue };
            let UncachedPull { model, puller, cache, source, volume_type } = pull;
            let f = ctx.emit(
                "GG006",
                format!(
                    "{puller} in container {} pulls {model} from the Hugging Face hub into {cache} on the {volume_type}: every restart downloads it again",
                    c.name
                ),
                format!("mount a PersistentVolumeClaim at {cache} (ReadWriteMany for several replicas), or serve the model from a volume, the image or object storage"),
                Some(c),
                format!("{}.volumeMounts", c.path),
            );
            f.evidence.insert("model".into(), model.into());
            f.evidence.insert("cache_dir".into(), cache.into());
            f.evidence.insert("cache_dir_from".into(), source.into());
            f.evidence.insert("volume_type".into(), volume_type.into());
        }
    }
}
