"""Model version strings: ``<name>-<YYYYMMDD>-<first 8 hex of the weights' sha256>``; sortable by date and
unique per set of weights."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def new_version(name: str, weights_digest: str, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return f"{_SAFE.sub('-', name).strip('-') or 'framing'}-{when:%Y%m%d}-{weights_digest[:8]}"
