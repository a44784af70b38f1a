"""Following ``model`` from ``simulate`` down the calls that pass it on: a prepared run is
checked and built once, so no dynopt module is entered more than three times along the way
(numpy, compiled, compiled with an absorbing passage, and through an executor).

A call "passes the model on" when one of its arguments is the model, or holds it one level
down (the prepared run, a NamedTuple or dataclass).  Each distinct path of such calls from the
root counts once (per-step and per-chunk repeats share a path); a *stay* is a maximal run of
consecutive entries into one module in that sequence.  Property reads (``model.d``) are attribute
reads, not calls that pass the model on, and are left out.
"""
import collections
import dataclasses
import os
import sys

import pytest

import dynopt
from dynopt import dynamics, problems
from dynopt.engine import EnsembleOptions, FirstPassage, Moments, SerialExecutor, simulate

ROOT = os.path.dirname(dynopt.__file__)


def _holds(value, model, depth=1):
    if value is model:
        return True
    if depth and isinstance(value, tuple) and len(value) < 32:
        return any(_holds(x, model, depth - 1) for x in value)
    if depth and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_holds(getattr(value, f.name, None), model, depth - 1) for f in dataclasses.fields(value))
    return False


def _property_codes():
    codes = set()
    for name, mod in list(sys.modules.items()):
        if name.startswith("dynopt") and mod is not None:
            for obj in vars(mod).values():
                if isinstance(obj, type):
                    codes.update(v.fget.__code__ for v in vars(obj).values()
                                 if isinstance(v, property) and hasattr(v.fget, "__code__"))
    return codes


def _walk(run, model):
    """The modules entered, in order, along the distinct call paths that pass ``model`` on."""
    props, seen, seq, stack = _property_codes(), set(), [], []

    def prof(frame, event, arg):
        if event == "call":
            co = frame.f_code
            caller = stack[-1] if stack else ()
            me = caller
            if co.co_filename.startswith(ROOT) and co not in props:
                n = co.co_argcount + co.co_kwonlyargcount
                if any(_holds(frame.f_locals.get(v), model) for v in co.co_varnames[:n]):
                    me = caller + ((co.co_filename, co.co_firstlineno),)
                    if me not in seen:
                        seen.add(me)
                        seq.append(os.path.relpath(co.co_filename, ROOT))
            stack.append(me)
        elif event == "return" and stack:
            stack.pop()

    sys.setprofile(prof)
    try:
        run()
    finally:
        sys.setprofile(None)
    return seq


def _stays(seq):
    return collections.Counter(m for i, m in enumerate(seq) if i == 0 or seq[i - 1] != m)


OPTS = EnsembleOptions(block_size=100, progress=False)
M1 = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
M2 = dynamics.Kramers(problems.double_well(), friction=1.0, sigma=1.0)
CASES = {
    "numpy": (M1, lambda m: simulate(m, "euler-maruyama", (0, 0.2), [0.3], 0.01, n_paths=300, seed=1,
                                     observers=[Moments(every=5)], backend="numpy", options=OPTS)),
    "numba": (M1, lambda m: simulate(m, "euler-maruyama", (0, 0.2), [0.3], 0.01, n_paths=300, seed=1,
                                     observers=[Moments(every=5)], backend="numba", options=OPTS)),
    "numba-passage": (M2, lambda m: simulate(m, "baoab", (0, 0.2), [-1.0, 0.0], 0.01, n_paths=300, seed=1,
                                             observers=[FirstPassage((0, 0.0, "above"), absorb=True)],
                                             backend="numba", options=OPTS)),
    "executor": (M1, lambda m: simulate(m, "euler-maruyama", (0, 0.2), [0.3], 0.01, n_paths=300, seed=1,
                                        observers=[FirstPassage((0, 0.0, "below"), absorb=True)], backend="numpy",
                                        executor=SerialExecutor(), options=OPTS)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_module_is_entered_more_than_three_times(case):
    if case.startswith("numba"):
        pytest.importorskip("numba")
    model, run = CASES[case]
    run(model)  # compile / load the kernel first: the walk is of a steady run
    seq = _walk(lambda: run(model), model)
    stays = _stays(seq)
    assert "engine/ensemble.py" in stays and len(seq) >= 3  # the walk saw the engine
    assert max(stays.values()) <= 3, stays.most_common(5)
