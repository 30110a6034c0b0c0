"""The built documentation, opened in headless Chromium: the math is typeset, no raw TeX is left on the page.

The browser tests are skipped unless the docs are built (``bash .ci/docs``, which builds them and then
runs this file) and Debian's ``chromium`` is installed. Chromium's ``--dump-dom`` prints the page after its
scripts ran, within a virtual-time budget long enough for MathJax to typeset every formula. The docs'
own extension (``docs/_ext/refimpl_docs.py``) is tested where Sphinx is installed.
"""

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
HTML = DOCS / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# an API page whose docstrings hold display math with fractions (the two-layer gradient), and the index
PAGES = ["index.html", "api/refimpl.core.kernels.html"]

in_browser = pytest.mark.skipif(not (HTML / "index.html").is_file() or not Path(CHROMIUM).is_file(),
                                reason="needs the built docs (bash .ci/docs) and chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def extension():
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import refimpl_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return refimpl_docs


def rendered_dom(page, tmp_path):
    """The page's DOM after its scripts ran, as Chromium dumps it."""
    completed = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def visible_text(dom):
    """What a reader sees: the DOM without scripts, styles and tags; MathJax's hidden MathML copy left out."""
    dom = re.sub(r"<(script|style|mjx-assistive-mml)\b.*?</\1>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


@in_browser
@pytest.mark.parametrize("name", PAGES)
def test_pages_open_with_their_titles(name, tmp_path):
    dom = rendered_dom(HTML / name, tmp_path)
    assert "refimpl" in re.search(r"<title>(.*?)</title>", dom, flags=re.DOTALL).group(1)
    assert "<article" in dom, f"{name}: no article body; the theme did not render"


@in_browser
def test_api_page_math_is_typeset_by_mathjax(tmp_path):
    page = HTML / "api" / "refimpl.core.kernels.html"
    source = page.read_text(encoding="utf-8")
    raw_math = source.count('class="math')
    assert raw_math > 0 and "\\frac" in source, "the page holds no math to typeset; choose another page"
    dom = rendered_dom(page, tmp_path)
    typeset = len(re.findall(r"<mjx-container\b", dom))
    text = visible_text(dom)
    assert typeset >= raw_math, f"MathJax typeset {typeset} of {raw_math} formulas"
    assert "\\frac" not in text and "\\partial" not in text, "raw TeX left on the page"
    assert "<mjx-merror" not in dom, "MathJax could not parse a formula"


def test_report_sections_and_rows_keep_escaped_bars(extension):
    report = ("# title\n\n## rd-turing\n\nintro\n\n| quantity | claim | source | measured | verdict |\n|---|---|---|---|---|\n"
              "| `growth` | grows at ln\\|1 + dt λ\\|/dt | derived | 7.5e-07 | holds |\n\n## core\n\ntext\n")
    sections = extension.report_sections(report)
    assert list(sections) == ["rd-turing", "core"]
    row = next(line for line in sections["rd-turing"] if "growth" in line)
    assert extension.split_row(row) == ["`growth`", "grows at ln|1 + dt λ|/dt", "derived", "7.5e-07", "holds"]


def test_docstring_bars_are_escaped_in_prose_only(extension):
    lines = ["max |a − n| with :math:`|x|` and ``|y|``", "", ".. math:: |z|", "   |w|", "", "+---+", "| t |", "+---+"]
    extension.escape_docstring_bars(None, "function", "f", None, {}, lines)
    assert lines == ["max \\|a − n\\| with :math:`|x|` and ``|y|``", "", ".. math:: |z|", "   |w|", "",
                     "+---+", "| t |", "+---+"]
