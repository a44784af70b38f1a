"""The one vocabulary of run results, shared by :class:`~dynopt.engine.loop.Solution` (ODE runs,
:func:`~dynopt.engine.integrate`) and :class:`~dynopt.engine.ensemble.EnsembleResult` (SDE
ensembles, :func:`~dynopt.engine.simulate`):

- ``t``: saved times, shape (k,)
- ``y``: saved states, shape (k, n_paths, state_dim)
- ``y_final``: the state at the final time, shape (n_paths, state_dim)
- ``final_positions``: θ of that state through the run's model, shape (n_paths, d) (ensembles:
  the paths that did not diverge); for another model, ``model.position(result.y_final)``
- ``method``, ``dt``, ``n_steps``, ``grad_evals``, ``diverged``

An ensemble's observers are reachable as attributes (``result.moments``) as well as by name
(``result.observations["moments"]``).
"""
from __future__ import annotations

__all__ = ["final_positions"]


def final_positions(states, model, select=None):
    """θ of ``states`` (rows ``select`` if given) through ``model.position``."""
    if states is None:
        raise ValueError("run with EnsembleOptions(keep_final=True) to get the final states")
    rows = states if select is None else states[select]
    return model.position(rows)
