"""`finditer` that tries a regex only where one of its matches can start: same matches, far fewer attempts.

Python's `re` tries a pattern at every position of the text unless the pattern starts with a
literal, and the detector's patterns start with `\\b(...)`, `^` or long alternations: over a paper
of 70,000 characters each whole-text pass cost 5-40 ms. `AnchoredPattern` reads the parsed
pattern once and collects every way a match can begin: a literal prefix of up to `PREFIX`
characters (alternations and small classes expanded; a class of spacing and punctuation, such as
`\\s`, kept as a slot filled in with the characters of that class the text actually holds), the
start of a line (`^`), or one character of a class. Over a text it finds those starts with
`str.find` and tries `pattern.match` there only.

Exactly `pattern.finditer(text)`: a match can only start at a collected position, `match` at a
position sees the whole text (look-behinds, `\\b`, `^` as a search would), and the next attempt
starts where the last match ended, as in `finditer`. A pattern the analysis cannot bound (a
case-insensitive one, one that can match the empty string) keeps the plain `finditer`, and so does a
text in which the starts would be dense.
"""
from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterator

try:  # Python 3.11 moved the parser; sre_parse is kept as a deprecated alias
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

PREFIX = 4  # characters sought per start: longer is rarer, but multiplies the strings
MAX_STARTS = 4000  # more start strings than this: the plain scan is cheaper
DENSE = 8  # more starts than one per this many characters: the plain scan is cheaper
GROUP = 6  # start strings sharing their first two characters, from which one scan finds them all
MAX_FILL = 64  # strings one start may expand into over a text
_SMALL_CLASS = 16  # classes up to this size are expanded into the literal prefix
_LINE_STARTS = {C.AT_BEGINNING, C.AT_BEGINNING_LINE, C.AT_BEGINNING_STRING}
_CATEGORIES = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s",
               C.CATEGORY_NOT_SPACE: r"\S", C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W"}
# Every character `\s` matches in a str pattern (tested against all code points).
SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
          "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_COMMON = " \nateno0"  # a class start that matches one of these would be tried nearly everywhere
_RARE = "\u0370"  # from Greek on (Cyrillic, CJK, kana): one such character is a rare enough start in a paper
_SLOT = 0xE000  # private-use characters stand for the slots (classes) inside a start string
_STOP = (None, None)  # what follows a repeated item: unknown, so the prefix ends there


class _Unbounded(Exception):
    """The starts of the pattern cannot be bounded."""


def _class_source(items: list) -> str:
    parts = []
    for op, av in items:
        if op is C.NEGATE:
            parts.insert(0, "^")
        elif op is C.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is C.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is C.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            raise _Unbounded(f"class item {op}")
    return "[" + "".join(parts) + "]"


def _class_chars(items: list, spaces: bool) -> str | None:
    """The characters of a class of literals, small ranges and (with `spaces`) `\\s`; None if it has
    others (negation, other categories, large ranges)."""
    chars: list[str] = []
    for op, av in items:
        if op is C.LITERAL:
            chars.append(chr(av))
        elif op is C.RANGE and av[1] - av[0] < _SMALL_CLASS:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif spaces and op is C.CATEGORY and av is C.CATEGORY_SPACE:
            chars.extend(SPACES)
        else:
            return None
    return "".join(dict.fromkeys(chars))


@functools.lru_cache(maxsize=16)
def _present(chars: str, text: str) -> str:
    """The characters of `chars` that occur in `text` (cached: every pattern asks for the same text)."""
    return "".join(c for c in chars if c in text)


class _Starts:
    def __init__(self) -> None:
        self.literals: set[str] = set()  # start strings; a character from _SLOT on is a slot
        self.slots: list[str] = []  # the characters each slot stands for
        self.line = False
        self.classes: set[str] = set()

    def _slot(self, chars: str) -> str:
        if chars not in self.slots:
            self.slots.append(chars)
        return chr(_SLOT + self.slots.index(chars))

    def _add(self, prefix: str) -> None:
        self.literals.add(prefix)
        if len(self.literals) > MAX_STARTS:
            raise _Unbounded("too many start strings")

    def walk(self, items: list, i: int, prefix: str) -> None:
        """Add every way a match of items[i:], after `prefix` was matched, can begin."""
        if len(prefix) >= PREFIX or (prefix and _RARE <= prefix[-1] < chr(_SLOT)):
            self._add(prefix)
            return
        if i == len(items) or items[i] is _STOP:
            if not prefix:
                raise _Unbounded("a match can be empty, or starts with a repeat")
            self._add(prefix)
            return
        op, av = items[i]
        rest = items[i + 1:]
        if op is C.LITERAL:
            self.walk(items, i + 1, prefix + chr(av))
        elif op is C.AT:
            if not prefix and av in _LINE_STARTS:
                self.line = True
            else:  # \b, \B, $: zero width; ignoring the condition only adds starts
                self.walk(items, i + 1, prefix)
        elif op in (C.ASSERT, C.ASSERT_NOT):  # zero width, as above
            self.walk(items, i + 1, prefix)
        elif op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise _Unbounded("inline flags")
            self.walk(list(sub.data) + rest, 0, prefix)
        elif op is C.BRANCH:
            for alternative in av[1]:
                self.walk(list(alternative.data) + rest, 0, prefix)
        elif op is C.IN:
            small = _class_chars(av, spaces=False)
            if small is not None and len(small) <= _SMALL_CLASS:
                for c in small:
                    self.walk(items, i + 1, prefix + c)
                return
            chars = _class_chars(av, spaces=True)
            if prefix and chars is not None:  # spacing and punctuation: a slot, filled in per text
                self.walk(items, i + 1, prefix + self._slot(chars))
            elif prefix:
                self._add(prefix)
            else:
                self.classes.add(_class_source(av))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            if lo == 0:
                self.walk(items, i + 1, prefix)  # no repetition
            if hi > 0:  # one or more: after the first, anything may follow
                self.walk(list(sub.data) + [_STOP], 0, prefix)
        elif prefix:  # any other item (., [^x], a back-reference): the prefix ends here
            self._add(prefix)
        else:
            raise _Unbounded(f"starts with {op}")


