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

    def search(query, language, license_, page=1):
        return inspector.search(query, language, license_, page)

    def next_page(query, language, license_, page):
        return inspector.search(query, language, license_, int(page or 1) + 1)

    def previous_page(query, language, license_, page):
        return inspector.search(query, language, license_, max(1, int(page or 1) - 1))

    def open_selected(rows, event: gr.SelectData):
        number = rows.iloc[event.index[0], 0] if hasattr(rows, "iloc") else rows[event.index[0]][0]
        return number, *inspector.open(number)

    def browse(language):
        return inspector.random_file(language)

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
            headers=RESULT_HEADERS, label="Results (click a row to open the file)", interactive=False, wrap=True
        )
        with gr.Row():
            previous_button = gr.Button("Previous page", size="sm")
            page = gr.Number(label="Page", value=1, precision=0, minimum=1, interactive=False)
            next_button = gr.Button("Next page", size="sm")
        with gr.Row():
            document = gr.Number(label="File #", precision=0)
            open_button = gr.Button("Open file")
            browse_language = gr.Dropdown(
                inspector.languages, value=inspector.largest_language, label="Browse a random file in"
            )
            browse_button = gr.Button("Random file")
        metadata = gr.Markdown()
        content = gr.Code(label="File", interactive=False, max_lines=40)  # scrolls: a long file keeps the page short
        with gr.Accordion("Licenses and languages of the dataset", open=False):
            for plot in inspector.plots():  # whole images, never cropped thumbnails
                gr.Image(plot, show_label=False, container=False, interactive=False)
        searched = [message, results, page]
        search_button.click(search, [query, language, license_], searched, api_name="search")
        query.submit(search, [query, language, license_], searched)
        next_button.click(next_page, [query, language, license_, page], searched, api_name="next_page")
        previous_button.click(previous_page, [query, language, license_, page], searched, api_name="previous_page")
        results.select(open_selected, results, [document, metadata, content])
        open_button.click(inspector.open, document, [metadata, content], api_name="open")
        browse_button.click(browse, browse_language, [document, metadata, content], api_name="browse")
    return app


if __name__ == "__main__":
    build_app(index_release(), space_env.read(space_env.DATASET_VERSION)).queue(default_concurrency_limit=4).launch()
