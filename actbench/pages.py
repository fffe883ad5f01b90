"""What each page of the HTML report shows, and where it lives: a run, a comparison, the
index of runs. Each view is plain data that a Jinja template (`templates/`) renders; a
notebook shows the same templates (`fragment`, `comparison_fragment`).

The numbers are the ones `show` and `compare` print: the cells come from `table.py`,
`printout.py` and `comparison_view.py`, never computed again here.
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from urllib.parse import quote

import pandas as pd

from actbench import comparison, comparison_view, gate, plot, printout, table, trend
from actbench.run_record import describe
from actbench.storage import RunFolder
from actbench.summary import summarize_folder
from actbench.task import metric_named

PICTURE_WORDS = {
    plot.SCATTER: "the metric against µs per step, with intervals",
    plot.CURVES: "learning curves",
    plot.TIMELINE: "step time over the run, round by round",
    plot.BREAKDOWN: "where a step's time goes, and what it holds",
    plot.HEALTH: "training health, layer by layer",
}
CLICK = (  # a point of the across-runs chart opens its run's page (customdata[6])
    "var gd = document.getElementById('{plot_id}');"
    "gd.on('plotly_click', function (e) {"
    " var link = e.points[0].customdata && e.points[0].customdata[6];"
    " if (link) { window.location.href = link; } });"
)
VERDICT_CLASS = {"slower": "worse", "worse": "worse", "faster": "better", "better": "better"}


@cache
def templates():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("actbench", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = lambda text: jinja2.utils.markupsafe.Markup(
        re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(str(text)))
    )
    return env


def render(template: str, **context) -> str:
    return templates().get_template(template).render(**context)


def run_href(name: str) -> str:
    return f"runs/{quote(name)}.html"


def comparison_href(a: str, b: str) -> str:
    return f"compare/{quote(a)}--{quote(b)}.html"


def cells(frame: pd.DataFrame, classes: pd.DataFrame | None = None) -> str:
    """A table's cells as HTML (escaped), optionally a class per cell (verdicts coloured)."""
    styler = frame.style.hide(axis="index").format(escape="html")
    if classes is not None:
        styler = styler.set_td_classes(classes)
    return styler.set_table_attributes('class="numbers"').to_html()


def pictures(folder: RunFolder, summary: pd.DataFrame) -> dict[str, bytes]:
    """The run's pictures as saved by the sweep; any it lacks, drawn from its records."""
    out = {n: (folder.path / n).read_bytes() for n in PICTURE_WORDS if (folder.path / n).is_file()}
    if plot.missing(folder, folder.trials()):
        for name, fig in plot.figures(folder, summary).items():
            if name not in out:
                out[name] = plot.png(fig)
    return {n: out[n] for n in PICTURE_WORDS if n in out}


def run_page(entry: trend.Entry, sources: dict[str, str]) -> dict:
    """What a run's page shows, as the template reads it (`sources`: picture -> src)."""
    run, summary = entry.run, entry.summary
    notes = [
        f"{r['activation']}: {r['timing']}"
        for r in summary.to_dict("records")
        if isinstance(r.get("timing"), str) and r["timing"]
    ]
    advice = printout.advice(run, summary)
    env = {k: v for k, v in run.environment.listed().items() if k != "argv"}
    return {
        "name": entry.name,
        "describe": describe(run),
        "header": printout.header(run),
        "command": run.environment.command,
        "setup": printout.setup(run),
        "notes": notes + ([advice] if advice else []),
        "table": cells(table.display(summary)),
        "legend": table.legend(summary),
        "sections": [
            {"title": t, "table": cells(f), "caption": c}
            for t, f, c in printout.section_frames(summary, run=run)
        ],
        "footer": printout.footer(run, summary),
        "pictures": [{"src": src, "alt": PICTURE_WORDS[n]} for n, src in sources.items()],
        "environment": cells(pd.DataFrame({"field": list(env), "value": list(env.values())})),
    }