class AnchoredPattern:
    """A compiled pattern whose `finditer(text)` equals `pattern.finditer(text)`, found faster."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.literals: tuple[str, ...] = ()
        self.slots: tuple[str, ...] = ()
        self.line = False
        self.classes: re.Pattern[str] | None = None
        self.plain = True
        if pattern.flags & re.IGNORECASE:
            return  # str.find is case-sensitive
        try:
            parsed = P.parse(pattern.pattern, pattern.flags)
            if parsed.getwidth()[0] == 0:
                raise _Unbounded("can match the empty string")
            starts = _Starts()
            starts.walk(list(parsed.data), 0, "")
            classes = re.compile("|".join(sorted(starts.classes))) if starts.classes else None
            if classes is not None and any(classes.match(c) for c in _COMMON):
                raise _Unbounded("a class start that matches common characters")
        except (_Unbounded, RecursionError):
            return
        self.literals, self.slots = tuple(sorted(starts.literals)), tuple(starts.slots)
        self.line, self.classes, self.plain = starts.line, classes, False

    def _strings(self, text: str) -> set[str]:
        """The start strings with their slots filled in with the characters `text` holds."""
        out: set[str] = set()
        for literal in self.literals:
            slots = [i for i, c in enumerate(literal) if c >= chr(_SLOT)]
            if not slots:
                out.add(literal)
                continue
            fills = [_present(self.slots[ord(literal[i]) - _SLOT], text) for i in slots]
            if any(not f for f in fills):
                continue  # a class none of whose characters occur: no match can start this way
            if math.prod(map(len, fills)) > MAX_FILL:
                out.add(literal[:slots[0]])  # keep the part before the first slot
                continue
            for combo in itertools.product(*fills):
                chars = list(literal)
                for i, c in zip(slots, combo):
                    chars[i] = c
                out.add("".join(chars))
        return out

    def starts(self, text: str) -> list[int] | None:
        """Every position of `text` where a match may start (a superset, sorted); None: try everywhere."""
        return shared_starts([self], text)[0]

    def finditer(self, text: str, starts: list[int] | None = None) -> Iterator[re.Match[str]]:
        """`self.pattern.finditer(text)`; `starts`: from `shared_starts` over the same text."""
        if starts is None and not self.plain:
            starts = self.starts(text)
        if starts is None or len(starts) * DENSE > len(text):  # no bound, or starts nearly everywhere
            yield from self.pattern.finditer(text)
            return
        match = self.pattern.match
        end = 0
        for p in starts:
            if p < end:
                continue
            m = match(text, p)
            if m is not None:
                yield m
                end = m.end()  # never empty: getwidth()[0] > 0

    def search(self, text: str) -> re.Match[str] | None:
        return next(self.finditer(text), None)


def shared_starts(patterns: list[AnchoredPattern], text: str) -> list[list[int] | None]:
    """`starts(text)` of each pattern, the scans of the text shared: a string several patterns start
    with is looked for once, and strings with a common head of two characters (from `GROUP` of them
    on) are found by one scan for the head and a test of them all at each hit."""
    found: list[set[int] | None] = [None if p.plain else set() for p in patterns]
    find, startswith = text.find, text.startswith
    heads: dict[str, dict[str, list[int]]] = {}  # head -> start string -> the patterns that start with it
    line_starts: list[int] | None = None
    for k, pattern in enumerate(patterns):
        into = found[k]
        if into is None:
            continue
        for literal in pattern._strings(text):
            heads.setdefault(literal[:2], {}).setdefault(literal, []).append(k)
        if pattern.line:
            if line_starts is None:
                line_starts = [0]
                i = find("\n")
                while i >= 0:
                    line_starts.append(i + 1)
                    i = find("\n", i + 1)
            into.update(line_starts)
        if pattern.classes is not None:
            into.update(m.start() for m in pattern.classes.finditer(text))
    for head, literals in heads.items():
        if len(literals) < GROUP:  # each string on its own: the longer, the fewer false starts
            for literal, ks in literals.items():
                sets = [found[k] for k in ks]
                i = find(literal)
                while i >= 0:
                    for into in sets:
                        into.add(i)  # type: ignore[union-attr]
                    i = find(literal, i + 1)
            continue
        by_pattern: dict[int, list[str]] = {}
        for literal, ks in literals.items():
            for k in ks:
                by_pattern.setdefault(k, []).append(literal)
        tests = [(found[k], tuple(strings)) for k, strings in by_pattern.items()]
        i = find(head)
        while i >= 0:
            for into, strings in tests:
                if startswith(strings, i):
                    into.add(i)  # type: ignore[union-attr]
            i = find(head, i + 1)
    return [None if f is None else sorted(f) for f in found]
