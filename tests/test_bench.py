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
