"""Open a written report.html in real headless Chromium (Debian's package, driven by playwright) and
record everything the page did: console messages, uncaught errors, every request.

Only the system chromium is used (``playwright install`` needs the internet). A test skips only when
chromium is not installed (``tests.services.require_chromium``, a failure in CI); playwright missing or
a chromium that fails to launch is a test failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Flags for running as root in a sandbox with no internet: without the background-networking ones
# Chromium tries to reach Google hosts at start (refused here, and not the page's requests anyway).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
]


def launch_chromium(executable: str) -> tuple[Any, Any]:
    """(playwright, browser) started on ``executable``; playwright's launch() gives every browser a fresh
    temporary profile (user-data-dir). Raises what playwright raises: a failed launch is a failure."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS,
                                             timeout=60_000)
    except BaseException:
        playwright.stop()
        raise
    return playwright, browser


@dataclass
class PageLoad:
    """What one page load did. ``requests`` holds every URL the page asked for, in order."""

    url: str
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)   # (type, text)
    page_errors: list[str] = field(default_factory=list)

    def console_of(self, *types: str) -> list[str]:
        return [f"{kind}: {text}" for kind, text in self.console if kind in types]

    def foreign_requests(self) -> list[str]:
        """Requests other than the report file itself (data: URIs allowed: they never leave the page)."""
        return [url for url in self.requests if url != self.url and not url.startswith("data:")]


def open_report(browser: Any, path: Path, *, color_scheme: str = "light") -> tuple[Any, Any, PageLoad]:
    """A new context and page with the report loaded (``load`` fired) and every event recorded.
    Listeners are attached to the context, so requests from any frame or worker are seen too.
    The caller closes the context."""
    url = path.resolve().as_uri()
    load = PageLoad(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme,
                                  java_script_enabled=True, service_workers="block")
    context.on("request", lambda request: load.requests.append(request.url))
    page = context.new_page()
    page.on("console", lambda message: load.console.append((message.type, message.text)))
    page.on("pageerror", lambda error: load.page_errors.append(str(error)))
    page.goto(url, wait_until="load")
    return context, page, load


# Runs in the page: everything a hostile string could have turned into, were it not escaped.
ACTIVE_CONTENT_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'frame', 'object', 'embed', 'base', 'link', 'form', 'input', 'button', 'textarea',
         'video', 'audio', 'source', 'portal', 'template', 'noscript', 'foreignobject'].includes(tag)) {
      out.push('<' + tag + '> element');
    }
    const equiv = (el.getAttribute('http-equiv') || '').toLowerCase();
    if (tag === 'meta' && equiv === 'refresh') out.push('meta refresh');
    if (tag === 'style' && el.parentElement !== document.head) out.push('<style> outside <head>');
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) out.push(tag + ' has ' + name);
      // anything that loads: only a data: image would be fine (it never leaves the page)
      const loads = ['src', 'srcset', 'srcdoc', 'action', 'formaction', 'xlink:href', 'poster', 'background'];
      if (loads.includes(name) && !(tag === 'img' && name === 'src' && attr.value.startsWith('data:')))
        out.push(tag + ' has ' + name + '=' + attr.value.slice(0, 80));
      // every link stays inside the page or goes to a relative path (the rule catalogue): no scheme at all
      if (name === 'href' && /^\\s*[a-z][a-z0-9+.-]*:/i.test(attr.value))
        out.push(tag + ' href=' + attr.value.slice(0, 80));
    }
  }
  return out;
}"""


def has_area(box: dict[str, float] | None) -> bool:
    return box is not None and box["width"] > 0 and box["height"] > 0
