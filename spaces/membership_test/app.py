"""Membership test: paste code and see which parts are in the training data, from which files and
under which licenses, with the attribution notice to paste next to it.

Run: `bigcode-release spaces serve membership-test --release release/`.
This file only wires widgets to `bigcode_release.index.service.MembershipTest`.
"""

from __future__ import annotations

import gradio as gr

from bigcode_release import space_env
from bigcode_release.index.attribution import DEFAULT_MIN_BYTES
from bigcode_release.index.remote import index_release
from bigcode_release.index.service import SOURCE_HEADERS, MembershipTest


def build_app(release_dir: str, version: str | None = None) -> gr.Blocks:
    test = MembershipTest(release_dir, version)

    with gr.Blocks(title="Membership test") as app:
        gr.Markdown(
            f"# Is this code in the data?\nPaste code (for example what a model just generated). Spans of at "
            f"least the chosen size found verbatim in dataset **{test.index.dataset_version}** are marked, with "
            "how many files of the data hold each: a long span in few files looks copied, a common one is an idiom."
        )
        code = gr.Code(label="Code", lines=12, max_lines=30, interactive=True)  # monospace, indentation kept
        min_bytes = gr.Slider(16, 512, value=DEFAULT_MIN_BYTES, step=8, label="Shortest span (bytes)")
        check_button = gr.Button("Check", variant="primary")
        summary = gr.Markdown()
        highlighted = gr.HTML(label="Spans found in the data")
        sources = gr.Dataframe(headers=SOURCE_HEADERS, label="Sources of each span", interactive=False, wrap=True)
        notice = gr.Textbox(label="Attribution notice", lines=4, interactive=False)
        check_button.click(test.check, [code, min_bytes], [summary, highlighted, sources, notice], api_name="check")
    return app


if __name__ == "__main__":
    build_app(index_release(), space_env.read(space_env.DATASET_VERSION)).queue(default_concurrency_limit=4).launch()
