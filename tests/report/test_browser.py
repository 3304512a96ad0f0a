"""The replication report and the documentation seen in a real browser (headless Chromium).

For each page: every image has loaded (``naturalWidth > 0``) and has alt text (report), nothing
overflows sideways in a 1280 px wide window, the console has no errors, and on a page with
formulas MathJax has rendered every one. Screenshots are kept under ``test-artefacts/browser``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromedriver``) and the
Python package selenium. The report comes from ``civmodels replicate --fast`` (three methods)
into a temporary folder; the documentation is built without executing the examples, or taken
from ``CIVMODELS_DOCS_HTML`` (a folder with a built site) when that is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artefacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTH = 1280

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _need_browser() -> None:
    # skips locally, fails in CI (where .ci/run installs both)
    require_tool("chromium", "chromium")
    require_tool("chromedriver", "chromium-driver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        f"--window-size={WIDTH},900",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("replication") / "report"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "civmodels", "replicate", "--fast", "--no-progress", "--out",
         str(out), "--methods", "crosstab", "design", "ordinal"],
        capture_output=True, text=True, env=env, timeout=900, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return out / "report.html"


@pytest.fixture(scope="module")
def docs_html(tmp_path_factory) -> Path:
    given = os.environ.get("CIVMODELS_DOCS_HTML")
    if given:
        return Path(given)
    pytest.importorskip("sphinx")
    out = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", CIVMODELS_DOCS_EXECUTE="off")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(out / "doctrees"),
         str(ROOT / "docs"), str(out / "html")],
        capture_output=True, text=True, env=env, timeout=1500, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return out / "html"


def _open(driver, page: Path) -> None:
    driver.get_log("browser")  # drop messages of earlier pages
    driver.get(page.resolve().as_uri())
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (document.readyState === 'complete') { done(); }"
        "else { window.addEventListener('load', () => done()); }"
    )


def _check_page(driver, page: Path, shot: str, *, alt_text: bool) -> None:
    _open(driver, page)
    broken = driver.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 100));"
    )
    assert broken == [], f"{page.name}: images that did not load: {broken}"
    if alt_text:
        no_alt = driver.execute_script(
            "return Array.from(document.images).filter(i => !i.alt.trim()).length;"
        )
        assert no_alt == 0, f"{page.name}: {no_alt} images without alt text"
    sizes = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
    )
    assert sizes[0] <= sizes[1], f"{page.name}: page is {sizes[0]} px wide in {sizes[1]} px"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], f"{page.name}: console errors {errors}"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTEFACTS / f"{shot}.png"))


def test_report_html_in_chromium(browser, report_html):
    _check_page(browser, report_html, "report", alt_text=True)
    n_images = browser.execute_script("return document.images.length;")
    assert n_images >= 1  # the report's figures are there (and loaded, checked above)
    # wide tables scroll inside their own container
    wraps = browser.execute_script(
        "return Array.from(document.querySelectorAll('table')).map("
        "t => getComputedStyle(t.parentElement).overflowX);"
    )
    assert wraps and set(wraps) == {"auto"}, wraps


def test_docs_index_in_chromium(browser, docs_html):
    _check_page(browser, docs_html / "index.html", "docs-index", alt_text=False)


def test_docs_render_math_offline(browser, docs_html):
    from selenium.webdriver.support.ui import WebDriverWait

    page = docs_html / "ordinal.html"
    _check_page(browser, page, "docs-ordinal", alt_text=False)
    src = browser.execute_script(
        "return Array.from(document.scripts).map(s => s.src).filter(s => s.includes('mathjax'));"
    )
    assert src and all(s.startswith("file://") for s in src), src  # bundled, not a CDN
    # MathJax typesets after load: wait until every formula holds a rendered container
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(
            "const m = document.querySelectorAll('span.math, div.math');"
            "return m.length > 0 && Array.from(m).every(e => e.querySelector('mjx-container'));"
        )
    )
    raw = browser.execute_script(
        "return Array.from(document.querySelectorAll('span.math, div.math'))"
        ".filter(e => e.innerText.includes('\\\\le')).length;"
    )
    assert raw == 0, "formulas still show raw TeX"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], f"console errors while typesetting: {errors}"
    browser.execute_script("document.querySelector('div.math').scrollIntoView();")
    browser.save_screenshot(str(ARTEFACTS / "docs-ordinal-math.png"))
