"""The benchmark table shows every column of any row, including the speed-ups the reference rows lack."""

from refimpl.bench import add_speedups, bench_row, format_table

TIMING = {"best": 2.0, "median": 2.5, "first": 3.0}


def test_table_has_the_speedup_column_of_later_rows():
    rows = add_speedups([bench_row("case", "numpy reference", TIMING, ours=False, threads=1, dtype="float64"),
                         bench_row("case", "numba", dict(TIMING, best=0.5), ours=True, threads=1, dtype="float64")])
    header, _, reference, ours = format_table(rows).splitlines()
    assert header.split()[-1] == "speedup_vs_numpy_reference"
    assert ours.split()[-1] == "4" and reference.split()[-1] != "4"
