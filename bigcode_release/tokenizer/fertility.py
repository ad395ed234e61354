"""Fertility: how many characters of text one token covers, per language (higher is better)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tokenizers import Tokenizer

from bigcode_release.plotting import barh_chart
from bigcode_release.tokenizer.sample import DocumentSample


def fertility_by_language(tokenizer: Tokenizer, sample: DocumentSample) -> list[dict]:
    """`{"language", "documents", "characters", "tokens", "chars_per_token"}` per language, most
    characters first, plus an `all` row."""
    chars: dict[str, int] = defaultdict(int)
    tokens: dict[str, int] = defaultdict(int)
    docs: dict[str, int] = defaultdict(int)
    for text, language, encoding in zip(
        sample.texts, sample.languages, tokenizer.encode_batch(sample.texts, add_special_tokens=False)
    ):
        chars[language] += len(text)
        tokens[language] += len(encoding.ids)
        docs[language] += 1
    rows = [_row(lang, docs[lang], chars[lang], tokens[lang]) for lang in sorted(chars, key=lambda k: -chars[k])]
    rows.append(_row("all", sum(docs.values()), sum(chars.values()), sum(tokens.values())))
    return rows


def _row(language: str, documents: int, characters: int, tokens: int) -> dict:
    return {
        "language": language,
        "documents": documents,
        "characters": characters,
        "tokens": tokens,
        "chars_per_token": round(characters / tokens, 3) if tokens else 0.0,
    }


def write_fertility_plot(rows: list[dict], path: Path, measured_on: str) -> Path:
    """A bar chart of characters per token by language."""
    return barh_chart(
        [r["language"] for r in rows],
        [float(r["chars_per_token"]) for r in rows],
        f"Tokenizer fertility ({measured_on})",
        "characters per token",
        path,
        top=25,
        float_format=".2f",
    )
