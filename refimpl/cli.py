"""Command line: ``refimpl list | run NAME | reproduce | bench [NAME]``.

::

    refimpl list                              # experiments and benchmarks
    refimpl run tutorial --quick --seed 1     # one experiment -> figures/tutorial/
    refimpl reproduce --quick                 # every experiment, then figures/REPORT.md
    refimpl bench rd                          # a benchmark -> table + benchmarks/rd.json
    refimpl bench rd --quick                  # small sizes -> benchmarks/quick/rd.json

The CLI knows only the registries in :mod:`refimpl.experiments` and :mod:`refimpl.bench`. Everything a
command is given (names, seed, MNIST folder, output folder) is checked before anything runs; a bad one
ends the command with one line ``refimpl: error: ...`` and exit status 1, Ctrl-C with one line and 130
(SIGTERM 143, SIGHUP 129), a closed pipe (``| head``) quietly.
"""

import argparse
import inspect
import json
import os
import signal
import sys
import time
from pathlib import Path

from refimpl import __version__
from refimpl.bench import add_speedups, benches, format_table
from refimpl.core.validate import check_int
from refimpl.crosscheck import command as crosscheck_command, vectors
from refimpl.experiments import (REPORT_FILE, StopSignals, atomic_write, check_mnist_dir, claim_rows, experiments,
                                 get_experiment, output_folder, override_settings, run_experiment, versions,
                                 write_report)

FULL_OUT, QUICK_OUT = Path("figures"), Path("figures/quick")
BENCH_OUT, BENCH_QUICK_OUT = Path("benchmarks"), Path("benchmarks/quick")
BENCH_BACKENDS = ("cpu", "cuda")
_USER_ERRORS = (ValueError, TypeError, KeyError, OSError, FloatingPointError, RuntimeError)


