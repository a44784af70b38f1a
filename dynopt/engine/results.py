"""The one vocabulary of run results, shared by :class:`~dynopt.engine.loop.Solution` (ODE runs,
:func:`~dynopt.engine.integrate`) and :class:`~dynopt.engine.ensemble.EnsembleResult` (SDE
ensembles, :func:`~dynopt.engine.simulate`):

- ``times``: saved times, shape (k,)
- ``states``: saved states, shape (k, n_paths, state_dim)
- ``final_state``: the state at the final time, shape (n_paths, state_dim)
- ``final_positions``: θ of that state, shape (n_paths, d) — a property (ensembles: the paths
  that did not diverge); calling it with a model, ``final_positions(model)``, still works as
  before
- ``method``, ``dt``, ``n_steps``, ``grad_evals``, ``diverged``

The older names stay as aliases: ``Solution.t``/``y``/``y_final``, ``EnsembleResult.paths``/
``y_final``.  An ensemble's observers are reachable as attributes (``result.moments``) as well as
by name (``result.observations["moments"]``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["FinalPositions", "final_positions"]


class FinalPositions(np.ndarray):
    """Final positions θ as an array that can also be called as the old method
    ``final_positions(model)`` (the model argument recomputes them from that model)."""

    def __new__(cls, values, source=None):
        obj = np.asarray(values).view(cls)
        obj._source = source
        return obj

    def __array_finalize__(self, obj):
        self._source = getattr(obj, "_source", None)

    def __call__(self, model=None):
        if model is None or self._source is None:
            return np.asarray(self)
        return np.asarray(self._source(model))


def final_positions(states, model, select=None):
    """θ of ``states`` (rows ``select`` if given) through ``model.position``."""
    if states is None:
        raise ValueError("run with EnsembleOptions(keep_final=True) to get the final states")
    rows = states if select is None else states[select]
    return model.position(rows)
