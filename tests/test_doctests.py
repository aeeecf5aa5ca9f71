"""The docstring examples of every module of the package, run under its installed name (``aotmem.*``).

pytest's ``--doctest-modules`` would import ``theory/aot.py`` as ``theory.aot``
(a second copy of each module, with its own registry); running the doctests
here imports each module once, as ``aotmem.theory.aot``.
"""

import doctest
import importlib
import pkgutil

import pytest

import aotmem

# The root package's folder (verify/_root) sits inside verify/: walking aotmem.verify would
# import it a second time as aotmem.verify._root, so the root is walked on its own.
MODULES = ["aotmem"] + sorted(
    m.name for pkg in ("aotmem", "aotmem.theory", "aotmem.verify")
    for m in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + ".")
    if not m.name.endswith("__main__") and not m.name.startswith("aotmem.verify._root")
)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def test_modules_found():
    assert "aotmem.theory.divergence" in MODULES and "aotmem.verify.ledger.registry" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=FLAGS, verbose=False, report=True)
    assert res.failed == 0, f"{res.failed} of {res.attempted} docstring examples of {name} failed"
