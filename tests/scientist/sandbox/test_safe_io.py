"""safe_io: what the harness does with a folder a hostile program wrote (no sandbox needed)."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from scientist.sandbox import safe_io


@pytest.fixture
def host(tmp_path):
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("HOST-SECRET")
    run = tmp_path / "run"
    run.mkdir()
    return secret, run


def test_reads_refuse_links_at_the_name_and_on_the_way(host):
    secret, run = host
    (run / "final_info.json").symlink_to(secret)
    (run / "run_1").symlink_to(secret.parent)
    with pytest.raises(safe_io.UnsafePath):
        safe_io.read_text(run / "final_info.json")
    with pytest.raises(safe_io.UnsafePath):
        safe_io.read_text(run / "run_1" / "secret.txt", root=run)  # a directory link in the middle
    assert safe_io.read_json(run / "final_info.json") is None
    assert safe_io.read_text_or(run / "run_1" / "secret.txt", "absent", root=run) == "absent"
    assert not safe_io.is_file(run / "final_info.json") and not safe_io.is_dir(run / "run_1", root=run)


def test_a_fifo_does_not_block_and_a_big_file_is_not_read(host):
    _, run = host
    os.mkfifo(run / "final_info.json")
    done = []
    t = threading.Thread(target=lambda: done.append(safe_io.read_json(run / "final_info.json")), daemon=True)
    t.start()
    t.join(5)
    assert done == [None]
    with open(run / "big.json", "wb") as f:
        f.truncate(300 * 1024 * 1024)
    with pytest.raises(safe_io.UnsafePath, match="cap"):
        safe_io.read_bytes(run / "big.json", max_bytes=1024)


def test_writes_replace_a_planted_link_or_hard_link_never_write_through(host):
    secret, run = host
    (run / "run_1").mkdir()
    (run / "run_1" / "experiment.py").symlink_to(secret)
    safe_io.write_text(run / "run_1" / "experiment.py", "model code", root=run)
    assert secret.read_text() == "HOST-SECRET"
    assert (run / "run_1" / "experiment.py").read_text() == "model code"
    assert not (run / "run_1" / "experiment.py").is_symlink()
    os.link(secret, run / "hard.txt")
    safe_io.write_text(run / "hard.txt", "x")
    assert secret.read_text() == "HOST-SECRET"
    (run / "via").symlink_to(secret.parent)
    with pytest.raises(safe_io.UnsafePath):
        safe_io.write_text(run / "via" / "secret.txt", "x", root=run)
    assert secret.read_text() == "HOST-SECRET"


def test_scan_tree_strips_setuid_and_removes_specials(host):
    secret, run = host
    (run / "sub").mkdir()
    tool = run / "sub" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o4755)
    (run / "sub" / "link").symlink_to(secret)
    os.mkfifo(run / "pipe")
    found = safe_io.scan_tree(run)
    assert {f.kind for f in found} == {"setuid", "symlink", "fifo"}
    assert stat.S_IMODE(tool.stat().st_mode) == 0o755
    assert not (run / "sub" / "link").is_symlink() and not (run / "pipe").exists()


def test_commit_applies_files_whiteouts_and_refuses_specials(tmp_path):
    upper, dest = tmp_path / "upper", tmp_path / "dest"
    (upper / "new").mkdir(parents=True)
    dest.mkdir()
    (dest / "gone.txt").write_text("old")
    (dest / "kept.txt").write_text("old")
    (upper / "new" / "a.txt").write_text("A")
    (upper / "kept.txt").write_text("new")
    os.mknod(upper / "gone.txt", stat.S_IFCHR | 0o600, 0)  # an overlayfs whiteout: deleted in the run
    suid = upper / "id"
    suid.write_bytes(b"\x7fELF")
    suid.chmod(0o4755)
    (upper / "link").symlink_to("/etc")
    with open(upper / "sparse.bin", "wb") as f:
        f.truncate(10 * 1024 * 1024)
    found = safe_io.commit_tree(upper, dest, max_total_bytes=20 * 1024 * 1024)
    assert (dest / "new" / "a.txt").read_text() == "A" and (dest / "kept.txt").read_text() == "new"
    assert not (dest / "gone.txt").exists() and not (dest / "link").exists()
    assert stat.S_IMODE((dest / "id").stat().st_mode) == 0o755
    assert (dest / "sparse.bin").stat().st_size == 10 * 1024 * 1024 and (dest / "sparse.bin").stat().st_blocks < 100
    assert {f.kind for f in found} == {"setuid", "symlink"}
    big = upper / "more.bin"
    with open(big, "wb") as f:
        f.truncate(15 * 1024 * 1024)
    found = safe_io.commit_tree(upper, dest, max_total_bytes=20 * 1024 * 1024)
    assert any(f.kind == "disk_limit" for f in found)  # sparse files cannot multiply the budget on the host
