"""What the share and verification tests say about shares: the two citizens' national ids, a share's token, times."""
from __future__ import annotations

import datetime as dt
from typing import Any

HOLDER = "AB123456"
OTHER = "CD987654"


def token_of(share: dict[str, Any]) -> str:
    return str(share["url"]).rsplit("/", 1)[-1]


def later(**kw: Any) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(**kw)
