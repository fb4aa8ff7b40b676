"""Running crafted inputs: each attack must end in a typed error (or a correct result) in bounded time and
memory, touching no file but its intended output.

An :class:`Attack` is one crafted input and what to do with it. :func:`verdict` runs it in this process
with its address space capped (``RLIMIT_AS`` a margin above what the process already maps) and a wall-clock
alarm (:mod:`tympan.testing.limits`), and returns ``None`` when it behaved, else what went wrong:

- ``untyped``: an exception that is not the expected :class:`~tympan.core.errors.TympanError` subclass
  (an ``OSError`` carrying an ``errno``, the operating system's own report of a missing file, a refused
  permission or a failing disk, is typed too);
- ``accepted``: an input that must be refused returned normally;
- ``unbounded message``: the error's text is longer than :data:`MESSAGE_LIMIT`;
- ``slow``: it ran past its time budget (a hard alarm interrupts Python code at three times the budget);
- ``memory``: it hit the address-space cap (``MemoryError`` or torch's allocator failing);
- ``noise``: an exception swallowed on the way and printed (``sys.unraisablehook``, as from a C callback);
- the attack's own post-check failing (a file clobbered, a temporary file left behind).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tympan.testing.limits import TimeLimitExceeded, memory_limit, time_limit

#: The longest error message a bounded rendering produces (values are shown abbreviated).
MESSAGE_LIMIT = 4000
#: Extra address space an attack may map above what the process maps when it starts.
DEFAULT_MEMORY = 1536 << 20


@dataclass(frozen=True)
class Attack:
    """One crafted input: ``run(scratch)`` feeds it to a public API inside a fresh scratch folder.

    ``refuse``: the input must raise ``error`` (returning normally is a misbehaviour); otherwise a normal
    return is fine too, and with ``succeed`` it is the only outcome allowed. ``system_errors``: whether an
    ``OSError`` with an ``errno`` counts as typed. ``check(scratch)`` runs afterwards and returns a problem
    (a clobbered file) or None.
    """

    family: str
    name: str
    run: Callable[[Path], object]
    refuse: bool = True
    error: type[BaseException] | tuple[type[BaseException], ...] | None = None
    check: Callable[[Path], str | None] | None = None
    succeed: bool = False
    system_errors: bool = True
    seconds: float = 10.0
    memory: int = DEFAULT_MEMORY

    @property
    def id(self) -> str:
        """``family/name``, the test id."""
        return f"{self.family}/{self.name}"


def warm_up() -> None:
    """Import torch and tympan, discover the plugins and build a pipeline once, so that no attack's time
    includes them."""
    import tympan
    from tympan import registry

    registry.names()
    tympan.Pipeline.from_config({"sample_rate": 16000, "steps": [{"mfcc": {}}]})


def _system_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno is not None and not isinstance(exc, ValueError)


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or "not enough memory" in str(exc)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def verdict(attack: Attack, scratch: Path) -> str | None:
    """Run ``attack`` in ``scratch``; ``None`` when it behaved, else what went wrong."""
    from tympan.core.errors import TympanError

    expected = attack.error or TympanError
    start = time.perf_counter()
    problem: str | None = None
    swallowed: list[str] = []
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda raised: swallowed.append(f"{type(raised.exc_value).__name__}: {raised.exc_value}")
    try:
        with memory_limit(attack.memory), time_limit(3 * attack.seconds):
            attack.run(scratch)
        if attack.refuse:
            problem = f"accepted: no {getattr(expected, '__name__', 'typed error')} raised"
    except TimeLimitExceeded:
        problem = f"slow: interrupted after {3 * attack.seconds:g} s"
    except BaseException as exc:  # everything the attack provokes is classified, nothing escapes
        if _out_of_memory(exc):
            problem = f"memory: {type(exc).__name__}: {_short(str(exc))}"
        elif isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
            raise
        elif attack.succeed:
            problem = f"failed: {type(exc).__name__}: {_short(str(exc))}"
        elif not isinstance(exc, expected) and not (attack.system_errors and _system_error(exc)):
            where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            place = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
            problem = f"untyped: {type(exc).__name__}{place}: {_short(str(exc))}"
        elif len(str(exc)) > MESSAGE_LIMIT:
            problem = f"unbounded message: {len(str(exc))} characters"
    finally:
        sys.unraisablehook = previous_hook
    elapsed = time.perf_counter() - start
    if problem is None and swallowed:
        problem = f"noise: {len(swallowed)} exception(s) printed, first {_short(swallowed[0])}"
    if problem is None and elapsed > attack.seconds:
        problem = f"slow: {elapsed:.1f} s, budget {attack.seconds:g} s"
    if attack.check is not None:
        try:
            after = attack.check(scratch)
        except Exception as exc:
            after = f"post-check raised {type(exc).__name__}: {exc}"
        if after:
            problem = f"{problem}; {after}" if problem else after
    return problem


def assert_behaves(attack: Attack, scratch: Path) -> None:
    """Fail the calling test with what ``attack`` did wrong, if anything."""
    problem = verdict(attack, scratch)
    assert problem is None, f"{attack.id}: {problem}"


def cases(attacks: Iterable[Attack], every: int = 1, keep: Iterable[str] = ()) -> Any:
    """``pytest.mark.parametrize`` over a fast, representative part of a corpus: every ``every``-th attack
    (a stride coprime with the number of operations a corpus crosses its inputs with visits each input under
    a different operation) and the attacks named in ``keep``; :mod:`report` runs the whole corpus."""
    import pytest

    named = set(keep)
    chosen = [attack for index, attack in enumerate(attacks) if index % every == 0 or attack.name in named]
    missing = named - {attack.name for attack in chosen}
    assert not missing, f"no such attacks: {sorted(missing)}"
    return pytest.mark.parametrize("attack", chosen, ids=[attack.name for attack in chosen])
