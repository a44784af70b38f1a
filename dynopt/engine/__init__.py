"""The engine: the one fixed-step loop (:func:`integrate`), SDE ensembles run in blocks and
chunks (:func:`simulate`), Brownian blocks, streaming observers, result types and the executors
that split a run over processes or dask workers and merge it back.
"""
from .brownian import DEFAULT_BLOCK_SIZE, as_seed_sequence, block_generator, BlockLayout, make_layout, NoiseSource, brownian_increments, coarsen_increments
from .loop import blown_up, BLOWUP, Solution, step_count, check_save_every, integrate
from .observers import Observer, Moments, MomentsResult, Histogram, HistogramResult, Histogram2D, Histogram2DResult, FirstPassage, FirstPassageResult, ValuesAt, TimeAverage, TimeAverageResult
from .ensemble import CACHE_BYTES, EnsembleOptions, EnsembleResult, simulate
from .split import block_groups, run_on_executor
from .executors import SchedulerUnavailable, SerialExecutor, LocalExecutor, DaskExecutor, EXECUTORS, get_executor

__all__ = ["blown_up", "DEFAULT_BLOCK_SIZE", "as_seed_sequence", "block_generator", "BlockLayout", "make_layout", "NoiseSource", "brownian_increments", "coarsen_increments", "BLOWUP", "Solution", "step_count", "check_save_every", "integrate", "Observer", "Moments", "MomentsResult", "Histogram", "HistogramResult", "Histogram2D", "Histogram2DResult", "FirstPassage", "FirstPassageResult", "ValuesAt", "TimeAverage", "TimeAverageResult", "CACHE_BYTES", "EnsembleOptions", "EnsembleResult", "simulate", "block_groups", "run_on_executor", "SchedulerUnavailable", "SerialExecutor", "LocalExecutor", "DaskExecutor", "EXECUTORS", "get_executor"]
