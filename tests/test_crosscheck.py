"""Every registered cross-check case in every installed framework's float64 autograd (rel ≤ 1e-10), and the
registry's rules. A framework that is not installed skips its half of the cases."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import refimpl
from refimpl.crosscheck import frameworks
from refimpl.crosscheck.command import check_case
from refimpl.crosscheck.registry import TOLERANCE, Case, cases, register, relative_error

CASES = cases()
FRAMEWORK_MARKS = {"torch": [pytest.mark.torch], "jax": []}
SEEDS = {"torch": 4, "jax": 2}  # JAX compiles each new shape (~0.2 s a case): fewer draws keep the suite short
RUNS = [pytest.param(name, framework, seed, id=f"{name}-{framework}-{seed}", marks=FRAMEWORK_MARKS[framework])
        for framework in frameworks.FRAMEWORKS for name in CASES for seed in range(SEEDS[framework])]

# what tests/**/test_*_torch.py cross-check: the registry must cover at least these
COVERED_BY_TORCH_TESTS = {
    "core.affine", "core.relu", "core.leaky_relu", "core.tanh", "core.sigmoid", "core.softmax", "core.squared_error",
    "core.softmax_cross_entropy", "core.binary_cross_entropy_with_logits", "core.least_squares_discriminator_loss",
    "core.least_squares_generator_loss", "core.gan_discriminator_loss", "core.non_saturating_generator_loss",
    "core.minimax_generator_loss", "core.wasserstein_critic_loss", "core.wasserstein_generator_loss",
    "core.two_layer_squared_error_gradient[numba]", "core.conv2d[numpy]", "core.conv2d[numba]",
    "core.max_pool[numpy]", "core.max_pool[numba]", "core.conv_net[numpy]", "core.conv_net[numba]",
    "tutorial.linear_loss", "tutorial.one_layer_net", "tutorial.two_layer_net", "prd.supervised_gradient[numpy]",
    "prd.adversarial_gradient[numpy]", "prd.augmented_gradient[numpy]", "prd.critic_objective[gradient_penalty]",
    "dynsys.linear", "dynsys.multiclass_hinge", "dynsys.margin_input_gradient", "dynsys.gradient_field_vjp",
    "dynsys.sphere_field_vjp",
    *(f"dynsys.{kind}[{activation}]" for kind in ("resnet", "contractive", "expansive", "volume_preserving",
                                                  "hamiltonian") for activation in ("leaky_relu", "tanh")),
    *(f"dynsys.mass_rk[{method},{activation}]" for method in ("euler", "heun", "rk4")
      for activation in ("leaky_relu", "tanh")),
}


@pytest.mark.parametrize(("name", "framework", "seed"), RUNS)
def test_case_matches_the_framework(name, framework, seed):
    pytest.importorskip(framework, exc_type=ImportError)
    row = check_case(CASES[name], framework, seed)
    assert row["passed"], row
    assert row["status"] == "pass" and row["max_relative_error"] <= TOLERANCE


def test_the_registry_covers_every_function_the_torch_tests_check():
    assert COVERED_BY_TORCH_TESTS <= set(CASES), sorted(COVERED_BY_TORCH_TESTS - set(CASES))
    assert {case.topic for case in CASES.values()} == {"core", "tutorial", "prd", "dynsys", "rd", "coevo", "seqgan"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_has_both_references_an_equation_and_float64_outputs(name):
    case = CASES[name]
    assert set(case.references) == set(frameworks.FRAMEWORKS) and case.equation
    inputs = case.draw(0)
    assert set(case.wrt) <= set(inputs) and (case.cotangent is None or case.cotangent in inputs)
    assert all(inputs[k].dtype == np.float64 for k in case.wrt)
    outputs = case.run_refimpl(inputs)
    assert set(outputs) == set(case.output_names())
    assert all(outputs[f"grad_{k}"].shape == inputs[k].shape and np.any(outputs[f"grad_{k}"]) for k in case.wrt)
    np.testing.assert_array_equal(case.draw(0)[case.wrt[0]], inputs[case.wrt[0]])  # the seed fixes the draw


def test_importing_the_library_and_registering_the_cases_imports_no_framework():
    code = ("import importlib, pkgutil, sys, refimpl; from refimpl.crosscheck.registry import cases; cases(); "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(refimpl.__path__, 'refimpl.') "
            "if not m.name.endswith(('_reference', '__main__'))]; "
            "loaded = [m for m in ('torch', 'jax') if m in sys.modules]; assert not loaded, loaded")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_a_duplicate_name_an_unknown_topic_and_a_cotangent_in_wrt_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        register(CASES["core.affine"])
    with pytest.raises(KeyError, match="no cross-check cases for topic 'nonexistent'"):
        cases("nonexistent")
    with pytest.raises(ValueError, match="cotangent"):
        register(Case("test.bad", "test", "y = x", lambda rng: {}, lambda p: {}, ("x",), cotangent="x"))
    assert "test.bad" not in cases()


def test_relative_error_is_relative_above_the_floor_and_absolute_below_it():
    reference = np.array([1e6, 1.0])
    assert relative_error(reference * (1 + 1e-9), reference) == pytest.approx(1e-9 / 1.01, rel=1e-6)
    assert relative_error(np.array([0.0, 1e-12]), np.array([0.0, 0.0])) == pytest.approx(1e-10)
    assert relative_error(np.zeros(3), np.zeros(2)) == np.inf


@pytest.mark.torch
def test_a_gradient_wrong_by_one_part_in_a_hundred_million_fails():
    pytest.importorskip("torch", exc_type=ImportError)
    affine = CASES["core.affine"]
    wrong = Case("test.affine_off", "test", affine.equation, affine.inputs,
                 lambda p: {**affine.compute(p), "grad_w": affine.compute(p)["grad_w"] * (1 + 1e-8)},
                 affine.wrt, affine.references, affine.cotangent)
    row = check_case(wrong, "torch", 0)
    assert not row["passed"] and row["worst_output"] == "grad_w" and row["max_relative_error"] > 1e-9


def _framework_imports(tree):
    """(line, at module level) of every import of torch or jax in a parsed module."""
    return [(line, top) for line, top, name in _imports(tree) if name.split(".")[0] in ("torch", "jax")]


def _imports(tree):
    """(line, at module level, module name) of every import statement of a parsed module."""
    inside_functions = {id(node) for function in ast.walk(tree)
                        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                        for node in ast.walk(function)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, id(node) not in inside_functions, name) for name in names]
    return found


def test_torch_and_jax_are_imported_only_by_crosscheck_files_and_only_when_a_reference_runs():
    """torch/jax appear only in files named crosscheck, at module level only in the ``*_reference``
    modules of refimpl.crosscheck, and those are imported only inside functions."""
    package = Path(refimpl.__file__).parent
    bad = []
    for path in sorted(package.rglob("*.py")):
        where = str(path.relative_to(package.parent))
        tree = ast.parse(path.read_text())
        reference_module = path.parent.name == "crosscheck" and path.stem.endswith("_reference")
        bad += [f"{where}:{line} imports torch/jax" + (" at module level" if top else "")
                for line, top in _framework_imports(tree)
                if "crosscheck" not in where or (top and not reference_module)]
        bad += [f"{where}:{line} imports {name} at module level" for line, top, name in _imports(tree)
                if top and name.startswith("refimpl.crosscheck.") and name.endswith("_reference")]
    assert not bad, "\n".join(bad)
    assert _framework_imports(ast.parse("import torch\ndef f():\n    import jax.numpy\n")) == [(1, True), (3, False)]
