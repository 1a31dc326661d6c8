//! GG003 checkpointing.
//!
//! **What**: a GPU training job (Job, CronJob, Kubeflow PyTorchJob/TFJob/MPIJob…, JobSet, RayJob,
//! or a GPU pod running `torchrun`/`deepspeed`/`accelerate launch`) with no volume that outlives
//! the pod to checkpoint to.
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

const TRAINING_KINDS: &[&str] = &[
    "Job",
    "CronJob",
    "PyTorchJob",
    "TFJob",
    "MPIJob",
    "XGBoostJob",
    "PaddleJob",
    "MXJob",
    "JAXJob",
    "JobSet",
    "RayJob",
];
const TRAINING_COMMANDS: &[&str] = &[
    "torchrun",
    "torch.distributed",
    "deepspeed",
    "accelerate launch",
    "train.py",
    "finetune",
    "fine_tune",
    "pretrain",
    "megatron",
    "nemo_run",
];
const OBJECT_STORES: &[&str] =
    &["s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "hdfs://", "oss://", "wasbs://"];

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let batch_kind = TRAINING_KINDS.contains(&ctx.obj.kind);
    if ctx.obj.kind == "StatefulSet" && super::has_claim_templates(ctx) {
        return;
    }
    for pod in ctx.pods.clone() {
        let gpu: Vec<_> =
            pod.containers.iter().filter(|c| c.requests_gpu() && !c.init && !super::is_gpu_agent(ctx, c)).collect();
        let Some(first) = gpu.first() else { continue };
        let training = gpu.iter().any(|c| {
            let fp = c.fingerprint();
            TRAINING_COMMANDS.iter().any(|t| fp.contains(t))
        });
        if !(batch_kind || training) || gpu.iter().any(|c| super::model_server(c).is_some()) {
            continue;
        }
        let volumes = pod.spec["volumes"].as_array().map_or(&[][..], Vec::as_slice);
        if volumes.iter().any(super::is_persistent) {
            continue;
        }
        let remote = pod.containers.iter().any(|c| {
            let env_values = c.value["env"].as_array().into_iter().flatten().filter_map(|e| e["value"].as_str());
            c.argv().into_iter().chain(env_values).any(|a| OBJECT_STORES.iter().any(|s| a.contains(s)))
        });
        if remote {
            continue;
        }
        let kinds: Vec<&str> = volumes.iter().map(super::volume_source).collect();
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
    }
}
