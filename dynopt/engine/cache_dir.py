"""Where compiled kernels are cached, and the checks that make that folder safe to load from.

Generated kernel modules are imported from this folder and numba keeps its index there as
a pickle, so whoever can write into it can run code in every later dynopt process: the
folder must belong to the user and be writable by nobody else.
"""
from __future__ import annotations

import os
from pathlib import Path

from dynopt.io import private_dir, user_cache_dir

__all__ = ["kernel_cache_dir", "ENV"]

#: environment variable naming another kernel cache folder
ENV = "DYNOPT_KERNEL_CACHE"


def kernel_cache_dir(create: bool = True) -> Path:
    """The kernel cache folder: ``$DYNOPT_KERNEL_CACHE``, else ``<user cache dir>/kernels``
    (``$XDG_CACHE_HOME/dynopt/kernels``, ``~/.cache/dynopt/kernels``).

    Parameters
    ----------
    create : bool
        Create the folder (mode 0700) and check it; with ``False`` only the path is returned.

    Raises
    ------
    dynopt.io.UnsafeFolderError
        The folder is a link, owned by another user, or writable by the group or others.
    """
    env = os.environ.get(ENV)
    path = Path(env) if env else user_cache_dir() / "kernels"
    return private_dir(path, f"the kernel cache (${ENV})" if env else "the kernel cache") if create else path
