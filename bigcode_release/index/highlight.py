"""Code with the spans found in the data marked, as HTML: a monospace block that keeps every line,
blank line and indent of the text, each span a `<mark>` (escaped: the text is never markup)."""

from __future__ import annotations

import html

STYLE = (
    "<style>"
    ".membership-code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;"
    "line-height:1.45;white-space:pre;overflow:auto;max-height:32em;margin:0;padding:8px 12px;"
    "border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa;color:#1f2328}"
    ".membership-code mark{padding:0;border-radius:2px;color:inherit}"
    ".membership-code mark.copied{background:#ffb4a2;outline:1px solid #d1495b}"
    ".membership-code mark.common{background:#fff3bf}"
    ".membership-legend{font-size:13px;margin:4px 0 0}"
    ".membership-legend mark.copied{background:#ffb4a2}.membership-legend mark.common{background:#fff3bf}"
    "</style>"
)


def highlighted_code(text: str, spans: list[dict]) -> str:
    """`text` with each span (`start`/`end` character offsets, `documents`, `looks_copied`) marked;
    a character inside several spans belongs to the first. The legend says what the colours mean."""
    parts, cursor = [], 0
    for number, span in enumerate(spans, 1):
        start = max(span["start"], cursor)
        if start > cursor:
            parts.append(html.escape(text[cursor:start]))
        if span["end"] > start:
            kind = "copied" if span["looks_copied"] else "common"
            files = f"{span['documents']:,}{'' if span.get('documents_complete', True) else '+'}"
            title = f"span {number}: {span['bytes']:,} bytes, in {files} file(s)"
            parts.append(
                f'<mark class="{kind}" data-span="{number}" title="{title}">{html.escape(text[start : span["end"]])}</mark>'
            )
        cursor = max(cursor, span["end"])
    parts.append(html.escape(text[cursor:]))
    legend = (
        '<p class="membership-legend"><mark class="copied">long and rare: looks copied</mark> · '
        '<mark class="common">short or common: an idiom</mark> · hover a span for its size and file count</p>'
    )
    return f'{STYLE}<pre class="membership-code">{"".join(parts)}</pre>{legend}'
