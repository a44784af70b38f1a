"""The one registry of named schemes: ``METHODS`` maps a name to a factory (the class).

A scheme module decorates its classes with :func:`register`; ``dynopt.schemes`` imports every
scheme module, so the registry is complete once the package is imported.  Nothing else keeps a
list of schemes: the order tests, the CLI's choices and the symbolic layer read this mapping.
"""
from __future__ import annotations

from dynopt.schemes.base import Scheme

__all__ = ["METHODS", "register", "get_scheme"]

#: name -> factory returning a fresh scheme instance
METHODS: dict = {}


def register(name=None):
    """Class decorator adding a scheme class to :data:`METHODS` under ``name`` (default
    the class attribute ``name``)."""
    def add(cls):
        key = name or cls.name
        if key in METHODS and METHODS[key] is not cls:
            raise ValueError(f"scheme name {key!r} is already registered to {METHODS[key].__name__}")
        METHODS[key] = cls
        return cls
    return add


def get_scheme(name, **kwargs) -> Scheme:
    """Return a fresh instance of the scheme registered as ``name`` (a Scheme instance is
    returned as it is).

    Raises
    ------
    ValueError
        "`method` must be one of [...]" listing the registered names.
    """
    if isinstance(name, Scheme):
        return name
    if isinstance(name, type) and issubclass(name, Scheme):
        return name(**kwargs)
    try:
        factory = METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"`method` must be one of {sorted(METHODS)}; got {name!r}") from None
    return factory(**kwargs)
