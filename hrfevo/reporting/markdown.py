"""Small Markdown helpers shared by the run report (`reporter`) and the model card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table. A cell's `|` is escaped and its line breaks become
    spaces, so that no cell can split the table."""

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(_cell(c) for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])


def _cell(value: Any) -> str:
    return " ".join(str(value).splitlines()).replace("|", "\\|")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 genome', '3 genomes' ('1 family', '2 families' with `many`)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def code_block(text: str, info: str = "") -> str:
    """`text` in a fenced block whose fence no run of backticks inside `text` can close."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def figure(caption: str, path: str) -> str:
    """An embedded image, or a link where Markdown cannot show the file (a PDF)."""
    if path.endswith(".pdf"):
        return f"[{caption} (PDF)]({path})"
    return f"![{caption}]({path})"
