"""Find benchmark texts in a file: by long word n-grams, then by normalised substring.

A benchmark text (a prompt or a solution) of at least `min_words` words is indexed by its word
n-grams (hashed as the near-dedup shingles are). A file whose n-grams cover a text entirely and
whose normalised words contain the text's normalised words contiguously holds it as a
`substring`; one covering at least `ngram_overlap` of a text's n-grams has an `ngram_overlap`.
Normalised: lowercased words (`[A-Za-z0-9_]` runs and non-ASCII), punctuation and spacing gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bigcode_release.data.dedup.shingles import ngram_hashes, reference_words, word_hashes
from bigcode_release.decontamination.benchmarks import BenchmarkText

_FILTER_BITS = 1 << 22


@dataclass(frozen=True)
class Contamination:
    benchmark: str
    problem_id: str
    field: str
    match: str  # "substring" or "ngram_overlap"
    overlap: float

    def to_dict(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "problem_id": self.problem_id,
            "field": self.field,
            "match": self.match,
            "overlap": round(self.overlap, 3),
        }


class BenchmarkIndex:
    """The n-grams of benchmark texts, for fast lookups in many files."""

    def __init__(self, texts: list[BenchmarkText], ngram_words: int, min_words: int, ngram_overlap: float):
        self.n = ngram_words
        self.ngram_overlap = ngram_overlap
        self.texts: list[BenchmarkText] = []
        self.normalised: list[str] = []
        hashes, owners, sizes = [], [], []
        for text in texts:
            words = reference_words(text.text)
            if len(words) < max(min_words, ngram_words):
                continue
            grams = np.unique(ngram_hashes(word_hashes(text.text), ngram_words))
            owners.append(np.full(grams.size, len(self.texts)))
            hashes.append(grams)
            sizes.append(grams.size)
            self.texts.append(text)
            self.normalised.append(" ".join(words))
        self.skipped_short = len(texts) - len(self.texts)
        all_hashes = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
        order = np.argsort(all_hashes, kind="stable")
        self._hashes, self._owners = all_hashes[order], all_owners[order]
        self._unique = np.unique(self._hashes)
        self._filter = np.zeros(_FILTER_BITS, dtype=bool)  # a one-hash Bloom filter in front of the search
        self._filter[(self._unique & np.uint64(_FILTER_BITS - 1)).astype(np.intp)] = True
        self._sizes = np.array(sizes, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.texts)

    def find(self, text: str, words: np.ndarray | None = None) -> Contamination | None:
        """The strongest benchmark match in `text` (`words`: its word hashes, if at hand)."""
        if not self.texts:
            return None
        grams = ngram_hashes(word_hashes(text) if words is None else words, self.n)
        grams = grams[self._filter[(grams & np.uint64(_FILTER_BITS - 1)).astype(np.intp)]]
        if grams.size == 0:
            return None
        slots = np.minimum(np.searchsorted(self._unique, grams), self._unique.size - 1)
        hits = np.unique(grams[self._unique[slots] == grams])
        if hits.size == 0:
            return None
        left = np.searchsorted(self._hashes, hits, side="left")
        right = np.searchsorted(self._hashes, hits, side="right")
        owners = np.concatenate([self._owners[a:b] for a, b in zip(left.tolist(), right.tolist())])
        coverage = np.bincount(owners, minlength=len(self.texts)) / self._sizes
        best = None
        normalised_text = None
        for index in np.flatnonzero(coverage >= self.ngram_overlap)[
            np.argsort(-coverage[coverage >= self.ngram_overlap])
        ]:
            benchmark = self.texts[index]
            if coverage[index] >= 1.0:
                if normalised_text is None:
                    normalised_text = " " + " ".join(reference_words(text)) + " "
                if f" {self.normalised[index]} " in normalised_text:
                    return Contamination(benchmark.benchmark, benchmark.problem_id, benchmark.field, "substring", 1.0)
            if best is None:
                best = Contamination(
                    benchmark.benchmark, benchmark.problem_id, benchmark.field, "ngram_overlap", float(coverage[index])
                )
        return best
