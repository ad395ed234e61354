"""Am I in The Stack? Check an account in every dataset version and ask to be removed.

Run: `bigcode-release spaces serve in-the-stack --release release/ --registry release/optout.sqlite`;
published, the Space reads its variables and secrets (`bigcode_release.space_env`) and files requests
in the Hub dataset OPTOUT_REQUESTS_REPO. This file only wires widgets to `bigcode_release.optout.service`.
"""

from __future__ import annotations

import gradio as gr

from bigcode_release import space_env
from bigcode_release.optout.service import TABLE_HEADERS, InTheStackService, client_address, intake_for


def build_app(
    release_dir: str,
    registry_path: str | None = None,
    submissions_per_minute: int = 5,
    requests_repo: str | None = None,
    token: str | None = None,
) -> gr.Blocks:
    intake = intake_for(release_dir, registry_path, requests_repo, token)
    service = InTheStackService(release_dir, intake, submissions_per_minute=submissions_per_minute)
    versions = service.versions()

    def check(username, version, request: gr.Request):
        text, rows, repos = service.check(username, version, client_address(request))
        return text, rows, gr.update(choices=repos, value=[])

    def submit(username, scope, repos, proof, message, request: gr.Request):
        return service.submit(username, scope == "whole account", repos, proof, message, client_address(request))

    def pick_scope(scope):  # the repositories are picked only for a request that names them
        return gr.update(interactive=scope != "whole account")

    with gr.Blocks(title="Am I in The Stack?") as app:
        gr.Markdown("# Am I in The Stack?\nCheck whether your repositories are in a dataset version, and opt out.")
        with gr.Row():
            version = gr.Dropdown(choices=versions, value=versions[-1], label="Dataset version")
            username = gr.Textbox(label="GitHub username", max_length=39)
        check_button = gr.Button("Check", variant="primary")
        answer = gr.Markdown()
        table = gr.Dataframe(
            headers=TABLE_HEADERS,
            label="Repositories",
            interactive=False,
            wrap=True,  # long reasons wrap, so the table fits a phone's width
            column_widths=["22%", "11%", "43%", "11%", "13%"],
        )
        with gr.Accordion("Opt out", open=False):
            scope = gr.Radio(["whole account", "selected repositories"], value="whole account", label="Remove")
            repos = gr.Dropdown(
                label="Repositories to remove",
                choices=[],
                multiselect=True,
                allow_custom_value=True,
                interactive=False,  # "whole account" is chosen first
            )
            proof = gr.Textbox(label="Proof (optional): URL of an issue you opened", max_length=500)
            message = gr.Textbox(label="Message (optional)", max_length=2000, lines=2)
            submit_button = gr.Button("Submit opt-out request")
            submitted = gr.Markdown()
        with gr.Accordion("Follow a request", open=False):
            request_id = gr.Textbox(label="Request id")
            status_button = gr.Button("Status")
            status = gr.Markdown()
        check_button.click(check, [username, version], [answer, table, repos], api_name="check")
        username.submit(check, [username, version], [answer, table, repos])
        scope.change(pick_scope, scope, repos)
        submit_button.click(submit, [username, scope, repos, proof, message], submitted, api_name="submit")
        status_button.click(service.status, request_id, status, api_name="status")
    return app


if __name__ == "__main__":
    build_app(
        space_env.read(space_env.RELEASE_DIR),
        space_env.read(space_env.OPTOUT_REGISTRY),
        int(space_env.read(space_env.SUBMISSIONS_PER_MINUTE)),
        space_env.read(space_env.OPTOUT_REQUESTS_REPO),
        space_env.read(space_env.HF_TOKEN),
    ).queue(default_concurrency_limit=4).launch()
