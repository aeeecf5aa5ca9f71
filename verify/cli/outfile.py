"""Output paths of the CLI: the file named is the file written, and a path that cannot be written is refused first.

``np.savez`` appends ``.npz`` to a name without it, so ``--out NAME`` used
to print ``wrote NAME`` while writing ``NAME.npz`` (issue 18). Every
command that writes a file passes its path through :func:`out_path` before
any work: the suffix is added here, once, and the command prints the path
returned, which is the file written. A path naming a directory, or inside a
folder that does not exist, is an input error (``ValueError``: one line,
exit 2), found before a long computation, not after it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["out_path", "out_dir"]


def out_path(value, option: str = "--out", suffix: str | None = ".npz") -> Path:
    """The file that will be written for ``option VALUE``: ``VALUE`` with ``suffix`` appended when it lacks it.

    Raises ``ValueError`` when the path is an existing directory or its folder does not exist.

    >>> str(out_path("model")), str(out_path("model.npz")), str(out_path("a.pt", suffix=None))
    ('model.npz', 'model.npz', 'a.pt')
    """
    path = Path(value)
    if path.is_dir():  # checked before the suffix: `--out DIR` must not quietly write DIR.npz
        raise ValueError(f"`{option}` {value} is a directory; give a file name (e.g. {path / ('out' + (suffix or ''))})")
    if suffix is not None and path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix)
    if path.is_dir():
        raise ValueError(f"`{option}` {value} is a directory; give a file name (e.g. {Path(value) / ('out' + (suffix or ''))})")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"`{option}` {value}: the folder `{parent}` does not exist (create it first)")
    return path


def out_dir(value, option: str = "--out") -> Path:
    """A directory to write into: created if missing (with its parents), refused when a file has that name."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ValueError(f"`{option}` {value} is a file, not a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path
