"""``import aotmem``: the public surface (``verify/_root/__init__.py``): every name of ``__all__``, one import
package ``aotmem`` (``theory/`` is ``aotmem.theory``, ``verify/`` is ``aotmem.verify``), no top-level
``theory`` / ``verify`` package needed."""

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import aotmem

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", aotmem.__all__)
def test_every_public_name_is_the_theory_or_verify_object(name):
    obj = getattr(aotmem, name)
    mod = importlib.import_module(obj.__module__)
    assert obj.__module__.startswith(("aotmem.theory.", "aotmem.verify.")), obj.__module__
    # re-exported, not a copy; or the precision dispatcher around it (verify/ledger/precision.py: the same function,
    # calling its theory.precise twin only inside `with aotmem.precision(...)`)
    assert getattr(mod, name) is obj or getattr(obj, "__wrapped__", None) is getattr(mod, name)
    assert obj.__doc__, f"aotmem.{name} has no docstring"


def test_all_lists_the_documented_surface_once():
    assert len(aotmem.__all__) == len(set(aotmem.__all__))
    assert {"Task", "kl", "f_ls", "f_wls", "optimal_encoder", "construct", "evaluate"} <= set(aotmem.__all__)
    from_star = {}
    exec("from aotmem import *", from_star)  # noqa: S102 -- the star import users write
    assert set(aotmem.__all__) <= set(from_star)


def test_version_is_the_projects():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert aotmem.__version__ == meta["project"]["version"]


def test_import_needs_no_top_level_theory_or_verify(tmp_path):
    """From outside the repository: ``aotmem`` imports, and neither ``theory`` nor ``verify`` is a module."""
    code = ("import sys, aotmem, aotmem.theory.interop, aotmem.verify.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('theory', 'verify'))); "
            "print(aotmem.theory.__name__, aotmem.verify.__name__, aotmem.theory.interop.__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines == ["[]", "aotmem.theory aotmem.verify aotmem.theory.interop"], out.stderr


def test_the_command_line_entry_point_is_aotmem_verify_cli():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["aotmem"] == "aotmem.verify.cli:main"
    assert callable(importlib.import_module("aotmem.verify.cli").main)


def _modules():
    import pkgutil

    out = []
    for pkg in ("aotmem.theory", "aotmem.verify", "aotmem.verify.claims", "aotmem.verify.ledger", "aotmem.verify.cli",
                "aotmem.verify.outputs"):
        for m in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
            if not m.ispkg and not m.name.startswith("_"):
                out.append(f"{pkg}.{m.name}")
    return out + ["aotmem.strategies"]


def _test_file(module: str) -> str:
    parts = module.split(".")
    if parts[:3] == ["aotmem", "verify", "claims"]:
        return f"test_claims_{parts[3]}.py"
    return f"test_{parts[-1]}.py"


@pytest.mark.parametrize("module", _modules())
def test_every_module_has_its_test_file(module):
    """Tests by module: aotmem.theory.<m> and aotmem.verify.<m> in tests/test_<m>.py, aotmem.verify.claims.<t> in
    tests/test_claims_<t>.py, aotmem.theory.interop in tests/test_interop.py (and aotmem itself here)."""
    path = ROOT / "tests" / _test_file(module)
    assert path.is_file(), f"{module} has no {path.name}"
