"""Optimizers as optax-style ``(init, update)`` pairs of pure functions with NamedTuple states,
composed with :func:`chain`; aliases (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)
and the conventions of PyTorch, d2l, Sutskever et al. and npnet.
"""
from .transforms import tree_map, tree_leaves, apply_updates, GradientTransformation, EmptyState, CountState, TraceState, ScaleByRmsState, ScaleByAdagradState, ScaleByAdamState, NonFiniteGradientError, chain, guard, scale, scale_by_learning_rate, trace, scale_by_rms, scale_by_adagrad, scale_by_adam, add_decayed_weights, add_l1, add_decoupled_weight_decay
from .alias import Convention, CONVENTIONS, sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, OPTIMIZERS, get_optimizer, step, RunResult, run

__all__ = ["tree_map", "tree_leaves", "apply_updates", "GradientTransformation", "EmptyState", "CountState", "TraceState", "ScaleByRmsState", "ScaleByAdagradState", "ScaleByAdamState", "NonFiniteGradientError", "chain", "guard", "scale", "scale_by_learning_rate", "trace", "scale_by_rms", "scale_by_adagrad", "scale_by_adam", "add_decayed_weights", "add_l1", "add_decoupled_weight_decay", "Convention", "CONVENTIONS", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "OPTIMIZERS", "get_optimizer", "step", "RunResult", "run"]
