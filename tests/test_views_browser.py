"""The article view in a real browser: headless Chromium driven over the DevTools protocol (websocket-client).

Opens the index and an article page from disk, checks every span of the record against the marks the browser
sees, clicks a legend toggle and hovers a mark, watches every request the pages make (none may leave the
machine), and saves screenshots of both pages under the test's temporary folder. Skips, saying why, where no
Chromium is installed (`make test` installs the Debian package `chromium` when it runs as root).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.taxonomy import load_taxonomy
from pipeline.views.article import page_name, write_site
from pipeline.views.records import read_view_documents
from tests.views_helpers import pulled_record, record, sample_record, write_jsonl

websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (pip install -e '.[test]')")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0


def find_browser() -> str | None:
    configured = os.environ.get("FRAMING_CHROMIUM")
    if configured:
        return configured
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"{executable} did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as response:
            pages = [t for t in json.load(response) if t.get("type") == "page"]
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=TIMEOUT,
                                                  suppress_origin=True)
        self.events: list[dict] = []
        self._next = 0
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def send(self, method: str, **params):
        self._next += 1
        self.socket.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            for number, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(number)
            self.events.append(json.loads(self.socket.recv()))
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        x, y = self._centre(selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def hover(self, selector: str) -> None:
        x, y = self._centre(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def _centre(self, selector: str) -> tuple[float, float]:
        box = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                            "e.scrollIntoView({block: 'center'}); const r = e.getClientRects()[0];"
                            "return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        return box[0], box[1]

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = find_browser()
    if executable is None:
        pytest.skip("no Chromium found (Debian: apt-get install chromium; `make test` installs it as root; "
                    "or set FRAMING_CHROMIUM to a Chromium binary)")
    try:
        session = Browser(executable, tmp_path_factory.mktemp("chromium-profile"))
    except (OSError, RuntimeError) as error:
        pytest.skip(f"Chromium at {executable} did not start: {error}")
    yield session
    session.close()


MARKS_JS = """[...document.querySelectorAll('mark')].map(m => ({label: m.dataset.label, kind: m.dataset.kind,
  start: +m.dataset.start, end: +m.dataset.end, source: m.dataset.source, span: m.dataset.span,
  text: m.textContent, off: m.classList.contains('off'), background: getComputedStyle(m).backgroundColor,
  border: getComputedStyle(m).borderBottomColor}))"""


def test_pages_in_a_real_browser(browser, tmp_path):
    model = sample_record()
    human = pulled_record(model)
    quiet = record("doc-0", "Nothing happened.", {"outlet": "Gazette"}, sentences=[{"start": 0, "end": 17}])
    paths = [write_jsonl(tmp_path / "annotated.jsonl", [model, quiet]),
             write_jsonl(tmp_path / "pulled.jsonl", [human])]
    site = write_site(read_view_documents(paths), tmp_path / "site", taxonomy=load_taxonomy())

    browser.events.clear()
    browser.open(site.index.as_uri())
    rows_js = ("[...document.querySelectorAll('#documents tbody tr')].map(r => "
               "[r.querySelector('a').getAttribute('href'), r.textContent])")
    rows = browser.evaluate(rows_js)
    assert [href for href, _ in rows] == [page_name("doc-0"), page_name(model["id"])]  # sorted by id
    assert "The <b>Herald</b>" in rows[1][1]  # metadata shown as text
    browser.evaluate("[...document.querySelectorAll('#documents th')].find(th => th.textContent === 'devices')"
                     ".click()")  # sort by devices, most first
    assert [href for href, _ in browser.evaluate(rows_js)] == [page_name(model["id"]), page_name("doc-0")]
    browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = 'nothing matches';"
                     "f.dispatchEvent(new Event('input')); })()")
    assert browser.evaluate("document.querySelectorAll('#documents tbody tr').length") == 0
    browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = 'herald';"
                     "f.dispatchEvent(new Event('input')); })()")
    assert browser.evaluate("document.querySelectorAll('#documents tbody tr').length") == 1
    index_png = browser.screenshot(tmp_path / "index.png")

    browser.click(f'#documents tbody a[href="{page_name(model["id"])}"]')  # follow the link, as a reader would
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname").endswith(page_name(model["id"]))
    marks = browser.evaluate(MARKS_JS)
    for source, expected in (("model: test-model-1", model), (f"human: {human['annotator']}", human)):
        ordered = sorted(expected["spans"], key=lambda s: (s["start"], -s["end"], s["label"]))
        for number, span in enumerate(ordered):
            fragments = [m for m in marks if m["source"] == source and m.get("span") == str(number)]
            assert fragments, f"no mark for {source} span {span}"
            assert {(m["label"], m["start"], m["end"]) for m in fragments} == {
                (span["label"], span["start"], span["end"])}
            assert "".join(m["text"] for m in fragments) == expected["text"][span["start"]:span["end"]]
    layer_texts = browser.evaluate("[...document.querySelectorAll('.text')].map(t => t.textContent)")
    assert layer_texts == [model["text"], model["text"]]  # <script> in the text is shown, not run

    # hovering a mark shows its label, score and model version
    browser.hover('mark[data-label="delegitimation"][data-source="model: test-model-1"]')
    tip = browser.evaluate("(() => { const t = document.getElementById('tip'); return [t.hidden, t.textContent]; })()")
    assert tip[0] is False and "Delegitimation" in tip[1] and "0.55" in tip[1] and "test-model-1" in tip[1]

    # hovering a blame span marks its blamed actor and draws the line between them
    browser.hover('mark.has-actor[data-source="model: test-model-1"]')
    linked = browser.evaluate("[...document.querySelectorAll('mark.linked')].map(m => m.textContent)")
    assert linked == ["governor"]
    assert browser.evaluate("document.querySelectorAll('#links line').length") == 1

    # the legend toggles a label: its marks lose their colour, the others keep theirs, the text stays
    browser.click('input[data-label="loaded_language"]')
    after = browser.evaluate(MARKS_JS)
    toggled = [m for m in after if m["label"] == "loaded_language"]
    others = [m for m in after if m["label"] == "blame_attribution"]
    assert toggled and all(m["off"] and m["background"] == "rgba(0, 0, 0, 0)" for m in toggled)
    assert all(not m["off"] and m["background"] != "rgba(0, 0, 0, 0)" for m in others)
    assert browser.evaluate("[...document.querySelectorAll('.text')].map(t => t.textContent)") == layer_texts
    browser.click('input[data-label="loaded_language"]')
    assert not any(m["off"] for m in browser.evaluate(MARKS_JS))
    article_png = browser.screenshot(tmp_path / "article.png")

    leaving = [url for url in browser.requests() if not url.startswith(("file:", "data:", "about:"))]
    assert leaving == []
    assert any(url.endswith("/assets/view.js") for url in browser.requests())
    for png in (index_png, article_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
