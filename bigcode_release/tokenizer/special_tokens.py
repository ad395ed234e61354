"""StarCoder's special tokens, in StarCoder's id order, plus StarCoder2's `<file_sep>`.

They take the first ids of every tokenizer this toolkit trains, so `<|endoftext|>` is 0 and the
FIM tokens are 1-4, as in StarCoder.
"""

from __future__ import annotations

END_OF_TEXT = "<|endoftext|>"
FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD = "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"
FILE_SEP = "<file_sep>"

SPECIAL_TOKENS: tuple[str, ...] = (
    END_OF_TEXT,
    FIM_PREFIX,
    FIM_MIDDLE,
    FIM_SUFFIX,
    FIM_PAD,
    "<filename>",
    "<gh_stars>",
    "<issue_start>",
    "<issue_comment>",
    "<issue_closed>",
    "<jupyter_start>",
    "<jupyter_text>",
    "<jupyter_code>",
    "<jupyter_output>",
    "<empty_output>",
    "<commit_before>",
    "<commit_msg>",
    "<commit_after>",
    "<reponame>",
    FILE_SEP,
)
