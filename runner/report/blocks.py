"""The report as a list of blocks, written out as Markdown (here) or HTML (runner/report/html_page.py).

compare.md is written from the same blocks.
One structure, two renderers: report.md and report.html never say different things.
Inline text may hold `code` and **bold**, the only markup both renderers translate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    # long tables fold away in HTML (a <details> element) behind this line
    fold: str | None = None


@dataclass(frozen=True)
class Image:
    path: Path  # relative to the report's directory
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Screen:
    """Blocks that share the HTML page's first screen (the answer, then the figure that shows
    it, shrunk to fit what is left); Markdown has no screen and writes them in order."""

    blocks: list[Heading | Para | Bullets | Image]


Block = Heading | Para | Bullets | Code | Table | Image | Screen


def _cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def markdown(blocks: list[Block]) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Para):
            out += [block.text, ""]
        elif isinstance(block, Bullets):
            out += [*(f"- {item}" for item in block.items), ""]
        elif isinstance(block, Code):
            out += ["```", block.text, "```", ""]
        elif isinstance(block, Table):
            out += [markdown_table(block.frame), ""]
        elif isinstance(block, Screen):
            out += [markdown(list(block.blocks))]
        else:
            out += [f"![{block.alt}]({block.path.as_posix()})", ""]
            out += [f"*{block.caption}*", ""] if block.caption else []
    return "\n".join(out)


def markdown_page(title: str, fragments: list[str]) -> str:
    return "\n".join([f"# {title}", "", *fragments])
