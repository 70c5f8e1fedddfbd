"""The sentence segmenter for news text: exact character offsets into the text as given.

``segment(text)`` returns :class:`~pipeline.document.Sentence` objects whose ``text[start:end]`` is the
sentence, trimmed of surrounding whitespace; ``iter_sentence_offsets(text)`` is the streaming core that
yields ``(start, end)`` pairs. Nothing is normalised: a BOM, CRLF line ends or odd spaces stay where they
are and offsets count them. "Whitespace" means ``str.isspace()`` plus the invisible U+200B (zero-width
space), U+2060 (word joiner) and U+FEFF (BOM): it is never part of a sentence's edge, and every other
character lies in exactly one sentence.

Why our own scanner and not a library: on the 371 SemEval-2023 articles, scored against the PTC sentence
lines (``benchmarks/segmenter.py``; CPU time of one core), pysbd reached boundary F1 0.945 (0.897 inside
paragraphs) at 0.11 MB/s and syntok 0.925 (0.940 inside paragraphs) at 0.45 MB/s: both are far below the
1 MB/s target, and syntok also joins ~10% of the lines of one-paragraph-per-line text. So this module is one
compiled regular expression that finds the only places where a sentence can end (terminal punctuation
followed by whitespace, and line breaks), plus word-list rules (``pipeline._segment_rules``) that decide each
candidate from the word before it and the word after it. It measured F1 0.974 (0.953 inside paragraphs) at
about 3.6 MB/s; most of its disagreements with PTC are NLTK's errors (no break after a closing curly quote,
a break after "Fr." or "Sgt."), which is why the tricky-case suite, not PTC, is the quality bar. Run time is
linear in the text; streaming needs memory independent of its length.

The rules, in order:

* A blank line always ends a sentence (a paragraph break). A single line break ends one too, except in
  hard-wrapped text (many line breaks land before a lowercase word and lines are short), where it is a
  space unless the line before is short (a title or byline) or the next line starts a list item.
* Terminal punctuation must be followed by whitespace (``3.5%``, ``example.com`` and ``U.S.-led`` never
  end a sentence) and never ends one before a lowercase word (unless it starts a URL) or ``,;:%``.
* ``!``, ``?`` and ``‽`` end a sentence, except before a speech tag after a closing quote
  (``"Why?" Smith asked.``).
* An ellipsis ends a sentence only before a common sentence opener (``Then``, ``The``, ``We``, ...) or an
  opening quote, and never when it opens the sentence (``[…] Nobody came``).
* A period ends a sentence before anything else, except after a title (``Mr.``, ``Gen.``),
  a number prefix before a digit (``No. 5``), a month before a day (``Jan. 5``), a list marker that opens
  the sentence (``1.``, ``b.``) and, unless a common sentence opener follows (``The``, ``He``, ...), after a
  single initial or an abbreviation that may also end a sentence (``U.S.``, ``Inc.``, ``p.m.``, ``Calif.``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from statistics import median

from pipeline import _segment_rules as rules
from pipeline.document import Document, Sentence

__all__ = ["iter_sentence_offsets", "segment", "segment_document"]

_ZERO_WIDTH = "\u200b\u2060\ufeff"
_BLANK = rf"\s{_ZERO_WIDTH}"  # inside a character class
_LINE_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK = r"\r\n|\r(?!\n)|[\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"  # CRLF is one break
_INLINE_BLANK = rf"(?:[^\S{_LINE_BREAK_CHARS}]|[{_ZERO_WIDTH}])"
_OPENERS = "\"'“‘«‹([{¿¡"
_CLOSERS = "\"'”’»›)]}"

# Every place a sentence may end: a paragraph break, a single line break, or terminal punctuation (with
# closing quotes or brackets and footnote marks such as "[3]") followed by whitespace. Runs of punctuation
# are matched whole and never backtracked into, so long runs cannot make the scan quadratic.
_EVENT_RE = re.compile(
    rf"(?P<para>(?:{_LINE_BREAK})(?:{_INLINE_BLANK}*(?:{_LINE_BREAK}))+|\u2029)"
    rf"|(?P<newline>{_LINE_BREAK})"
    rf"|(?P<end>(?<![.!?…‽])(?P<punct>\.(?:[ \u00a0]\.){{2,}}|[.!?…‽]++)"
    rf"[{re.escape(_CLOSERS)}]*+(?:\[\d{{1,3}}\])*+)(?=[{_BLANK}])"
)
_NONBLANK_RE = re.compile(rf"[^{_BLANK}]")
# What follows a candidate: whitespace, opening quotes or brackets, then the next word (if any).
_NEXT_RE = re.compile(rf"[{_BLANK}]*([{re.escape(_OPENERS)}]*)(\w*)")
_LIST_ITEM_RE = re.compile(
    rf"{_INLINE_BLANK}*(?:[-*•◦▪‣–—+·]|(?:\d{{1,3}}|[A-Za-z]|[ivx]{{1,4}}|[IVX]{{1,4}})[.)]|\([A-Za-z0-9]{{1,3}}\))\s"
)
# A line break that joins two lines of text (the line before is not blank as far as its last character).
_JOIN_RE = re.compile(rf"(?<![\n\r])(?:\r\n?|\n){_INLINE_BLANK}*(?=[^{_BLANK}])")
_LONG_LINE_RE = re.compile(r"^[^\n\r]{121}", re.MULTILINE)

_QUOTES = "\"'“‘«‹”’»›"
_URL_RE = re.compile(r"https?://|www\.|pic\.twitter\.com/")
_CONTINUATION = ",;:%"
_MIN_WRAP_WIDTH = 30
_WORD_WINDOW = 48  # the word before a period is looked at only this far back (abbreviations are short)


def segment(text: str) -> list[Sentence]:
    """Split ``text`` into sentences whose offsets index ``text`` exactly (see the module docstring)."""
    return [Sentence(start, end) for start, end in iter_sentence_offsets(text)]


def segment_document(document: Document) -> Document:
    """A copy of ``document`` whose ``sentences`` are those of its text (other fields unchanged)."""
    return document.with_sentences(segment(document.text))


def iter_sentence_offsets(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each sentence in order; ``text[start:end]`` is trimmed and non-empty."""
    if not isinstance(text, str):
        raise TypeError(f"segment() needs a str, got {type(text).__name__}")
    wrap_width = _wrap_width(text)
    ends_sentence, trimmed = _ends_sentence, _trimmed  # local names: this loop is the hot path
    start = 0
    for match in _EVENT_RE.finditer(text):
        kind = match.lastgroup
        if kind == "end":
            cut = match.end()
            if not ends_sentence(text, start, match.start(), match.end("punct"), cut):
                continue
        elif kind == "newline" and wrap_width and not _hard_line_break(text, match, wrap_width):
            continue
        else:
            cut = match.start()
        span = trimmed(text, start, cut)
        if span is not None:
            yield span
        start = match.end()
    span = _trimmed(text, start, len(text))
    if span is not None:
        yield span


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    first = _NONBLANK_RE.search(text, start, end)
    if first is None:
        return None
    start = first.start()
    while text[end - 1].isspace() or text[end - 1] in _ZERO_WIDTH:
        end -= 1
    return start, end


