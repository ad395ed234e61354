"""Text the Spaces show in Markdown: whatever a user typed is shown as text, never as markup."""

from __future__ import annotations

import html
import re

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def escape(text: str) -> str:
    """`text` as literal Markdown text: HTML tags and Markdown syntax shown, not rendered (so
    `<script>` reads `<script>` and `javascript:` never becomes a link)."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(str(text), quote=False))


def error(exc: Exception | str) -> str:
    """An error message for a Space's answer."""
    return f"**Error:** {escape(exc)}"
