"""`gpuguard agent` as users run it: the installed command on loopback, a followed log that is
appended to and rotated, scraped over HTTP and checked with promtool in both exposition formats;
TLS and basic auth from an exporter-toolkit web config (a self-signed certificate made by openssl,
a bcrypt user), scraped with curl; a 100,000-line burst with scrapes running, where no event may be
lost and memory must stay flat; hostile XID cardinality; and `gpuguard doctor --format
prometheus` for the textfile collector."""

import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

XID_LINE = (
    "Nov 28 10:{m:02d}:{s:02d} gpu-node-7 kernel: [{t}.{u:06d}] NVRM: Xid (PCI:0000:{bus}:00): {xid}, "
    "pid={pid}, name=python3, {text}\n"
)
TEXT = {48: "An uncorrectable double bit error (DBE) has been detected on GPU.", 13: "Graphics Exception: ESR 0x405840=0x1", 79: "GPU has fallen off the bus."}


def xid_line(i, xid, bus="3b"):
    return XID_LINE.format(m=i // 60 % 60, s=i % 60, t=1000 + i, u=i % 1_000_000, bus=bus, xid=xid, pid=1000 + i % 50, text=TEXT[xid])


class AgentProcess:
    """The `gpuguard` console script running `agent` on a free loopback port."""

    def __init__(self, tmp_path, *args):
        exe = shutil.which("gpuguard")
        assert exe, "the gpuguard console script is not on PATH: install the package first (pip install .)"
        self.err_path = tmp_path / "agent.stderr"
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([exe, "agent", "--listen", "127.0.0.1:0", *args], stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 30
        while not (m := re.search(r"serving (https?)://([\d.:]+)/metrics", self.err_path.read_text())):
            assert self.proc.poll() is None, f"agent exited: {self.err_path.read_text()}"
            assert time.monotonic() < deadline, f"agent did not start: {self.err_path.read_text()}"
            time.sleep(0.05)
        self.url = f"{m.group(1)}://{m.group(2)}"
        self.addr = m.group(2)

    def get(self, path="/metrics"):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            assert r.status == 200
            return r.read().decode()

    def value(self, series, page=None):
        page = page if page is not None else self.get()
        for line in page.splitlines():
            if line.startswith(series):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_until(self, ready, what, timeout=30):
        """Scrapes until `ready(page)` holds; returns that page."""
        deadline = time.monotonic() + timeout
        while not ready(page := self.get()):
            assert time.monotonic() < deadline, f"timed out waiting for {what}; last page:\n{page}"
            time.sleep(0.05)
        return page

    def wait_for(self, series, want, timeout=30):
        return self.wait_until(lambda page: self.value(series, page) == want, f"{series} == {want}", timeout)

    def rss_bytes(self):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.err.close()


@pytest.fixture
def agent(tmp_path):
    started = []

    def start(*args):
        a = AgentProcess(tmp_path, *args)
        started.append(a)
        return a

    yield start
    for a in started:
        a.stop()


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def test_agent_follows_rotation_and_serves_valid_metrics(agent, tmp_path, promtool):
    log = tmp_path / "kern.log"
    log.write_text(xid_line(0, 13))  # already there: not counted without --from-start
    a = agent("--kernel-log", str(log), "--poll-interval", "0.05", "--doctor-interval", "1", "--nvml-interval", "1")
    assert a.get("/healthz") == "ok\n"
    time.sleep(0.2)
    append(log, xid_line(1, 48))
    a.wait_for('gpuguard_xid_events_total{gpu="0000:3b:00",xid="48"', 1)
    os.rename(log, tmp_path / "kern.log.1")  # logrotate's create mode
    append(tmp_path / "kern.log.1", xid_line(2, 48))  # the writer had not reopened yet
    append(log, xid_line(3, 79, bus="86"))
    a.wait_for('gpuguard_xid_events_total{gpu="0000:3b:00",xid="48"', 2)
    a.wait_for('gpuguard_xid_events_total{gpu="0000:86:00",xid="79"', 1)
    a.wait_until(lambda page: "gpuguard_doctor_last_run_timestamp_seconds" in page, "the doctor to run")
    page = a.get()
    assert a.value("gpuguard_kernel_log_rotations_total", page) == 1
    assert a.value('gpuguard_xid_events_total{gpu="0000:3b:00",xid="13"', page) is None
    assert a.value("gpuguard_nvml_up", page) == 0  # no NVIDIA driver here, and it still serves
    check = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_agent_load_100k_lines_no_event_lost_memory_flat(agent, tmp_path):
    log = tmp_path / "kern.log"
    log.write_text("")
    a = agent("--kernel-log", str(log), "--poll-interval", "0.05", "--doctor-interval", "0", "--nvml-interval", "3600")
    codes = [48, 13, 79]
    scrapes, stop = [], threading.Event()

    def scrape_loop():
        while not stop.is_set():
            scrapes.append(a.get())

    scraper = threading.Thread(target=scrape_loop)
    scraper.start()
    total, rss = 100_000, {}
    with open(log, "a") as f:
        for i in range(total):
            f.write(xid_line(i, codes[i % 3], bus=("3b", "5e", "86", "af")[i % 4]))
            if i == total // 2:
                f.flush()
                os.rename(log, tmp_path / "kern.log.1")  # rotate mid-burst; keep writing the old file a moment
                f.close()
                f = open(log, "a")
            if i == 20_000:
                f.flush()
                a.wait_for("gpuguard_xid_scanned_lines_total", 20_001)
                rss["warm"] = a.rss_bytes()
        f.close()
    a.wait_for("gpuguard_xid_scanned_lines_total", total, timeout=60)
    rss["end"] = a.rss_bytes()
    stop.set()
    scraper.join(timeout=30)
    page = a.get()
    counts = {}
    for line in page.splitlines():
        if line.startswith("gpuguard_xid_events_total{"):
            xid = int(re.search(r'xid="(\d+)"', line).group(1))
            counts[xid] = counts.get(xid, 0) + float(line.rsplit(" ", 1)[1])
    assert counts == {48: 33_334, 13: 33_333, 79: 33_333}, counts
    assert len(scrapes) > 5, "the scraper should have run throughout the burst"
    # Flat: 80,000 more events cost no memory (2 MiB of slack for allocator noise).
    growth = rss["end"] - rss["warm"]
    print(f"agent RSS: {rss['warm'] / 2**20:.1f} MiB after 20k lines, {rss['end'] / 2**20:.1f} MiB after 100k; {len(scrapes)} scrapes")
    assert growth < 2 << 20, f"RSS grew {growth / 2**20:.1f} MiB from 20k to 100k lines ({rss})"
    assert rss["end"] < 64 << 20, rss


def test_agent_kmsg_reads_real_records_and_ignores_user_space_xids(agent):
    """The agent reads the machine's real /dev/kmsg. A process can write XID text there, but the
    kernel files it under the user facility (even with a `<2>` prefix, the kernel keeps the
    facility of a user-space write at LOG_USER), so it is counted as ignored, never an event: only
    the kernel's word drains a node."""
    # Writing to /dev/kmsg puts a line in the machine's real kernel log, which other monitors on a
    # real GPU node would act on: only where the runner says the machine is disposable (.ci/run).
    if os.environ.get("GPUGUARD_TEST_WRITE_KMSG") != "1":
        pytest.skip("writes a test XID into the real kernel log: set GPUGUARD_TEST_WRITE_KMSG=1 on a throwaway machine (CI does)")
    try:
        open("/dev/kmsg", "rb").close()
        kmsg = open("/dev/kmsg", "w")
    except OSError as e:
        pytest.skip(f"/dev/kmsg cannot be opened here: {e}")
    a = agent("--kmsg", "/dev/kmsg", "--doctor-interval", "0", "--nvml-interval", "3600")
    a.wait_for('gpuguard_kernel_log_up{source="/dev/kmsg"}', 1)
    ignored = "gpuguard_xid_ignored_lines_total"
    before = a.value(ignored) or 0
    with kmsg:
        kmsg.write("<2>NVRM: Xid (PCI:0000:fe:00): 13, pid=1, name=gpuguard-test, written by gpuguard's test suite\n")
    a.wait_until(lambda page: (a.value(ignored, page) or 0) >= before + 1, f"{ignored} >= {before + 1}")
    assert a.value('gpuguard_xid_events_total{gpu="0000:fe:00"') is None


def test_agent_without_a_kernel_log_is_live_but_not_ready(agent, tmp_path):
    """A root with no /dev/kmsg and no log file: the agent starts (a restart would not help), says
    it is blind in its log, in /healthz (503, the readiness probe) and in a metric; /livez stays 200."""
    import urllib.error

    empty = tmp_path / "node"
    empty.mkdir()
    a = agent("--root", str(empty), "--doctor-interval", "0", "--nvml-interval", "3600")
    assert "no readable kernel log under" in a.err_path.read_text()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(a.url + "/healthz", timeout=10)
    assert e.value.code == 503
    body = e.value.read().decode()
    assert body.startswith("no kernel log is followed: XID events are not counted") and "--kernel-log" in body, body
    assert a.get("/livez") == "ok\n"
    assert a.value("gpuguard_kernel_logs_followed ") == 0


def test_doctor_prometheus_textfile(run_cli, promtool, fake_nvml):
    out = run_cli("doctor", "--format", "prometheus", "--fail-on", "never")
    assert out.returncode == 0, out.stderr
    assert 'gpuguard_finding{rule="GG001",severity="error"}' in out.stdout
    assert "gpuguard_nvml_up 0" in out.stdout or "gpuguard_nvml_up 1" in out.stdout
    lib = fake_nvml("ecc")
    out = run_cli("doctor", "--format", "prometheus", "--nvml-library", str(lib))
    assert out.returncode == 1, out.stderr  # double-bit errors are error findings
    assert "gpuguard_nvml_up 1" in out.stdout
    assert 'gpuguard_ecc_errors_total{gpu="00000000:3B:00.0",type="uncorrected",scope="volatile"} 2' in out.stdout
    assert 'gpuguard_ecc_remapped_rows{gpu="00000000:3B:00.0",type="uncorrectable"} 1' in out.stdout
    assert re.search(r'gpuguard_finding\{rule="GG005",severity="error"\} [1-9]', out.stdout), out.stdout
    check = subprocess.run([promtool, "check", "metrics"], input=out.stdout, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


# --- exposition formats ---------------------------------------------------------------------

PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def fetch(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers["Content-Type"], r.read().decode()


def check_openmetrics(promtool, page, tmp_path):
    """Prometheus' own OpenMetrics parser (promtool's backfill importer) reads the page; the
    importer wants a timestamp on every sample, so each sample line gets one. Also checks what
    that parser leaves to the writer: counters' samples end in _total, the page ends in # EOF."""
    assert page.endswith("# EOF\n"), page[-200:]
    counters = set(re.findall(r"^# TYPE (\S+) counter$", page, re.M))
    assert counters, page
    for line in page.splitlines():
        if not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            if name.endswith("_total"):
                assert name[: -len("_total")] in counters, line
    stamped = tmp_path / "page.om"
    stamped.write_text("".join(line + ("\n" if line.startswith("#") else " 1700000000\n") for line in page.splitlines()))
    out = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(stamped), str(tmp_path / "blocks")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_agent_negotiates_openmetrics_and_both_formats_pass_promtool(agent, tmp_path, promtool):
    log = tmp_path / "kern.log"
    log.write_text("")
    a = agent("--kernel-log", str(log), "--poll-interval", "0.05", "--doctor-interval", "1", "--nvml-interval", "1")
    append(log, xid_line(0, 48) + xid_line(1, 79, bus="86"))
    a.wait_for('gpuguard_xid_events_total{gpu="0000:86:00",xid="79"', 1)
    a.wait_until(lambda page: "gpuguard_doctor_last_run_timestamp_seconds" in page, "the doctor to run")
    ctype, text = fetch(a.url + "/metrics")
    assert ctype == "text/plain; version=0.0.4; charset=utf-8"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    ctype, om = fetch(a.url + "/metrics", PROMETHEUS_ACCEPT)  # what Prometheus sends
    assert ctype == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert "# TYPE gpuguard_xid_events counter" in om and 'gpuguard_xid_events_total{gpu="0000:86:00",xid="79"' in om
    check_openmetrics(promtool, om, tmp_path)


# The XID summary's bound (crates/gpuguard/src/xid/summary.rs): GPUs kept, codes kept per GPU.
MAX_SUMMARY_GPUS, MAX_CODES_PER_GPU = 256, 64


def hostile_series(agent, tmp_path, line):
    """Rows of gpuguard_xid_events_total after 6,000 lines made by `line(i)`, and the events
    counted past the bound (gpuguard_xid_overflow_events_total)."""
    log = tmp_path / "kern.log"
    log.write_text("")
    a = agent("--kernel-log", str(log), "--poll-interval", "0.05", "--doctor-interval", "0", "--nvml-interval", "3600")
    n = 6000
    with open(log, "a") as f:
        f.writelines(line(i) for i in range(n))
    page = a.wait_for("gpuguard_xid_scanned_lines_total", n)
    rows = [r for r in page.splitlines() if r.startswith("gpuguard_xid_events_total{")]
    overflow = [r for r in page.splitlines() if r.startswith("gpuguard_xid_overflow_events_total")]
    assert len(overflow) == 1, overflow
    past = float(overflow[0].rsplit(" ", 1)[1])
    assert sum(float(r.rsplit(" ", 1)[1]) for r in rows) + past == n  # nothing lost: kept or counted
    return rows, past


def test_agent_xid_series_stay_bounded_under_hostile_gpu_ids(agent, tmp_path):
    """A log full of XIDs from ever-new PCI ids (a fuzzer, a broken driver) adds at most the XID
    module's GPU limit of series; the rest are counted as overflow."""
    rows, past = hostile_series(agent, tmp_path, lambda i: f"[ {i}.0] NVRM: Xid (PCI:{i:04x}:{i % 256:02x}:00): 13, pid=1, name=x, Graphics Exception\n")
    assert len(rows) == MAX_SUMMARY_GPUS, len(rows)
    assert past == 6000 - MAX_SUMMARY_GPUS


def test_agent_xid_series_stay_bounded_under_hostile_codes(agent, tmp_path):
    """One GPU naming ever-new XID codes keeps at most the per-GPU code limit of series."""
    rows, past = hostile_series(agent, tmp_path, lambda i: f"[ {i}.0] NVRM: Xid (PCI:0000:3b:00): {i + 1}, pid=1, name=x, hostile\n")
    assert len(rows) == MAX_CODES_PER_GPU, len(rows)
    assert past == 6000 - MAX_CODES_PER_GPU


# --- TLS and basic auth (exporter-toolkit web config) ------------------------------------------


@pytest.fixture
def openssl():
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl not installed (Debian package `openssl`; .ci/run installs it)")

    def run(*args):
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out

    return run


@pytest.fixture
def curl():
    exe = shutil.which("curl")
    if exe is None:
        pytest.skip("curl not installed (Debian package `curl`; .ci/run installs it)")

    def run(*args):
        """curl's exit code, HTTP status and body (status 000 when no HTTP answer came)."""
        out = subprocess.run([exe, "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30)
        body, _, status = out.stdout.rpartition("\n")
        return out.returncode, status, body, out.stderr

    return run


def self_signed(openssl, d):
    """A server certificate for 127.0.0.1 and localhost, made the way an operator would."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(d / "tls.key"), "-out", str(d / "tls.crt"))


def bcrypt_hash(password):
    bcrypt = pytest.importorskip("bcrypt", reason="python bcrypt makes the users' hashes (.ci/run installs it)")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def test_agent_tls_and_basic_auth_scraped_with_curl(agent, tmp_path, openssl, curl, promtool):
    self_signed(openssl, tmp_path)
    web = tmp_path / "web.yml"
    # Relative paths are relative to the web config, as in exporter-toolkit.
    web.write_text(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
        f"basic_auth_users:\n  prometheus: {bcrypt_hash('s3cret')}\n"
        "auth_excluded_paths: [/healthz]\n"
    )
    # A kernel log to follow, so /healthz is healthy whatever this machine lets the agent discover.
    (tmp_path / "kern.log").write_text("")
    a = agent("--web.config.file", str(web), "--kernel-log", str(tmp_path / "kern.log"), "--doctor-interval", "0", "--nvml-interval", "3600")
    assert a.url.startswith("https://")
    url = f"https://{a.addr}/metrics"
    rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), "-u", "prometheus:s3cret", url)
    assert (rc, status) == (0, "200"), err
    assert "gpuguard_agent_info" in body
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), "-u", "prometheus:s3cret", "-H", f"Accept: {PROMETHEUS_ACCEPT}", url)
    assert status == "200" and body.endswith("# EOF\n"), err
    # Wrong password, unknown user, no credentials: 401 with the Basic challenge.
    for creds in (["-u", "prometheus:wrong"], ["-u", "nobody:s3cret"], []):
        rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), "-D", "-", *creds, url)
        assert status == "401", (creds, status, err)
        assert re.search(r"(?im)^www-authenticate: Basic", body), body
    # The kubelet's probe path is excluded from auth.
    rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), f"https://{a.addr}/healthz")
    assert (status, body) == ("200", "ok\n"), err
    # Without the CA, curl refuses the self-signed certificate: TLS is real.
    rc, status, body, err = curl("-u", "prometheus:s3cret", url)
    assert rc == 60 and status == "000", (rc, err)
    # Plain HTTP to the TLS port gets no HTTP answer.
    rc, status, body, err = curl("-u", "prometheus:s3cret", f"http://{a.addr}/metrics")
    assert rc != 0 and status == "000", (rc, status, body, err)
    # And the agent still serves afterwards.
    rc, status, _, err = curl("--cacert", str(tmp_path / "tls.crt"), "-u", "prometheus:s3cret", url)
    assert status == "200", err


def test_agent_client_certificates_required_and_verified(agent, tmp_path, openssl, curl):
    self_signed(openssl, tmp_path)
    ca, client = tmp_path / "ca", tmp_path / "client"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=gpuguard test CA",
            "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=prometheus", "-keyout", f"{client}.key", "-out", f"{client}.csr")
    (tmp_path / "ext.cnf").write_text("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", f"{client}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
            "-extfile", str(tmp_path / "ext.cnf"), "-out", f"{client}.crt")
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_ca_file: {ca}.crt\n  client_auth_type: RequireAndVerifyClientCert\n")
    a = agent("--web.config.file", str(web), "--doctor-interval", "0", "--nvml-interval", "3600")
    url = f"https://{a.addr}/metrics"
    rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), "--cert", f"{client}.crt", "--key", f"{client}.key", url)
    assert status == "200" and "gpuguard_agent_info" in body, err
    rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), url)
    assert rc != 0 and status == "000", (rc, status, err)
    # A certificate from another CA (the server's own self-signed one) is refused too.
    rc, status, body, err = curl("--cacert", str(tmp_path / "tls.crt"), "--cert", str(tmp_path / "tls.crt"), "--key", str(tmp_path / "tls.key"), url)
    assert rc != 0 and status == "000", (rc, status, err)


def test_agent_refuses_unusable_web_configs_with_exit_2(run_cli, tmp_path, openssl):
    self_signed(openssl, tmp_path)
    cases = {
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: missing.key\n": "missing.key: cannot be read",
        "tls_server_config:\n  cert_file: tls.key\n  key_file: tls.key\n": "no CERTIFICATE",
        "basic_auth_users:\n  prometheus: plaintext\n": "not a bcrypt hash",
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAnyClientCert\n": "without verifying",
        "tls_config:\n  cert_file: tls.crt\n": "unknown field `tls_config`",
    }
    for text, want in cases.items():
        web = tmp_path / "web.yml"
        web.write_text(text)
        out = run_cli("agent", "--listen", "127.0.0.1:0", "--web.config.file", str(web), "--doctor-interval", "0")
        assert out.returncode == 2, (text, out.stderr)
        assert want in out.stderr and "web.yml" in out.stderr or want in out.stderr, (text, out.stderr)


def test_agent_picks_up_a_renewed_certificate_without_a_restart(agent, tmp_path, openssl, curl):
    """cert-manager renews the Secret's files in place; like exporter-toolkit, the agent serves
    the new certificate from the next connection on (looked at once a second at most)."""
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    self_signed(openssl, old)
    self_signed(openssl, new)
    for name in ("tls.crt", "tls.key"):
        (tmp_path / name).write_bytes((old / name).read_bytes())
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
    (tmp_path / "kern.log").write_text("")  # followed: /healthz is 200 (an agent blind to XIDs answers 503)
    a = agent("--web.config.file", str(web), "--kernel-log", str(tmp_path / "kern.log"), "--doctor-interval", "0", "--nvml-interval", "3600")
    url = f"https://{a.addr}/healthz"
    assert curl("--cacert", str(old / "tls.crt"), url)[1] == "200"
    assert curl("--cacert", str(new / "tls.crt"), url)[0] == 60  # not yet trusted: the old one is served
    time.sleep(1.1)
    for name in ("tls.key", "tls.crt"):
        tmp = tmp_path / f".{name}.tmp"
        tmp.write_bytes((new / name).read_bytes())
        os.replace(tmp, tmp_path / name)  # atomic, as a Secret volume update is
    deadline = time.monotonic() + 10
    while curl("--cacert", str(new / "tls.crt"), url)[1] != "200":
        assert time.monotonic() < deadline, "the renewed certificate was never served"
        time.sleep(0.3)
    assert curl("--cacert", str(old / "tls.crt"), url)[0] == 60
    assert "reloaded" in a.err_path.read_text()
