//! GG006 model-cache: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: a model server (vLLM, TGI, SGLang, KServe's Hugging Face server and the like) that
//! pulls its model from the Hugging Face hub while the cache (`HF_HOME`, `HF_HUB_CACHE`,
//! `--download-dir`, the server's default such as `~/.cache/huggingface` or TGI's `/data`) is not
//! on a persistent volume (a PVC, hostPath, NFS, CSI; `HF_HOME`/`HF_HUB_CACHE` on one), and KServe
//! `storageUri: hf://…` (downloaded into an emptyDir at every start). Models are named the
//! servers' ways: vLLM `--model` or `vllm serve ORG/NAME`, TGI `--model-id`/`MODEL_ID`, SGLang
//! `--model-path`, `HF_MODEL_ID`. A model served from a path (a volume, or baked into the image)
//! or from object storage, or `HF_HUB_OFFLINE=1`, is not a finding.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::k8s::{Container, PodSpec};
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use crate::lint::facts;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG006.as_str(),
    slug: "model-cache",
    title: "Model weights downloaded again on every restart",
    what: "A model server pulls a 140 GB model (Llama 70B in bf16) from the Hugging Face hub into \
           its container layer on every pod start; each restart or scale-up waits many minutes \
           and pays for the egress, and a hub outage or rate limit keeps the pod from starting.",
    why: "The Hugging Face libraries cache under HF_HOME (default ~/.cache/huggingface), which in a \
          container is the ephemeral writable layer or an emptyDir: both vanish with the pod. At \
          500 MB/s a 140 GB download is almost 5 minutes; at a more typical 100 MB/s, 23 minutes, \
          while the GPUs are reserved and idle.",
    fix: "Put HF_HOME / HF_HUB_CACHE (or vLLM's --download-dir) on a PersistentVolumeClaim or a \
          node-local cache volume, or serve the model from a mounted volume or object storage.",
    example: "args: [--model, meta-llama/Llama-3.1-70B-Instruct]  # no volume for ~/.cache/huggingface",
    caught_by: &["manifest lint", "runtime probe (HF cache persistence)"],
    default_severity: Severity::Warning,
};

#[cfg(feature = "lint")]
const CACHE_FLAGS: &[&str] = &["--download-dir", "--download_dir", "--huggingface-hub-cache", "--model-cache-dir"];
#[cfg(feature = "lint")]
const CACHE_ENVS: &[&str] = &["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_HOME"];

/// A model pulled from the Hugging Face hub into a cache that does not outlive the pod.
#[derive(Debug, Clone)]
#[cfg(feature = "lint")]
pub(crate) struct UncachedPull {
    /// The model id (`meta-llama/Llama-3.1-8B-Instruct`).
    pub model: String,
    /// Who pulls it (`vLLM`, `KServe storage initializer`).
    pub puller: &'static str,
    /// Where from (`the Hugging Face hub`, `NGC`).
    pub origin: &'static str,
    /// Where it lands.
    pub cache: String,
    /// What set `cache` (`--download-dir`, `HF_HOME`, `default`).
    pub source: &'static str,
    /// The volume type under `cache` (`emptyDir`, `container filesystem`).
    pub volume_type: String,
    /// The field that decides where the cache lives, under the container (`volumeMounts`; a
    /// NIMService's `storage`).
    pub field: &'static str,
}

