"""The HTML report as a folder: which runs and comparisons it holds, and writing them.

A view of records, like everything in the reports layer: it reads run folders (through
`summary.py`, `comparison.py` and `gate.py`, the numbers `show` and `compare` print), and
`pages.py` says what each page shows. The across-runs chart's script (plotly's) is written
once into `assets/`, so that every page opens from disk with no server and no network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from actbench import comparison, gate, pages, trend
from actbench.config import DEFAULT_TOLERANCE
from actbench.errors import ActbenchError
from actbench.storage import RunFolder
from actbench.summary import summarize_folder

MARKER = ".actbench-report"  # a site's own folder: the only kind a new report replaces


@dataclass
class Limits:
    """What the comparisons are judged by: `compare`'s tolerance, confidence and gate."""

    tolerance: float = DEFAULT_TOLERANCE
    confidence: float = 0.95
    slower_pct: float | None = None
    less_accurate_points: float | None = None


@dataclass
class Site:
    """Everything one report shows, read and computed once."""

    entries: list[trend.Entry]
    comparisons: list[comparison.ComparisonResult]
    verdict: gate.GateResult
    folders: dict[str, RunFolder]
    skipped: list[str] = field(default_factory=list)


def entries(folders: list[RunFolder]) -> tuple[list[trend.Entry], list[str]]:
    """Each readable run with finished trials; the others, each with why it is left out."""
    found, skipped = [], []
    for folder in folders:
        try:
            run, summary = folder.info(), summarize_folder(folder)
        except ActbenchError as exc:
            skipped.append(f"{folder.name}: {exc}")
            continue
        if summary.empty:
            skipped.append(f"{folder.name}: no finished trials")
            continue
        found.append(trend.Entry(folder.name, run, summary))
    return found, skipped


def pairs(found: list[trend.Entry], against_first: bool) -> list[tuple[str, str]]:
    """Which comparisons a report holds: each run against the first (as `compare A B C`),
    or in a folder each run against the one before it in its group of comparable runs."""
    if against_first:
        return [(found[0].name, e.name) for e in found[1:]]
    frame = trend.points(found).drop_duplicates("run")
    return [
        (a, b)
        for _, runs in frame.groupby("group", sort=False)
        for a, b in zip(runs["run"], runs["run"][1:], strict=False)
    ]


def gather(folders: list[RunFolder], against_first: bool, limits: Limits) -> Site:
    """Read every run, compare the pairs the report shows, gate them as one Holm family.
    A pair `compare` refuses (runs scored by different metrics) is left out, saying why."""
    names = [f.name for f in folders]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ActbenchError(f"two runs named {', '.join(twice)}: a report names pages by run")
    found, skipped = entries(folders)
    if not found:
        raise ActbenchError("no run with finished trials to report" + _why(skipped))
    by_name, comps = {f.name: f for f in folders}, []
    for a, b in pairs(found, against_first):
        try:
            comps.append(
                comparison.compare(by_name[a], by_name[b], limits.tolerance, limits.confidence)
            )
        except ActbenchError as exc:
            skipped.append(f"{b} against {a}: {exc}")
    verdict = gate.gate(comps, limits.slower_pct, limits.less_accurate_points)
    return Site(found, comps, verdict, by_name, skipped)


def report(
    runs: list[RunFolder], out: Path, output: Path, limits: Limits
) -> tuple[Path, list[str]]:
    """The whole report, for the CLI and the API alike: `runs` (each against the first) or,
    with none, every run under `out`; its index.html and what it left out."""
    folders = runs or RunFolder.list(out)
    if not folders:
        raise ActbenchError(f"no runs under {out} to report")
    built = gather(folders, bool(runs), limits)
    source = ", ".join(f.name for f in runs) if runs else f"every run under {out}"
    return write(built, output, source), built.skipped


def _why(skipped: list[str]) -> str:
    return f" ({'; '.join(skipped)})" if skipped else ""


def prepared(output: Path) -> None:
    """An empty folder for the site: a new one, or an earlier report's (replaced whole);
    any other folder with something in it is refused, never emptied."""
    if output.exists() and not output.is_dir():
        raise ActbenchError(f"cannot write the report into {output}: it is a file")
    if output.is_dir() and any(output.iterdir()):
        if not (output / MARKER).is_file():
            raise ActbenchError(
                f"{output} holds files that are not an actbench report; choose another --output"
            )
        shutil.rmtree(output)
    (output / "assets").mkdir(parents=True)
    (output / MARKER).write_text("written by actbench report; replaced by the next one\n")


def write(site: Site, output: Path, source: str) -> Path:
    """Write the site into `output` (see `prepared`): index.html, a page per run and per
    comparison, the pictures and the assets; returns the index's path."""
    import plotly.offline

    from actbench import __version__

    common = {
        "version": __version__,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "source": source,
    }
    try:
        prepared(output)
        (output / "assets" / "plotly.min.js").write_text(plotly.offline.get_plotlyjs())
        style = pages.templates().loader.get_source(pages.templates(), "style.css")[0]
        (output / "assets" / "style.css").write_text(style)
        for entry in site.entries:
            _write_run(output, entry, site, common)
        links = {e.name: "../" + pages.run_href(e.name) for e in site.entries}
        (output / "compare").mkdir()
        for comp in site.comparisons:
            view = pages.comparison_page(comp, site.verdict)
            page = pages.render("comparison.html.j2", c=view, links=links, root="../", **common)
            (output / pages.comparison_href(comp.a, comp.b)).write_text(page, encoding="utf-8")
        view = pages.index_page(site.entries, site.comparisons, site.verdict, site.skipped)
        page = pages.render("index.html.j2", index=view, root="", **common)
        (output / "index.html").write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ActbenchError(f"cannot write into {output}: {exc.strerror or exc}") from None
    return output / "index.html"


def _write_run(output: Path, entry: trend.Entry, site: Site, common: dict) -> None:
    """A run's page, and its pictures beside it in `runs/<name>/`."""
    folder = output / "runs" / entry.name
    folder.mkdir(parents=True)
    sources = {}
    for name, data in pages.pictures(site.folders[entry.name], entry.summary).items():
        (folder / name).write_bytes(data)
        sources[name] = f"{quote(entry.name)}/{quote(name)}"
    compared = [
        {"href": "../" + pages.comparison_href(c.a, c.b), "text": f"{c.b} against {c.a}"}
        for c in site.comparisons
        if entry.name in (c.a, c.b)
    ]
    view = pages.run_page(entry, sources)
    page = pages.render("run.html.j2", r=view, compared=compared, root="../", **common)
    (output / pages.run_href(entry.name)).write_text(page, encoding="utf-8")
