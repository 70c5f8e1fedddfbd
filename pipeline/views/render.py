"""The views' HTML templates (Jinja2, autoescaped: text from records is always shown as text)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def static_dir() -> Path:
    """Scripts and styles copied beside the pages (no page loads anything from the network)."""
    return HERE / "static"


@functools.cache
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
