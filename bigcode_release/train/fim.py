"""Fill-in-the-middle as a training-time transform over packed samples (Bavarian et al. 2022,
as in BigCode's Megatron-LM).

A packed sample is split at end-of-text tokens; each piece, with probability `fim_rate`, is
decoded, cut at two uniform character positions into prefix/middle/suffix, and the three parts are
re-tokenized separately and laid out as

    PSM: <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle
    SPM: <fim_prefix> <fim_suffix> suffix <fim_middle> prefix middle   (probability `fim_spm_rate`)

The pieces are joined again with end-of-text; the sample keeps its length (truncated, or padded
with `<fim_pad>`, which the loss ignores). Random draws are seeded by `(seed, sample index)`, so a
sample is transformed the same way whichever process or step reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from bigcode_release.errors import TokenizerError
from bigcode_release.tokenizer.special_tokens import END_OF_TEXT, FIM_MIDDLE, FIM_PAD, FIM_PREFIX, FIM_SUFFIX


@dataclass(frozen=True)
class FimTokenIds:
    """Ids of the tokens FIM needs."""

    end_of_text: int
    prefix: int
    middle: int
    suffix: int
    pad: int

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer) -> FimTokenIds:
        ids = {
            token: tokenizer.token_to_id(token) for token in (END_OF_TEXT, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD)
        }
        missing = [token for token, value in ids.items() if value is None]
        if missing:
            raise TokenizerError(
                f"the tokenizer lacks the FIM token(s) {missing}: train it with "
                "`bigcode-release tokenizer train`, which adds StarCoder's special tokens"
            )
        return cls(ids[END_OF_TEXT], ids[FIM_PREFIX], ids[FIM_MIDDLE], ids[FIM_SUFFIX], ids[FIM_PAD])


class FimTransform:
    """Apply FIM to packed samples (see the module docstring)."""

    def __init__(self, tokenizer: Tokenizer, fim_rate: float = 0.5, fim_spm_rate: float = 0.5, seed: int = 0):
        if not 0 <= fim_rate <= 1 or not 0 <= fim_spm_rate <= 1:
            raise ValueError(f"fim_rate and fim_spm_rate must be in [0, 1], got {fim_rate} and {fim_spm_rate}")
        self.tokenizer = tokenizer
        self.ids = FimTokenIds.from_tokenizer(tokenizer)
        self.fim_rate = fim_rate
        self.fim_spm_rate = fim_spm_rate
        self.seed = seed

    def __call__(self, sample: np.ndarray, sample_index: int) -> np.ndarray:
        """The transformed sample, same length and dtype as `sample`."""
        if self.fim_rate == 0:
            return sample
        rng = np.random.default_rng([self.seed, sample_index])
        tokens = np.asarray(sample)
        ends = np.flatnonzero(tokens == self.ids.end_of_text)
        pieces: list[np.ndarray] = []
        start = 0
        for boundary in [*ends.tolist(), len(tokens)]:
            segment = tokens[start:boundary]
            if len(segment) and rng.random() < self.fim_rate:
                segment = self.permute(segment, rng)
            pieces.append(segment)
            if boundary < len(tokens):
                pieces.append(tokens[boundary : boundary + 1])
            start = boundary + 1
        out = np.concatenate(pieces)[: len(tokens)]
        if len(out) < len(tokens):
            out = np.concatenate([out, np.full(len(tokens) - len(out), self.ids.pad, dtype=out.dtype)])
        return out.astype(tokens.dtype, copy=False)

    def permute(self, segment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One document's tokens in FIM layout (PSM or SPM), cut at two uniform character positions."""
        text = self.tokenizer.decode(segment.tolist(), skip_special_tokens=False)
        low, high = sorted(int(x) for x in rng.integers(0, len(text) + 1, size=2))
        prefix, middle, suffix = (self._encode(part) for part in (text[:low], text[low:high], text[high:]))
        ids = self.ids
        if rng.random() < self.fim_spm_rate:
            layout = [[ids.prefix, ids.suffix], suffix, [ids.middle], prefix, middle]
        else:
            layout = [[ids.prefix], prefix, [ids.suffix], suffix, [ids.middle], middle]
        return np.concatenate([np.asarray(part, dtype=segment.dtype) for part in layout])

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids if text else []
