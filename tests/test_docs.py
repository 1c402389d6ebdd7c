"""The documentation site and its HTTP API page, as a reader sees them.

``make docs`` renders ``openapi.yaml`` into one self-contained HTML file,
``docs/reference/http-api.html`` (Redocly ``build-docs``), then builds the MkDocs site
(``mkdocs.yml``, ``--strict``) into ``site/``. The tests open both in Debian's headless
Chromium, driven over the DevTools protocol on a pipe (standard library only).

On the HTTP API page they click through the response tabs and the media-type menu like a
person would, and check that the endpoint, its parameters, the six audio media types and
every error code are shown. On the site, served from ``site/`` on loopback by the standard
library's ``http.server``, they check that the navigation lists every guide in
``docs/guides/`` by its title, that typing ``GenerationNotReadyError`` in the search box finds
it, and that the API reference shows ``download_audio`` with its parameters. Screenshots go to
``screenshots/`` (git-ignored): ``http-api.png`` and ``site.png``.

Without Chromium the check is skipped, saying so, except in CI (``CI=true``), where the
Makefile installs Chromium and a missing one fails.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._spec import SPEC, resolve

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "reference" / "http-api.html"
SITE = ROOT / "site"
GUIDES = ROOT / "docs" / "guides"
SCREENSHOT = ROOT / "screenshots" / "http-api.png"
SITE_SCREENSHOT = ROOT / "screenshots" / "site.png"
AUDIO_PATH = "/v1/history/{history_item_id}/audio"
OPERATION = SPEC["paths"][AUDIO_PATH]["get"]

# What the machine's Chromium needs here: no sandbox (root), and no background connections
# (the network is closed; they would only be refused).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1400, 1000
# The page's section for each parameter location.
IN_SECTIONS = {"path": "path", "query": "query", "header": "headers", "cookie": "cookies"}


def expected() -> dict[str, Any]:
    """What the page must show, read from the spec (so a spec change moves the check)."""
    responses = {status: resolve(r) for status, r in OPERATION["responses"].items()}
    return {
        "path": AUDIO_PATH,
        "summary": OPERATION["summary"],
        "parameters": [
            (IN_SECTIONS[resolve(p)["in"]], resolve(p)["name"]) for p in OPERATION["parameters"]
        ],
        "media_types": {s: list(r["content"]) for s, r in responses.items() if int(s) < 300},
        "error_codes": {
            s: r["content"]["application/json"]["example"]["error"]["code"]
            for s, r in responses.items()
            if int(s) >= 400
        },
        "catalogue": SPEC["components"]["schemas"]["ErrorCode"]["examples"],
    }


# ---------------------------------------------------------------------------- the browser


class DevTools:
    """Chromium with ``--remote-debugging-pipe``: JSON messages, NUL-separated, on fds 3/4."""

    def __init__(self, executable: str, user_data_dir: str) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def pipes_on_3_and_4() -> None:
            # dup first: a pipe end may already sit on 3 or 4, and dup2 makes them inheritable.
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}",
             f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Only os.dup/os.dup2 run between fork and exec: no locks, safe beside threads.
            preexec_fn=pipes_on_3_and_4,  # noqa: PLW1509
            close_fds=False, start_new_session=True,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                    raise TimeoutError(f"chromium did not answer {method} in {timeout} s")
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"chromium exited (status {self.process.poll()})")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Page.navigate", {"url": url})

    def screenshot(self, path: Path) -> None:
        """The whole page, top to bottom, at the window's width."""
        # Grow the window to the page's height until the page stops growing with it.
        height = HEIGHT
        for _ in range(5):
            self.evaluate("window.scrollTo(0, 0)")
            wanted = int(self.evaluate("document.documentElement.scrollHeight"))
            if wanted <= height:
                break
            height = wanted
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            time.sleep(0.3)
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
            self.process.wait(timeout=10)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                # Only the group this test started: Chromium and its helpers.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            os.close(self._to_chrome)
            os.close(self._from_chrome)


