use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG003",
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
