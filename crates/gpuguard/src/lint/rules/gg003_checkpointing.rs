//! GG003 checkpointing.
//!
//! **What**: GPU training (a training operator's workers: Kubeflow PyTorchJob/TFJob/MPIJob…,
//! Trainer v2 runtimes; or any GPU pod whose command is a training launcher or script:
//! `torchrun`, `deepspeed`, `accelerate launch`, `python train.py`; a RayJob whose entrypoint is
//! one) with no volume that outlives the pod to checkpoint to. A Job or RayJob that runs a model
//! over data (batch inference) is not training; the evidence says how training was recognised.
//!
//! **Why**: a preemption, an XID error or an OOM restarts the pod with empty ephemeral storage:
//! every GPU-hour since the start is lost.
//!
//! **Example**: `kind: PyTorchJob` with `nvidia.com/gpu: 8` and only an `emptyDir`.
//!
//! **Fix**: mount a PersistentVolumeClaim, NFS or a CSI volume (gcsfuse, s3 mountpoint, EFS,
//! Lustre) and write checkpoints there, or write them to object storage (`s3://`, `gs://` in the
//! command or environment, which also satisfies this rule).

use super::super::Ctx;

const OBJECT_STORES: &[&str] =
    &["s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "hdfs://", "oss://", "wasbs://"];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    if ctx.obj.kind == "StatefulSet" && super::has_claim_templates(ctx) {
        return;
    }
    for pod in ctx.pods.clone() {
        if !pod.complete {
            continue;
        }
        let gpu: Vec<_> =
            pod.containers.iter().filter(|c| c.requests_gpu() && !c.init && !super::is_gpu_agent(ctx, c)).collect();
        let Some(first) = gpu.first() else { continue };
        // Training, not any GPU job: batch inference over data is not training.
        let Some(how) = super::training_evidence(ctx, &pod) else { continue };
        if gpu.iter().any(|c| super::model_server(c).is_some()) || super::has_claim_templates(ctx) {
            continue;
        }
        let volumes: Vec<_> = pod.volumes().collect();
        if volumes.iter().any(|v| super::is_persistent(v)) {
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
        let kinds: Vec<&str> = volumes.iter().map(|v| super::volume_source(v)).collect();
        let first = (*first).clone();
        let f = ctx.emit(
            "GG003",
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
