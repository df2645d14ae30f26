"""End to end: ``python -m minitorch app`` driven in a real, headless Chromium.

Starts the app on a free port and, through Selenium, checks that every page (autodiff, train,
tensors, digits) shows its title within 3 s and never an uncaught exception, that the autodiff
and tensors pages draw their SVG, that autodiff's "next" steps through backpropagation, that
the train page redraws its plots at least twice a second while it trains and survives a setting
changed mid-training, and that the digits page trains to "Finished" and draws its confusion
matrix.

Marker ``browser`` (``-m "not browser"`` leaves it out). Needs streamlit, selenium, and
Chromium with its driver (Debian: ``apt-get install chromium chromium-driver``; ``.ci/run``
installs them as root). Where one is missing the tests skip with the reason, except when ``CI``
is set (to anything but ``""``, ``0`` or ``false``): then they fail, as CI installs them and a
skip would hide a broken CI. ``MINITORCH_SCREENSHOTS=folder`` saves a screenshot of each page
(``app-<page>.png``, 1280 wide, as tall as the page) there.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypedDict, cast

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "autodiff": "Autodiff",
    "train": "Train the lecture's network",
    "tensors": "Tensors",
    "digits": "Digits",
}
FIRST_CONTENT_S = 3.0  # a page's title must show within this long of driver.get
MIN_REDRAWS_PER_S = 2.0  # the train page's plots, while it trains
POLL_S = 0.05
SERVER_START_S = 60.0
TRAIN_TIMEOUT_S = 60.0
DIGITS_TIMEOUT_S = 120.0
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # Without these three Chromium's own connections fail offline, and so do the page's.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]

# One round trip per poll: everything the tests look at, read in the page itself.
SNAPSHOT_JS = """
const texts = (sel) => Array.from(document.querySelectorAll(sel)).map((e) => e.innerText);
const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
return {
  h1: Array.from(document.querySelectorAll("h1")).filter(shown).map((e) => e.innerText),
  exceptions: texts('[data-testid="stException"]'),
  errors: texts('[data-testid="stAlertContentError"]'),
  // a success alert of the run before, still shown while this run has not reached it, is stale
  successes: Array.from(document.querySelectorAll('[data-testid="stAlertContentSuccess"]'))
    .filter((e) => e.closest('[data-stale="true"]') === null).map((e) => e.innerText),
  captions: texts('[data-testid="stCaptionContainer"]'),
  // a run is under way: the status widget says so (after a delay) or elements of the run
  // before are still waiting to be drawn again
  running: document.querySelector('[data-testid="stStatusWidgetRunningIcon"]') !== null
    || document.querySelector('[data-stale="true"]') !== null,
};
"""

# SVGs of at least 40x40 px in the page content (same-origin iframes included): the graphs,
# not the 16 px icons streamlit puts next to headings and in menus.
BIG_SVGS_JS = """
const main = document.querySelector('[data-testid="stMain"]') || document.body;
const roots = [main];
for (const frame of main.querySelectorAll("iframe")) {
  try { if (frame.contentDocument) roots.push(frame.contentDocument); } catch (e) {}
}
return roots
  .flatMap((root) => Array.from(root.querySelectorAll("svg")))
  .map((svg) => svg.getBoundingClientRect())
  .filter((box) => box.width >= 40 && box.height >= 40).length;
