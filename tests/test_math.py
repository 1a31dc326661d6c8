import math

import pytest

import gpuguard as gg


def test_shm_required_is_above_the_classic_rule_and_matches_the_measured_case():
    need = gg.shm_required_bytes(2, 8 * 2**20)
    assert need > 2 * 2 * 8 * 2**20
    # torch 2.15: 2 workers of 8 MiB batches died at 40 MiB of tmpfs and ran at 48 MiB.
    assert 40 * 2**20 < need <= 49 * 2**20
    assert gg.shm_required_bytes(0, 8 * 2**20) == 0
    assert gg.shm_required_bytes(2, 8 * 2**20, loaders=2, local_processes=4) == 8 * need


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(num_workers=-1, batch_bytes=1), "num_workers"),
        (dict(num_workers=1, batch_bytes=-5), "batch_bytes"),
        (dict(num_workers=1, batch_bytes=1, prefetch_factor=0), "prefetch_factor"),
        (dict(num_workers=1, batch_bytes=1, loaders=0), "loaders"),
        (dict(num_workers=1, batch_bytes=2**62), "batch_bytes"),
        # A batch of 0 bytes is a typo or an unset variable, with workers or without.
        (dict(num_workers=4, batch_bytes=0), "batch_bytes.*at least 1 byte, got 0"),
        (dict(num_workers=0, batch_bytes="0Mi"), "batch_bytes.*at least 1 byte, got 0"),
    ],
)
def test_shm_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gg.shm_required_bytes(**kwargs)


def test_shm_zeros_are_answered_or_refused_as_the_cli_does(tmp_path):
    # 0 workers: the main process loads; no /dev/shm for data, and prefetch_factor does not apply.
    assert gg.shm_required_bytes(0, "8Mi", prefetch_factor=0) == 0
    rec = gg.shm_recommended_size(0, "8Mi")
    assert rec["required_bytes"] == 0 and "main process" in rec["reasoning"]
    with pytest.raises(ValueError, match="memory_limit_bytes.*more than 0"):
        gg.shm_recommended_size(4, "8Mi", memory_limit_bytes=0)
    # The doctor reads batch_bytes with the same parser and refuses the same zeros before it runs.
    with pytest.raises(ValueError, match="batch_bytes.*at least 1 byte"):
        gg.doctor(dataloader_workers=2, batch_bytes=0, root=tmp_path)
    with pytest.raises(ValueError, match="prefetch_factor"):
        gg.doctor(dataloader_workers=2, batch_bytes="8Mi", prefetch_factor=0, root=tmp_path)
    (tmp_path / "dev/shm").mkdir(parents=True)
    report = gg.doctor(dataloader_workers=2, batch_bytes="8Mi", root=tmp_path)
    assert next(c for c in report.checks if c.name == "dev-shm").status == "ok"


def test_shm_type_errors_name_the_argument():
    for bad in (8.0, [8], True, None):
        with pytest.raises(TypeError, match="batch_bytes"):
            gg.shm_required_bytes(2, bad)


def test_shm_takes_sizes_as_text_read_by_the_cli_parser():
    assert gg.shm_required_bytes(16, "512m") == gg.shm_required_bytes(16, "512Mi") == gg.shm_required_bytes(16, 512 * 2**20)
    rec = gg.shm_recommended_size(16, "512m", memory_limit_bytes="32g")
    assert rec["quantity"] == "26Gi" and rec["docker_shm_size"] == "26g"
    with pytest.raises(ValueError, match="memory_limit_bytes.*not a whole number"):
        gg.shm_recommended_size(2, "8Mi", memory_limit_bytes="0.3Ki")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("8388608", 8 * 2**20),
        (8388608, 8 * 2**20),
        ("64Mi", 64 * 2**20),
        ("8Gi", 8 * 2**30),
        ("64M", 64_000_000),  # Kubernetes: decimal
        ("64MB", 64_000_000),  # SI: decimal
        ("64MiB", 64 * 2**20),
        ("64mib", 64 * 2**20),
        ("512m", 512 * 2**20),  # Docker: MiB, not Kubernetes' milli
        ("2g", 2 * 2**30),  # Docker: GiB
        ("1k", 1024),  # Docker: KiB
        ("1kB", 1000),
        ("1.5GiB", 3 * 2**29),
        ("1.5 GiB", 3 * 2**29),
        ("1e9", 10**9),
    ],
)
def test_parse_bytes_reads_each_form(text, expected):
    assert gg.parse_bytes(text) == expected


@pytest.mark.parametrize(
    "text, says",
    [
        ("1.3Ki", "1.3Ki read as 1.3 KiB is 1331.2 bytes, not a whole number of bytes"),
        ("0.5", "0.5 is 0.5 bytes, not a whole number"),
        ("-1Gi", "negative"),
        ("64Mb", "bits"),
        ("two gigs", "expected a number"),
        ("", "expected a number"),
    ],
)
def test_parse_bytes_errors_say_how_it_was_read(text, says):
    with pytest.raises(ValueError, match="size") as e:
        gg.parse_bytes(text)
    assert says in str(e.value)


