"""Disk use of a directory tree, for the harness's disk budget."""
from __future__ import annotations

import os
from pathlib import Path


def tree_bytes(root: Path) -> int:
    """Bytes allocated to the files under root (symlinks not followed; vanished files skipped)."""
    total = 0
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += max(st.st_blocks * 512, 0)
        except OSError:
            continue
    return total
