"""What the docs tests read from Markdown: pages, headings (as GitHub slugs them), links and
code, with fenced code blocks kept apart from prose."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def pages() -> list[Path]:
    """Every page the docs tests cover: README.md, docs/*.md and infra/README.md."""
    return [README, *sorted(DOCS.glob("*.md")), ROOT / "infra" / "README.md"]


def manual() -> list[Path]:
    """README.md and docs/*.md, the pages that name settings and paths."""
    return [README, *sorted(DOCS.glob("*.md"))]


_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def split_fences(text: str) -> tuple[list[str], list[str]]:
    """The page's lines outside fenced code blocks, and those inside them."""
    prose, code = [], []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        (code if fenced else prose).append(line)
    return prose, code


def prose(path: Path) -> str:
    """The page without its fenced code blocks and HTML comments."""
    text = "\n".join(split_fences(path.read_text(encoding="utf-8"))[0])
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def code_spans(text: str) -> list[str]:
    return [match.group(2).strip() for match in _CODE_SPAN.finditer(text)]


def without_code_spans(text: str) -> str:
    return _CODE_SPAN.sub(" ", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: the text as rendered, lower-cased, punctuation other
    than hyphens and underscores dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a page, duplicates numbered as GitHub numbers them."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(path).splitlines():
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(path: Path) -> list[str]:
    """The targets of a page's inline links and images, outside code."""
    return _LINK.findall(without_code_spans(prose(path)))
