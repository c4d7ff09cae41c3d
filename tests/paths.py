"""Where the tests find the project, its test data and the shared data beside the repository."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
SEEDS = ROOT / "seeds"
