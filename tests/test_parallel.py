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


# ---- executors driven in this process (fake pools, clients and libc) ----

from concurrent.futures import Future  # noqa: E402
from concurrent.futures.process import BrokenProcessPool  # noqa: E402

from dynopt.engine import executors  # noqa: E402


def _square(x):
    return x * x


def test_run_pickled_runs_the_pickled_task_and_pickles_its_result():
    """_run_pickled: loads (fn, item), returns the pickled fn(item) (what a worker sends back)."""
    import pickle

    blob = executors._dumps((_square, 7))
    assert pickle.loads(executors._run_pickled(blob)) == 49
    blob = executors._dumps((lambda s: s.upper(), "ab"))  # cloudpickle: a lambda travels too
    assert pickle.loads(executors._run_pickled(blob)) == "AB"


class _FakeProc:
    def __init__(self):
        self.terminated = False

    def terminate(self):
        self.terminated = True


class _FakePool:
    """An in-process ProcessPoolExecutor stand-in; the next ``broken_left`` submissions fail."""

    made = []

    def __init__(self, max_workers=None, initializer=None, initargs=()):
        self.kwargs = dict(max_workers=max_workers, initializer=initializer, initargs=initargs)
        self.shutdowns, self._processes = [], {1: _FakeProc(), 2: _FakeProc()}
        _FakePool.made.append(self)

    def submit(self, fn, *args):
        fut = Future()
        if _FakePool.broken_left > 0:
            _FakePool.broken_left -= 1
            fut.set_exception(BrokenProcessPool("a worker died"))
        else:
            fut.set_result(fn(*args))
        return fut

    def shutdown(self, *args, **kwargs):
        self.shutdowns.append((args, kwargs))


@pytest.fixture
def fake_pool(monkeypatch):
    _FakePool.made, _FakePool.broken_left = [], 0
    monkeypatch.setattr(executors, "ProcessPoolExecutor", _FakePool)
    return _FakePool


def test_local_executor_pool_arguments_and_order(fake_pool):
    """LocalExecutor: one pool of n_workers with the parent watch as initializer; results in input order."""
    ex = LocalExecutor(3)
    assert (ex.n_workers, ex.retries) == (3, 2)
    assert ex.map(_square, [3, 1, 2]) == [9, 1, 4]
    assert ex.map(_square, []) == []
    (pool,) = fake_pool.made
    assert pool.kwargs == dict(max_workers=3, initializer=executors._die_with_parent, initargs=(True,))
    ex.close()
    assert pool.shutdowns == [((), {})] and ex._pool is None
    ex.close()  # closing twice is harmless
    assert LocalExecutor().n_workers == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match=r"`n_workers` must be a positive integer; got 0"):
        LocalExecutor(0)


def test_local_executor_resubmits_only_the_tasks_of_a_broken_pool(fake_pool):
    """LocalExecutor.map: a BrokenProcessPool drops the pool (no wait, futures cancelled) and
    reruns the failed tasks on a new one, up to ``retries`` times, then a RuntimeError."""
    fake_pool.broken_left = 2
    ex = LocalExecutor(2, retries=1)
    assert ex.map(_square, [1, 2, 3]) == [1, 4, 9]
    first, second = fake_pool.made
    assert first.shutdowns == [((), dict(wait=False, cancel_futures=True))] and second.shutdowns == []
    fake_pool.made, fake_pool.broken_left = [], 3
    with pytest.raises(RuntimeError, match=r"worker processes kept dying; 1 task\(s\) could not be run"):
        LocalExecutor(2, retries=1).map(_square, [1, 2])
    assert len(fake_pool.made) == 2
    fake_pool.made, fake_pool.broken_left = [], 1
    with pytest.raises(RuntimeError, match=r"1 task\(s\)"):
        LocalExecutor(2, retries=0).map(_square, [1, 2])


def test_local_executor_exit_on_an_error_terminates_the_workers(fake_pool):
    """LocalExecutor.__exit__: after an error the workers are terminated and the pool dropped
    without waiting; after a clean block the pool is shut down normally."""
    with pytest.raises(KeyError):
        with LocalExecutor(2) as ex:
            ex.map(_square, [1])
            raise KeyError("boom")
    (pool,) = fake_pool.made
    assert all(p.terminated for p in pool._processes.values())
    assert pool.shutdowns == [((), dict(wait=False, cancel_futures=True))] and ex._pool is None
    fake_pool.made = []
    with LocalExecutor(2) as ex:
        ex.map(_square, [1])
    (pool,) = fake_pool.made
    assert pool.shutdowns == [((), {})] and not any(p.terminated for p in pool._processes.values())
    with LocalExecutor(2) as ex:  # no task, no pool: nothing to stop
        pass
    assert ex._pool is None


