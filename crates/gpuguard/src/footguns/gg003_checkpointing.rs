//! GG003 checkpointing: the footgun's documentation ([`FOOTGUN`], what `gpuguard explain` prints) and its
//! manifest check ([`check`]), in one file so they cannot drift.
//!
//! How the manifest check decides: GPU training (a training operator's workers: Kubeflow PyTorchJob/TFJob/MPIJob…,
//! Trainer v2 runtimes; or any GPU pod whose command is a training launcher or script:
//! `torchrun`, `deepspeed`, `accelerate launch`, `python train.py`; a RayJob whose entrypoint is
//! one) with no volume that outlives the pod to checkpoint to. A Job or RayJob that runs a model
//! over data (batch inference) is not training; the evidence says how training was recognised.

use super::{Footgun, RuleId};
use crate::Severity;
#[cfg(feature = "lint")]
use crate::lint::Ctx;
#[cfg(feature = "lint")]
use crate::lint::facts;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG003.as_str(),
    slug: "checkpointing",
    title: "Training without durable, frequent checkpoints",
    what: "A spot preemption, node failure or OOM kill at hour 70 loses 70 hours of training, \
           because the job never checkpointed, wrote checkpoints into the container or an emptyDir \
           that vanished with the pod, or kept only one checkpoint and it was half-written.",
    why: "Lost work costs hourly price × hours since the last checkpoint: 70 h on 8×A100 at about \
          $32/h is $2,240. Interruptions arrive at a rate (AWS publishes Spot buckets such as \
          \"<5%\" per month; a job on N nodes is interrupted N times as often), so there is an \
          optimal interval: Young's √(2·C·M) and Daly's higher-order refinement, with C the time \
          to write a checkpoint and M the mean time between failures. A SIGKILL during torch.save \
          leaves a truncated file named like a good one, so keep at least the last 3.",
    fix: "Write checkpoints to a persistent volume (PVC, NFS, CSI/object storage), at the interval \
          `gpuguard.checkpoint_plan(...)` gives, keeping the last 3 or more, written atomically \
          (`gpuguard.CheckpointStore`) and resumed from the newest one that verifies.",
    example: "kind: PyTorchJob  # 8 GPUs, no volumes: checkpoints die with the pod",
    caught_by: &["manifest lint", "runtime probe (checkpoint dir persistence)", "checkpoint math"],
    default_severity: Severity::Error,
};

#[cfg(feature = "lint")]
const OBJECT_STORES: &[&str] =
    &["s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "hdfs://", "oss://", "wasbs://"];

#[cfg(feature = "lint")]
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    if ctx.obj.kind == "StatefulSet" && facts::has_claim_templates(ctx) {
        return;
    }
    for pod in std::rc::Rc::clone(&ctx.pods).iter() {
        if !pod.complete {
            continue;
        }
        let gpu: Vec<_> =
            pod.containers.iter().filter(|c| c.requests_gpu() && !c.init && !facts::is_gpu_agent(ctx, c)).collect();
        let Some(first) = gpu.first() else { continue };
        // Training, not any GPU job: batch inference over data is not training.
        let Some(how) = facts::training_evidence(ctx, pod) else { continue };
        if gpu.iter().any(|c| facts::model_server(c).is_some()) || facts::mounts_claim_template(ctx, pod) {
            continue;
        }
        let volumes: Vec<_> = pod.volumes().collect();
        if volumes.iter().any(|v| facts::is_persistent(v)) || !pod.persistent_by_patch.is_empty() {
            continue;
        }
        let remote = pod.containers.iter().any(|c| {
            let env_values = c.value["env"].as_array().into_iter().flatten().filter_map(|e| e["value"].as_str());
            c.argv().into_iter().chain(env_values).any(|a| OBJECT_STORES.iter().any(|s| a.contains(s)))
        });
        let entrypoint = ctx.obj.value["spec"]["entrypoint"].as_str().unwrap_or("");
        if remote || OBJECT_STORES.iter().any(|s| entrypoint.contains(s)) {
            continue;
        }
        let kinds: Vec<&str> = volumes.iter().map(|v| facts::volume_source(v)).collect();
        let first = (*first).clone();
        let f = ctx.emit(
            RuleId::GG003,
            format!(
                "GPU training container {} has no persistent volume to checkpoint to ({} volume(s): {}): a restart loses all progress",
                first.name,
                volumes.len(),
                if kinds.is_empty() { "none".to_owned() } else { kinds.join(", ") }
            ),
            "mount a PersistentVolumeClaim, NFS or CSI volume (or write checkpoints to object storage) and resume from the latest checkpoint".into(),
            Some(&first),
            format!("{}.volumes", pod.path),
        );
        f.evidence.insert("volume_types".into(), kinds.into());
        f.evidence.insert("gpu_containers".into(), gpu.len().into());
        f.evidence.insert("training_recognised_by".into(), how.into());
    }
}
