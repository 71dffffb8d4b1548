"""report.html in a real browser: headless Chromium driven by Playwright (no browser download:
Playwright drives the system's Chromium). Skips only when no browser is found and CI is unset."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
import yaml

import simlab.whatif as wi

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def find_browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = find_browser()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no Chromium was found: .ci/run installs it with apt")
        pytest.skip("no Chromium on this machine (CI installs one)")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    raw = {"name": "browser <b>check</b>", "description": "<script>document.body.innerHTML=''</script>",
           "seed": 2, "duration": "10m", "slo": {"p99_ms": 300},
           "workload": {"arrivals": "poisson", "rate_per_s": 3, "payload_kb": 1},
           "deployments": [
               {"name": "rt", "type": "real_time_endpoint", "instance_count": 1, "workers_per_instance": 2,
                "service_time": {"dist": "exponential", "mean_ms": 80}},
               {"name": "sls", "type": "serverless_inference", "memory_mb": 1024, "max_concurrency": 10,
                "service_time": {"dist": "exponential", "mean_ms": 80}}]}
    path = tmp / "s.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    w = wi.whatif(path, ["workload.rate_per_s=2,6"], replications=2)
    w.write(tmp / "out")
    return tmp / "out" / "report.html"


def test_report_renders_in_chromium(browser_path: str, report: Path, tmp_path: Path) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright adds --headless and a fresh, empty --user-data-dir of its own
        browser = p.chromium.launch(executable_path=browser_path, headless=True, args=FLAGS[1:])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate("""() => Array.from(document.images).map(i =>
                ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))""")
            text = page.inner_text("body")
            shot = tmp_path / "shot.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert len(images) >= 10 and all(i["complete"] and i["w"] > 0 and i["h"] > 0 for i in images), images
    assert all(u.startswith(("file:", "data:")) for u in requests), requests  # nothing from the network
    assert "browser <b>check</b>" in text  # shown as text, not markup
    assert "SLO attainment" in text and "Crossovers" in text
    colours = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # not blank