def main(argv=None):
    """Entry point of the ``refimpl`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except KeyboardInterrupt as interrupt:  # Ctrl-C, and SIGTERM/SIGHUP during a run
        print("; ".join(["refimpl: interrupted", *getattr(interrupt, "__notes__", [])]), file=sys.stderr)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a shell command does
        _silence_stdout()
        return 128 + getattr(signal, "SIGPIPE", 13)
    except _USER_ERRORS as error:
        print(f"refimpl: error: {_describe(error)}", file=sys.stderr)
        return 1


def _describe(error):
    """The message of ``error`` and its notes on one line (a KeyError's message without its quotes)."""
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    return "; ".join([str(message), *getattr(error, "__notes__", [])])


def _silence_stdout():
    """Point stdout at /dev/null, so that the interpreter's final flush into the closed pipe stays quiet."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass


def _parser():
    parser = argparse.ArgumentParser(prog="refimpl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"refimpl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser("list", help="list experiments and benchmarks")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="run one experiment")
    run.add_argument("name", help="experiment name (see `refimpl list`)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                     help="override one field of the settings, e.g. --set scheduler=tcp://HOST:8786 for coevo "
                          "on a running Dask cluster (repeatable)")
    _add_run_options(run)
    run.set_defaults(handler=_run)

    reproduce = commands.add_parser("reproduce", help="run every experiment and write REPORT.md")
    reproduce.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    _add_run_options(reproduce)
    reproduce.set_defaults(handler=_reproduce)

    bench = commands.add_parser("bench", help="run benchmarks (all, or the one named)")
    bench.add_argument("name", nargs="?", help="benchmark name (see `refimpl list`)")
    bench.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    bench.add_argument("--out", default=None, type=_output_folder,
                       help=f"folder of the JSON results (default: {BENCH_OUT}, {BENCH_QUICK_OUT} with --quick, "
                            "so that smoke runs never overwrite the committed full-size results)")
    bench.add_argument("--backend", choices=BENCH_BACKENDS, default="cpu",
                       help="cpu (default) or cuda: the GPU kernels, for benchmarks that have them; "
                            "results go to NAME-cuda.json")
    bench.set_defaults(handler=_bench)

    crosscheck_command.add_parser(commands)
    vectors.add_parser(commands)
    return parser


def _add_run_options(parser):
    parser.add_argument("--quick", action="store_true", help="quick settings (minutes on 2 cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run's generator (default: %(default)s)")
    parser.add_argument("--out", default=None, type=_output_folder,
                        help=f"output folder (default: {FULL_OUT} for the full settings, {QUICK_OUT} with --quick, "
                             "so that quick runs never overwrite the committed full-setting results)")
    parser.add_argument("--mnist-dir", default=None, help="folder of full-MNIST IDX files "
                        "(default: $REFIMPL_MNIST_DIR, else the bundled 5k subset)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars, one line per stage (as without a terminal)")


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


def _run_output(args, names, files=()):
    """Check the names, seed and MNIST folder, then the output folder (a context), before anything runs."""
    unknown = [name for name in names if name not in experiments()]
    if unknown:
        get_experiment(unknown[0])  # raises, naming the known ones
    check_int("--seed", args.seed, minimum=0)
    check_mnist_dir(args.mnist_dir)
    return output_folder(_run_out(args), entries=names, files=files)


def _run_one(name, args):
    start = time.perf_counter()
    print(f"{name}: running ({'quick' if args.quick else 'full'} settings, seed {args.seed})", file=sys.stderr,
          flush=True)
    settings = None
    if getattr(args, "set", None):
        experiment = get_experiment(name)
        settings = override_settings(experiment.quick if args.quick else experiment.full, args.set)
    document = run_experiment(name, quick=args.quick, seed=args.seed, out_dir=_run_out(args),
                              mnist_dir=args.mnist_dir, progress=False if args.no_progress else None,
                              settings=settings)
    print(f"{name}: done in {time.perf_counter() - start:.1f} s -> {_run_out(args) / name}")
    return document


def _run(args):
    """Run one experiment and print its claims table: key, measured value, verdict."""
    with _run_output(args, [args.name]):
        document = _run_one(args.name, args)
    rows = claim_rows(get_experiment(args.name), document["results"])
    width = max((len(claim.key) for claim, _, _ in rows), default=0)
    for claim, measured, words in rows:
        print(f"  {claim.key:<{width}}  {measured:>12}  {words}")
    print(f"results: {_run_out(args) / args.name / 'results.json'}")
    return 0


def _reproduce(args):
    names = args.only or list(experiments())
    with _run_output(args, names, files=[REPORT_FILE]) as out:
        failures = [name for name in names if not _run_or_report_failure(name, args)]
        if len(failures) == len(names):
            raise RuntimeError(f"every experiment failed; {out / REPORT_FILE} was not rewritten")
        print(f"report: {write_report(out, names)}")
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _run_or_report_failure(name, args):
    """Run ``name``; on a user error print one line and return False, so that the others still run."""
    try:
        _run_one(name, args)
    except BrokenPipeError:
        raise
    except _USER_ERRORS as error:
        print(f"{name}: FAILED: {type(error).__name__}: {_describe(error)}", file=sys.stderr)
        return False
    return True


def _output_folder(text):
    """argparse type of --out: a path, not empty (an empty one would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder; got an empty path")
    return Path(text)


def _bench(args):
    registry = benches()
    names = [args.name] if args.name else list(registry)
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise KeyError(f"no benchmark named {unknown[0]!r}; known: {', '.join(registry)}")
    if args.backend != "cpu":
        names = [name for name in names if _takes_backend(registry[name])] if not args.name else names
        if args.name and not _takes_backend(registry[args.name]):
            raise ValueError(f"benchmark {args.name!r} has no backend option; only the cpu backend is measured")
    suffix = "" if args.backend == "cpu" else f"-{args.backend}"
    out = args.out if args.out is not None else (BENCH_QUICK_OUT if args.quick else BENCH_OUT)
    with output_folder(out, files=[f"{name}{suffix}.json" for name in names]):
        for name in names:
            _bench_one(name, registry[name], out, args.quick, args.backend)
    return 0


def _takes_backend(bench):
    return "backend" in inspect.signature(bench).parameters


def _bench_one(name, bench, out, quick, backend="cpu"):
    """Run one benchmark, print its table and notes, and write ``out/NAME.json`` (``NAME-cuda.json``)."""
    print(f"== bench {name}{' (quick)' if quick else ''}{'' if backend == 'cpu' else f' ({backend})'}", flush=True)
    filename = f"{name}.json" if backend == "cpu" else f"{name}-{backend}.json"
    try:
        with StopSignals():  # SIGTERM/SIGHUP end it as Ctrl-C does, with one line
            result = bench(quick, backend=backend) if backend != "cpu" else bench(quick)
    except BaseException as error:
        error.add_note(f"nothing was written to {out / filename}")
        raise
    result["rows"] = add_speedups(result.get("rows", []))
    print(format_table(result["rows"]))
    for key, value in result.items():
        if key != "rows":
            print(f"{key}: {json.dumps(value)}")
    document = {"bench": name, "quick": quick, "backend": backend, "versions": versions(), **result}
    path = atomic_write(out / filename, json.dumps(document, indent=2) + "\n")
    print(f"-> {path}")
