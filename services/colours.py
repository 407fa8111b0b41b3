"""The national health colour, shared by status (which decides it) and verification (which reads it)."""

from __future__ import annotations

import enum


class Colour(enum.IntEnum):
    """Numbered as in healthcode.common.v1.Colour; a larger value is more severe."""

    GREEN = 1
    YELLOW = 2
    RED = 3

    @classmethod
    def parse(cls, name: str) -> Colour:
        """A colour from its upper-case name in rule sets ("GREEN"); ValueError otherwise."""
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown colour {name!r}") from None