"""


# The page's content height: streamlit scrolls its main block, not the document.
CONTENT_HEIGHT_JS = """
const main = document.querySelector('[data-testid="stMain"]') || document.body;
return main.scrollHeight;
"""


class Snapshot(TypedDict):
    h1: list[str]
    exceptions: list[str]
    errors: list[str]
    successes: list[str]
    captions: list[str]
    running: bool


@dataclass
class AppServer:
    """The running ``python -m minitorch app`` and everything it has printed so far."""

    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def url(self, page: str) -> str:
        return f"http://localhost:{self.port}/?page={page}"

    def output(self) -> str:
        return "".join(self.lines)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def _missing(what: str) -> NoReturn:
    """Skip for a missing prerequisite; fail instead under CI, which must provide it."""
    if _in_ci():
        pytest.fail(
            f"{what} (CI is set: CI must install it, so this fails, not skips)", pytrace=False
        )
    pytest.skip(what)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-headless-shell"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _chromedriver() -> str | None:
    if os.access("/usr/bin/chromedriver", os.X_OK):
        return "/usr/bin/chromedriver"
    return shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the app's whole process group, then SIGKILL to whatever is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print("note: the app ignored SIGTERM for 10 s; killing it")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def app() -> Iterator[AppServer]:
    """``python -m minitorch app --port P`` from this checkout, answering its health check."""
    if importlib.util.find_spec("streamlit") is None:
        _missing("streamlit is not installed (pip install -e '.[dev]')")
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "minitorch", "app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = AppServer(port, process)

    def drain() -> None:  # an unread pipe would block the server once its buffer fills
        assert process.stdout is not None
        for line in process.stdout:
            server.lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        health = f"http://localhost:{port}/_stcore/health"
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"the app exited ({process.returncode}) before serving:\n{server.output()}"
                )
            try:
                with no_proxy.open(health, timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{health} did not answer ok in {SERVER_START_S:.0f} s:\n{server.output()}"
                )
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium (1280x900, fresh profile) through its driver, never downloading one."""
    if importlib.util.find_spec("selenium") is None:
        _missing("selenium is not installed (pip install -e '.[dev]')")
    chromium, chromedriver = _chromium(), _chromedriver()
    if chromium is None or chromedriver is None:
        lacking = " and ".join(
            name
            for name, found in (("chromium", chromium), ("chromedriver", chromedriver))
            if found is None
        )
        _missing(f"no {lacking} binary found (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="minitorch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    try:
        # The driver's path given explicitly: selenium-manager is never asked to download one.
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        try:
            driver.set_page_load_timeout(30)
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _snapshot(browser: WebDriver) -> Snapshot:
    return cast(Snapshot, browser.execute_script(SNAPSHOT_JS))


def _plain(text: str) -> str:
    return text.replace("\u2019", "'").strip()


def _check_clean(snap: Snapshot, where: str) -> None:
    """Fail on an uncaught exception, or an error alert carrying a traceback, on the page."""
    problems = snap["exceptions"] + [e for e in snap["errors"] if "Traceback" in e]
    if problems:
        pytest.fail(
            f"{where}: the app shows an error:\n" + "\n-----\n".join(problems), pytrace=False
        )


def _finished(snap: Snapshot) -> bool:
    return any(_plain(s).startswith("Finished") for s in snap["successes"])


def _update_number(snap: Snapshot) -> int | None:
    for caption in snap["captions"]:
        found = re.search(r"\bupdate (\d+)", caption)
        if found:
            return int(found.group(1))
    return None


def _open(browser: WebDriver, app: AppServer, page: str) -> float:
    """Load ``page``; seconds from ``driver.get`` until its ``<h1>`` title is visible."""
    title = PAGES[page]
    start = time.perf_counter()
    browser.get(app.url(page))
    while True:
        snap = _snapshot(browser)
        elapsed = time.perf_counter() - start
        _check_clean(snap, page)
        if any(title in _plain(h) for h in snap["h1"]):
            return elapsed
        if elapsed > 30:
            pytest.fail(f"{page}: no visible <h1> with {title!r} after 30 s (h1: {snap['h1']})")
        time.sleep(0.02)


def _settle(browser: WebDriver, page: str, timeout: float = 30.0) -> Snapshot:
    """Wait until the script run ends (no 'Running' icon for 0.5 s), checking for errors."""
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while True:
        snap = _snapshot(browser)
        _check_clean(snap, page)
        now = time.monotonic()
        if snap["running"]:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= 0.5:
            return snap
        if now > deadline:
            pytest.fail(f"{page}: the script was still running after {timeout:.0f} s")
        time.sleep(POLL_S)


def _wait_for_svg(browser: WebDriver, page: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while int(browser.execute_script(BIG_SVGS_JS)) == 0:
        _check_clean(_snapshot(browser), page)
        if time.monotonic() > deadline:
            pytest.fail(
                f"{page}: no <svg> (40x40 px or more) in the page content after {timeout} s"
            )
        time.sleep(0.1)


def _screenshot(browser: WebDriver, page: str) -> None:
    """Save the whole page (the window made as tall as its content) when asked to."""
    folder = os.environ.get("MINITORCH_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"app-{page}.png"
    content = browser.execute_script(CONTENT_HEIGHT_JS)
    browser.set_window_size(1280, min(int(content) + 120, 3000))
    try:
        time.sleep(1.0)  # let streamlit lay the taller page out again
        assert browser.save_screenshot(str(path)), f"could not save {path}"
    finally:
        browser.set_window_size(1280, 900)


def _train_button(browser: WebDriver, page: str, timeout: float = 20.0) -> WebElement:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        buttons = browser.find_elements(By.XPATH, "//button[normalize-space(.)='Train']")
        shown = [b for b in buttons if b.is_displayed() and b.is_enabled()]
        if shown:
            return shown[0]
        _check_clean(_snapshot(browser), page)
        if time.monotonic() > deadline:
            pytest.fail(f"{page}: no enabled 'Train' button after {timeout:.0f} s")
        time.sleep(0.1)


def _wait_for_rerun(browser: WebDriver, timeout: float = 5.0) -> None:
    """After a click: wait until the script runs again (from then on the earlier run's
    "Finished" alert is stale until replaced), so that it is not taken for this run's."""
    deadline = time.monotonic() + timeout
    while not _snapshot(browser)["running"] and time.monotonic() < deadline:
        time.sleep(POLL_S / 5)


def _step_forward(browser: WebDriver, steps: int) -> None:
    """Press the autodiff page's "next" button ``steps`` times; the step caption must follow."""
    from selenium.webdriver.common.by import By

    for expected in range(1, steps + 1):
        buttons = browser.find_elements(By.XPATH, "//button[contains(normalize-space(.), 'next')]")
        assert buttons, "autodiff: no 'next' button"
        buttons[0].click()
        deadline = time.monotonic() + 10
        while not any(c.startswith(f"step {expected}/") for c in _snapshot(browser)["captions"]):
            _check_clean(_snapshot(browser), "autodiff")
            assert time.monotonic() < deadline, (
                f"autodiff: 'next' did not move to step {expected} in 10 s "
                f"(captions: {_snapshot(browser)['captions']})"
            )
            time.sleep(POLL_S)
        _settle(browser, "autodiff")
    _wait_for_svg(browser, "autodiff")


def _train(
    browser: WebDriver, app: AppServer, page: str, timeout: float, reopen: bool = True
) -> tuple[float, list[tuple[float, int]]]:
    """Open ``page`` (unless ``reopen`` is False), click Train and wait for a new "Finished".

    Returns the seconds it took and the (time, N) of each new ``update N`` caption seen while
    training (a caption there before the click is not counted until it changes).
    """
    if reopen:
        _open(browser, app, page)
    button = _train_button(browser, page)
    before = _update_number(_snapshot(browser))
    button.click()
    _wait_for_rerun(browser)
    clicked = time.perf_counter()
    seen: list[tuple[float, int]] = []
    while True:
        snap = _snapshot(browser)
        now = time.perf_counter()
        _check_clean(snap, page)
        if _finished(snap):
            return now - clicked, seen
        n = _update_number(snap)
        if n is not None and n != (seen[-1][1] if seen else before):
            seen.append((now, n))
        if now - clicked > timeout:
            pytest.fail(
                f"{page}: no 'Finished' alert {timeout:.0f} s after clicking Train "
                f"(updates seen: {[n for _, n in seen]}, successes: {snap['successes']})"
            )
        time.sleep(POLL_S)


def test_every_page_opens_fast_and_clean(browser: WebDriver, app: AppServer) -> None:
    from selenium.webdriver.common.by import By

    # The server's first run of the script compiles it and imports the app's modules, which
    # a user pays once per server, not per page: reported, not held to the 3 s.
    cold = _open(browser, app, "autodiff")
    _settle(browser, "autodiff")
    print(f"first page of a fresh server: {cold:.2f} s")

    timings: dict[str, float] = {}
    for page in PAGES:
        timings[page] = _open(browser, app, page)
        if page in ("autodiff", "tensors"):
            _wait_for_svg(browser, page)
        else:
            _train_button(browser, page)
        _settle(browser, page)
        if page == "autodiff":
            _step_forward(browser, 3)
        if page in ("autodiff", "tensors"):
            _screenshot(browser, page)
    print(
        "first content (driver.get to visible <h1>): "
        + ", ".join(f"{page} {s:.2f} s" for page, s in timings.items())
    )

    # The sidebar radio switches pages too (we are on digits now).
    labels = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] label')
    wanted = [label for label in labels if _plain(label.text) == PAGES["tensors"]]
    assert wanted, f"no sidebar label {PAGES['tensors']!r} (labels: {[x.text for x in labels]})"
    wanted[0].click()
    deadline = time.monotonic() + 10
    while not any(PAGES["tensors"] in _plain(h) for h in _snapshot(browser)["h1"]):
        assert time.monotonic() < deadline, "the sidebar radio did not switch to Tensors in 10 s"
        time.sleep(POLL_S)
    _settle(browser, "tensors (from the sidebar)")

    assert f"http://localhost:{app.port}" in app.output(), (
        f"the app did not print its address:\n{app.output()}"
    )
    slow = {page: s for page, s in timings.items() if s >= FIRST_CONTENT_S}
    assert not slow, f"pages whose title took {FIRST_CONTENT_S} s or more to show: {slow}"


def test_training_updates_the_plots_twice_a_second(browser: WebDriver, app: AppServer) -> None:
    took, seen = _train(browser, app, "train", TRAIN_TIMEOUT_S)
    numbers = [n for _, n in seen]
    print(f"train: Finished {took:.2f} s after the click; update numbers seen: {numbers}")
    assert len(seen) >= 3, (
        f"only {len(seen)} distinct 'update N' captions while training for {took:.2f} s "
        f"(seen: {numbers}): default training too short to measure, or the plots were not redrawn"
    )
    assert all(b > a for a, b in itertools.pairwise(numbers)), (
        f"update numbers went down: {numbers}"
    )
    (t_first, n_first), (t_last, n_last) = seen[0], seen[-1]
    rate = (n_last - n_first) / (t_last - t_first)
    print(f"train: {rate:.2f} redraws/s over {t_last - t_first:.2f} s")
    assert rate >= MIN_REDRAWS_PER_S, (
        f"plots redrawn {rate:.2f} times a second while training "
        f"(update {n_first} to {n_last} in {t_last - t_first:.2f} s); want {MIN_REDRAWS_PER_S}"
    )
    _settle(browser, "train")
    _screenshot(browser, "train")


def test_a_setting_changed_while_training_starts_over_cleanly(
    browser: WebDriver, app: AppServer
) -> None:
    """Streamlit reruns the page in a new thread while the old run still trains: the two
    must not share grad mode or a compile trace (they once did: 'backward() on a constant')."""
    from selenium.webdriver.common.by import By

    _open(browser, app, "train")
    _train_button(browser, "train").click()
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while (_update_number(_snapshot(browser)) or 0) < 3:  # the Scalar run is under way
        _check_clean(_snapshot(browser), "train")
        assert time.monotonic() < deadline, "train: no redraw after clicking Train"
        time.sleep(POLL_S)
    tensor = browser.find_elements(By.XPATH, "//label[normalize-space(.)='Tensor']")
    assert tensor, "train: no 'Tensor' backend option"
    tensor[0].click()
    _settle(browser, "train (backend switched while training)", timeout=TRAIN_TIMEOUT_S)
    for _ in range(2):  # a Tensor run (compiled steps), twice: the second replays
        took, _ = _train(browser, app, "train", TRAIN_TIMEOUT_S, reopen=False)
        print(f"train, Tensor backend after the switch: Finished {took:.2f} s after the click")
        _settle(browser, "train")


def test_digits_trains_and_shows_results(browser: WebDriver, app: AppServer) -> None:
    took, _ = _train(browser, app, "digits", DIGITS_TIMEOUT_S)
    print(f"digits: Finished {took:.2f} s after the click")
    _settle(browser, "digits", timeout=60)
    _wait_for_svg(browser, "digits")  # the confusion matrix
    _screenshot(browser, "digits")
