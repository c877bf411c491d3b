"""The HTML report in a real browser: headless Chromium loads it offline, with
no console errors, renders every chart, and nothing overflows at a wide or a
narrow window. Skipped when Chromium is not installed (Debian: ``apt-get
install chromium``), except in CI (``CI`` set), where .ci/run installs it and
a missing browser is a broken install, so it fails."""

import os
import shutil
import subprocess

import pytest

from cobol.profile import Profiler, StreamingProfile, profile_roundtrip, to_html

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI is set but no Chromium is installed: .ci/run installs Debian's chromium for these tests")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")

#: injected into a copy of the page (the report itself has no scripts): lists what
#: a reader would see as broken -- a page wider than the window, text cut at a
#: chart's edge, a chart with nothing drawn in it
_CHECK_SCRIPT = """<script>
window.addEventListener("load", () => {
  const bad = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth + 1) bad.push("page scrolls sideways: " + root.scrollWidth + " > " + window.innerWidth);
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect();
    if (box.width < 50) bad.push("chart too narrow: " + svg.getAttribute("aria-label"));
    for (const t of svg.querySelectorAll("text")) {
      const r = t.getBoundingClientRect();
      if (r.width && (r.left < box.left - 1 || r.right > box.right + 1)) bad.push("text cut: " + t.textContent.slice(0, 50));
    }
    if (!svg.querySelector("rect:not(.frame), polyline, circle")) bad.push("empty chart: " + svg.getAttribute("aria-label"));
  }
  document.body.setAttribute("data-check", JSON.stringify(bad));
});
</script>"""


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    data = b"".join(b'{"id": %d, "user": "u%d", "v": %d}\n' % (i, i % 50, i * 3) for i in range(20000))
    p = Profiler()
    sp = StreamingProfile()
    for seq in range(30):
        sp.on_block_sent(seq, 4096, t=seq * 0.01)
        sp.on_block_received(seq, 4096, t=seq * 0.01 + 0.003)
    p.attach_streaming(sp)
    _, prof = profile_roundtrip(data, profiler=p, threads=1, block_size=64 << 10)
    path = tmp_path_factory.mktemp("html") / "report.html"
    page = to_html(prof, "browser check")
    path.write_text(page, encoding="utf-8")
    return path, page


def test_loads_without_console_errors(report_file, tmp_path):
    path, page = report_file
    r = _chromium(tmp_path, "--dump-dom", path.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []
    dom = r.stdout
    assert "<title>browser check</title>" in dom
    assert dom.count("<svg") == page.count("<svg") >= 7
    assert "Bottlenecks" in dom and "Layers (compress" in dom


def test_renders_a_screenshot(report_file, tmp_path):
    path, _ = report_file
    shot = tmp_path / "shot.png"
    r = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", path.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000  # a blank page is a few KB


def _problems(tmp_path, page: str, width: int) -> list:
    import html
    import json
    import re
    checked = tmp_path / f"checked-{width}.html"
    checked.write_text(page.replace("</body>", _CHECK_SCRIPT + "</body>"), encoding="utf-8")
    r = _chromium(tmp_path, f"--window-size={width},1200", "--dump-dom", checked.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'data-check="([^"]*)"', r.stdout)
    assert m, "the check script did not run"
    return json.loads(html.unescape(m.group(1)))


@pytest.mark.parametrize("width", [1400, 420])
def test_nothing_overflows_and_no_chart_is_empty(report_file, tmp_path, width):
    _, page = report_file
    assert _problems(tmp_path, page, width) == []


def test_one_block_report_says_it_in_words(tmp_path):
    from cobol.profile import profile_roundtrip as roundtrip
    data = b"".join(b'{"id": %d, "tag": "t%d"}\n' % (i, i % 7) for i in range(3000))
    _, prof = roundtrip(data, threads=1)
    page = to_html(prof, "one block")
    assert "one point only" in page  # throughput of a single block: a sentence, not a one-dot chart
    assert _problems(tmp_path, page, 1200) == []
