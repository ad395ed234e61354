"""A real browser for the Spaces' tests: Debian's chromium driven by Playwright (never a browser
Playwright downloads), and screenshots checked for what they show, not just written."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BROWSER_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)


@contextmanager
def browser_page(**options):
    """A page of Debian's chromium (closed afterwards); `options` go to `new_page` (e.g. a viewport)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser.new_page(**options)
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/ and check it is the rendered page: as wide as
    the viewport and not blank (a tenth of its pixels or more differ from the background)."""
    from matplotlib.image import imread

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    pixels = imread(path)[..., :3]
    assert pixels.shape[1] == page.viewport_size["width"], pixels.shape
    flat = (pixels.reshape(-1, 3) * 255).astype(np.uint8)
    colors, counts = np.unique(flat, axis=0, return_counts=True)
    background_share = counts.max() / counts.sum()
    assert background_share < 0.9 and len(colors) > 50, f"{path} looks blank ({background_share:.0%} one colour)"
    return path
