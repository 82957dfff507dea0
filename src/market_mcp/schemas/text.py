"""Text a person typed: what it may hold on the way in, and how the server prints it on the way out.

Vendors' words reach the model inside the server's own sentences (fetch, titles, emails in the outbox). So a
one-line field holds no line break or control character, and whatever is printed is made safe again on the
way out (rows written before the check, or by another path, may hold anything):

- `quoted(name)`: a vendor's one-line text inside our sentence, in double quotes with `"` and `\\` escaped and
  any line break or control character written as an escape (`\\n`, `\\u202e`): it cannot end the quote or
  start a line of its own.
- `one_line(label)`: an organiser's label (a market's name) as it is, with the same escapes and no quotes.
- `fenced(text)`: several lines of someone else's words, every line marked `> ` (the fence vendor_message
  has always had): no line of theirs reads as one of ours.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import AfterValidator, BeforeValidator

# Any of this server's secrets (API token, OAuth access or refresh token, code) pasted into text: refused in
# what is emailed (EmailLine, EmailText, the outbox), hidden by auth.without_tokens in what is logged or repeated.
SECRET_IN_TEXT = re.compile(r"mk_[a-z]+_[A-Za-z0-9_-]{8,}")  # 8: even a token cut short is caught

_LINE_SEPARATORS = "\u2028\u2029"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEPT_IN_TEXT = "\n\r\t"  # what several-line text may hold of the characters below
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _unsafe(char: str) -> bool:
    """A control character (Cc), a line or paragraph separator, or a bidirectional override or isolate."""
    return char in _LINE_SEPARATORS or char in _BIDI_CONTROLS or unicodedata.category(char) == "Cc"


def _what(char: str) -> str:
    if char in "\n\r\x0b\x0c\x1c\x1d\x1e\x85" or char in _LINE_SEPARATORS:
        return "a line break"
    if char in _BIDI_CONTROLS:
        return f"a text-direction control (U+{ord(char):04X})"
    return f"a control character (U+{ord(char):04X})"


def _checked(value: Any, *, keep: str, emailed: bool = False) -> Any:
    if not isinstance(value, str):  # None: an optional argument left out
        return value
    for at, char in enumerate(value, 1):
        if char not in keep and _unsafe(char):
            where = "; keep it on one line" if not keep and _what(char) == "a line break" else ""
            raise ValueError(f"contains {_what(char)} at character {at}: remove it{where}")
    if emailed and "mk_" in value and SECRET_IN_TEXT.search(value):
        raise ValueError("looks like an API token; remove it")
    return value


def check_one_line(value: Any) -> Any:
    """A one-line field: no line break, control character or text-direction control."""
    return _checked(value, keep="")


def check_text(value: Any) -> Any:
    """Several lines of text: line breaks and tabs are kept; other control characters are not."""
    return _checked(value, keep=_KEPT_IN_TEXT)


def check_email_line(value: Any) -> Any:
    """An email's subject: one line, and no token (an organiser's data may hold one; a vendor's inbox never)."""
    return _checked(value, keep="", emailed=True)


def check_email_text(value: Any) -> Any:
    """What an organiser writes into an email to vendors: several lines, and no token."""
    return _checked(value, keep=_KEPT_IN_TEXT, emailed=True)


OneLine = AfterValidator(check_one_line)
"""In an Annotated str: refused (422, naming the argument) unless it is one clean line. No JSON schema change."""


def _check_one_line_first(value: Any) -> Any:
    if isinstance(value, str):
        check_one_line(value.strip())  # the surrounding white space is stripped afterwards, as the field says
    return value


OneLineFirst = BeforeValidator(_check_one_line_first)
"""OneLine checked before the field's own pattern (an email address), so a line break is refused in OneLine's
words rather than as a bad address. No JSON schema change either."""

Text = AfterValidator(check_text)
"""In an Annotated str: several lines, refused (422) if it holds other control characters."""

EmailLine = AfterValidator(check_email_line)
"""OneLine for text that is emailed (a subject): a token in it is refused too."""

EmailText = AfterValidator(check_email_text)
"""Text that is emailed (a message, a reason for the vendor's email): a token in it is refused too."""


def _escaped(text: str, quote: bool) -> str:
    out = []
    for char in text:
        if char in _ESCAPES and (quote or char not in '\\"'):
            out.append(_ESCAPES[char])
        elif _unsafe(char):
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def quoted(text: str) -> str:
    """A vendor's one-line text inside the server's sentence: "Forge Farm", escaped so it stays inside."""
    return '"' + _escaped(text, quote=True) + '"'


def one_line(text: str) -> str:
    """An organiser's label inside the server's sentence, its line breaks and control characters escaped."""
    return text if text.isprintable() else _escaped(text, quote=False)


def fenced(text: str) -> str:
    """Someone else's words over several lines, every line marked as quoted (so none reads as one of ours)."""
    return "\n".join("> " + _escaped(line, quote=False) for line in text.strip().splitlines())