def _ends_sentence(text: str, sentence_start: int, punct_start: int, punct_end: int, end: int) -> bool:
    """Decide whether the terminal punctuation ``text[punct_start:punct_end]`` (closers up to ``end``) ends
    the sentence that began at ``sentence_start``."""
    after = _NEXT_RE.match(text, end)
    openers, next_word = after.group(1), after.group(2)
    next_pos = after.end(1)
    if next_pos >= len(text):
        return True
    first = text[next_pos]
    if (first.islower() and not _URL_RE.match(text, next_pos)) or first in _CONTINUATION:
        return False
    punct = text[punct_start:punct_end]
    if "?" in punct or "!" in punct or "‽" in punct:
        has_quote = any(c in _QUOTES for c in text[punct_end:end])
        return not (has_quote and not openers and rules.SPEECH_TAG_RE.match(text, next_pos))
    opens_quote = bool(openers) and first.isupper() and any(c in _QUOTES for c in openers)
    if len(punct) > 1 or "…" in punct:  # an ellipsis: often marks left-out words inside a sentence
        if _opens_sentence(text, sentence_start, punct_start, allow=_OPENERS):
            return False  # "[…] Nobody came": the ellipsis opens this sentence
        return opens_quote or rules.is_starter(next_word)

    word = _word_before(text, sentence_start, punct_start)
    if not word:
        return True
    is_digit = first.isdigit()
    if word[-1] in _CLOSERS:
        return True
    key = rules.lookup_form(word)
    if is_digit and (key in rules.NUMBER_PREFIXES or key in rules.MONTHS):
        return False
    if key in rules.NEVER_FINAL:
        return False
    if rules.LIST_MARKER_RE.fullmatch(word) and _opens_sentence(text, sentence_start, punct_start - len(word)):
        return False
    if (
        key in rules.AMBIGUOUS
        or key in rules.MONTHS
        or (len(word) == 1 and word.isupper())
        or rules.DOTTED_RE.fullmatch(word)
    ):
        return opens_quote or rules.is_starter(next_word)
    return True


