"""A real headless Chromium for the HTML report: what the rendered page shows, and a screenshot.

The page is loaded from disk (file://) with background networking off, so an
image or stylesheet that needs the network fails to load and the check sees it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars"]

# Appended to a copy of the page: after load, record what a reader would see. Every
# <img> must have decoded (naturalWidth > 0); every SVG the page links to is loaded
# as an image too; every table's body rows are counted; the page's width beside the window's, and
# the tables too wide for the page (each scrolls sideways in its own box).
PROBE = """<script>
window.addEventListener('load', async () => {
  const svgs = Array.from(document.querySelectorAll('a[href$=".svg"]')).map(a => a.getAttribute('href'));
  const svgLoaded = await Promise.all(svgs.map(href => new Promise(done => {
    const img = new Image(); img.onload = () => done(img.naturalWidth > 0); img.onerror = () => done(false);
    img.src = href;
  })));
  const report = {
    title: document.title,
    images: Array.from(document.images).map(i => ({alt: i.alt, loaded: i.complete && i.naturalWidth > 0,
                                                   width: i.naturalWidth})),
    svgs: svgs.map((href, k) => ({href: href, loaded: svgLoaded[k]})),
    tables: Array.from(document.querySelectorAll('table')).map(t => ({id: t.id,
      rows: t.querySelectorAll('tbody tr').length, header: Array.from(t.querySelectorAll('th')).map(h => h.textContent)})),
    sections: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
    text: document.body.innerText.length,
    width: {window: window.innerWidth, page: document.documentElement.scrollWidth},
    scrolled: Array.from(document.querySelectorAll('.scroll')).filter(d => d.scrollWidth > d.clientWidth)
      .map(d => d.querySelector('table').id),
  };
  const out = document.createElement('pre'); out.id = 'probe-result'; out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    exe = chromium()
    if exe is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "HOME": profile})


def rendered(page: Path, size: str = "1400,3000") -> dict:
    """Load `page` in headless Chromium, in a window of `size` pixels, and return what the probe
    saw (see PROBE)."""
    page = Path(page).resolve()
    probe = page.with_name(f".probe-{page.name}")  # beside the page: relative links resolve the same
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        proc = _run(["--virtual-time-budget=15000", f"--window-size={size}", "--dump-dom", probe.as_uri()])
    finally:
        probe.unlink()
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    if match is None:
        raise AssertionError(f"the page did not finish loading in chromium (rc {proc.returncode}):\n"
                             f"{proc.stderr[-3000:]}")
    return json.loads(html.unescape(match.group(1)))


def screenshot(page: Path, out: Path, size: str = "1400,3000") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = _run(["--virtual-time-budget=15000", f"--window-size={size}", f"--screenshot={out}",
                 Path(page).resolve().as_uri()])
    if not out.is_file():
        raise AssertionError(f"chromium wrote no screenshot (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return out
