"""The refimpl documentation's own Sphinx extension.

- ``.. refimpl-report:: <experiment>`` renders the ``## <experiment>`` section of figures/REPORT.md (its
  paragraphs, its Markdown table of claims and measured numbers, optionally its figures) at build time, so
  the pages always show the numbers of the committed runs, never numbers copied into the docs;
- the API index ``api/index.rst`` is written at every build from the packages found under ``refimpl/``, so a
  new topic package gets its API pages without editing the docs;
- ``.. refimpl-kernels::`` tables the kernels registered in ``refimpl.core.backend`` and their twins;
- a bar in a docstring's prose (``|a − n|``) is an absolute value, not a reST substitution;
- the sphinx-gallery helpers: examples staged beside a gallery header that lives in docs/, the command line
  each example runs with (``--smoke``: its smallest setting), a page title for docstrings that have none.
"""

import ast
import filecmp
import importlib
import os
import pkgutil
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
REPORT = ROOT / "figures" / "REPORT.md"

LIBRARY = ("core", "data")
HARNESS_PACKAGES = ("crosscheck",)  # sub-packages that are no topic; every top-level module is harness too
HARNESS_MODULES = ("experiments", "bench", "cli")  # their order on the API index
TOPIC_ORDER = ("tutorial", "rd", "prd", "dynsys", "seqgan", "coevo")  # the README's order; others follow


# ---------------------------------------------------------------------------------------------- REPORT.md
def report_sections(text):
    """Split REPORT.md into ``{experiment: lines}`` at its ``## <experiment>`` headings."""
    sections, current = {}, None
    for line in text.splitlines():
        heading = re.match(r"^## (\S+)\s*$", line)
        if heading:
            current = sections.setdefault(heading.group(1), [])
        elif current is not None:
            current.append(line)
    return sections


def split_row(line):
    r"""Cells of a Markdown table row; ``\|`` is a literal bar inside a cell."""
    body = line.strip()[1:]  # without the leading bar
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def inline_nodes(text):
    """Docutils nodes for Markdown inline text: ```code```, ``**strong**``, ``[text](url)``; the rest is text."""
    result = []
    for piece in re.split(r"(`[^`]+`|\*\*[^*]+\*\*|\[[^\]]+\]\([^)\s]+\))", text):
        link = re.fullmatch(r"\[([^\]]+)\]\(([^)\s]+)\)", piece)
        if link:
            result.append(nodes.reference(link.group(1), link.group(1), refuri=link.group(2)))
        elif piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            result.append(nodes.literal(piece[1:-1], piece[1:-1]))
        elif piece.startswith("**") and piece.endswith("**") and len(piece) > 3:
            result.append(nodes.strong(piece[2:-2], piece[2:-2]))
        elif piece:
            result.append(nodes.Text(piece))
    return result


