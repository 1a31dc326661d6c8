//! GG006 model-cache.
//!
//! **What**: a model server (vLLM, TGI, SGLang, KServe's Hugging Face server and the like) that
//! pulls its model from the Hugging Face hub while the cache (`HF_HOME`, `HF_HUB_CACHE`,
//! `--download-dir`, the server's default such as `~/.cache/huggingface` or TGI's `/data`) is not
//! on a persistent volume. A model served from a mounted path or object storage, or
//! `HF_HUB_OFFLINE=1`, is not a finding.
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

const CACHE_FLAGS: &[&str] = &["--download-dir", "--download_dir", "--huggingface-hub-cache", "--model-cache-dir"];
const CACHE_ENVS: &[&str] = &["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_HOME"];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for pod in ctx.pods.clone() {
        for c in pod.containers.iter().filter(|c| !c.init) {
            let Some(server) = super::model_server(c) else { continue };
            let Some(model) = super::model_id(c) else { continue };
            let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"]
                .iter()
                .any(|e| matches!(c.env(e), Some("1" | "true" | "TRUE" | "True")));
            if offline
                || !super::is_hub_model(model)
                || !pod.spec["storageUri"].is_null()
                || !c.value["storageUri"].is_null()
            {
                continue;
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
            let on = super::volume_for_path(&pod, c, &cache);
            let volume_type = match on {
                Some((_, Some(vol))) if super::is_persistent(vol) => continue,
                // A mount with no pod volume: a StatefulSet volumeClaimTemplate.
                Some((_, None)) if super::has_claim_templates(ctx) => continue,
                Some((_, Some(vol))) => super::volume_source(vol).to_owned(),
                _ => "container filesystem".to_owned(),
            };
            let f = ctx.emit(
                "GG006",
                format!(
                    "{} container {} pulls {model} from the Hugging Face hub into {cache} on the {volume_type}: every restart downloads it again",
                    server.name(),
                    c.name
                ),
                format!("mount a PersistentVolumeClaim at {cache} (ReadWriteMany for several replicas), or serve the model from a volume or object storage"),
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