# What a reader does on the page: open each response tab and the body's media-type menu, and
# read what is shown. The script only reports; the test decides.
READ_THE_PAGE = """
(async (want) => {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const until = async (test, ms = 5000) => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (test()) return true;
    return !!test();
  };
  const text = (el) => (el ? el.innerText : "");
  const buttonNamed = (root, name) =>
    [...root.querySelectorAll("button")].find((b) => b.textContent.trim() === name);
  const report = { ready: false, tabs: {}, examples: {} };
  const tabsSelector = '[role=tablist][aria-label="Response status"]';
  if (!(await until(() => document.querySelector(tabsSelector), 15000))) {
    report.page = text(document.body);
    return report;
  }
  report.ready = true;
  const tablist = document.querySelector(tabsSelector);
  const middle = tablist.closest("[data-testid=middle-panel]");
  report.operation = text(document.querySelector("main") || document.body);
  // The parameter rows: where each is sent, and the name shown first on its row.
  report.parameters = [...document.querySelectorAll('[id*="t=request&in="]')].map((row) => ({
    in: new URLSearchParams(row.id.split("/").pop()).get("in"),
    name: text(row).trim().split(/\\s+/)[0],
  }));
  for (const tab of tablist.querySelectorAll("[role=tab]")) {
    const status = tab.textContent.trim();
    tab.click();
    await until(() => tab.getAttribute("aria-selected") === "true");
    if (want.error_codes[status]) {
      // The envelope's fields open after a moment; a reader would press "Expand all".
      const all = () => want.catalogue.every((code) => text(middle).includes(code));
      if (!(await until(all, 2000))) {
        const expand = buttonNamed(middle, "Expand all");
        if (expand) expand.click();
        await until(all, 3000);
      }
    }
    const seen = { text: text(middle), menu: null };
    const button = middle.querySelector("[data-testid=dropdown] button[aria-haspopup=menu]");
    if (button) {
      // The menu opens in a layer of its own: it is the one that was not there before.
      const menus = () => [...document.querySelectorAll("[role=menu]")];
      const before = new Set(menus());
      const opened = () => menus().find((m) => !before.has(m));
      button.click();
      await until(opened);
      const menu = opened();
      const items = menu ? [...menu.querySelectorAll("[role=menuitem]")] : [];
      seen.menu = items.map((item) => text(item).trim());
      button.click();
      await until(() => !opened() && button.getAttribute("aria-expanded") !== "true");
    }
    report.tabs[status] = seen;
  }
  // The right-hand panel: the example response for each status.
  const samples = [...document.querySelectorAll("[data-testid=right-panel]")].find((panel) =>
    buttonNamed(panel, Object.keys(want.error_codes)[0]));
  for (const status of samples ? Object.keys(want.error_codes) : []) {
    const button = buttonNamed(samples, status);
    if (!button) continue;
    button.click();
    await until(() => text(samples.querySelector("pre")).includes(want.error_codes[status]), 3000);
    report.examples[status] = text(samples.querySelector("pre"));
  }
  // Leave a telling view for the screenshot: the 404 response, its envelope and the codes.
  buttonNamed(tablist, "404")?.click();
  if (samples) buttonNamed(samples, "404")?.click();
  await until(() => want.catalogue.every((code) => text(middle).includes(code)), 3000);
  await sleep(300);
  return report;
})
"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = (
            "chromium is not installed, so the rendered HTTP API page and the documentation "
            "site were NOT checked; install Debian's chromium to run it (CI=true installs it "
            "and makes it mandatory)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def page() -> Path:
    """docs/reference/http-api.html, rendered by `make docs`, which also builds site/."""
    if shutil.which("npm") is None and not PAGE.exists():
        reason = "npm not found: `make docs` cannot render the HTTP API page"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run(["make", "-s", "docs"], cwd=ROOT, check=True, capture_output=True)
    return PAGE


@pytest.fixture(scope="module")
def rendered(page: Path) -> dict[str, Any]:
    executable = chromium()
    with tempfile.TemporaryDirectory(prefix="breeze-docs-chromium-") as profile:
        browser = DevTools(executable, profile)
        try:
            browser.open(page.as_uri() + "#/history/downloadhistoryaudio")
            report = browser.evaluate(f"{READ_THE_PAGE}({json.dumps(expected())})", timeout=60)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            SCREENSHOT.unlink(missing_ok=True)
            browser.screenshot(SCREENSHOT)
        finally:
            browser.close()
    return report


def test_the_page_is_one_self_contained_file(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    # Scripts and styles are inlined (--inlineBundle): the page works offline, from a file.
    assert "<script src=" not in html.replace("'", '"')
    assert 'rel="stylesheet" href="http' not in html
    assert "Breeze Blue API reference" in html  # the --title
    assert page.stat().st_mtime >= (ROOT / "openapi.yaml").stat().st_mtime


def test_the_rendered_page_shows_the_endpoint_parameters_media_types_and_error_codes(
    rendered: dict[str, Any],
) -> None:
    want = expected()
    assert rendered["ready"], f"the operation never rendered; the page said: {rendered['page']!r}"
    problems: list[str] = []
    operation = rendered["operation"]

    # The endpoint: method, path and summary.
    for shown in ("GET", want["path"], want["summary"]):
        if shown not in operation:
            problems.append(f"endpoint: {shown!r} not shown")
    # Its parameters, each on its own row, by name and where it goes.
    shown = sorted((p["in"], p["name"]) for p in rendered["parameters"])
    if shown != sorted(want["parameters"]):
        problems.append(f"parameters shown: {shown}, the spec has {sorted(want['parameters'])}")
    # The six media types, in the body menu of each success response.
    for status, media_types in want["media_types"].items():
        menu = rendered["tabs"].get(status, {}).get("menu") or []
        if sorted(menu) != sorted(media_types):
            problems.append(f"{status}: media-type menu shows {menu}, the spec has {media_types}")
    # Every error code: each error response's example, and the catalogue in its body schema.
    for status, code in want["error_codes"].items():
        tab = rendered["tabs"].get(status, {}).get("text", "")
        missing = [c for c in want["catalogue"] if c not in tab]
        if missing:
            problems.append(f"{status} tab: error codes not shown: {missing}")
        if code not in rendered["examples"].get(status, ""):
            problems.append(f"{status}: example with code {code} not shown")
    shown_codes = {
        c for c in want["catalogue"] if any(c in e for e in rendered["examples"].values())
    }
    if shown_codes != set(want["catalogue"]):
        problems.append(f"codes with no example shown: {set(want['catalogue']) - shown_codes}")
    assert not problems, "\n".join(problems)

    # The screenshot is a real picture of the page.
    png = SCREENSHOT.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == WIDTH
    assert height >= HEIGHT
    assert len(png) > 20_000  # a blank page compresses to a few kB


# ---------------------------------------------------------------------------- the site


def guide_titles() -> dict[str, str]:
    """Each guide in docs/guides/ at test time: its file name and its H1, as the nav shows it."""
    titles: dict[str, str] = {}
    for guide in sorted(GUIDES.glob("*.md")) if GUIDES.is_dir() else []:
        lines = guide.read_text(encoding="utf-8").splitlines()
        h1 = next((line[2:].strip() for line in lines if line.startswith("# ")), guide.stem)
        titles[guide.name] = h1.replace("`", "").replace("*", "")
    return titles


@pytest.fixture(scope="module")
def site(page: Path) -> Iterator[str]:
    """site/ (built by `make docs` with the page) served on loopback; its base URL."""
    assert (SITE / "index.html").is_file(), "make docs did not build site/"
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


# What a reader sees: the navigation's links, then the search box typed into, then the
# Clients reference page. Each step reports; the test decides.
READ_THE_NAV = """
(async () => {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  for (const end = Date.now() + 15000; Date.now() < end; await sleep(50))
    if (document.querySelector(".md-nav--primary")) break;
  const nav = document.querySelector(".md-nav--primary");
  const links = nav ? [...nav.querySelectorAll("a.md-nav__link")] : [];
  return links.map((a) => ({ href: a.href, text: a.textContent.trim().replace(/\\s+/g, " ") }));
})()
"""

SEARCH_RESULTS = """
(async (word) => {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const items = () => [...document.querySelectorAll(".md-search-result__item")];
  const query = document.querySelector("input.md-search__input");
  for (let n = 0, end = Date.now() + 15000; Date.now() < end; n++, await sleep(100)) {
    if (items().some((i) => i.textContent.includes(word))) break;
    // Keys typed before the search index had loaded found nothing, and Material searches
    // again only on the next keystroke: every second, the same query is announced again.
    if (n % 10 === 9) {
      query.dispatchEvent(new Event("input", { bubbles: true }));
      query.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
    }
  }
  return {
    meta: (document.querySelector(".md-search-result__meta") || {}).textContent || "",
    results: items().map((i) => ({
      href: (i.querySelector("a") || {}).href || "",
      text: i.textContent.trim().replace(/\\s+/g, " ").slice(0, 300),
    })),
  };
})
"""

READ_THE_METHOD = """
(async (id) => {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  for (const end = Date.now() + 15000; Date.now() < end; await sleep(50))
    if (document.getElementById(id)) break;
  const heading = document.getElementById(id);
  if (!heading) return null;
  const block = heading.closest(".doc-object") || heading.parentElement;
  const signature = block.querySelector(".doc-signature");
  const table = block.querySelector(".doc-section-title + table, table");
  const names = table ? [...table.querySelectorAll("tbody tr td:first-child code")] : [];
  heading.scrollIntoView();
  await sleep(500);  // the header's title slides to the page's name as it scrolls
  const box = heading.getBoundingClientRect();
  return {
    heading: heading.textContent.trim(),
    visible: box.width > 0 && box.height > 0,
    signature: signature ? signature.textContent.replace(/\\s+/g, " ") : "",
    parameters: names.map((n) => n.textContent.trim()),
    client: !!document.getElementById("breeze_blue.BreezeBlue"),
  };
})
"""


@pytest.fixture(scope="module")
def reader(site: str) -> Iterator[DevTools]:
    executable = chromium()
    with tempfile.TemporaryDirectory(prefix="breeze-site-chromium-") as profile:
        browser = DevTools(executable, profile)
        try:
            yield browser
        finally:
            browser.close()


def test_the_site_navigation_lists_every_guide_and_the_http_api(
    site: str, reader: DevTools
) -> None:
    reader.open(site)
    links = reader.evaluate(READ_THE_NAV)
    shown = [(link["text"], link["href"].removeprefix(site)) for link in links]
    guides = guide_titles()
    # Zero guides is allowed only when docs/guides/ has none (guide_titles() reads the folder).
    missing = {
        name: title
        for name, title in guides.items()
        if (title, f"guides/{name.removesuffix('.md')}/") not in shown
    }
    assert not missing, f"guides not in the navigation (file: title): {missing}; nav: {shown}"
    pages = [
        ("API reference", "reference/"),
        ("Clients", "reference/client/"),
        ("Exceptions", "reference/errors/"),
        ("Testing", "reference/testing/"),
        ("HTTP API", "reference/http/"),
        ("Generator matrix", "interop/"),
        ("Changelog", "changelog/"),
        ("Development", "development/"),
    ]
    for entry in pages:
        assert entry in shown, f"{entry} not in the navigation: {shown}"
    # The reader's order: the guides first, then the reference, then the rest.
    order = [
        shown.index((title, f"guides/{name.removesuffix('.md')}/"))
        for name, title in guides.items()
    ]
    order += [shown.index(entry) for entry in pages]
    assert order == sorted(order), f"navigation out of order: {shown}"


def test_the_http_api_page_is_part_of_the_site(site: str, reader: DevTools) -> None:
    reader.open(site + "reference/http/")
    title = reader.evaluate(
        """(async () => {
          const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
          for (const end = Date.now() + 15000; Date.now() < end; await sleep(100)) {
            const frame = document.querySelector("iframe[src$='http-api.html']");
            const doc = frame && frame.contentDocument;
            if (doc && doc.title) return doc.title;
          }
          return null;
        })()"""
    )
    assert title == "Breeze Blue API reference"


def test_the_search_finds_generation_not_ready_error(site: str, reader: DevTools) -> None:
    word = "GenerationNotReadyError"
    reader.open(site)
    reader.evaluate(READ_THE_NAV)  # the page is there
    # Like a reader: open the search box, click into it and type the word, key by key.
    reader.evaluate("document.querySelector('label.md-search__icon, [for=__search]').click()")
    reader.evaluate("document.querySelector('input.md-search__input').focus()")
    for key in word:
        for kind in ("keyDown", "keyUp"):
            params = {"type": kind, "key": key, **({"text": key} if kind == "keyDown" else {})}
            reader.send("Input.dispatchKeyEvent", params)
    found = reader.evaluate(f"{SEARCH_RESULTS}({json.dumps(word)})", timeout=30)
    assert any(word in r["text"] for r in found["results"]), found
    assert any("/reference/errors/" in r["href"] for r in found["results"]), found


def test_the_client_reference_shows_download_audio_and_its_parameters(
    site: str, reader: DevTools
) -> None:
    reader.open(site + "reference/client/")
    method = reader.evaluate(
        f"{READ_THE_METHOD}({json.dumps('breeze_blue.History.download_audio')})"
    )
    assert method is not None, "no download_audio on the Clients page"
    assert method["client"], "the Clients page does not document BreezeBlue"
    assert method["visible"]
    assert "download_audio" in method["heading"]
    for name, shown in (
        ("history_item_id", "history_item_id: str"),
        ("wait", "wait: bool = False"),
        ("wait_timeout", "wait_timeout: float = 300.0"),
    ):
        assert shown in method["signature"], method["signature"]
        assert name in method["parameters"], method["parameters"]
    # Keep a picture: the BreezeBlue reference, at download_audio.
    SITE_SCREENSHOT.parent.mkdir(exist_ok=True)
    SITE_SCREENSHOT.unlink(missing_ok=True)
    # The viewport, scrolled to the method by READ_THE_METHOD.
    data = reader.send("Page.captureScreenshot", {"format": "png"})["data"]
    SITE_SCREENSHOT.write_bytes(base64.b64decode(data))
    png = SITE_SCREENSHOT.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 20_000
