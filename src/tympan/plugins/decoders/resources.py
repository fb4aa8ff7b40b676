"""Token sets and lexicons in the flashlight / torchaudio formats.

- A token set is a list of strings, or a file with one token per line (a line may list several spellings
  of one token separated by spaces, as flashlight's dictionaries do: the first names it).
- A lexicon file has one word per line followed by its spelling as space-separated tokens; a word may have
  several lines (several spellings). ``word<TAB>t o k e n s`` and ``word t o k e n s`` both read.

Bad files raise :class:`~tympan.core.errors.DecoderResourceError` naming the file and the line.

Example:
    >>> tokens = load_tokens(["-", "|", "c", "a", "t"])
    >>> lexicon = parse_lexicon(["cat c a t |"], tokens, source="<list>")
    >>> lexicon
    {'cat': [[2, 3, 4, 1]]}
    >>> spell("cat", tokens)
    [2, 3, 4]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tympan.core.errors import DecoderResourceError, InvalidParameterError

__all__ = ["TokenSet", "load_tokens", "load_lexicon", "parse_lexicon", "spell"]

#: Most spellings a lexicon may give one word, and most tokens one spelling may have.
MAX_SPELLINGS = 64
MAX_SPELLING_LENGTH = 256


class TokenSet:
    """Token strings and their indices (several strings may name one index).

    Example:
        >>> TokenSet(["-", "a"]).index["a"], len(TokenSet(["-", "a"]))
        (1, 2)
    """

    def __init__(self, names: Sequence[str], aliases: dict[str, int] | None = None) -> None:
        self.names = list(names)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.index.update(aliases or {})

    def __len__(self) -> int:
        return len(self.names)

    def find(self, name: str | None) -> int:
        """The index of ``name``, or -1 when it is ``None`` or not a token."""
        return -1 if name is None else self.index.get(name, -1)


def load_tokens(tokens: str | os.PathLike[str] | Sequence[str]) -> TokenSet:
    """A :class:`TokenSet` from a list of strings or a token file.

    Example:
        >>> load_tokens(["-", "|", "a"]).names
        ['-', '|', 'a']
    """
    if isinstance(tokens, (str, os.PathLike)):
        path = Path(tokens)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise DecoderResourceError(path, f"cannot read the token file: {err}") from None
        names: list[str] = []
        aliases: dict[str, int] = {}
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                if line:  # a line of whitespace names the space token
                    names.append(line)
                    continue
                raise DecoderResourceError(path, f"line {number}: empty line")
            for alias in fields[1:]:
                aliases[alias] = len(names)
            names.append(fields[0])
        result = TokenSet(names, aliases)
    else:
        if not all(isinstance(token, str) for token in tokens):
            raise InvalidParameterError("decoder", ["tokens: expected a file path or a list of strings"])
        result = TokenSet(list(tokens))
    if not len(result):
        raise InvalidParameterError("decoder", ["tokens: expected at least one token"])
    if len(result.index) < len(result.names):
        raise InvalidParameterError("decoder", ["tokens: a token is listed twice"])
    return result


def parse_lexicon(lines: Iterable[str], tokens: TokenSet, source: object) -> dict[str, list[list[int]]]:
    """Word -> spellings (lists of token indices) from lexicon lines; ``source`` names them in errors.

    Example:
        >>> parse_lexicon(["a a |", "a a a |"], load_tokens(["-", "|", "a"]), "<list>")
        {'a': [[2, 1], [2, 2, 1]]}
    """
    lexicon: dict[str, list[list[int]]] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        word, spelling = fields[0], fields[1:]
        if not spelling:
            raise DecoderResourceError(source, f"line {number}: word {word!r} has no spelling")
        if len(spelling) > MAX_SPELLING_LENGTH:
            raise DecoderResourceError(
                source, f"line {number}: word {word!r} is spelt with over {MAX_SPELLING_LENGTH} tokens"
            )
        unknown = [token for token in spelling if token not in tokens.index]
        if unknown:
            raise DecoderResourceError(
                source, f"line {number}: word {word!r} is spelt with {unknown[0]!r}, which is not a token"
            )
        spellings = lexicon.setdefault(word, [])
        if len(spellings) >= MAX_SPELLINGS:
            raise DecoderResourceError(source, f"line {number}: word {word!r} has over {MAX_SPELLINGS} spellings")
        spellings.append([tokens.index[token] for token in spelling])
    return lexicon


def load_lexicon(path: str | os.PathLike[str], tokens: TokenSet) -> dict[str, list[list[int]]]:
    """Word -> spellings from a lexicon file.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "lexicon.txt"
        >>> _ = path.write_text("hi h i |\\n")
        >>> load_lexicon(path, load_tokens(["-", "|", "h", "i"]))
        {'hi': [[2, 3, 1]]}
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DecoderResourceError(path, f"cannot read the lexicon: {err}") from None
    lexicon = parse_lexicon(text.splitlines(), tokens, path)
    if not lexicon:
        raise DecoderResourceError(path, "the lexicon lists no word")
    return lexicon


def spell(word: str, tokens: TokenSet) -> list[int]:
    """Token indices spelling ``word``, longest token first (characters, or word pieces).

    Raises ``ValueError`` naming the part no token spells.

    Example:
        >>> spell("abc", load_tokens(["-", "a", "bc", "b"]))
        [1, 2]
    """
    longest = max(len(name) for name in tokens.index)
    spelling: list[int] = []
    position = 0
    while position < len(word):
        for size in range(min(longest, len(word) - position), 0, -1):
            index = tokens.index.get(word[position : position + size])
            if index is not None:
                spelling.append(index)
                position += size
                break
        else:
            raise ValueError(f"no token spells {word[position:]!r} of {word!r}")
    return spelling
