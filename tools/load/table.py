"""The tables measurements print: a label, then figures, each column beside the baseline it is a ratio to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Column(Generic[T]):
    """A figure of a row: its title and how a record becomes its cell."""

    title: str
    cell: Callable[[T], str]
    width: int = 10


@dataclass(frozen=True)
class Table:
    """Rows whose first cell is left-aligned in `label_width` and the others right-aligned in `width`."""

    label_width: int = 50
    width: int = 10

    def line(self, label: str, *cells: str) -> str:
        return f"{label:<{self.label_width}}" + "".join(f"{cell:>{self.width}}" for cell in cells)

    def print(self, label: str, *cells: str) -> None:
        print(self.line(label, *cells), flush=True)


def table(title: str, columns: Sequence[Column[T]], rows: Sequence[tuple[str, T]], *,
          label_width: int = 50) -> list[str]:
    """A header of column titles, then one line per (label, record)."""
    def line(label: str, cells: Sequence[str]) -> str:
        return f"{label:<{label_width}}" + "".join(f"{cell:>{column.width}}" for cell, column in zip(cells, columns))

    return [line(title, [c.title for c in columns]), *(line(label, [c.cell(r) for c in columns]) for label, r in rows)]


def print_table(title: str, columns: Sequence[Column[T]], rows: Sequence[tuple[str, T]], *,
                label_width: int = 50) -> None:
    print("\n".join(table(title, columns, rows, label_width=label_width)), flush=True)
