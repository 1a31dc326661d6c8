use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG006",
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
