"""Benchmarks run and report their keys (speed targets live in `dynopt bench`, not here)."""
import pytest

from dynopt import bench


def test_scale_and_speedups_report_their_keys():
    s = bench.bench_scale(paths_exponents=(10, 12, 14, 15, 16), n_steps=5, steps_ladder=(5, 10, 20), steps_paths=2 ** 10)
    assert len(s["by_paths"]) == 5 and len(s["by_steps"]) == 3
    assert all(r["path_steps_per_s"] > 0 for r in s["by_paths"] + s["by_steps"])
    assert all(k in s for k in ("cost_exponent_in_steps", "cost_exponent_in_paths_2^14_up"))  # values: dynopt bench
    pytest.importorskip("dask.distributed")
    sp = bench.bench_speedups(n_paths=2 ** 15, n_steps=5, repeats=1)
    assert sp["local_speedup_2"] > 0 and sp["dask_speedup_2"] > 0


def test_peers_are_reported_even_when_missing():
    out = bench.bench_peers()
    assert set(out) == {"sdeint", "torchsde", "diffrax"}
    for v in out.values():
        assert v["installed"] or "pip install" in v["note"]


def test_peak_rss_runs_in_a_fresh_process():
    r = bench.peak_rss(n_paths=2000, n_steps=3)
    assert r["samples"] == 2000 and r["peak_rss_mb"] > 0 and r["n_steps"] == 3


def test_bench_sde_command_prints_json(capsys):
    import json

    from dynopt.cli.main import main

    argv = ["bench", "sde", "--json", "--minimal", "--paths", "1024", "--steps", "5",
            "--rss-paths", "1000", "--rss-steps", "2"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["em"]["n_paths"] == 1024 and out["peak_rss_by_steps"].keys() == {"2"}
    assert out["ratio"] == out["em_path_steps_per_s"] / out["rng_normals_per_s"]


def test_speedup_job_is_sized_by_serial_time():
    n, per_step = bench.steps_for_seconds(2 ** 14, 0.4, probe_seconds=0.05)
    assert per_step > 0 and n * per_step >= 0.4
    assert n == 8 or (n - 1) * per_step < 0.4  # the fewest steps that fill the target
    with pytest.raises(ValueError, match="`seconds`"):
        bench.steps_for_seconds(2 ** 14, 0.0)
    pytest.importorskip("dask.distributed")
    sp = bench.bench_speedups(n_paths=2 ** 14, serial_seconds=0.3, repeats=1)
    assert sp["sized_for_serial_seconds"] == 0.3 and sp["n_steps"] >= 8
    # the load may change between the probe and the timed run; a quarter of the target is a floor
    assert sp["serial_seconds"] >= 0.3 / 4
    assert sp["local_speedup_2"] > 0 and sp["dask_speedup_2"] > 0
    assert "load_average_before" in sp and "load_average_after" in sp


def test_bench_refuses_a_bad_speedup_size(capsys):
    from dynopt.cli.main import main

    assert main(["bench", "--speedup-seconds", "0"]) == 2
    assert "`--speedup-seconds` must be a finite number > 0" in capsys.readouterr().err
