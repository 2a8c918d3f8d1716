"""Every test folder is collected: none may carry a name pytest skips by default."""

from __future__ import annotations

import fnmatch
from pathlib import Path

# pytest's default norecursedirs: a test folder named like these is skipped without a word.
SKIPPED = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}")


def test_no_test_folder_is_silently_skipped() -> None:
    root = Path(__file__).parent
    folders = {p.parent for p in root.rglob("test_*.py")}
    assert len(folders) >= 5
    for folder in folders:
        for part in folder.relative_to(root).parts:
            assert not any(fnmatch.fnmatch(part, pattern) for pattern in SKIPPED), folder
