"""The HTML report: a static site of runs, their comparisons and each activation across runs.

A view of records, like everything in the reports layer: it reads run folders (through
`summary.py`, `comparison.py` and `gate.py`, the numbers `show` and `compare` print) and
renders them with Jinja templates (`templates/`). The across-runs chart is plotly's, its
script written once into `assets/` so that every page opens from disk with no network;
everything else (tables, captions, the run's own pictures) reads without JavaScript.
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from actbench import comparison, comparison_view, gate, plot, printout, table, trend
from actbench.config import DEFAULT_TOLERANCE
from actbench.errors import ActbenchError
from actbench.storage import RunFolder
from actbench.summary import summarize_folder

MARKER = ".actbench-report"  # a site's own folder: the only kind a new report replaces
PICTURE_WORDS = {
    plot.SCATTER: "the metric against µs per step, with intervals",
    plot.CURVES: "learning curves",
    plot.TIMELINE: "step time over the run, round by round",
    plot.BREAKDOWN: "where a step's time goes, and what it holds",
    plot.HEALTH: "training health, layer by layer",
}


@dataclass
class Limits:
    """What the comparisons are judged by: `compare`'s tolerance, confidence and gate."""

    tolerance: float = DEFAULT_TOLERANCE
    confidence: float = 0.95
    slower_pct: float | None = None
    less_accurate_points: float | None = None


@dataclass
class Site:
    """Everything one report shows, computed once: entries, comparisons, the gate."""

    entries: list[trend.Entry]
    comparisons: list[comparison.ComparisonResult]
    verdict: gate.GateResult
    folders: dict[str, RunFolder]
    skipped: list[str] = field(default_factory=list)