def table_node(rows):
    """A docutils table of Markdown rows (header first, the ``|---|`` rule already dropped)."""
    header, *body = rows
    table = nodes.table(classes=["refimpl-report"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]

    def row_node(cells):
        row = nodes.row()
        for cell in cells + [""] * (len(header) - len(cells)):
            entry = nodes.entry()
            entry += nodes.paragraph("", "", *inline_nodes(cell))
            row += entry
        return row

    group += nodes.thead("", row_node(header))
    group += nodes.tbody("", *[row_node(cells) for cells in body])
    return table


class ReportSection(SphinxDirective):
    """``.. refimpl-report:: <experiment>``: that experiment's section of figures/REPORT.md.

    Options: ``:figures:`` also shows the section's figures; ``:no-text:`` shows only the table.
    """

    required_arguments = 1
    option_spec = {"figures": directives.flag, "no-text": directives.flag}

    def run(self):
        self.env.note_dependency(str(REPORT))
        name = self.arguments[0]
        sections = report_sections(REPORT.read_text(encoding="utf-8"))
        if name not in sections:
            raise self.error(f"figures/REPORT.md has no section '## {name}'; it has: {', '.join(sections)}")
        return self.section_nodes(sections[name])

    def section_nodes(self, lines):
        result, table_rows, paragraph = [], [], []

        def flush_paragraph():
            if paragraph and "no-text" not in self.options:
                result.append(nodes.paragraph("", "", *inline_nodes(" ".join(paragraph))))
            paragraph.clear()

        def flush_table():
            if table_rows:
                result.append(table_node([row for row in table_rows if not re.fullmatch(r"[-:| ]+", "|".join(row))]))
            table_rows.clear()

        for line in lines + [""]:
            image = re.fullmatch(r"!\[([^\]]*)\]\(([^)]+)\)", line.strip())
            if line.strip().startswith("|"):
                flush_paragraph()
                table_rows.append(split_row(line))
            elif image:
                flush_paragraph()
                flush_table()
                if "figures" in self.options:
                    result.append(self.figure(image.group(2), image.group(1)))
            elif line.strip():
                flush_table()
                paragraph.append(line.strip())
            else:
                flush_paragraph()
                flush_table()
        return result

    def figure(self, relative_path, caption):
        path = (REPORT.parent / relative_path).resolve()
        if not path.is_file():
            raise self.error(f"figures/REPORT.md shows {relative_path}, which does not exist")
        self.env.note_dependency(str(path))
        uri = "/" + os.path.relpath(path, DOCS)  # a leading / is relative to docs/ for Sphinx
        figure = nodes.figure()
        figure += nodes.image(uri=uri, alt=caption)
        figure += nodes.caption(caption, caption)
        return figure


# ---------------------------------------------------------------------------------------------- API index
def package_names(packages=True):
    """Names of the sub-packages (or, with ``packages=False``, the top-level modules) of ``refimpl``, on disk."""
    found = pkgutil.iter_modules([str(ROOT / "refimpl")])
    return [module.name for module in found if module.ispkg == packages and not module.name.startswith("_")]


def ordered(names, preferred):
    """``names`` in the ``preferred`` order, the others after them alphabetically."""
    return sorted(names, key=lambda name: (preferred.index(name) if name in preferred else len(preferred), name))


def autosummary_block(names):
    entries = "\n".join(f"   refimpl.{name}" for name in names)
    return f".. autosummary::\n   :toctree: .\n   :recursive:\n\n{entries}\n"


def api_index():
    """The text of api/index.rst: library, topics and harness, each an autosummary table."""
    packages = package_names()
    topics = ordered([name for name in packages if name not in LIBRARY + HARNESS_PACKAGES], TOPIC_ORDER)
    harness = ordered(package_names(packages=False) + [name for name in HARNESS_PACKAGES if name in packages],
                      HARNESS_MODULES)
    return f"""API reference
=============

Every page below is generated from the numpydoc docstrings at build time; the equations are typeset with
MathJax. This index itself is written by ``docs/_ext/refimpl_docs.py`` from the packages found under
``refimpl/``, so a new topic package appears here by itself.

Library
-------

Shared building blocks with no topic knowledge (:mod:`refimpl.core`) and data (:mod:`refimpl.data`).

{autosummary_block(LIBRARY)}
Topics
------

One package per source document; each imports :mod:`refimpl.core` and :mod:`refimpl.data`, never another topic.

{autosummary_block(topics)}
Harness
-------

The registries of experiments and benchmarks, the command line, and the framework references used by benchmarks.

{autosummary_block(harness)}"""


def write_api_index(app, config):
    path = Path(app.srcdir) / "api" / "index.rst"
    path.parent.mkdir(exist_ok=True)
    text = api_index()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # unchanged: no rebuild
        path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------- kernels
class KernelTable(SphinxDirective):
    """``.. refimpl-kernels::``: every kernel registered in :mod:`refimpl.core.backend` and its twins.

    Importing each topic package registers its kernels, so the table follows the code.
    """

    def run(self):
        from refimpl.core import backend

        for name in package_names():
            importlib.import_module(f"refimpl.{name}")
        lines = [".. list-table::", "   :header-rows: 1", "", "   * - kernel", "     - twins", "     - reference in"]
        for name in backend.kernel_names():
            paths = {b: backend.kernel_path(name, b) for b in backend.backends_of(name)}
            reference = next(iter(paths.values())).rsplit(".", 1)[0]  # the NumPy twin, listed first
            lines += [f"   * - ``{name}``", "     - " + ", ".join(f":func:`{b} <{path}>`" for b, path in paths.items()),
                      f"     - :mod:`~{reference}`"]
        return self.parse_text_to_nodes("\n".join(lines))


# ---------------------------------------------------------------------------------------------- docstrings
INLINE_MARKUP = re.compile(r"(:[\w:]+:`[^`]*`|``.*?``|`[^`]*`)", re.DOTALL)  # roles, literals, references


def protected_lines(lines):
    """Flags of the lines that are reST markup, not prose: directives (``.. math::``) and literal blocks
    (after ``::``) with the indented lines that follow them, and grid tables (``+---+`` to a blank line)."""
    flags, block_indent, in_table = [], None, False
    for line in lines:
        indent = len(line) - len(line.lstrip())
        in_table = bool(line.strip()) and (in_table or re.match(r"\+[-=]", line.lstrip()) is not None)
        if in_table or (block_indent is not None and (not line.strip() or indent > block_indent)):
            flags.append(True)
            continue
        block_indent = indent if line.lstrip().startswith(".. ") or line.rstrip().endswith("::") else None
        flags.append(line.lstrip().startswith(".. "))
    return flags


def escape_bars(text):
    """``|x|`` in prose is an absolute value, never a reST substitution: escape the bars outside markup."""
    pieces = INLINE_MARKUP.split(text)
    return "".join(piece if index % 2 else re.sub(r"(?<!\\)\|", r"\\|", piece) for index, piece in enumerate(pieces))


def escape_docstring_bars(app, what, name, obj, options, lines):
    """autodoc hook: the docstrings write |a − n| for absolute values, which docutils would read as a
    substitution reference; escape those bars in prose, leave math, literals and directives alone."""
    flags = protected_lines(lines)
    result, prose = [], []
    for line, protected in zip(lines + [""], flags + [True]):
        if protected:
            result.extend(escape_bars("\n".join(prose)).split("\n") if prose else [])
            result.append(line)
            prose = []
        else:
            prose.append(line)
    lines[:] = result[:-1]


# ---------------------------------------------------------------------------------------------- gallery
def stage_examples(source, staging):
    """Mirror ``examples/*.py`` into ``staging`` beside the gallery header ``docs/gallery_header.rst``.

    sphinx-gallery needs a header file in the examples folder; staging keeps it in docs/ and leaves the
    scripts untouched. Unchanged files are not rewritten, so sphinx-gallery does not run them again.
    """
    staging.mkdir(parents=True, exist_ok=True)
    wanted = {path.name: path for path in sorted(source.glob("*.py"))}
    wanted["GALLERY_HEADER.rst"] = DOCS / "gallery_header.rst"
    for stale in staging.glob("*.*"):
        if stale.is_file() and stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        target = staging / name
        if not target.is_file() or not filecmp.cmp(path, target, shallow=False):
            shutil.copy2(path, target)
    return staging


def smoke_argv(gallery_conf, script_vars):
    """The command line of every example in the docs build: its smallest setting.

    sphinx-gallery runs a script in its own folder, so an example's figures go to
    ``docs/_gallery_src/figures/examples/`` (ignored by git) and its output names the path a reader gets.

    It also runs a script with ``__doc__ = ""`` (its docstring becomes the page's text); the
    examples build their ``argparse`` description from ``__doc__``, so the script gets its docstring back.
    """
    source = Path(script_vars["src_file"]).read_text(encoding="utf-8")
    script_vars["example_globals"]["__doc__"] = ast.get_docstring(ast.parse(source), clean=False)
    return ["--smoke"]


def title_gallery_page(app, docname, source):
    """Give a gallery page whose docstring has no reST title the docstring's first phrase as its title.

    sphinx-gallery writes the docstring as the page's first paragraph after the ``.. _sphx_glr_...:`` label;
    the examples' docstrings start with a sentence, not a title, so the page would have none.
    """
    if not docname.startswith("gallery/") or docname.endswith("/index"):
        return
    text = source[0]
    label = re.search(r"^\.\. _sphx_glr_\S+:\n\n", text, flags=re.MULTILINE)
    if label is None:
        raise ExtensionError(f"{docname}: no sphinx-gallery label found; has sphinx-gallery changed its output?")
    paragraph = text[label.end():].split("\n\n", 1)[0]
    if re.search(r"^([=\-~^\"'`#*+])\1{2,}\s*$", paragraph, flags=re.MULTILINE):
        return  # the docstring has a title of its own
    title = re.split(r"(?<=[^\s(]):\s|\.\s|\.$", " ".join(paragraph.split()), maxsplit=1)[0].rstrip(".,")
    source[0] = text[:label.end()] + f"{title}\n{'=' * len(title)}\n\n" + text[label.end():]


def setup(app):
    app.add_directive("refimpl-report", ReportSection)
    app.add_directive("refimpl-kernels", KernelTable)
    app.connect("autodoc-process-docstring", escape_docstring_bars, priority=600)  # after numpydoc (500)
    app.connect("config-inited", write_api_index)
    app.connect("source-read", title_gallery_page)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
