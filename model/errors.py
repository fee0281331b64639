"""One base error for the library; input errors carry every problem found, by cell."""

from __future__ import annotations

from dataclasses import dataclass


class CowoptError(Exception):
    """Base class: every error cowopt raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, and what was expected."""

    file: str
    sheet: str | None
    cell: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.sheet:
            where += f" › {self.sheet}"
            if self.cell:
                where += f"!{self.cell}"
        return f"{where}: {self.message}"


class InputError(CowoptError):
    """The input (workbook, plan or option) is wrong; holds all problems found at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