def test_die_with_parent_arms_the_signal_and_the_watch(monkeypatch):
    """_die_with_parent: ignores Ctrl-C, arms PR_SET_PDEATHSIG (prctl(1, SIGKILL, 0, 0, 0)) from the
    main thread on Linux, and starts a daemon thread that exits when the parent id changes."""
    import ctypes
    import signal as _signal

    calls, exits, threads, ppids = [], [], [], iter([100, 100, 100, 100, 7])

    class Libc:
        def prctl(self, *args):
            calls.append(args)

    class Thread:
        def __init__(self, target, name, daemon):
            threads.append((target, name, daemon))

        def start(self):
            pass

    def exit_(code):
        exits.append(code)
        raise SystemExit(code)

    old = _signal.getsignal(_signal.SIGINT)
    try:
        monkeypatch.setattr(ctypes, "CDLL", lambda name, use_errno=False: (calls.append((name, use_errno)), Libc())[1])
        monkeypatch.setattr(executors.sys, "platform", "linux")
        monkeypatch.setattr(executors.os, "getppid", lambda: next(ppids))
        monkeypatch.setattr(executors.os, "_exit", exit_)
        monkeypatch.setattr(executors.threading, "Thread", Thread)
        monkeypatch.setattr(executors.time, "sleep", lambda s: calls.append(("sleep", s)))
        executors._die_with_parent(True)
        assert _signal.getsignal(_signal.SIGINT) == _signal.SIG_IGN
        assert calls == [(None, True), (1, int(_signal.SIGKILL), 0, 0, 0)] and exits == []
        (target, name, daemon), = threads
        assert name == "dynopt-parent-watch" and daemon is True
        with pytest.raises(SystemExit):
            target()  # polls while the parent id is 100, exits when it changes
        assert calls[2:] == [("sleep", executors.PARENT_POLL)] * 2 and exits == [1]
        # not the main thread, or not Linux: no prctl
        calls.clear()
        ppids = iter([5])
        monkeypatch.setattr(executors.os, "getppid", lambda: next(ppids))
        executors._die_with_parent(False)
        monkeypatch.setattr(executors.sys, "platform", "darwin")
        ppids = iter([5])
        executors._die_with_parent(True)
        assert calls == [] and len(threads) == 3
        # the parent died before the signal was armed
        monkeypatch.setattr(executors.sys, "platform", "linux")
        ppids = iter([5, 6])
        with pytest.raises(SystemExit):
            executors._die_with_parent(True)
        assert exits == [1, 1] and len(threads) == 3
    finally:
        _signal.signal(_signal.SIGINT, old)
    assert executors.PARENT_POLL == 0.5


class _FakeClient:
    def __init__(self, workers=2):
        self.workers, self.closed, self.calls = workers, False, []

    def scheduler_info(self):
        return {"workers": {f"w{i}": {} for i in range(self.workers)}}

    def map(self, fn, items, **kw):
        self.calls.append(kw)
        return [fn(x) for x in items]

    def gather(self, futures):
        return list(futures)

    def close(self):
        self.closed = True


def test_dask_executor_with_a_given_client():
    """DaskExecutor: pure tasks mapped and gathered in order; workers counted from the scheduler."""
    c = _FakeClient(3)
    ex = DaskExecutor(client=c)
    assert ex.n_workers == 3 and ex.name == "dask"
    assert ex.map(_square, (1, 2, 3)) == [1, 4, 9] and c.calls == [dict(pure=True)]
    ex.close()
    assert c.closed
    assert DaskExecutor(client=_FakeClient(0), n_workers=4).n_workers == 4
    assert DaskExecutor(client=_FakeClient(0)).n_workers == 1


def test_dask_scheduler_that_does_not_answer(monkeypatch):
    """DaskExecutor: a scheduler that refuses is SchedulerUnavailable naming `scheduler`, its address and timeout."""
    seen = {}

    def refuse(address, timeout):
        seen.update(address=address, timeout=timeout)
        raise OSError("refused")

    monkeypatch.setattr(distributed, "Client", refuse)
    with pytest.raises(SchedulerUnavailable, match=r"`scheduler` 'tcp://h:1' did not answer within 2\.5 s \(refused\)"):
        get_executor("dask", scheduler="tcp://h:1", timeout=2.5)
    assert seen == dict(address="tcp://h:1", timeout=2.5)
    with pytest.raises(SchedulerUnavailable, match=r"within 10 s"):
        DaskExecutor(scheduler="tcp://h:1")


def test_get_executor_builds_each_kind(fake_pool):
    """get_executor: serial/local by name, n_workers passed on, unknown names listed."""
    with pytest.raises(ValueError, match=r"`executor` must be one of \['dask', 'local', 'serial'\]; got 'threads'"):
        get_executor("threads")
    ex = get_executor("local", n_workers=3)
    assert isinstance(ex, LocalExecutor) and ex.n_workers == 3
    s = get_executor("serial", n_workers=3)
    assert type(s) is SerialExecutor and s.n_workers == 1 and s.name == "serial"
    assert s.map(_square, iter([2, 3])) == [4, 9]
    with s as same:
        assert same is s
    assert sorted(executors.EXECUTORS) == ["dask", "local", "serial"]


