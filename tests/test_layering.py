"""The package's layering, read from every module's import statements (``ast``, nothing is imported).

- ``refimpl.core`` and ``refimpl.data`` are library only: they import neither the harness
  (``refimpl.experiments``, ``refimpl.bench``, ``refimpl.cli``, ``refimpl.__main__``) nor a topic nor the
  torch helper ``refimpl.crosscheck``.
- A topic (any other subpackage but ``refimpl.crosscheck``) imports the library, never another topic.
"""

import ast
from pathlib import Path

import refimpl

PACKAGE = Path(refimpl.__file__).parent
LIBRARY = ("core", "data")
HELPERS = ("crosscheck",)  # library helpers a topic may import, the library may not
HARNESS = ("experiments", "bench", "cli", "__main__")


def module_name(path):
    """``refimpl/rd/kernels.py`` -> ``refimpl.rd.kernels``; a package's ``__init__.py`` -> the package."""
    parts = ["refimpl", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source, module, is_package=False):
    """Every module named by an import statement of ``source`` (anywhere, also inside functions).

    Relative imports are resolved against ``module``; ``from X import name`` yields ``X.name`` as well
    as ``X``, since ``name`` may be a submodule (``from refimpl import bench``).
    """
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def part_of(name):
    """The first-level part of refimpl that ``name`` belongs to (``"rd"``, ``"bench"``), or None."""
    parts = name.split(".")
    return parts[1] if parts[0] == "refimpl" and len(parts) > 1 else None


def topics():
    return sorted(p.name for p in PACKAGE.iterdir()
                  if (p / "__init__.py").exists() and p.name not in LIBRARY + HELPERS)


def violations(module, imports, topic_names):
    """The (module, import) pairs of ``imports`` that break the layering, for a module named ``module``."""
    own = part_of(module)
    bad = []
    for name in sorted(imports):
        target = part_of(name)
        if target is None or target == own:
            continue
        if own in LIBRARY and (target in HARNESS or target in topic_names or target in HELPERS):
            bad.append((module, name))
        elif own in topic_names and target in topic_names:
            bad.append((module, name))
    return bad


def all_violations():
    topic_names = topics()
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        imports = imported_modules(path.read_text(), module, is_package=path.name == "__init__.py")
        bad += violations(module, imports, topic_names)
    return bad


def test_library_imports_no_harness_or_topic_and_topics_import_no_other_topic():
    bad = all_violations()
    assert not bad, "layering broken:\n" + "\n".join(f"  {module} imports {name}" for module, name in bad)


def test_the_checker_sees_the_layers():
    assert {"core", "data"}.isdisjoint(topics()) and {"rd", "prd", "foundation"} <= set(topics())
    assert module_name(PACKAGE / "core" / "__init__.py") == "refimpl.core"


def test_the_checker_flags_every_kind_of_offending_import():
    source = """
import numpy as np
from refimpl.core import layers
from .. import bench
from ..experiments import Claim
from . import validate

def late():
    import refimpl.rd.model
    from refimpl.crosscheck import torch_reference
"""
    imports = imported_modules(source, "refimpl.core.kernels")
    assert {"refimpl.bench", "refimpl.experiments", "refimpl.core.validate", "refimpl.rd.model"} <= imports
    assert violations("refimpl.core.kernels", imports, ["prd", "rd"]) == [
        ("refimpl.core.kernels", "refimpl.bench"), ("refimpl.core.kernels", "refimpl.crosscheck"),
        ("refimpl.core.kernels", "refimpl.crosscheck.torch_reference"),
        ("refimpl.core.kernels", "refimpl.experiments"), ("refimpl.core.kernels", "refimpl.experiments.Claim"),
        ("refimpl.core.kernels", "refimpl.rd.model")]
    topic_source = "from refimpl.rd import model\nfrom refimpl.core import backend\nfrom refimpl import bench\n"
    topic_imports = imported_modules(topic_source, "refimpl.prd.kernels")
    assert violations("refimpl.prd.kernels", topic_imports, ["prd", "rd"]) == [
        ("refimpl.prd.kernels", "refimpl.rd"), ("refimpl.prd.kernels", "refimpl.rd.model")]
