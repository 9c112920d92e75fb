"""Every relative link in the README, docs/ and infra/README.md leads somewhere: the file
exists and, with an #anchor, the target has a heading of that anchor (GitHub's slugs)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.unit.docs.markdown import ROOT, anchors, links, pages, slug


def _relative(target: str) -> bool:
    return not target.startswith(("http://", "https://", "mailto:"))


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in filter(_relative, links(page)):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / unquote(file_part)).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif anchor and (linked.suffix != ".md" or unquote(anchor) not in anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, f"broken links in {page.relative_to(ROOT)}:\n  " + "\n  ".join(broken)


def test_docs_pages_are_linked_from_the_readme() -> None:
    readme_links = {target.partition("#")[0] for target in links(ROOT / "README.md")}
    unlinked = [
        page.name
        for page in sorted((ROOT / "docs").glob("*.md"))
        if f"docs/{page.name}" not in readme_links
    ]
    assert not unlinked, f"README.md links to no docs/ page named {unlinked}"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("At 3 a.m.: `status`", "at-3-am-status"),
        (
            "Key and value formats, invalid records, dead letters",
            "key-and-value-formats-invalid-records-dead-letters",
        ),
        (
            "Trying settings on production data: `--dry-run`",
            "trying-settings-on-production-data---dry-run",
        ),
        (
            "The delivery guarantee: exactly once in storage",
            "the-delivery-guarantee-exactly-once-in-storage",
        ),
        ("`KAFKA_BEAT_FORMAT=parquet` on Lambda", "kafka_beat_formatparquet-on-lambda"),
    ],
)
def test_slugs_follow_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
