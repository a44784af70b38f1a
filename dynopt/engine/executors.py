"""Executors: run independent pure tasks in order-preserving batches.

``serial`` (in-process), ``local`` (processes over this machine's cores, the default) and
``dask`` (a ``dask.distributed`` cluster: an existing scheduler or a LocalCluster).

Tasks are pure functions of their arguments (parameters and seeds), so a task lost with a
dying worker is simply computed again, and results are returned in input order: the
answer does not depend on the executor, the number of workers or the completion order.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from dynopt.checks import check_int

__all__ = ["SerialExecutor", "LocalExecutor", "DaskExecutor", "get_executor", "EXECUTORS",
           "SchedulerUnavailable"]


def _dumps(obj):
    """cloudpickle when available (lambdas, closures, lambdified problems), else pickle."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover
        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


#: seconds between a worker's checks that its parent is alive
PARENT_POLL = 0.5


def _die_with_parent(from_main_thread: bool = False) -> None:
    """Worker start-up: end this worker as soon as the process that started it is gone.

    A ``kill -9`` of the main process runs no clean-up, so its pool would otherwise keep
    its workers (and the caller's stdout/stderr pipes) alive until they finish.  On Linux,
    when the pool was started from the main thread, the kernel sends SIGKILL on the
    parent's death (``PR_SET_PDEATHSIG``; it fires when the *thread* that started the worker
    ends, so it is armed only for the main thread).  Everywhere a daemon thread also polls
    the parent id, which changes when the parent dies (it cannot run while a compiled
    kernel holds the GIL: the signal covers that).  The parent is the main process, or
    with the ``forkserver`` start method the fork server, which ends with the main process.
    """
    parent_pid = os.getppid()
    # Ctrl-C reaches the whole process group: the parent stops the pool, a worker's own
    # KeyboardInterrupt would only print a traceback per worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if from_main_thread and sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os._exit(1)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="dynopt-parent-watch", daemon=True).start()


def _run_pickled(blob):
    fn, item = pickle.loads(blob)
    return _dumps(fn(item))


class SchedulerUnavailable(ConnectionError):
    """A dask scheduler address did not answer within the timeout."""


class SerialExecutor:
    """Runs tasks one after the other in this process."""

    name = "serial"
    n_workers = 1

    def map(self, fn, items):
        """``[fn(x) for x in items]``."""
        return [fn(x) for x in items]

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalExecutor(SerialExecutor):
    """A pool of worker processes on this machine.

    Parameters
    ----------
    n_workers : int, optional
        Default: the number of CPUs.
    retries : int
        How many times a batch is resubmitted when a worker process dies
        (``BrokenProcessPool``); only the tasks without a result are run again.
    """

    name = "local"

    def __init__(self, n_workers: int | None = None, retries: int = 2):
        n = (os.cpu_count() or 1) if n_workers is None else n_workers
        self.n_workers = check_int(n, "n_workers")
        self.retries = retries
        self._pool = None

    def _get_pool(self):
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.n_workers, initializer=_die_with_parent,
                                             initargs=(threading.current_thread() is threading.main_thread(),))
        return self._pool

    def map(self, fn, items):
        items = list(items)
        results = [None] * len(items)
        todo = list(range(len(items)))
        for attempt in range(self.retries + 1):
            pool = self._get_pool()
            futures = {i: pool.submit(_run_pickled, _dumps((fn, items[i]))) for i in todo}
            failed = []
            for i, fut in futures.items():
                try:
                    results[i] = pickle.loads(fut.result())
                except BrokenProcessPool:
                    failed.append(i)
            if not failed:
                return results
            # a worker died: the pool is unusable, start a new one for what is left
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            todo = failed
        raise RuntimeError(f"worker processes kept dying; {len(todo)} task(s) could not be run")

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and self._pool is not None:
            # an error or Ctrl-C in the caller: the running tasks are of no use, do not wait for them
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.close()


class DaskExecutor(SerialExecutor):
    """Tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address ``tcp://HOST:PORT`` of a running scheduler.  Without it a LocalCluster
        with ``n_workers`` single-threaded worker processes is started.
    n_workers : int, optional
    timeout : float
        Seconds to wait for the scheduler before :class:`SchedulerUnavailable`.

    Notes
    -----
    Tasks are submitted with ``pure=True`` and deterministic keys; when a worker dies
    the scheduler reruns its tasks elsewhere (dask's ``allowed-failures``), and since
    every result is gathered once by key nothing is counted twice.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, n_workers: int | None = None,
                 timeout: float = 10.0, client=None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("the dask executor needs dask.distributed: "
                              "pip install -e \".[dask]\"") from None
        self._own_cluster = None
        if client is not None:
            self.client = client
        elif scheduler:
            try:
                self.client = Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnavailable(
                    f"`scheduler` {scheduler!r} did not answer within {timeout:g} s ({exc})") from None
        else:
            n = n_workers or os.cpu_count() or 1
            self._own_cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None)
            self.client = Client(self._own_cluster)
        self.n_workers = len(self.client.scheduler_info().get("workers", {})) or (n_workers or 1)

    def map(self, fn, items):
        items = list(items)
        futures = self.client.map(fn, items, pure=True)
        return self.client.gather(futures)

    def close(self):
        self.client.close()
        if self._own_cluster is not None:
            self._own_cluster.close()


EXECUTORS = {"serial": SerialExecutor, "local": LocalExecutor, "dask": DaskExecutor}


def get_executor(name: str = "local", n_workers: int | None = None, scheduler: str | None = None,
                 timeout: float = 10.0):
    """Return an executor by name.

    Parameters
    ----------
    name : {"local", "dask", "serial"}
    n_workers : int, optional
    scheduler : str, optional
        Only for ``dask``.

    Raises
    ------
    ValueError
        "`executor` must be one of [...]".
    """
    if name not in EXECUTORS:
        raise ValueError(f"`executor` must be one of {sorted(EXECUTORS)}; got {name!r}")
    if name == "serial":
        return SerialExecutor()
    if name == "local":
        return LocalExecutor(n_workers)
    return DaskExecutor(scheduler=scheduler, n_workers=n_workers, timeout=timeout)
