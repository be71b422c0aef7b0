"""Screenshots of the main pages for the docs, taken in Debian's chromium at 1280x800.

Serves the store named by CARGOWATCH_DATA_DIR / CARGOWATCH_DATABASE_URL (make demo's, say),
signs in and saves docs/screenshots/{login,dashboard,queue,trip,ingest}.png.

    CARGOWATCH_DATA_DIR=var/demo python scripts/screenshots.py [--user customs-officer]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="customs-officer")
    parser.add_argument("--ingester", default="carrier-analyst")
    parser.add_argument("--password", default="cargowatch-demo")
    args = parser.parse_args()
    import uvicorn
    from playwright.sync_api import sync_playwright

    from cargowatch.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/login")
        page.screenshot(path=OUT / "login.png")
        page.fill("#username", args.user)
        page.fill("#password", args.password)
        page.press("#password", "Enter")
        page.wait_for_url(url + "/")
        page.screenshot(path=OUT / "dashboard.png")
        page.goto(url + "/queue")
        page.screenshot(path=OUT / "queue.png")
        page.locator("table.queue tbody tr").first.locator("td").nth(1).locator("a").click()
        page.wait_for_load_state()
        page.locator("#trip-map .leaflet-overlay-pane path").first.wait_for(timeout=10_000)
        page.wait_for_timeout(500)  # the basemap drawn
        page.screenshot(path=OUT / "trip.png", full_page=True)
        page.get_by_role("button", name="Sign out").click()
        page.fill("#username", args.ingester)  # the organisation that ingested the files
        page.fill("#password", args.password)
        page.press("#password", "Enter")
        page.wait_for_url(url + "/")
        page.goto(url + "/ingest")
        page.screenshot(path=OUT / "ingest.png")
        browser.close()
    server.should_exit = True
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
