import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The broker harness lives in scripts/ so the dev commands and the tests share one copy.
sys.path.insert(0, str(ROOT / "scripts"))
