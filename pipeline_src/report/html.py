"""results/report/index.html: one self-contained page (PNG figures embedded, no scripts,
no network) with the tables, the figures, the diagnostics and the provenance."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

from pipeline_src.report.tables import Table

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 80em;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } tbody tr:nth-child(even) { background: #fafafa; }
td.best { font-weight: bold; }
.caption, .note { font-size: .85em; color: #444; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #444; max-width: 60em; }
nav a { margin-right: 1em; }
figure.headline { display: inline-block; margin: 0 1.5em 1em 0; vertical-align: top; max-width: 22em; }
figure.headline img { width: 16em; image-rendering: pixelated; }
"""


@dataclass
class Figure:
    name: str  # file stem under figures/
    title: str
    caption: str
    png: bytes  # embedded in the page
    svg_href: str  # relative link, for a paper


def _table(table: Table, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = []
    for r, cells in enumerate(table.rows):
        tds = "".join(f'<td class="best">{html.escape(c)}</td>' if (r, j) in table.bold else f"<td>{html.escape(c)}</td>"
                      for j, c in enumerate(cells))
        body.append(f"<tr>{tds}</tr>")
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in table.notes)
    return (f'<p class="caption">{html.escape(table.caption)}</p><div class="scroll"><table id="{table_id}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{notes}")


def _figure(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure id="fig-{html.escape(fig.name)}"><h3>{html.escape(fig.title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(fig.title)}">'
            f'<figcaption>{html.escape(fig.caption)} '
            f'<a href="{html.escape(fig.svg_href)}">SVG</a></figcaption></figure>')


@dataclass
class Headline:
    """One dataset's line of the summary at the top of the page, with a picture of its best variant."""
    text: str
    png: bytes


def _headline(h: Headline) -> str:
    data = base64.b64encode(h.png).decode("ascii")
    return (f'<figure class="headline"><img src="data:image/png;base64,{data}" alt="{html.escape(h.text)}">'
            f"<figcaption>{html.escape(h.text)}</figcaption></figure>")


def render(title: str, tables: list[Table], figures: list[Figure], diagnostics: Table,
           provenance: dict[str, str], findings: list[Table] = (), headlines: list[Headline] = ()) -> str:
    """The whole page as a string (UTF-8)."""
    prov = Table("Where these numbers come from.", ["item", "value"], [[k, v] for k, v in provenance.items()])
    sections = [
        ("summary", "Summary", "".join(_headline(h) for h in headlines)),
        ("results", "Results", "".join(_table(t, f"table-{i}") for i, t in enumerate(tables))),
        ("findings", "Findings beside the literature",
         "".join(_table(t, f"table-finding-{i}") for i, t in enumerate(findings))),
        ("figures", "Figures", "".join(_figure(f) for f in figures)),
        ("diagnostics", "Diagnostics per run", _table(diagnostics, "table-diagnostics")),
        ("provenance", "Provenance", _table(prov, "table-provenance")),
    ]
    sections = [s for s in sections if s[2]]  # no findings: no empty section
    nav = "".join(f'<a href="#{sid}">{html.escape(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{html.escape(name)}</h2>{content}</section>'
                   for sid, name, content in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
            f"<body><h1>{html.escape(title)}</h1><nav>{nav}</nav>{body}</body></html>\n")