/// The hub pull of a container whose weights do not survive a restart, if it makes one.
#[cfg(feature = "lint")]
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
            origin: HF_HUB,
            cache: "/mnt/models".into(),
            source: "storageUri",
            volume_type: "emptyDir".into(),
            field: "volumeMounts",
        });
    }
    let mut origin = HF_HUB;
    let (server, model): (facts::Server, std::borrow::Cow<'_, str>) = match (facts::model_server(c), facts::model_id(c))
    {
        (Some(server), Some(model)) => (server, model.into()),
        // A model-specific NIM image downloads its model from NGC at every start into its cache.
        (Some(facts::Server::Nim), None) => {
            origin = "NGC";
            (facts::Server::Nim, facts::nim_image_model(c)?.into())
        }
        // Ray Serve on a KubeRay cluster: the model is named in the serve config, and the
        // GPU workers download it.
        _ if pod.role == crate::k8s::Role::RayNode && c.requests_gpu() => {
            let (server, model) = facts::ray_serve_model(ctx)?;
            (server, model.into())
        }
        // A LeaderWorkerSet worker that runs the leader's server image without naming a model
        // (vLLM's multi-node workers join the leader's Ray cluster): every node loads the
        // leader's model, from its own Hugging Face cache.
        _ if ctx.obj.kind == "LeaderWorkerSet" && pod.role_name.as_deref() == Some("worker") && c.requests_gpu() => {
            let leader = ctx.pods.iter().find(|p| p.role_name.as_deref() == Some("leader"))?;
            let lc = leader.containers.iter().find(|lc| !lc.init && lc.image() == c.image())?;
            (facts::model_server(lc)?, facts::model_id(lc)?.into())
        }
        _ => return None,
    };
    let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"]
        .iter()
        .any(|e| matches!(c.env(e), Some("1" | "true" | "TRUE" | "True")));
    if origin == HF_HUB && (offline || !facts::is_hub_model(&model)) {
        return None;
    }
    if server == facts::Server::Nim && facts::is_nim_service(ctx, pod, c) {
        return nim_service_pull(pod, model.into_owned(), origin);
    }
    let words = facts::words(c);
    let nim_cache = (server == facts::Server::Nim).then(|| c.env("NIM_CACHE_PATH")).flatten();
    let (cache, source) = match (nim_cache, facts::flag_value(words, CACHE_FLAGS)) {
        (Some(d), _) => (d.to_owned(), "NIM_CACHE_PATH"),
        (None, Some(d)) => (d.to_owned(), "flag"),
        (None, None) => match CACHE_ENVS.iter().find_map(|e| c.env(e).map(|v| (*e, v))) {
            Some(("HF_HOME", v)) => (format!("{}/hub", v.trim_end_matches('/')), "HF_HOME"),
            Some((e, v)) => (v.to_owned(), e),
            // Ray's images run as user `ray`: the cache is under /home/ray.
            None if c.image().contains("rayproject/ray") => ("/home/ray/.cache/huggingface".to_owned(), "default"),
            None => (server.default_cache().to_owned(), "default"),
        },
    };
    // An Argo podSpecPatch that mounts a persistent volume over the cache.
    let under = |mp: &str| {
        let mp = mp.trim_end_matches('/');
        cache == mp || cache.starts_with(&format!("{mp}/"))
    };
    if pod.persistent_by_patch.iter().any(|(name, mp)| *name == c.name && under(mp)) {
        return None;
    }
    let volume_type = match facts::volume_for_path(pod, c, &cache) {
        Some((_, Some(vol))) if facts::is_persistent(vol) => return None,
        // A mount with no pod volume: a claim template (StatefulSet, LeaderWorkerSet, JobSet…).
        Some((m, None)) if m["name"].as_str().is_some_and(|n| facts::claim_template_names(ctx).contains(&n)) => {
            return None;
        }
        // A generic ephemeral volume is a claim made and deleted with the pod.
        Some((_, Some(vol))) if facts::volume_source(vol) == "ephemeral" => {
            "ephemeral volume (deleted with the pod)".to_owned()
        }
        Some((_, Some(vol))) => facts::volume_source(vol).to_owned(),
        _ => "container filesystem".to_owned(),
    };
    Some(UncachedPull {
        model: model.into_owned(),
        puller: server.name(),
        origin,
        cache,
        source,
        volume_type,
        field: "volumeMounts",
    })
}

#[cfg(feature = "lint")]
const HF_HUB: &str = "the Hugging Face hub";

/// A NIMService's model store: the operator sets NIM_CACHE_PATH=/model-store and mounts there
/// the NIMCache's or the spec's PVC, a hostPath, an emptyDir, or nothing (`spec.storage`).
#[cfg(feature = "lint")]
fn nim_service_pull(pod: &PodSpec<'_>, model: String, origin: &'static str) -> Option<UncachedPull> {
    let storage = &pod.spec["storage"];
    let named = |v: &serde_json::Value| v["name"].as_str().is_some_and(|n| !n.is_empty());
    let persistent = named(&storage["nimCache"])
        || named(&storage["pvc"])
        || storage["pvc"]["create"].as_bool() == Some(true)
        || storage["hostPath"].as_str().is_some_and(|p| !p.is_empty());
    if persistent {
        return None;
    }
    let volume_type = if storage["emptyDir"].is_object() { "emptyDir" } else { "container filesystem" };
    Some(UncachedPull {
        model,
        puller: "NIM",
        origin,
        cache: "/model-store".into(),
        source: "NIMService spec.storage",
        volume_type: volume_type.into(),
        field: "storage",
    })
}

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        for c in &pod.containers {
            let Some(pull) = uncached_hub_pull(ctx, pod, c) else { continue };
            let UncachedPull { model, puller, origin, cache, source, volume_type, field } = pull;
            let fix = if field == "storage" {
                "set spec.storage.nimCache (a NIMCache downloads the model once into a PVC) or spec.storage.pvc"
                    .to_owned()
            } else {
                format!(
                    "mount a PersistentVolumeClaim at {cache} (ReadWriteMany for several replicas), or serve the model from a volume, the image or object storage"
                )
            };
            let f = ctx.emit(
                RuleId::GG006,
                format!(
                    "{puller} in container {} pulls {model} from {origin} into {cache} on the {volume_type}: every restart downloads it again",
                    c.name
                ),
                fix,
                Some(c),
                format!("{}.{field}", c.path),
            );
            f.evidence.insert("model".into(), model.into());
            f.evidence.insert("cache_dir".into(), cache.into());
            f.evidence.insert("cache_dir_from".into(), source.into());
            f.evidence.insert("volume_type".into(), volume_type.into());
        }
    }
}
