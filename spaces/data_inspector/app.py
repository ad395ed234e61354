"""Data inspector: search the dataset, open a file with its metadata and license, browse at random
by language, and see the dataset's license and language distributions.

Run: `bigcode-release spaces serve data-inspector --release release/`.
This file only wires widgets to `bigcode_release.index.service.DataInspector`.
"""

from __future__ import annotations

import gradio as gr

from bigcode_release import space_env
from bigcode_release.index.remote import index_release
from bigcode_release.index.service import ANY, RESULT_HEADERS, DataInspector


def build_app(release_dir: str, version: str | None = None) -> gr.Blocks:
    inspector = DataInspector(release_dir, version)

    def search(query, language, license_):
        message, rows = inspector.search(query, language, license_)
        return message, rows

    def open_selected(rows, event: gr.SelectData):
        number = rows.iloc[event.index[0], 0] if hasattr(rows, "iloc") else rows[event.index[0]][0]
        return inspector.open(number)

    def browse(language):
        _, meta, text = inspector.random_file(language)
        return meta, text

    with gr.Blocks(title="Data inspector") as app:
        gr.Markdown(
            f"# Data inspector\nSearch dataset **{inspector.version}** (BM25; identifiers match in any "
            'style; "quotes" for an exact phrase), open a file, or browse at random.'
        )
        with gr.Row():
            query = gr.Textbox(
                label="Search", placeholder='load_dataset or "def load_dataset("', scale=3, max_length=2000
            )
            language = gr.Dropdown([ANY, *inspector.languages], value=ANY, label="Language")
            license_ = gr.Dropdown([ANY, *inspector.licenses], value=ANY, label="License")
        search_button = gr.Button("Search", variant="primary")
        message = gr.Markdown()
        results = gr.Dataframe(
            headers=RESULT_HEADERS, label="Results (click a row to open the file)", interactive=False
        )
        with gr.Row():
            document = gr.Number(label="File #", precision=0)
            open_button = gr.Button("Open file")
            browse_language = gr.Dropdown(
                inspector.languages,
                value=inspector.languages[0] if inspector.languages else None,
                label="Browse a random file in",
            )
            browse_button = gr.Button("Random file")
        metadata = gr.Markdown()
        content = gr.Code(label="File", interactive=False, max_lines=40)  # scrolls: a long file keeps the page short
        with gr.Accordion("Licenses and languages of the dataset", open=False):
            gr.Gallery(inspector.plots(), columns=2, height="auto", label="Distributions")
        search_button.click(search, [query, language, license_], [message, results], api_name="search")
        query.submit(search, [query, language, license_], [message, results])
        results.select(open_selected, results, [metadata, content])
        open_button.click(inspector.open, document, [metadata, content], api_name="open")
        browse_button.click(browse, browse_language, [metadata, content], api_name="browse")
    return app


if __name__ == "__main__":
    build_app(index_release(), space_env.read(space_env.DATASET_VERSION)).queue(default_concurrency_limit=4).launch()
