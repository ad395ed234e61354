"""FIM over packed samples: both layouts give the document back, lengths are kept, draws are
seeded per sample."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer, trainers
from tokenizers.pre_tokenizers import ByteLevel

from bigcode_release.errors import TokenizerError
from bigcode_release.tokenizer.special_tokens import SPECIAL_TOKENS
from bigcode_release.tokenizer.training import new_bpe_tokenizer
from bigcode_release.train.fim import FimTransform

DOCUMENTS = [
    "def add(a, b):\n    return a + b\n",
    'class Point:\n    """A point — with ünïcödé."""\n    x: int = 0\n    y: int = 0\n',
    "for (let i = 0; i < 10; i++) {\n  console.log(`value ${i}`);\n}\n",
    '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }\n',
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    tok = new_bpe_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=list(SPECIAL_TOKENS), show_progress=False, initial_alphabet=ByteLevel.alphabet()
    )
    tok.train_from_iterator(DOCUMENTS * 20, trainer)
    return tok


def encode(tokenizer: Tokenizer, text: str) -> np.ndarray:
    return np.array(tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.uint16)


def undo_fim(tokenizer: Tokenizer, tokens: np.ndarray) -> tuple[str, str]:
    """(layout, original text) of one FIM-formatted document."""
    ids = {name: tokenizer.token_to_id(name) for name in ("<fim_prefix>", "<fim_middle>", "<fim_suffix>")}
    seq = tokens.tolist()
    assert seq[0] == ids["<fim_prefix>"]
    middle_at = seq.index(ids["<fim_middle>"])

    def decode(part: list[int]) -> str:
        return tokenizer.decode(part, skip_special_tokens=False)

    if seq[1] == ids["<fim_suffix>"]:  # SPM: <pre><suf> suffix <mid> prefix middle
        suffix = decode(seq[2:middle_at])
        return "SPM", decode(seq[middle_at + 1 :]) + suffix
    suffix_at = seq.index(ids["<fim_suffix>"])  # PSM: <pre> prefix <suf> suffix <mid> middle
    return "PSM", decode(seq[1:suffix_at]) + decode(seq[middle_at + 1 :]) + decode(seq[suffix_at + 1 : middle_at])


@pytest.mark.parametrize("spm_rate,layout", [(0.0, "PSM"), (1.0, "SPM")])
def test_each_layout_gives_the_document_back(tokenizer, spm_rate, layout):
    fim = FimTransform(tokenizer, fim_rate=1.0, fim_spm_rate=spm_rate, seed=3)
    layouts = []
    for index in range(40):
        for text in DOCUMENTS:
            rng = np.random.default_rng([7, index])
            permuted = fim.permute(encode(tokenizer, text), rng)
            found_layout, restored = undo_fim(tokenizer, permuted)
            assert restored == text
            layouts.append(found_layout)
    # a PSM document with an empty prefix reads as SPM (the same tokens); never the reverse
    assert layouts.count(layout) >= 0.9 * len(layouts)
    assert layout == "PSM" or set(layouts) == {"SPM"}


def test_a_packed_sample_keeps_its_length_documents_and_end_of_text_tokens(tokenizer):
    eos = tokenizer.token_to_id("<|endoftext|>")
    pad = tokenizer.token_to_id("<fim_pad>")
    sample = np.concatenate([np.append(encode(tokenizer, d), eos) for d in DOCUMENTS]).astype(np.uint16)
    fim = FimTransform(tokenizer, fim_rate=1.0, fim_spm_rate=0.5, seed=0)
    seen_truncated = seen_padded = False
    for index in range(60):
        out = fim(sample, index)
        assert out.dtype == sample.dtype and len(out) == len(sample)
        body = out[out != pad]
        seen_padded |= len(body) < len(out)
        seen_truncated |= (body == eos).sum() < (sample == eos).sum()
        if (body == eos).sum() == (sample == eos).sum():
            pieces = np.split(body, np.flatnonzero(body == eos) + 1)
            texts = [undo_fim(tokenizer, piece[:-1])[1] for piece in pieces if len(piece) > 1]
            assert texts == DOCUMENTS
        assert np.all(out[len(body) :] == pad)  # pads only at the end
    assert seen_padded or seen_truncated


def test_draws_are_seeded_per_sample_and_rate_zero_is_the_identity(tokenizer):
    eos = tokenizer.token_to_id("<|endoftext|>")
    sample = np.concatenate([np.append(encode(tokenizer, d), eos) for d in DOCUMENTS]).astype(np.uint16)
    fim = FimTransform(tokenizer, fim_rate=0.5, fim_spm_rate=0.5, seed=1)
    assert np.array_equal(fim(sample, 5), FimTransform(tokenizer, 0.5, 0.5, seed=1)(sample, 5))
    assert any(not np.array_equal(fim(sample, 5), fim(sample, i)) for i in range(6, 12))
    assert fim(sample, 5) is not sample
    assert FimTransform(tokenizer, fim_rate=0.0)(sample, 5) is sample
    rates = np.mean(
        [
            [
                not np.array_equal(fim.permute(encode(tokenizer, d), np.random.default_rng(i)), encode(tokenizer, d))
                for d in DOCUMENTS
            ]
            for i in range(50)
        ]
    )
    assert rates == 1.0  # permute always rewrites (sentinels added)


def test_a_tokenizer_without_fim_tokens_is_refused_with_the_fix(tokenizer):
    plain = new_bpe_tokenizer()
    plain.train_from_iterator(
        DOCUMENTS, trainers.BpeTrainer(vocab_size=300, show_progress=False, initial_alphabet=ByteLevel.alphabet())
    )
    with pytest.raises(TokenizerError, match="tokenizer train"):
        FimTransform(plain)
    with pytest.raises(ValueError, match="fim_rate"):
        FimTransform(tokenizer, fim_rate=1.5)
