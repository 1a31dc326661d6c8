use super::Footgun;
use crate::Severity;

pub(super) const FOOTGUN: Footgun = Footgun {
    id: "GG009",
    slug: "probe-model-load",
    title: "Probes that kill a model server before its model has loaded",
    what: "The liveness probe fails while a 70B model is still loading, the kubelet restarts the \
           container, the load starts over, and the pod sits in CrashLoopBackOff forever.",
    why: "Kubernetes gives a probe initialDelaySeconds + failureThreshold × periodSeconds before it \
          acts (0 + 3 × 10 = 30 s with the defaults). Loading 140 GB of weights at 1 GB/s takes \
          2-3 minutes, longer on a cold node. A startupProbe holds the other probes off until it \
          succeeds; its window should cover at least twice the expected load time.",
    fix: "Add a startupProbe on the server's health endpoint with failureThreshold × periodSeconds \
          at least 2 × the expected load time (e.g. periodSeconds: 10, failureThreshold: 60 for \
          up to 5 minutes of loading); keep liveness and readiness short.",
    example: "livenessProbe: {httpGet: {path: /health, port: 8000}, initialDelaySeconds: 30}\n# 70B model, no startupProbe",
    caught_by: &["manifest lint", "probe window math"],
    default_severity: Severity::Error,
};
