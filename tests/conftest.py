"""Make the project's Python importable by the tests: the collection (ansible_collections.research_env.core),
the scripts, helpers."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO / "tests", REPO / "tests" / "integration", REPO / "collections", REPO / "scripts"):
    sys.path.insert(0, str(path))
