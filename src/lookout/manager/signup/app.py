"""The sign-up pages. Every request from one client address counts against its hourly
allowance; the page after "send me a code" is the same whether or not the address has an
account, and so is its timing (a mail goes out in both cases)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from lookout.errors import TemporaryFailure
from lookout.manager.signup.flow import Refused, Signup, normal_email
from lookout.web.ui.timing import SECURITY_HEADERS
from lookout.web.ui.web import HERE as UI_HERE

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, ctx, status_code=status, headers={"Cache-Control": "no-store"}
    )


def make_app(signup: Signup) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=UI_HERE / "static"), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def form(request: Request) -> dict[str, str]:
        data = await request.form()
        return {k: v[:2000] for k, v in data.items() if isinstance(v, str)}

    async def blocked(request: Request) -> Response | None:
        client = request.client.host if request.client else ""
        if await asyncio.to_thread(signup.client_blocked, client):
            why = "Too many sign-up requests from your address: try again in an hour."
            return _page(request, "signup.html", 429, error=why)
        return None

    @app.get("/")
    async def home() -> Response:
        return RedirectResponse("/signup", status_code=303)

    @app.get("/signup")
    async def start(request: Request) -> Response:
        return _page(request, "signup.html")

    @app.post("/signup")
    async def ask(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        try:
            email = normal_email(data.get("email", ""))
        except Refused as exc:
            return _page(request, "signup.html", 400, error=exc.why, email=data.get("email"))
        try:
            await signup.request_code(email)
        except TemporaryFailure as exc:
            log.error("sign-up mail: %s", exc)
            why = "The mail could not be sent just now: try again in a few minutes."
            return _page(request, "signup.html", 503, error=why, email=email)
        return _page(request, "code.html", email=email)

    @app.post("/signup/code")
    async def code(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        email = data.get("email", "")
        try:
            token = await asyncio.to_thread(signup.check_code, email, data.get("code", ""))
        except Refused as exc:
            return _page(request, "code.html", exc.status, email=email, error=exc.why)
        return _page(request, "account.html", email=email, token=token)

    @app.post("/signup/account")
    async def account(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        email, token, site = data.get("email", ""), data.get("token", ""), data.get("site", "")
        try:
            url = await signup.create(email, token, data.get("password", ""), site)
        except Refused as exc:
            if exc.status == 403:
                return _page(request, "signup.html", 403, error=exc.why)
            ctx = {"email": email, "token": token, "site": site}
            return _page(
                request, "account.html", exc.status, error=f"{exc.field}: {exc.why}", **ctx
            )
        log.info("signed up: site %s", site)
        return RedirectResponse(url, status_code=303)

    return app
