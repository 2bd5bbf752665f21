"""Formats of the ids that appear in URLs, bodies and events."""

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import Path

# Ids start with a letter or digit, so "." and ".." never become URL path
# segments that a client or server would normalize away.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ID_REGEX = re.compile(ID_PATTERN)

PostIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
ProductIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
OrderIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
CreatorIdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def path_segment(identifier: str) -> str:
    """Percent-encode ``identifier`` for use as one URL path segment."""
    return quote(identifier, safe="")