def test_parse_bytes_is_documented():
    assert "512m" in gg.parse_bytes.__doc__ and "Docker" in gg.parse_bytes.__doc__
    with pytest.raises(TypeError, match="size"):
        gg.parse_bytes(1.5)


def test_shm_recommendation():
    rec = gg.shm_recommended_size(8, 64 * 2**20)
    assert rec["quantity"] == "2Gi" and rec["size_bytes"] == 2 * 2**30
    assert rec["required_bytes"] == gg.shm_required_bytes(8, 64 * 2**20)
    assert "memory limit" in rec["reasoning"]
    tight = gg.shm_recommended_size(8, 256 * 2**20, memory_limit_bytes=4 * 2**30)
    assert "raise the memory limit" in tight["reasoning"]


def test_daly_paper_values():
    minutes = lambda m: gg.optimal_checkpoint_interval(300, m) / 60  # noqa: E731
    assert round(minutes(24)) == 117
    assert round(minutes(6)) == 57
    assert abs(minutes(0.25) - 9.1) < 0.05
    assert gg.optimal_checkpoint_interval(300, 24, method="young") == pytest.approx(7200)
    with pytest.raises(ValueError, match="method"):
        gg.optimal_checkpoint_interval(300, 24, method="weibull")


def test_mtbf_and_lost_work():
    m = gg.mtbf_hours(0.05, 730)
    assert m == pytest.approx(730 / -math.log(0.95))
    assert gg.mtbf_hours(0.05, 730, nodes=8) == pytest.approx(m / 8)
    assert gg.lost_work_cost(32, 70) == 2240
    for bad, name in [((1.0, 730), "interruption_rate"), ((0.1, 0), "period_hours"), ((float("nan"), 730), "interruption_rate")]:
        with pytest.raises(ValueError, match=name):
            gg.mtbf_hours(*bad)
    with pytest.raises(ValueError, match="hourly_gpu_cost"):
        gg.lost_work_cost(-1, 1)


def test_checkpoint_plan_positional_and_keywords_agree():
    args = (512, 336, 180, 0.2, 730, 16, 600, "young")
    names = ["hourly_gpu_cost", "run_hours", "checkpoint_seconds", "interruption_rate", "period_hours", "nodes", "restart_seconds", "method"]
    assert gg.checkpoint_plan(*args) == gg.checkpoint_plan(**dict(zip(names, args)))
    assert gg.checkpoint_plan(*args)["method"] == "young"
    with pytest.raises(ValueError, match="nodes"):
        gg.checkpoint_plan(1, 1, 1, 0.1, nodes=0)


def test_checkpoint_plan_and_waste():
    plan = gg.checkpoint_plan(hourly_gpu_cost=512, run_hours=336, checkpoint_seconds=180, interruption_rate=0.2, nodes=16, restart_seconds=600)
    assert plan["keep_last"] >= 3
    assert plan["expected_cost"] < plan["expected_cost_without"]
    best = plan["interval_seconds"]
    w = lambda t: gg.checkpoint_waste(t, 180, plan["mtbf_hours"], 600)  # noqa: E731
    assert w(best) < w(best / 3) and w(best) < w(best * 3)


def test_probe_window():
    assert gg.probe_window_seconds() == 30
    assert gg.probe_window_seconds(initial_delay_seconds=60, period_seconds=10, failure_threshold=30) == 360
    with pytest.raises(ValueError, match="period_seconds"):
        gg.probe_window_seconds(period_seconds=0)
    load = gg.estimate_load_seconds(140e9, 1e9, overhead_seconds=30)
    assert load == 170
    assert not gg.startup_window_covers(gg.probe_window_seconds(), load)
    assert gg.startup_window_covers(600, load)


@pytest.mark.parametrize(
    "requests, limits, problems",
    [
        (None, {"nvidia.com/gpu": 2}, 0),
        (None, {"nvidia.com/gpu": "2"}, 0),
        ({"nvidia.com/gpu": 2}, {"nvidia.com/gpu": "2"}, 0),
        ({"nvidia.com/gpu": 2.0}, {"nvidia.com/gpu": "2"}, 0),
        ({"nvidia.com/gpu": "1"}, None, 1),
        ({"nvidia.com/gpu": 1}, {"nvidia.com/gpu": 2}, 1),
        (None, {"nvidia.com/gpu": 0.5}, 1),
        (None, {"nvidia.com/gpu": "500m"}, 1),
        ({"cpu": "500m"}, {"memory": "1Gi"}, 0),
    ],
)
def test_validate_gpu_resources(requests, limits, problems):
    findings = gg.validate_gpu_resources(requests, limits)
    assert len(findings) == problems
    assert all(f.rule == "GG007" and f.severity == "error" for f in findings)


def test_validate_gpu_resources_rejects_bools():
    with pytest.raises(TypeError, match="limits"):
        gg.validate_gpu_resources(None, {"nvidia.com/gpu": True})
