"""The minimal minigrad a submission imports: assembled from an explicit list of source files, in one place.

A submission may use ``minigrad.Function`` and ``minigrad.get_array_module`` and nothing else of the package, and
the sandbox must not be able to read the rest (the engine, the layers, the grader, the solutions). So the child
never sees the package folder: it imports ``minigrad`` from a folder that :func:`assemble` writes, which holds
``submission_minigrad.py`` as ``minigrad/__init__.py`` and the core files below, copied unchanged. When core files
move, this list is the one place to change.
"""

import shutil
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]           # the real minigrad package
INIT = Path(__file__).with_name("submission_minigrad.py")
CORE_FILES = ("backends/__init__.py", "backends/strict.py")  # paths inside the package, copied as they are


def assemble(folder):
    """Write the minimal package into `folder` (``folder/minigrad/...``); return `folder`."""
    folder = Path(folder)
    root = folder / "minigrad"
    root.mkdir(parents=True)
    shutil.copyfile(INIT, root / "__init__.py")
    for name in CORE_FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / name, target)
    for path in sorted(folder.rglob("*"), reverse=True):  # readable by the child's user, writable only by the grader
        path.chmod(0o755 if path.is_dir() else 0o444)
    folder.chmod(0o755)
    return folder
