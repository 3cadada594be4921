"""The report's plotting kit: one style, figures on their own Agg canvas, PNGs and HTML tables
written atomically and the same bytes on every run. The data figures (``report_plots``), the
job-resources figure (``job_resources``) and the shortcut figures (``report_shortcuts``) draw
with it.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fraudprep.base.atomic import atomic_write

T = TypeVar("T")
COLOURS = {"real": "#2b83ba", "fake": "#d7191c", "failed": "#bdbdbd"}
DPI = 100


# Fixed fonts and sizes; DejaVu Sans ships with matplotlib, so text renders the same anywhere.
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": DPI,
}


def styled(function: Callable[..., T]) -> Callable[..., T]:
    """Run a plotting function under :data:`STYLE` (rcParams are read as artists are made)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure of fixed size on its own Agg canvas: no pyplot, no display, no global state."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG atomically, with no software version or date in it."""
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=DPI, metadata={"Software": None})
    return path


def message(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def label_bars(ax, bars, values: Sequence[Any] | None = None, horizontal: bool = False) -> None:
    """Numbers at the ends of bars; none on empty bars."""
    if values is None:
        values = [round(bar.get_width() if horizontal else bar.get_height()) for bar in bars]
    labels = [str(value) if value else "" for value in values]
    ax.bar_label(bars, labels=labels, padding=2, fontsize=7)


def integer_axis(axis) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))


def write_html_table(
    path: str | Path,
    title: str,
    note: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    marked: Callable[[Sequence[str]], bool] = lambda row: False,
) -> Path:
    """A self-contained HTML page with one table (the report shows HTML inline); rows for
    which ``marked`` is true are highlighted. Every text is escaped."""
    cell = "<td>{}</td>".format
    lines = [
        ('<tr class="marked">' if marked(row) else "<tr>")
        + "".join(cell(html.escape(str(v))) for v in row)
        + "</tr>"
        for row in rows
    ]
    body = "\n".join(lines)
    # The highlight's style only where a row uses it: pages without marks stay as they were.
    marks = any(line.startswith('<tr class="marked">') for line in lines)
    mark_style = "tr.marked td { background: #fde0dd; }\n" if marks else ""
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; font-size: 13px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
{mark_style}</style></head><body>
<h3>{html.escape(title)}</h3>
<p>{html.escape(note)}</p>
<table>
<tr>{"".join(f"<th>{html.escape(h)}</th>" for h in header)}</tr>
{body}
</table>
</body></html>
"""
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return Path(path)
