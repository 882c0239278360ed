"""report.html: the report's blocks as one self-contained page.

Figures are embedded as data: URIs and the style sheet is inline, so the file can be
mailed, archived or opened offline: it loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

from runner.report.blocks import Block, Bullets, Code, Heading, Image, Para, Screen, Table

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto;
       max-width: 1200px; padding: 1rem 2rem 4rem; }
h1 { font-size: 1.7rem; margin: 0.3rem 0; } h2 { border-bottom: 1px solid #ddd; margin-top: 2.2rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
pre { background: #f5f5f5; padding: 0.8rem; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
.first-screen { display: flex; flex-direction: column; height: calc(100vh - 6rem); min-height: 24rem; }
.first-screen h2 { margin-top: 0.5rem; } .first-screen ul { margin: 0 0 0.5rem; }
.first-screen figure { flex: 1 1 0; min-height: 10rem; margin: 0; }
.first-screen figure img { width: 100%; height: 100%; object-fit: contain; object-position: left top; border: 0; }
figcaption { color: #555; font-size: 0.9rem; max-width: 900px; }
.holds { color: #1a7f37; font-weight: 600; } .fails { color: #cf222e; font-weight: 600; }
.not-measured, .refused { color: #9a6700; font-weight: 600; }
details summary { cursor: pointer; color: #0969da; }
"""
VERDICT_CLASSES = {"holds", "fails", "not measured", "refused"}


def inline(text: str) -> str:
    """Escape, then translate the two inline marks the Markdown uses: `code` and **bold**."""
    escaped = html.escape(text)
    if "`" not in escaped and "*" not in escaped:
        return escaped
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _table(block: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in block.frame.columns)
    rows = []
    for row in block.frame.itertuples(index=False):
        cells = []
        for value in row:
            text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
            css = f' class="{text.replace(" ", "-")}"' if text in VERDICT_CLASSES else ""
            cells.append(f"<td{css}>{inline(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f"<details><summary>{inline(block.fold)}</summary>{table}</details>" if block.fold else table


def _image(block: Image, root: Path) -> str:
    data = base64.b64encode((root / block.path).read_bytes()).decode("ascii")
    caption = f"<figcaption>{inline(block.caption)}</figcaption>" if block.caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.alt)}">{caption}</figure>'


def fragment(blocks: list[Block], root: Path) -> str:
    """The blocks as HTML; a report renders its parts while its figures are still drawing."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            anchor = re.sub(r"[^a-z0-9]+", "-", block.text.lower()).strip("-")
            body.append(f'<h{block.level} id="{anchor}">{inline(block.text)}</h{block.level}>')
        elif isinstance(block, Para):
            body.append(f"<p>{inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Code):
            body.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
        elif isinstance(block, Table):
            body.append(_table(block))
        elif isinstance(block, Screen):
            body.append(f'<section class="first-screen">{fragment(list(block.blocks), root)}</section>')
        else:
            body.append(_image(block, root))
    return "\n".join(body)


def page(title: str, fragments: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        f"<h1>{inline(title)}</h1>\n" + "\n".join(fragments) + "\n</body></html>\n"
    )
