"""The pre-commit hooks in .pre-commit-hooks.yaml, run by the real `pre-commit` on a throwaway git
repository: `pre-commit try-repo` installs this checkout's hooks as a user's config would."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BAD_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: trainer}
spec:
  containers:
  - name: train
    image: pytorch/pytorch
    command: [torchrun, train.py]
    resources:
      requests: {nvidia.com/gpu: 2}
"""

GOOD_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: infer}
spec:
  containers:
  - name: c
    image: busybox
    resources: {limits: {cpu: "1"}}
"""


@pytest.fixture
def pre_commit(tmp_path):
    """Runs `python -m pre_commit` in a fresh git repository with its own cache."""
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("the pre-commit package is not installed (.ci/run installs it)")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and this checkout's git repository for `pre-commit try-repo`")
    if shutil.which("gpuguard") is None:
        pytest.skip("the gpuguard console script is not on PATH: install the package first")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q")

    def run(hook, *files):
        git("add", *files)
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook],
            cwd=repo, env=env, capture_output=True, text=True, timeout=600,
        )

    return repo, git, run


def test_hook_fails_on_a_changed_manifest_with_findings(pre_commit):
    repo, git, run = pre_commit
    (repo / "k8s").mkdir()
    (repo / "k8s/train.yaml").write_text(BAD_POD)
    r = run("gpuguard-lint-system", "k8s/train.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "k8s/train.yaml" in r.stdout and "GG007" in r.stdout, r.stdout


def test_hook_passes_clean_manifests_and_skips_what_is_not_a_manifest(pre_commit):
    repo, git, run = pre_commit
    (repo / "k8s").mkdir()
    (repo / "k8s/infer.yaml").write_text(GOOD_POD)
    # A Helm template is not YAML until rendered: excluded. A workflow is YAML of another kind.
    (repo / "chart/templates").mkdir(parents=True)
    (repo / "chart/templates/pod.yaml").write_text("{{- if .Values.gpu }}\n" + BAD_POD + "{{- end }}\n")
    (repo / "ci.yml").write_text("on: push\njobs: {a: {runs-on: ubuntu-latest}}\n")
    (repo / "README.md").write_text("kind: Pod\n")
    r = run("gpuguard-lint-system", "k8s/infer.yaml", "chart/templates/pod.yaml", "ci.yml", "README.md")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout, r.stdout


def test_hook_manifest_is_valid():
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("the pre-commit package is not installed (.ci/run installs it)")
    r = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_source_hook_builds_gpuguard_and_lints(pre_commit):
    """`gpuguard-lint` (language: python) pip-installs this repository in pre-commit's own venv:
    a release build of the Rust core. CI runs it with the shared cargo target directory."""
    if os.environ.get("GPUGUARD_TEST_PRE_COMMIT_SOURCE") != "1":
        pytest.skip("builds gpuguard from source in pre-commit's venv (minutes): set GPUGUARD_TEST_PRE_COMMIT_SOURCE=1 (.ci/run does)")
    repo, git, run = pre_commit
    (repo / "train.yaml").write_text(BAD_POD)
    r = run("gpuguard-lint", "train.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "GG007" in r.stdout, r.stdout