def _word_before(text: str, sentence_start: int, punct_start: int) -> str:
    """The word just before ``punct_start``: after the last space, opening quotes, hyphen or slash."""
    window = text[max(sentence_start, punct_start - _WORD_WINDOW) : punct_start]
    parts = window.rsplit(None, 1)
    if not parts:
        return ""
    token = parts[-1].lstrip(_OPENERS)
    for separator in "-/":
        if separator in token:
            token = token.rsplit(separator, 1)[-1]
    return token


def _opens_sentence(text: str, sentence_start: int, position: int, allow: str = "") -> bool:
    """Whether only whitespace (and characters in ``allow``) stand between the sentence start and
    ``position``."""
    first = _NONBLANK_RE.search(text, sentence_start, position + 1)
    if first is None or first.start() == position:
        return True
    return position - first.start() <= 3 and all(c in allow for c in text[first.start() : position])


def _wrap_width(text: str) -> int:
    """The typical line length when ``text`` is hard-wrapped prose, else 0 (line breaks are breaks).

    Text counts as wrapped when at least 30% of the line breaks between two non-blank lines come before a
    lowercase letter (not a list item), at most 5% of the lines are longer than 120 characters, and the
    lines that break before a lowercase letter are typically at least 30 characters long (shorter ones
    are a list or verse, where each line stands alone).
    """
    joins = lowercase = 0
    lengths: list[int] = []
    for match in _JOIN_RE.finditer(text):
        joins += 1
        if text[match.end()].islower() and not _LIST_ITEM_RE.match(text, match.end()):
            lowercase += 1
            if len(lengths) < 1001:
                line_end = match.start()
                window_start = max(0, line_end - 200)
                line_start = max(text.rfind("\n", window_start, line_end) + 1, window_start)
                lengths.append(len(text[line_start:line_end].strip()))
    if not lowercase or lowercase < 0.3 * joins:
        return 0
    lines = text.count("\n") + 1
    long_lines = sum(1 for _ in _LONG_LINE_RE.finditer(text))
    if long_lines > 0.05 * lines:
        return 0
    width = int(median(lengths))
    return width if width >= _MIN_WRAP_WIDTH else 0


def _hard_line_break(text: str, match: re.Match[str], wrap_width: int) -> bool:
    """In wrapped text, whether a single line break still ends a sentence: after a short line (a title or a
    byline) or before a list item."""
    window_start = max(0, match.start() - 2 * wrap_width)
    line_start = max(text.rfind("\n", window_start, match.start()) + 1, window_start)
    line = text[line_start : match.start()].strip()
    if len(line) < wrap_width // 2:
        return True
    return _LIST_ITEM_RE.match(text, match.end()) is not None
