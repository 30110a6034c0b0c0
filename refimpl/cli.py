"""Command line: ``refimpl list | run NAME | reproduce | bench [NAME]``.

::

    refimpl list                              # experiments and benchmarks
    refimpl run tutorial --quick --seed 1     # one experiment -> figures/tutorial/
    refimpl reproduce --quick                 # every experiment, then figures/REPORT.md
    refimpl bench rd                          # a benchmark -> table + benchmarks/rd.json

The CLI knows only the registries in :mod:`refimpl.experiments` and :mod:`refimpl.bench`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from refimpl import __version__
from refimpl.bench import add_speedups, benches, format_table
from refimpl.experiments import atomic_write, experiments, run_experiment, versions, write_report

FULL_OUT, QUICK_OUT = Path("figures"), Path("figures/quick")
_USER_ERRORS = (ValueError, TypeError, KeyError, FileNotFoundError, FloatingPointError, RuntimeError)


def main(argv=None):
    """Entry point of the ``refimpl`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except _USER_ERRORS as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        notes = "".join(f"\n{note}" for note in getattr(error, "__notes__", []))
        print(f"refimpl: {type(error).__name__}: {message}{notes}", file=sys.stderr)
        return 1


def _parser():
    parser = argparse.ArgumentParser(prog="refimpl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"refimpl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser("list", help="list experiments and benchmarks")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="run one experiment")
    run.add_argument("name", help="experiment name (see `refimpl list`)")
    _add_run_options(run)
    run.set_defaults(handler=_run)

    reproduce = commands.add_parser("reproduce", help="run every experiment and write REPORT.md")
    reproduce.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    _add_run_options(reproduce)
    reproduce.set_defaults(handler=_reproduce)

    bench = commands.add_parser("bench", help="run benchmarks (all, or the one named)")
    bench.add_argument("name", nargs="?", help="benchmark name (see `refimpl list`)")
    bench.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    bench.add_argument("--out", default="benchmarks", type=Path, help="folder of the JSON results (default: %(default)s)")
    bench.set_defaults(handler=_bench)
    return parser


def _add_run_options(parser):
    parser.add_argument("--quick", action="store_true", help="quick settings (minutes on 2 cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run's generator (default: %(default)s)")
    parser.add_argument("--out", default=None, type=Path,
                        help=f"output folder (default: {FULL_OUT} for the full settings, {QUICK_OUT} with --quick, "
                             "so that quick runs never overwrite the committed full-setting results)")
    parser.add_argument("--mnist-dir", default=None, help="folder of full-MNIST IDX files "
                        "(default: $REFIMPL_MNIST_DIR, else the bundled 5k subset)")
    parser.add_argument("--no-progress", action="store_true", help="never show progress bars")


def _list(args):
    print("experiments:")
    for name, experiment in experiments().items():
        print(f"  {name:<16} {experiment.description}")
    print("benchmarks:")
    for name in benches():
        print(f"  {name}")
    return 0


def _run_out(args):
    """The output folder: --out, else figures/ for full runs and figures/quick/ for quick ones."""
    if args.out is not None:
        return args.out
    return QUICK_OUT if args.quick else FULL_OUT


def _run_one(name, args):
    start = time.perf_counter()
    document = run_experiment(name, quick=args.quick, seed=args.seed, out_dir=_run_out(args),
                              mnist_dir=args.mnist_dir, progress=False if args.no_progress else None)
    print(f"{name}: done in {time.perf_counter() - start:.1f} s -> {_run_out(args) / name}")
    return document


def _run(args):
    document = _run_one(args.name, args)
    print(json.dumps(document["results"], indent=2))
    return 0


def _reproduce(args):
    names = args.only or list(experiments())
    failures = []
    for name in names:
        try:
            _run_one(name, args)
        except _USER_ERRORS as error:
            failures.append(name)
            print(f"{name}: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
    report = write_report(_run_out(args), names)
    print(f"report: {report}")
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _bench(args):
    registry = benches()
    names = [args.name] if args.name else list(registry)
    for name in names:
        if name not in registry:
            raise KeyError(f"no benchmark named {name!r}; known: {', '.join(registry)}")
        print(f"== bench {name}{' (quick)' if args.quick else ''}")
        result = registry[name](args.quick)
        result["rows"] = add_speedups(result.get("rows", []))
        print(format_table(result["rows"]))
        for key, value in result.items():
            if key != "rows":
                print(f"{key}: {json.dumps(value)}")
        document = {"bench": name, "quick": args.quick, "versions": versions(), **result}
        path = atomic_write(args.out / f"{name}.json", json.dumps(document, indent=2) + "\n")
        print(f"-> {path}")
    return 0
