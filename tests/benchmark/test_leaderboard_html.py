"""leaderboard.html renders in headless Chromium, and its script sorts the tables."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from benchmark.leaderboard.imported import read_reviews
from benchmark.leaderboard.board import build_leaderboard
from benchmark.leaderboard.html import to_html

from test_leaderboard import seeded_results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(page, tmp_path) -> str:
    path = tmp_path / "leaderboard.html"
    path.write_text(page)
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_html_renders_tables_and_sorts_them_in_chromium(tmp_path):
    csv = tmp_path / "other.csv"
    csv.write_text("paper_id,Overall,Decision\np1,5,Reject\np2,7,Accept\n")
    rows = build_leaderboard([seeded_results(tmp_path / "res")], [read_reviews(csv, model="other-system")])
    dom = render(to_html(rows[::-1]), tmp_path)  # written worst first: the page's script re-sorts
    table = re.search(r'<table id="leaderboard"([^>]*)>(.*?)</table>', dom, re.S)
    assert table, dom[:2000]
    assert 'data-sorted-by="valid"' in table.group(1) and 'data-sort-dir="desc"' in table.group(1)
    models = re.findall(r"<tr[^>]*><td>([^<]+)</td>", table.group(2))
    assert models == ["model-a", "model-b"]  # one reviewer panel; the imported file's reviewer is another
    imported = re.search(r'<table id="leaderboard-2"[^>]*>(.*?)</table>', dom, re.S)
    assert imported and re.findall(r"<tr[^>]*><td>([^<]+)</td>", imported.group(1)) == ["other-system"]
    assert dom.index("reviewer panel: unknown") < table.start() < dom.index("reviews imported from other.csv") \
        < imported.start()  # each panel is named above its table
    assert 'aria-sort="descending"' in table.group(2) or 'aria-sort="descending"' in dom
    assert '<table id="checks"' in dom and dom.count('src="data:image/png;base64,') == 2
