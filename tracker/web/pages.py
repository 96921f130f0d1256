"""The HTML pages (to be filled): server-rendered Jinja2 templates, one stylesheet, no build step."""

from collections.abc import Mapping

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from tracker.escape import visible

router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    """The stylesheet (and any script) under /static."""


def error_page(request: Request, status: int, message: str, headers: Mapping[str, str] | None) -> Response:
    body = f"<!doctype html><title>Error {status}</title><h1>Error {status}</h1><p>{escape(visible(message))}</p>"
    return HTMLResponse(body, status, headers=headers)
