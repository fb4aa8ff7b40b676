"""decoder:ctc_beam rejects bad resources and settings when it is built, before any search: a lexicon
spelling with a token outside the token set (the error names the word and the line), a malformed ARPA file
(the error names the line), a beam size of 0."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tympan.core.errors import DecoderResourceError, InvalidParameterError
from tympan.plugins.decoders.ctc_beam import CTCBeamDecoder

TOKENS = ["-", "|", "a", "b", "c"]
GOOD_ARPA = """\\data\\
ngram 1=3

\\1-grams:
-0.5\t<s>\t-0.1
-0.3\tab
-0.4\t</s>

\\end\\
"""


def test_lexicon_spelling_with_an_unknown_token_names_word_and_line(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("ab\ta b |\ncat\tc a t |\n")
    with pytest.raises(DecoderResourceError, match=re.escape("line 2: word 'cat' is spelt with 't'")):
        CTCBeamDecoder(tokens=TOKENS, lexicon=str(lexicon))


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD_ARPA.replace("ngram 1=3", "ngram one=3"), "line 2: expected 'ngram N=COUNT'"),
        (GOOD_ARPA.replace("-0.3\tab", "-0.3\tab\tx\ty"), "line 6: a 1-gram line needs a probability"),
        (GOOD_ARPA.replace("\\1-grams:", "\\x-grams:"), "line 4: bad section header"),
    ],
)
def test_malformed_arpa_names_the_line(tmp_path: Path, broken: str, message: str) -> None:
    good = tmp_path / "good.arpa"
    good.write_text(GOOD_ARPA)
    CTCBeamDecoder(tokens=TOKENS, lm=str(good))  # the unbroken file loads
    path = tmp_path / "lm.arpa"
    path.write_text(broken)
    with pytest.raises(DecoderResourceError, match=re.escape(message)) as caught:
        CTCBeamDecoder(tokens=TOKENS, lm=str(path))
    assert str(path) in str(caught.value)


def test_beam_size_zero_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="beam_size"):
        CTCBeamDecoder(tokens=TOKENS, beam_size=0)