def _templates():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("actbench", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = lambda text: jinja2.utils.markupsafe.Markup(
        re.sub(r"`([^`]*)`", r"<code>\1</code>", str(html.escape(text)))
    )
    return env


def _frame(frame: pd.DataFrame, classes: pd.DataFrame | None = None) -> str:
    """A table's cells as HTML (escaped), optionally a class per cell (verdicts coloured)."""
    styler = frame.style.hide(axis="index").format(escape="html")
    if classes is not None:
        styler = styler.set_td_classes(classes)
    return styler.set_table_attributes('class="numbers"').to_html()


def entries(folders: list[RunFolder]) -> tuple[list[trend.Entry], list[str]]:
    """Each readable run with finished trials; the others, each with why it is left out."""
    found, skipped = [], []
    for folder in folders:
        try:
            run, summary = folder.run_info(), summarize_folder(folder)
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
    """Read every run, compare the pairs the report shows, gate them as one Holm family."""
    found, skipped = entries(folders)
    if not found:
        raise ActbenchError("no run with finished trials to report" + _why(skipped))
    by_name = {f.name: f for f in folders}
    comps = [
        comparison.compare(by_name[a], by_name[b], limits.tolerance, limits.confidence)
        for a, b in pairs(found, against_first)
    ]
    verdict = gate.gate(comps, limits.slower_pct, limits.less_accurate_points)
    return Site(found, comps, verdict, by_name, skipped)


def _why(skipped: list[str]) -> str:
    return f" ({'; '.join(skipped)})" if skipped else ""


def pictures(folder: RunFolder, summary: pd.DataFrame) -> dict[str, bytes]:
    """The run's pictures as saved by the sweep; any it lacks, drawn from its records."""
    names = [n for n in PICTURE_WORDS if (folder.path / n).is_file()]
    out = {n: (folder.path / n).read_bytes() for n in names}
    if plot.missing(folder, folder.trials()):
        for name, fig in plot.figures(folder, summary).items():
            if name not in out:
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
                out[name] = buffer.getvalue()
    return {n: out[n] for n in PICTURE_WORDS if n in out}


def run_view(entry: trend.Entry, sources: dict[str, str]) -> dict:
    """What a run's page shows, as the template reads it (`sources`: picture -> src)."""
    run, summary = entry.run, entry.summary
    notes = [
        f"{r['activation']}: {r['timing']}"
        for r in summary.to_dict("records")
        if isinstance(r.get("timing"), str) and r["timing"]
    ]
    advice = printout.advice(run, summary)
    env = {k: v for k, v in (run.get("environment") or {}).items() if k != "argv"}
    command = (run.get("environment") or {}).get("argv")
    return {
        "name": entry.name,
        "describe": plot.describe(run),
        "header": printout.header(run),
        "command": " ".join(command) if isinstance(command, list) else command,
        "setup": printout.setup(run),
        "notes": notes + ([advice] if advice else []),
        "table": _frame(table.display(summary)),
        "legend": table.legend(summary),
        "sections": [
            {"title": t, "table": _frame(f), "caption": c}
            for t, f, c in printout.section_frames(summary)
        ],
        "footer": printout.footer(run, summary),
        "pictures": [{"src": src, "alt": PICTURE_WORDS[n]} for n, src in sources.items()],
        "environment": _frame(pd.DataFrame({"field": list(env), "value": list(env.values())})),
    }


def comparison_view_of(comp: comparison.ComparisonResult, verdict: gate.GateResult) -> dict:
    """What a comparison's page shows: `compare`'s table, its notes and legend, the gate."""
    cells = comparison_view.display(comp)
    classes = pd.DataFrame("", index=cells.index, columns=cells.columns)
    for column in ("speed", comp.metric.what):
        classes[column] = [_verdict_class(v) for v in cells[column]]
    return {
        "a": comp.a,
        "b": comp.b,
        "notes": comparison_view.notes(comp),
        "table": _frame(cells, classes),
        "legend": comparison_view.legend(comp),
        "gate": verdict.summary(),
        "failures": [f for f in verdict.failures if comp.b in f],
    }


def _verdict_class(text: str) -> str:
    word = str(text).split(" ")[0]
    return {"slower": "worse", "worse": "worse", "faster": "better", "better": "better"}.get(
        word, ""
    )


def fragment(folder: RunFolder) -> str:
    """A run as one piece of HTML with its pictures inline: what a notebook shows."""
    found, _ = entries([folder])
    if not found:
        return f"<p><b>{html.escape(folder.name)}</b>: no finished trials yet</p>"
    sources = {
        n: "data:image/png;base64," + base64.b64encode(b).decode()
        for n, b in pictures(folder, found[0].summary).items()
    }
    return _templates().get_template("run_body.html.j2").render(r=run_view(found[0], sources))


def comparison_fragment(comp: comparison.ComparisonResult, verdict: gate.GateResult) -> str:
    return (
        _templates()
        .get_template("comparison_body.html.j2")
        .render(c=comparison_view_of(comp, verdict), links={})
    )


def _page(name: str) -> str:
    return f"runs/{quote(name)}.html"


def _comparison_page(a: str, b: str) -> str:
    return f"compare/{quote(a)}--{quote(b)}.html"


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

    try:
        prepared(output)
        (output / "assets" / "plotly.min.js").write_text(plotly.offline.get_plotlyjs())
        templates = _templates()
        (output / "assets" / "style.css").write_text(templates.loader.get_source(
            templates, "style.css")[0])  # fmt: skip
        common = {
            "version": __version__,
            "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "source": source,
        }
        links = {e.name: _page(e.name) for e in site.entries}
        for entry in site.entries:
            _write_run(output, templates, entry, site, common)
        for comp in site.comparisons:
            view = comparison_view_of(comp, site.verdict)
            page = templates.get_template("comparison.html.j2").render(
                c=view, links={k: "../" + v for k, v in links.items()}, root="../", **common
            )
            (output / _comparison_page(comp.a, comp.b)).parent.mkdir(exist_ok=True)
            (output / _comparison_page(comp.a, comp.b)).write_text(page, encoding="utf-8")
        index = templates.get_template("index.html.j2").render(
            index=_index_view(site, links), root="", **common
        )
        (output / "index.html").write_text(index, encoding="utf-8")
    except OSError as exc:
        raise ActbenchError(
            f"cannot write the report into {output}: {exc.strerror or exc}"
        ) from None
    return output / "index.html"


def _write_run(output: Path, templates, entry: trend.Entry, site: Site, common: dict) -> None:
    folder = output / "runs" / entry.name
    folder.mkdir(parents=True)
    sources = {}
    for name, data in pictures(site.folders[entry.name], entry.summary).items():
        (folder / name).write_bytes(data)
        sources[name] = f"{quote(entry.name)}/{quote(name)}"
    compared = [
        {"href": "../" + _comparison_page(c.a, c.b), "text": f"{c.b} against {c.a}"}
        for c in site.comparisons
        if entry.name in (c.a, c.b)
    ]
    page = templates.get_template("run.html.j2").render(
        r=run_view(entry, sources), compared=compared, root="../", **common
    )
    (output / _page(entry.name)).write_text(page, encoding="utf-8")


CLICK = (  # a point opens its run's page (customdata[6] is the link)
    "var gd = document.getElementById('{plot_id}');"
    "gd.on('plotly_click', function (e) {"
    " var link = e.points[0].customdata && e.points[0].customdata[6];"
    " if (link) { window.location.href = link; } });"
)


def _index_view(site: Site, links: dict[str, str]) -> dict:
    """The index: every run (in the chart's order), each metric's across-runs chart and its
    numbers as tables, the groups of comparable runs, the comparisons and the gate."""
    from actbench.task import metric_named

    frame = trend.points(site.entries)
    rows = frame.drop_duplicates("run")
    runs = pd.DataFrame([trend.run_row(e) for e in site.entries]).set_index("run")
    runs = runs.loc[rows["run"]].reset_index().assign(group=rows["group_no"].to_numpy())
    charts = []
    for name, part in frame.groupby("metric", sort=False):
        digits = metric_named(name).digits
        div = trend.figure(part, links).to_html(
            full_html=False, include_plotlyjs=False, div_id=f"trend-{name}", post_script=CLICK
        )
        charts.append(
            {
                "metric": name,
                "html": div,
                "cost": _frame(trend.table(part, "cost_pct", "+.1f")),
                "gain": _frame(trend.table(part, "gain", f"+.{digits}f")),
            }
        )
    return {
        "runs": runs.to_dict("records"),
        "links": links,
        "groups": [
            {"number": n, "where_what": g}
            for g, n in rows.drop_duplicates("group")[["group", "group_no"]].itertuples(index=False)
        ],
        "charts": charts,
        "comparisons": [
            {
                "href": _comparison_page(c.a, c.b),
                "text": f"{c.b} against {c.a}",
                "verdicts": _verdicts(c),
            }
            for c in site.comparisons
        ],
        "gate": site.verdict.summary(),
        "failures": site.verdict.failures,
        "unchecked": site.verdict.unchecked,
        "skipped": site.skipped,
    }


def _verdicts(comp: comparison.ComparisonResult) -> str:
    """'slower: relu; same: 3': a comparison's speed verdicts in a line."""
    by = comp.rows.groupby(comp.rows["verdict"].fillna("—").astype(str))["activation"]
    parts = []
    for verdict, names in by:
        named = verdict.split(" ")[0] in ("slower", "faster")
        parts.append(f"{verdict}: {', '.join(names) if named else len(names)}")
    return "; ".join(parts)
