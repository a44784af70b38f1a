"""The small numpy networks (linear, softmax, MLP with hand-written backprop) and the data
sets of the sources.
"""
from .data import Dataset, linear_regression_data, normalize_images, standardize, load_digits, read_idx, write_idx, load_mnist, minibatches
from .networks import torch_linear_init, cross_entropy, LinearRegression, SoftmaxRegression, MLP, blas_limit, TrainResult, train

__all__ = ["Dataset", "linear_regression_data", "normalize_images", "standardize", "load_digits", "read_idx", "write_idx", "load_mnist", "minibatches", "torch_linear_init", "cross_entropy", "LinearRegression", "SoftmaxRegression", "MLP", "blas_limit", "TrainResult", "train"]
from .hessian import TanhMLP, ravel_params, hvp, hvp_central, central_step, central_hvp, hessian_operator, dense_hessian, TopEigen, top_eigenvalues, sharpness
from .models import BoundModel, as_model, CENTRAL_HVP_NOTE, QuadraticModel, JaxModel, TorchModel

__all__ += ["TanhMLP", "ravel_params", "hvp", "hvp_central", "central_step", "central_hvp", "hessian_operator", "dense_hessian", "TopEigen", "top_eigenvalues", "sharpness"]
__all__ += ["BoundModel", "as_model", "CENTRAL_HVP_NOTE", "QuadraticModel", "JaxModel", "TorchModel"]
