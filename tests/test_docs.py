"""The documentation site builds without a warning, and works offline in a real browser.

The site is built once with the command CI runs (plus -E, so that a warning in a page an earlier
build already read is raised again), served from docs/_build/html over http on 127.0.0.1
(search needs http: file:// blocks the requests it makes), and every page is opened in the
system's Chromium, driven by Playwright. No host but 127.0.0.1 is known to the browser, and a
request for one counts as a failure: a page that still needs a CDN shows up here as a failed
request and as untypeset math. Nothing is downloaded: Playwright is given the system's browser,
never one of its own.

Needs the docs extra (pip install -e ".[docs]") and Chromium (apt-get install chromium); skipped,
saying which is missing, without them. A screenshot of lesson 02 is kept in
docs/_build/screenshots/.
"""

import functools
import json
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("myst_nb", reason='the docs extra is not installed: pip install -e ".[docs]"')
sync_api = pytest.importorskip(
    "playwright.sync_api", reason='the docs extra is not installed: pip install -e ".[docs]"'
)

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
SCREENSHOTS = ROOT / "docs" / "_build" / "screenshots"
BUILD = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html"]
BUILD += ["docs", "docs/_build/html"]

LESSON_CODE = {  # the derivation lessons, and the backend file each one teaches
    "02_manual_gradients": "manual",
    "03_autograd": "autograd",
    "04_nn_module": "nn_module",
    "05_functional": "functional",
}

# What the page's text (code and typeset math left out) shows of math MathJax left alone.
RAW_MATH = re.compile(r"\$\$|\\\(|\\\[|\$[^$\s][^$\n]*\$")

# Run in the page once it has loaded: the state of its math, images and links.
INSPECT = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => null)));
    await document.fonts.ready;  // MathJax's fonts, among others
    const math = document.querySelectorAll("span.math, div.math");
    const prose = (document.querySelector("article") || document.body).cloneNode(true);
    prose.querySelectorAll("pre, code, mjx-container, script, style").forEach((e) => e.remove());
    return {
        math: math.length,
        typeset: Array.from(math).filter((m) => m.querySelector("mjx-container")).length,
        text: prose.textContent,
        images: Array.from(document.images, (img) => [img.src, img.naturalWidth]),
        links: Array.from(document.querySelectorAll("a[href]"), (a) => a.href),
    };
}"""


@dataclass
class Visit:
    """What one page did in the browser."""

    problems: list[str] = field(default_factory=list)
    math: int = 0
    typeset: int = 0
    text: str = ""
    images: list = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no Chromium installed: apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def site() -> Path:
    """docs/_build/html, just built; the build fails the test on any warning."""
    result = subprocess.run(BUILD, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(BUILD)} failed:\n{result.stderr[-5000:]}"
    return SITE


@pytest.fixture(scope="module")
def base_url(site):
    """The built site served over http on a free port of 127.0.0.1."""

    class Quiet(SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/favicon.ico":  # asked for by Chromium itself, not by a page
                self.send_response(204)
                self.end_headers()
            else:
                super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=site))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            # Root in a container: no sandbox, and /tmp rather than a small /dev/shm. Every host
            # but 127.0.0.1 unknown: nothing leaves the machine, and a page that asks for one
            # gets a failed request.
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


class Tab:
    """One browser tab that opens pages and reports what each did."""

    def __init__(self, browser, base_url: str) -> None:
        self.page = browser.new_page()
        self.base_url = base_url
        self.visit = Visit()
        self.page.on("console", self._console)
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda error: self._problem(f"uncaught error: {error}"))
        self.page.on("requestfailed", self._failed)

    def _problem(self, text: str) -> None:
        self.visit.problems.append(text)

    def _failed(self, request) -> None:
        # A load that the next navigation cut short (net::ERR_ABORTED: CI once saw the page
        # before's lessons.html so) is no fault of a page; a missing file still shows as its
        # HTTP status, and another host as a request for it and a name not resolved.
        if request.failure != "net::ERR_ABORTED":
            self._problem(f"failed: {request.url} ({request.failure})")

    def _console(self, message) -> None:
        if message.type == "error":
            self._problem(f"console error: {message.text}")

    def _request(self, request) -> None:
        if request.url.startswith("http") and not request.url.startswith(self.base_url):
            self._problem(f"request for another host: {request.url}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self._problem(f"HTTP {response.status}: {response.url}")

    def open(self, path: str) -> Visit:
        """Load the site's page at `path`, wait for its math, images and fonts, inspect it."""
        self.visit = visit = Visit()
        self.page.goto(self.base_url + path, wait_until="load")
        state = self.page.evaluate(INSPECT)
        visit.math, visit.typeset, visit.text = state["math"], state["typeset"], state["text"]
        visit.images, visit.links = state["images"], state["links"]
        return visit


