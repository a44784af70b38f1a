"""Executors: the same bytes whatever runs the tasks; dying workers; unreachable schedulers."""
import os
import socket
import sys
import time

import numpy as np
import pytest

from dynopt import dynamics, problems
from dynopt.engine import EnsembleOptions, FirstPassage, Histogram, Moments, TimeAverage, ValuesAt, simulate
from dynopt.engine import DaskExecutor, LocalExecutor, SchedulerUnavailable, SerialExecutor, get_executor

distributed = pytest.importorskip("dask.distributed")


def _observers():
    return [Histogram(40, (-3, 3), every=5), Moments(every=25), FirstPassage((0, 0.5, "above")),
            TimeAverage(lambda y: y[:, 0] ** 2, t_min=0.5), ValuesAt([0.5])]


def _run(executor=None, chunk_size=None):
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    return simulate(m, "euler-maruyama", (0, 1), [-1.0], 0.01, n_paths=20000, seed=11, observers=_observers(),
                    executor=executor,
                    options=EnsembleOptions(chunk_size=chunk_size, block_size=1024, progress=False))


def _assert_same(a, b):
    assert a.y_final.tobytes() == b.y_final.tobytes()
    assert a.diverged_step.tobytes() == b.diverged_step.tobytes()
    for name, fields in (("histogram", ("counts",)), ("moments", ("mean", "var", "count")),
                         ("first_passage", ("step",)), ("time_average", ("mean", "se"))):
        for f in fields:
            assert np.asarray(getattr(a.observations[name], f)).tobytes() == \
                   np.asarray(getattr(b.observations[name], f)).tobytes(), (name, f)
    assert a.observations["values"][1].tobytes() == b.observations["values"][1].tobytes()


@pytest.fixture(scope="module")
def cluster():
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None)
    yield c
    c.close()


def test_ensemble_is_identical_on_local_processes_and_a_dask_cluster(cluster):
    serial = _run()
    _assert_same(serial, _run(chunk_size=3072))
    with LocalExecutor(2) as ex:
        _assert_same(serial, _run(ex))
    client = distributed.Client(cluster)
    try:
        _assert_same(serial, _run(DaskExecutor(client=client)))
    finally:
        client.close()


def _dies_once(arg):
    """Kill the worker process the first time it runs (a marker file records it)."""
    marker, x = arg
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return x * x


def test_local_executor_recomputes_the_tasks_of_a_dead_worker(tmp_path):
    with LocalExecutor(2) as ex:
        out = ex.map(_dies_once, [(str(tmp_path / "m"), x) for x in range(6)])
    assert out == [x * x for x in range(6)]


def test_dask_worker_death_is_recomputed_not_double_counted(cluster, tmp_path):
    client = distributed.Client(cluster)
    try:
        ex = DaskExecutor(client=client)
        out = ex.map(_dies_once, [(str(tmp_path / "m"), x) for x in range(6)])
        assert out == [x * x for x in range(6)]
        # and an ensemble after the restart is still the serial one
        _assert_same(_run(), _run(ex))
    finally:
        client.close()


def test_unreachable_scheduler_fails_fast_with_a_clear_error():
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tic = time.monotonic()
    with pytest.raises(SchedulerUnavailable, match="did not answer within 2 s"):
        get_executor("dask", scheduler=f"tcp://127.0.0.1:{port}", timeout=2)
    assert time.monotonic() - tic < 30


def test_executor_names_and_missing_dask(monkeypatch):
    with pytest.raises(ValueError, match="`executor` must be one of"):
        get_executor("threads")
    assert isinstance(get_executor("serial"), SerialExecutor)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[dask\]"'):
        DaskExecutor()


def test_the_default_executor_is_the_local_process_pool():
    assert isinstance(get_executor(), LocalExecutor)
