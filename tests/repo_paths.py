"""Where the repository and the real data are: a plain module (not a conftest) so that any test can
import it, whichever conftest pytest imported last."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("BENCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
