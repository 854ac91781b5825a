"""A minimal bidi treatment for mixed Arabic/Latin strings (no UAX #9 engine, no explicit embeddings).

Strong-direction runs, neutrals resolved from their neighbours, and the visual order of the runs reversed in
right-to-left paragraphs: enough for labels, names and short sentences, which is all the demo pages hold.
"""
from __future__ import annotations

import re

__all__ = ["has_arabic", "visual_runs"]

_ARABIC = re.compile("[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def _is_arabic(ch: str) -> bool:
    return _ARABIC.match(ch) is not None


def has_arabic(text: str) -> bool:
    """Whether ``text`` needs the Arabic path at all (pure Latin text skips shaping and bidi)."""
    return _ARABIC.search(text) is not None


def _strong(ch: str) -> str | None:
    if _is_arabic(ch):
        # Arabic-Indic digits are weak, but they live happily inside an Arabic run
        return "R"
    if ch.isalnum():
        return "L"
    return None


def visual_runs(text: str) -> tuple[bool, list[tuple[bool, str]]]:
    """(paragraph is RTL, [(run is Arabic, run text)] in visual left-to-right order)."""
    kinds = [_strong(ch) for ch in text]
    first = next((k for k in kinds if k), "L")
    rtl = first == "R"
    # neutrals take the direction of their strong neighbours when both agree, else the paragraph's
    resolved: list[str] = []
    n = len(text)
    for i, k in enumerate(kinds):
        if k:
            resolved.append(k)
            continue
        before = next((kinds[j] for j in range(i - 1, -1, -1) if kinds[j]), None)
        after = next((kinds[j] for j in range(i + 1, n) if kinds[j]), None)
        resolved.append(before if before is not None and before == after else first)
    runs: list[tuple[bool, str]] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or resolved[i] != resolved[start]:
            runs.append((resolved[start] == "R", text[start:i]))
            start = i
    if rtl:
        runs.reverse()
    return rtl, runs
