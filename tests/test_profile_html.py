"""The HTML report in a real browser: headless Chromium loads it offline, with
no console errors, and renders every chart. Skipped when Chromium is not
installed (Debian: ``apt-get install chromium``)."""

import os
import shutil
import subprocess

import pytest

from cobol.profile import Profiler, StreamingProfile, profile_roundtrip, to_html

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")


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
