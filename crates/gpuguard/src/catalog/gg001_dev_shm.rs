use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG001",
    slug: "dev-shm",
    title: "/dev/shm too small for the DataLoader",
    what: "DataLoader workers die with \"Bus error\" or \"unable to write to file </torch_...>: \
           No space left on device\" / \"DataLoader worker (pid N) is killed by signal: Bus error\", \
           often hours into a run, when a bigger batch or one more worker tips the balance.",
    why: "Docker gives every container a 64 MB /dev/shm, and a Kubernetes pod gets the same 64 MB \
          unless it mounts a Memory emptyDir there. PyTorch DataLoader workers pass every batch to \
          the main process through shared memory: with the default prefetch_factor of 2, up to \
          2 × num_workers batches wait in /dev/shm at once, plus the batch being consumed and the \
          one before it. Eight workers of 32 MiB image batches need about 600 MiB, ten times the \
          default. tmpfs pages are charged to the container's memory cgroup, so the size must also \
          fit inside the memory limit.",
    fix: "Kubernetes: mount an emptyDir with `medium: Memory` at /dev/shm and a `sizeLimit` of at \
          least what `gpuguard.shm_recommended_size(...)` says (8Gi-16Gi is a safe start for image \
          training), and raise the memory limit by the same amount. Docker: `--shm-size=8g` or \
          `--ipc=host`. Or lower num_workers / prefetch_factor / batch size.",
    example: "containers:\n- name: train\n  image: pytorch/pytorch\n  command: [python, train.py, --workers=8]\n  # no emptyDir at /dev/shm: 64 MB",
    caught_by: &["manifest lint", "runtime probe (/dev/shm free space)", "DataLoader check"],
    default_severity: Severity::Error,
};
