"""Browser steps: Playwright driving an installed Chromium (never a downloaded one).

Playwright is optional (``pip install 'lookout[browser]'``); it is imported only when a journey
has a browser step, and a missing Playwright or Chromium is an UNKNOWN step that says so."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lookout.checks.journeys.model import Action

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BrowserUnavailable(Exception):
    """Playwright or Chromium is missing: the step is UNKNOWN, not CRIT."""


class ActionFailed(Exception):
    """An action timed out or its page did not show what was expected."""


@dataclass
class Browser:
    """One browser, one context and one page per journey run, started on first use."""

    executable: str = CHROMIUM
    _playwright: Any = None
    _browser: Any = None
    _page: Any = None
    _cookies_seen: set[tuple[str, str, str]] = field(default_factory=set)

    def page(self) -> Any:
        if self._page is None:
            if not Path(self.executable).exists():
                raise BrowserUnavailable(
                    f"no Chromium at {self.executable} (Debian: apt-get install chromium; "
                    "or give --chromium PATH)"
                )
            try:
                from playwright.sync_api import sync_playwright
            except ImportError as exc:
                raise BrowserUnavailable(
                    "browser steps need Playwright: pip install 'lookout[browser]'"
                ) from exc
            self._playwright = sync_playwright().start()
            try:
                self._browser = self._playwright.chromium.launch(
                    executable_path=self.executable, args=ARGS
                )
                self._page = self._browser.new_context().new_page()
            except Exception as exc:
                self.close()
                raise BrowserUnavailable(f"Chromium did not start: {_first_line(exc)}") from exc
        return self._page

    def add_cookies(self, cookies: list[dict[str, str]]) -> None:
        """Cookies the HTTP steps got, so a browser step continues their session."""
        fresh = [
            c for c in cookies if (c["name"], c["value"], c["domain"]) not in self._cookies_seen
        ]
        if fresh:
            self.page().context.add_cookies(fresh)
            self._cookies_seen.update((c["name"], c["value"], c["domain"]) for c in fresh)

    def run(self, action: Action, timeout: float, render: Callable[[str], str]) -> None:
        page = self.page()
        ms = timeout * 1000
        try:
            _ACT[action.kind](page, action, ms, render)
        except BrowserUnavailable:
            raise
        except Exception as exc:
            if type(exc).__name__ == "TimeoutError":
                raise ActionFailed(f"timed out after {timeout:g} s") from exc
            raise ActionFailed(_first_line(exc)) from exc

    def screenshot(self, path: Path) -> Path | None:
        if self._page is None:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for closing in (self._browser, self._playwright):
            if closing is None:
                continue
            with contextlib.suppress(Exception):  # closing; nothing left to report
                closing.close() if closing is self._browser else closing.stop()
        self._playwright = self._browser = self._page = None


def _goto(page: Any, a: Action, ms: float, render: Callable[[str], str]) -> None:
    response = page.goto(render(a.goto or ""), timeout=ms)
    if response is not None and response.status >= 400:
        raise ActionFailed(f"status {response.status}")


def _fill(page: Any, a: Action, ms: float, render: Callable[[str], str]) -> None:
    assert a.fill is not None
    page.fill(render(a.fill.selector), render(a.fill.value), timeout=ms)


def _click(page: Any, a: Action, ms: float, render: Callable[[str], str]) -> None:
    page.click(render(a.click or ""), timeout=ms)


def _wait_for(page: Any, a: Action, ms: float, render: Callable[[str], str]) -> None:
    w = a.wait_for
    assert w is not None
    if w.selector is not None:
        page.wait_for_selector(render(w.selector), state="visible", timeout=ms)
    elif w.text is not None:
        page.get_by_text(render(w.text)).first.wait_for(state="visible", timeout=ms)
    else:
        part = render(w.url or "")
        page.wait_for_url(lambda url: part in url, timeout=ms)


def _expect_text(page: Any, a: Action, ms: float, render: Callable[[str], str]) -> None:
    e = a.expect_text
    assert e is not None
    text = render(e.text)
    where = page.locator(render(e.selector)) if e.selector else page.locator("body")
    try:
        where.filter(has_text=text).first.wait_for(state="visible", timeout=ms)
    except Exception as exc:
        if type(exc).__name__ != "TimeoutError":
            raise
        inside = f" in {e.selector}" if e.selector else ""
        raise ActionFailed(f"text {text!r} not shown{inside} within {ms / 1000:g} s") from exc


_ACT: dict[str, Callable[[Any, Action, float, Callable[[str], str]], None]] = {
    "goto": _goto,
    "fill": _fill,
    "click": _click,
    "wait_for": _wait_for,
    "expect_text": _expect_text,
}


def describe(action: Action) -> str:
    """``click '#buy'``, for the report."""
    kind = action.kind
    if kind == "fill" and action.fill is not None:
        return f"fill {action.fill.selector!r}"
    if kind == "wait_for" and action.wait_for is not None:
        w = action.wait_for
        what = next(
            f"{k} {v!r}"
            for k, v in (("selector", w.selector), ("text", w.text), ("url", w.url))
            if v is not None
        )
        return f"wait_for {what}"
    if kind == "expect_text" and action.expect_text is not None:
        return f"expect_text {action.expect_text.text!r}"
    return f"{kind} {getattr(action, kind)!r}"


def stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
