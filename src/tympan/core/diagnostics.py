"""``Check``: one line of an environment report (`tympan doctor`).

Example:
    >>> Check("sox binary", ok=False, detail="not on PATH", hint="apt-get install sox").line()
    '[missing] sox binary: not on PATH (apt-get install sox)'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Check"]


@dataclass(frozen=True)
class Check:
    """The result of one environment check: what was checked, whether it passed, and what to do if not.

    Example:
        >>> Check("torch", ok=True, detail="2.13.0").line()
        '[ok] torch: 2.13.0'
    """

    name: str
    ok: bool
    detail: str = ""
    hint: str = ""

    def line(self) -> str:
        """One human-readable line.

        Example:
            >>> Check("GPU", ok=False, detail="none").line()
            '[missing] GPU: none'
        """
        status = "ok" if self.ok else "missing"
        hint = f" ({self.hint})" if self.hint and not self.ok else ""
        return f"[{status}] {self.name}: {self.detail}{hint}"