@pytest.fixture(scope="module")
def tab(browser, base_url):
    tab = Tab(browser, base_url)
    yield tab
    tab.page.close()


def pages(site: Path) -> list[str]:
    return sorted(path.relative_to(site).as_posix() for path in site.rglob("*.html"))


@pytest.fixture(scope="module")
def visits(site, tab) -> dict[str, Visit]:
    """Every page of the site, opened in the browser once."""
    return {name: tab.open(name) for name in pages(site)}


def test_the_site_has_every_notebook_the_guide_and_the_api_reference(site):
    built = set(pages(site))
    notebooks = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    expected = {"index.html", "api.html", "search.html", "lessons.html", "performance.html"}
    expected |= {f"notebooks/{name}.html" for name in notebooks}
    expected |= {f"code/{name}.html" for name in LESSON_CODE.values()}
    assert expected <= built, f"pages missing: {sorted(expected - built)}"


def test_no_page_asks_another_host_for_a_script_a_stylesheet_or_an_image(site):
    remote = re.compile(
        r"<(?:script|img|iframe)\b[^>]*\bsrc=\"(?:https?:)?//|<link\b[^>]*\bhref=\"(?:https?:)?//"
    )
    found = [name for name in pages(site) if remote.search((site / name).read_text())]
    assert not found, f"pages that load something from another host: {found}"


def test_every_page_loads_with_no_error_and_no_failed_request(visits):
    problems = {name: visit.problems for name, visit in visits.items() if visit.problems}
    assert not problems, json.dumps(problems, indent=1)


def test_every_figure_has_loaded(visits):
    broken = {
        name: [src for src, width in visit.images if width == 0]
        for name, visit in visits.items()
        if any(width == 0 for _, width in visit.images)
    }
    assert not broken, broken
    figures = sum(
        len(visit.images) for name, visit in visits.items() if name.startswith("notebooks/")
    )
    assert figures > 0, "the notebook pages show no figure at all"


def test_all_math_is_typeset_and_none_is_left_raw(visits):
    for name, visit in visits.items():
        assert visit.typeset == visit.math, (
            f"{name}: {visit.math - visit.typeset} formulas untypeset"
        )
        raw = RAW_MATH.findall(visit.text)
        assert not raw, f"{name} shows raw math: {raw[:5]}"


@pytest.mark.parametrize("lesson", LESSON_CODE)
def test_each_derivation_lesson_shows_typeset_math_and_links_to_its_code(lesson, visits):
    visit = visits[f"notebooks/{lesson}.html"]
    assert visit.math > 0 and visit.typeset == visit.math, f"{lesson}: math not typeset"
    code = f"code/{LESSON_CODE[lesson]}.html"
    assert any(urlsplit(link).path.endswith("/" + code) for link in visit.links), (
        f"{lesson} does not link to {code}"
    )
    assert 'class="highlight' in (SITE / code).read_text(), f"{code} shows no highlighted source"


@functools.cache
def ids_of(path: Path) -> set[str]:
    """The anchors of a page: its elements' ids (and the names of old-style anchors)."""
    return set(re.findall(r'\b(?:id|name)="([^"]+)"', path.read_text()))


def test_every_internal_link_resolves(site, base_url, visits):
    broken = set()
    for name, visit in visits.items():
        for link in visit.links:
            if not link.startswith(base_url):
                continue  # a link out of the site; never fetched
            parts = urlsplit(link)
            target = site / unquote(parts.path).lstrip("/")
            if parts.path.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                broken.add(f"{name} -> {link}: no such file")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in ids_of(target):
                    broken.add(f"{name} -> {link}: no such anchor")
    assert not broken, "\n".join(sorted(broken))


def test_search_finds_weight_decay(tab):
    visit = tab.open("search.html?q=weight_decay")
    tab.page.wait_for_selector("ul.search li", timeout=15_000)
    assert tab.page.locator("ul.search li").count() >= 1
    assert not visit.problems, visit.problems


def test_a_screenshot_of_lesson_02_is_kept(tab):
    visit = tab.open("notebooks/02_manual_gradients.html")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "02_manual_gradients.png"
    tab.page.screenshot(path=path, full_page=True)
    assert visit.typeset > 0 and not visit.problems, visit.problems
    assert path.stat().st_size > 10_000
