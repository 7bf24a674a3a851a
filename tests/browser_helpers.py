"""Headless Chromium from Debian's package (/usr/bin/chromium), driven by Playwright. Playwright's own
browser downloads are never used. Without a browser the test is skipped with the reason, and fails
under REQUIRE_SERVICES=1 (scripts/test installs the package where it can)."""
import re
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import service_missing

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium():
    """A launched browser for the whole module, or a skip (a failure under REQUIRE_SERVICES=1)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        service_missing("Playwright (pip install -e '.[test]')", error)
    if not Path(CHROMIUM).exists():
        service_missing(f"Chromium ({CHROMIUM}; apt-get install chromium, or run scripts/test as root)",
                        FileNotFoundError(CHROMIUM))
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as error:  # noqa: BLE001
            service_missing(f"Chromium ({CHROMIUM})", error)
        try:
            yield browser
        finally:
            browser.close()


def pdf_pages(pdf: bytes) -> int:
    """The number of pages of a PDF written by Chromium (Skia writes plain page objects)."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def a4_pdf(page) -> bytes:
    """Print the page as Chrome's print dialog would on A4, with the page's own @page rules."""
    page.emulate_media(media="print")
    return page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
