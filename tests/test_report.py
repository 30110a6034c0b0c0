"""REPORT.md: each kind of verdict rendered from the numbers, and every registered claim cites a source."""

import re
from dataclasses import dataclass

import pytest

from refimpl import experiments
from refimpl.experiments import Claim, register_experiment, run_experiment, write_report


@dataclass(frozen=True)
class _Settings:
    value: float = 0.5


CLAIMS = [
    (Claim("toy.value", "lies in [0, 1]", source="Paper A, eq. 1", expected=(0.0, 1.0)),
     "agrees: within [0, 1]"),
    (Claim("toy.value", "lies in [2, 3]", source="Paper A, eq. 2", expected=(2.0, 3.0)),
     "**differs**: outside [2, 3]"),
    (Claim("toy.value", "at most 1", source="Paper B, Theorem 1", at_most=1.0),
     "holds: ≤ 1 (measured/bound 0.5)"),
    (Claim("toy.value", "at most 0.25", source="Paper B, Theorem 2", at_most=0.25),
     "**violated**: not ≤ 0.25 (measured/bound 2)"),
    (Claim("toy.value", "at most the bound of this run", source="Paper B, Lemma 3", at_most="toy.bound"),
     "holds: ≤ toy.bound (measured/bound 0.25)"),
    (Claim("toy.value", "at most the small bound of this run", source="Paper B, Lemma 4", at_most="toy.small_bound"),
     "**violated**: not ≤ toy.small_bound (measured/bound 5)"),
    (Claim("toy.value", "at least 0.1", source="Paper C, Figure 2", at_least=0.1),
     "holds: ≥ 0.1 (measured/bound 5)"),
    (Claim("toy.value", "at least 1", source="Paper C, Figure 3", at_least=1.0),
     "**violated**: not ≥ 1 (measured/bound 0.5)"),
    (Claim("toy.value", "at most an absent bound", source="Paper D", at_most="toy.absent_bound"),
     "bound 'toy.absent_bound' not measured"),
    (Claim("toy.absent", "never recorded", source="Paper D", expected=(0.0, 1.0)), "not measured"),
    (Claim("toy.value", "a number, no verdict", source="Paper D"), "measured (no range or bound stated)"),
]


@pytest.fixture
def toy_report(tmp_path):
    @register_experiment("report-toy", quick=_Settings(), full=_Settings(), claims=[c for c, _ in CLAIMS])
    def report_toy(run, settings):
        """Records one value and two bounds."""
        run.record("toy.value", settings.value)
        run.record("toy.bound", 2.0)
        run.record("toy.small_bound", 0.1)

    try:
        run_experiment("report-toy", out_dir=tmp_path, progress=False)
        yield write_report(tmp_path, ["report-toy"]).read_text()
    finally:
        experiments._experiments.pop("report-toy")


@pytest.mark.parametrize("index", range(len(CLAIMS)))
def test_each_verdict_kind_is_rendered_from_the_numbers(toy_report, index):
    claim, expected_verdict = CLAIMS[index]
    measured = "—" if claim.key == "toy.absent" else "0.5"
    row = f"| `{claim.key}` | {claim.statement} | {claim.source} | {measured} | {expected_verdict} |"
    assert row in toy_report.splitlines()


def test_report_has_the_five_columns(toy_report):
    assert "| quantity | claim | source | measured | verdict |" in toy_report


# verdicts written into a statement as fixed text, which would survive any rerun
VERDICT_WORDS = re.compile(r"it does not|would agree|not supported|disagree",
                           re.IGNORECASE)
# "notes" alone are internal; published course or lecture notes (CS231n) are a source
INTERNAL_SOURCE = re.compile(r"(?<!course )(?<!lecture )\bnotes?\b|#\s*\d+|\bissues?\b|\btracker\b|\btickets?\b",
                             re.IGNORECASE)


@pytest.mark.parametrize("name", sorted(experiments.experiments()))
def test_every_claim_cites_a_public_source_and_states_no_verdict(name):
    problems = []
    for claim in experiments.get_experiment(name).claims:
        if not claim.source.strip():
            problems.append(f"{claim.key}: no source")
        elif INTERNAL_SOURCE.search(claim.source):
            problems.append(f"{claim.key}: source cites internal notes or a tracker: {claim.source!r}")
        if VERDICT_WORDS.search(claim.statement):
            problems.append(f"{claim.key}: statement has a fixed verdict word: {claim.statement!r}")
    assert not problems, f"experiment {name}:\n" + "\n".join(problems)


def test_the_claim_checks_can_fail():
    assert VERDICT_WORDS.search("≈ 1 would agree; it does not") and VERDICT_WORDS.search("NOT supported")
    assert INTERNAL_SOURCE.search("research notes, seed 000") and INTERNAL_SOURCE.search("issue 9")
    assert not INTERNAL_SOURCE.search("Du et al. 2019, Theorem 4.1") and not VERDICT_WORDS.search("at most 1e-7")
    assert not INTERNAL_SOURCE.search("CS231n course notes, Gradient checks")
