//! Where the process runs: a Kubernetes pod, a Docker or Podman container, or bare metal. The
//! other checks word their fixes for it.

use super::Host;
use crate::{Check, CheckStatus};

/// The kind of place the process runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// A Kubernetes pod.
    Kubernetes,
    /// A Docker container.
    Docker,
    /// A Podman container.
    Podman,
    /// Some other container (containerd, LXC…), seen from cgroup paths.
    Container,
    /// No container found.
    BareMetal,
}

impl Runtime {
    /// Lowercase name used in outputs.
    ///
    /// ```
    /// assert_eq!(gpuguard::probe::container::Runtime::BareMetal.as_str(), "bare-metal");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Kubernetes => "kubernetes",
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Container => "container",
            Runtime::BareMetal => "bare-metal",
        }
    }
}

/// Detects the runtime and says which evidence decided it.
///
/// ```
/// use gpuguard::probe::{Host, container::{detect, Runtime}};
/// let host = Host::new("/nonexistent").with_env([("KUBERNETES_SERVICE_HOST", "10.96.0.1")]);
/// assert_eq!(detect(&host).0, Runtime::Kubernetes);
/// assert_eq!(detect(&Host::new("/nonexistent").with_env([("A", "b")])).0, Runtime::BareMetal);
/// ```
pub fn detect(host: &Host) -> (Runtime, String) {
    if host.var("KUBERNETES_SERVICE_HOST").is_some() {
        return (Runtime::Kubernetes, "KUBERNETES_SERVICE_HOST is set".into());
    }
    if host.path("/var/run/secrets/kubernetes.io/serviceaccount").exists() {
        return (Runtime::Kubernetes, "/var/run/secrets/kubernetes.io/serviceaccount exists".into());
    }
    if host.path("/run/.containerenv").exists() || host.var("container") == Some("podman") {
        return (Runtime::Podman, "/run/.containerenv exists".into());
    }
    if host.path("/.dockerenv").exists() {
        return (Runtime::Docker, "/.dockerenv exists".into());
    }
    let cg = host.read("/proc/1/cgroup").unwrap_or_default();
    if cg.contains("kubepods") {
        return (Runtime::Kubernetes, "/proc/1/cgroup names kubepods".into());
    }
    if cg.contains("/docker") {
        return (Runtime::Docker, "/proc/1/cgroup names docker".into());
    }
    if cg.contains("containerd") || cg.contains("/lxc") || host.var("container").is_some() {
        return (Runtime::Container, "/proc/1/cgroup or $container names a container runtime".into());
    }
    // A root filesystem on overlay is a container even when the markers above are missing.
    let mounts = super::mounts::parse_mountinfo(&host.read("/proc/self/mountinfo").unwrap_or_default());
    if super::mounts::mount_for(&mounts, "/").is_some_and(|m| m.fs_type == "overlay") {
        return (Runtime::Container, "the root filesystem is overlay".into());
    }
    (Runtime::BareMetal, "no container markers found".into())
}

/// The `container` check (informational: always ok).
///
/// ```
/// let c = gpuguard::probe::container::check(&gpuguard::probe::Host::new("/nonexistent"));
/// assert_eq!(c.name, "container");
/// ```
pub fn check(host: &Host) -> Check {
    let (rt, why) = detect(host);
    Check::new("container", CheckStatus::Ok, format!("{} ({why})", rt.as_str()))
}
