"""The engine: the one fixed-step ODE loop (:func:`integrate` → :class:`Solution`), SDE
ensembles prepared once and run in blocks and chunks (:func:`simulate` → :class:`EnsembleResult`,
configured by one :class:`EnsembleOptions`; :mod:`dynopt.engine.chunks` runs a prepared run's
blocks here or on an executor), the checks at the door (:mod:`dynopt.engine.validate`),
Brownian blocks, streaming observers and the executors.
"""
from .brownian import DEFAULT_BLOCK_SIZE, as_seed_sequence, block_generator, BlockLayout, make_layout, NoiseSource, brownian_increments, coarsen_increments
from .validate import step_count
from .loop import blown_up, BLOWUP, Solution, eval_steps, check_save_every, integrate
from .observers import Observer, Moments, MomentsResult, Histogram, HistogramResult, Histogram2D, Histogram2DResult, ValuesAt, TimeAverage, TimeAverageResult
from .passage import FirstPassage, FirstPassageResult
from .targets import Target, Level, Ball, Region
from .ensemble import CACHE_BYTES, EnsembleOptions, EnsembleResult, simulate
from .chunks import run_blocks, run_on_executor
from .split import block_groups
from .executors import SchedulerUnavailable, SerialExecutor, LocalExecutor, DaskExecutor, EXECUTORS, get_executor

__all__ = ["run_blocks", "run_on_executor", "blown_up", "DEFAULT_BLOCK_SIZE", "as_seed_sequence", "block_generator", "BlockLayout", "make_layout", "NoiseSource", "brownian_increments", "coarsen_increments", "BLOWUP", "Solution", "step_count", "eval_steps", "check_save_every", "integrate", "Observer", "Moments", "MomentsResult", "Histogram", "HistogramResult", "Histogram2D", "Histogram2DResult", "FirstPassage", "FirstPassageResult", "Target", "Level", "Ball", "Region", "ValuesAt", "TimeAverage", "TimeAverageResult", "CACHE_BYTES", "EnsembleOptions", "EnsembleResult", "simulate", "block_groups", "run_on_executor", "SchedulerUnavailable", "SerialExecutor", "LocalExecutor", "DaskExecutor", "EXECUTORS", "get_executor"]
