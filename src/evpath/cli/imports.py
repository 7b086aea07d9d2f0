"""Imports the ``evpath`` script puts off: xarray's of dask and pint.

xarray checks arrays against the array types of dask and pint, and imports both the first
time it checks (about 1 s of CPU here) when they are installed, even if nothing uses them;
its check for a dask collection imports dask itself (another 0.15 s). In the script, those
checks find no type and no collection until dask (or pint) has been imported by whatever
uses it: until then no array can be one of theirs. Type checks then behave as before; only
the imports come later or never. From Python, evpath changes nothing.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

DEFERRED = {"dask": "dask.array", "pint": "pint"}
"""xarray's name of a duck-array library → the module that defines its array type."""


def defer_duck_array_imports() -> None:
    """Have xarray import dask.array and pint only once something else has (now if xarray
    is imported, else as soon as it is)."""
    if "xarray" in sys.modules:
        _defer()
    else:
        sys.meta_path.insert(0, _AfterImport("xarray", _defer))


def _defer() -> None:
    from xarray.namedarray import pycompat, utils

    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    if not isinstance(cache, dict):  # another xarray: leave it as it is
        return
    for name, module in DEFERRED.items():
        cache.setdefault(name, _Deferred(pycompat, name, module))
    checks_collections = getattr(utils, "is_dask_collection", None)
    if callable(checks_collections):
        # xarray declares it a TypeGuard; the wrapper returns what it returns
        utils.is_dask_collection = _once_dask_is_imported(checks_collections)  # type: ignore[assignment]


def _once_dask_is_imported(is_dask_collection: Callable[[object], Any]) -> Callable[[object], Any]:
    """xarray's ``is_dask_collection``, False without asking until dask is imported."""

    def check(value: object) -> Any:
        return "dask" in sys.modules and is_dask_collection(value)

    return check


class _Deferred:
    """Stands for ``pycompat.DuckArrayModule(name)`` until ``module`` is imported."""

    def __init__(self, pycompat: ModuleType, name: str, module: str) -> None:
        self._pycompat, self._name, self._module = pycompat, name, module

    @property
    def type(self) -> tuple[type, ...]:
        if self._module not in sys.modules:
            return ()
        return self._loaded().type

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loaded(), attribute)

    def _loaded(self) -> Any:
        """The real entry, which replaces this one in xarray's cache."""
        loaded = self._pycompat.DuckArrayModule(self._name)
        self._pycompat._cached_duck_array_modules[self._name] = loaded
        return loaded


class _AfterImport:
    """A finder on ``sys.meta_path`` that runs ``then`` right after module ``name`` is
    first imported."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name, self.then = name, then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            self.then()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
