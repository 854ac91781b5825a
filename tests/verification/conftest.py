import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shares"))

from share_fixtures import holder, issue, other, revoke  # noqa: F401 - fixtures