class _InProcessPool(SerialExecutor):
    """A serial executor that claims several workers, so the run is cut into block groups."""

    def __init__(self, n_workers):
        self.n_workers = n_workers


def test_block_groups_merge_their_divergences_at_their_own_rows():
    """run_on_executor: paths that blow up in any block group keep their rows and steps, and the
    merged outputs and observers equal the serial run's."""
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.1)
    y0 = np.full((100, 1), 0.5)
    y0[[3, 30, 31, 77, 99]] = [[30.0], [40.0], [-30.0], [60.0], [-45.0]]
    kw = dict(n_paths=100, seed=2, observers=[Moments(every=2)],
              options=EnsembleOptions(block_size=10, save_every=3, progress=False))
    serial = simulate(m, "euler-maruyama", (0, 1), y0, 0.1, **kw)
    assert sorted(np.flatnonzero(serial.diverged_step >= 0)) == [3, 30, 31, 77, 99]
    for workers in (1, 3, 4):
        par = simulate(m, "euler-maruyama", (0, 1), y0, 0.1, executor=_InProcessPool(workers), **kw)
        assert par.diverged_step.tobytes() == serial.diverged_step.tobytes()
        # the diverged rows hold NaN whose sign bit follows numpy's inner loops (which differ
        # with the array length): compare values, NaN equal to NaN
        np.testing.assert_array_equal(par.y_final, serial.y_final)
        np.testing.assert_array_equal(par.y, serial.y)
        assert np.isnan(par.y_final[[3, 30, 31, 77, 99]]).all()
        assert par.observations["moments"].mean.tobytes() == serial.observations["moments"].mean.tobytes()
        assert par.grad_evals == serial.grad_evals


def test_progress_bar_counts_path_steps_on_stderr(capsys, monkeypatch):
    """_Progress: a shown bar counts path-steps (unit_scale) with the scheme's name on stderr;
    an automatic one opens only when the estimated run time passes PROGRESS_AFTER_S."""
    from dynopt.engine import chunks

    p = chunks._Progress(1000, "euler", True)
    assert p.bar.total == 1000 and p.bar.n == 0 and p.bar.unit == "path-step" and p.bar.unit_scale
    assert p.bar.desc == "euler"
    p.update(250)
    assert p.bar.n == 250 and p.done == 250
    p.close()
    err = capsys.readouterr().err
    assert "euler" in err and "path-step" in err
    assert chunks._Progress(10, "x", False).bar is None
    now = [0.0]
    monkeypatch.setattr(chunks.time, "perf_counter", lambda: now[0])
    auto = chunks._Progress(1000, "x", None)
    now[0] = 0.25  # 100 of 1000 in 0.25 s: 2.5 s expected, above the threshold
    auto.update(100)
    assert auto.bar is not None and auto.bar.n == 100 and auto.bar.total == 1000
    auto.close()
    now[0] = 0.0
    quick = chunks._Progress(1000, "x", None)
    now[0] = 0.15  # 1.5 s expected: below the threshold
    quick.update(100)
    assert quick.bar is None
    now[0] = 0.0
    done = chunks._Progress(1000, "x", None)
    now[0] = 100.0
    done.update(1000)  # already finished: no bar
    assert done.bar is None
    assert chunks.PROGRESS_AFTER_S == 2.0


def test_block_groups_are_contiguous_near_equal_and_never_empty():
    """block_groups: at most n_workers groups of consecutive blocks, sizes differing by at most one."""
    from dynopt.engine.split import block_groups

    assert block_groups(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert block_groups(10, 1) == [(0, 10)] and block_groups(3, 8) == [(0, 1), (1, 2), (2, 3)]
    assert block_groups(4, 4) == [(0, 1), (1, 2), (2, 3), (3, 4)] and block_groups(1, 0) == [(0, 1)]
    assert block_groups(0, 4) == []
    for n, w in ((17, 5), (100, 7), (5, 2)):
        g = block_groups(n, w)
        sizes = [b - a for a, b in g]
        assert len(g) == min(n, w) and g[0][0] == 0 and g[-1][1] == n and max(sizes) - min(sizes) <= 1
        assert all(g[i][1] == g[i + 1][0] for i in range(len(g) - 1))


def test_block_threads_uses_a_pool_only_for_several_threads_and_blocks():
    """block_threads: the built-in map for one thread or one block, else a pool of min(threads, blocks)."""
    import threading

    from dynopt.engine.split import block_threads

    for threads, blocks in ((1, 5), (4, 1), (0, 3)):
        with block_threads(threads, blocks) as run_map:
            assert run_map is map
    seen = set()

    def work(x):
        seen.add(threading.current_thread().name)
        time.sleep(0.02)
        return x * x

    with block_threads(8, 2) as run_map:
        assert run_map is not map and list(run_map(work, range(6))) == [x * x for x in range(6)]
    assert 1 <= len(seen) <= 2 and threading.current_thread().name not in seen
