"""An app devhost must refuse: a blob trigger is not supported."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.route(route="ok", auth_level=func.AuthLevel.ANONYMOUS)
def ok(req: func.HttpRequest) -> str:
    return "ok"


@app.blob_trigger(arg_name="blob", path="uploads/{name}", connection="AzureWebJobsStorage")
def on_upload(blob: func.InputStream) -> None:
    pass