def comparison_page(comp: comparison.ComparisonResult, verdict: gate.GateResult) -> dict:
    """What a comparison's page shows: `compare`'s table, its notes and legend, and the
    gate's line with this pair's failures and untested rows."""
    shown = comparison_view.display(comp)
    classes = pd.DataFrame("", index=shown.index, columns=shown.columns)
    for column in ("speed", comp.metric.what):
        classes[column] = [VERDICT_CLASS.get(str(v).split(" ")[0], "") for v in shown[column]]
    return {
        "a": comp.a,
        "b": comp.b,
        "notes": comparison_view.notes(comp),
        "table": cells(shown, classes),
        "legend": comparison_view.legend(comp),
        "gate": verdict.summary(),
        "failures": [f for f in verdict.failures if f" in {comp.b} than {comp.a} " in f],
    }


def fragment(folder: RunFolder) -> str:
    """A run as one piece of HTML with its pictures inline: what a notebook shows."""
    summary = summarize_folder(folder)
    if summary.empty:
        return f"<p><b>{html.escape(folder.name)}</b>: no finished trials yet</p>"
    sources = {
        n: "data:image/png;base64," + base64.b64encode(b).decode()
        for n, b in pictures(folder, summary).items()
    }
    entry = trend.Entry(folder.name, folder.info(), summary)
    return render("run_body.html.j2", r=run_page(entry, sources))


def comparison_fragment(comp: comparison.ComparisonResult, verdict: gate.GateResult) -> str:
    return render("comparison_body.html.j2", c=comparison_page(comp, verdict), links={})


def index_page(
    entries: list[trend.Entry],
    comparisons: list[comparison.ComparisonResult],
    verdict: gate.GateResult,
    skipped: list[str],
) -> dict:
    """The index: every run (in the chart's order), each metric's across-runs chart and its
    numbers as tables, the groups of comparable runs, the comparisons and the gate."""
    links = {e.name: run_href(e.name) for e in entries}
    frame = trend.points(entries)
    rows = frame.drop_duplicates("run")
    runs = pd.DataFrame([trend.run_row(e) for e in entries]).set_index("run")
    runs = runs.loc[rows["run"]].reset_index().assign(group=rows["group_no"].to_numpy())
    groups = rows.drop_duplicates("group")[["label", "group_no"]].itertuples(index=False)
    return {
        "runs": runs.to_dict("records"),
        "links": links,
        "groups": [{"number": n, "where_what": g} for g, n in groups],
        "charts": [_chart(name, part, links) for name, part in frame.groupby("metric", sort=False)],
        "comparisons": [
            {
                "href": comparison_href(c.a, c.b),
                "text": f"{c.b} against {c.a}",
                "verdicts": _verdicts(c),
            }
            for c in comparisons
        ],
        "gate": verdict.summary(),
        "failures": verdict.failures,
        "unchecked": verdict.unchecked,
        "skipped": skipped,
    }


def _chart(metric: str, frame: pd.DataFrame, links: dict[str, str]) -> dict:
    """One metric's across-runs chart, and its numbers as tables for a reader without
    JavaScript."""
    digits = metric_named(metric).digits
    div = trend.figure(frame, links).to_html(
        full_html=False, include_plotlyjs=False, div_id=f"trend-{metric}", post_script=CLICK
    )
    return {
        "metric": metric,
        "html": div,
        "cost": cells(trend.table(frame, "cost_pct", "+.1f")),
        "gain": cells(trend.table(frame, "gain", f"+.{digits}f")),
        "step": cells(trend.table(frame, "us_per_step_median", ".1f")),
    }


def _verdicts(comp: comparison.ComparisonResult) -> str:
    """'slower: relu; same: 3': a comparison's speed verdicts in a line."""
    by = comp.rows.groupby(comp.rows["verdict"].fillna("—").astype(str))["activation"]
    parts = []
    for verdict, names in by:
        named = verdict.split(" ")[0] in ("slower", "faster")
        parts.append(f"{verdict}: {', '.join(names) if named else len(names)}")
    return "; ".join(parts)
