"""Red-flag triage of what a patient writes: symptoms that can mean distant spread of the
toxin (swallowing, breathing, speech, vision, drooping eyelids, generalised weakness, bladder
control) or a serious allergic reaction need urgent care (labels: Boxed Warning, distant
spread of toxin effect; Warnings and Precautions, hypersensitivity reactions).

The rule, in plain words (the words themselves are data: reference/data/red_flags.yaml):

1. The text is cut into words (case, punctuation, apostrophes and spacing folded away) and
   into sentence parts at punctuation and at words such as "but". Contractions and set
   phrases are rewritten ("can't" and "cant" -> "cannot").
2. Filler words are set aside; every other word is reduced to its stem ("swallowing",
   "swallowed" -> "swallow"), so inflections meet. A word a letter or two away from a phrase
   word (a misspelling: "swolowing", "vison") matches it, unless it is a real word listed as
   not a misspelling ("shallow" is not "swallow").
3. A phrasing matches where all its words stand in one sentence part, in any order, with at
   most a few other words among them (phrasings with a negation word must match word for word).
4. A phrasing with a negation before it ("no trouble swallowing") or among its words is not
   read as absent: it makes the result **unclear** (the clinic calls back), never silently
   not urgent. A "vague" phrasing ("eyes feel funny", "a bit weak") is unclear too.
5. Urgent when any red-flag phrasing matches without a negation; otherwise unclear when any
   negated or vague phrasing matched; otherwise unclear too when the text could not be read
   (no words, or too many words that are neither common English nor the rule's own: another
   language, gibberish); otherwise not urgent.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import snowballstemmer
from rapidfuzz.distance import DamerauLevenshtein
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from bontrack.reference.schema import RedFlag, TriageData

#: Apostrophes as keyboards type them: straight, curly, the acute accent and backtick some
#: phone and European keyboards give, the modifier letter, the prime.
_APOSTROPHE = "'’‘´`ʼ′"
_WORD_OR_STOP = re.compile(
    rf"[^\W_]+(?:[{_APOSTROPHE}][^\W_]+)*|[.!?;\n]|[,:()\[\]]")
_SENTENCE_END = frozenset(".!?;\n")
_APOSTROPHES = re.compile(rf"[{_APOSTROPHE}]")
#: A phrase that opens with "cannot" (every "can't", "unable to"...) says the symptom is
#: there: a negation just before it is an answer ("no i cant swallow"), not its absence.
_CANNOT = "cannot"
#: zxcvbn's frequency lists: English words (Wikipedia, US television and film subtitles),
#: the US census's first names and surnames, and common passwords. Each word stands in one
#: list only ("finger" and "garden" are among the passwords), so all of them are read.
_ENGLISH_LISTS = ("english_wikipedia", "us_tv_and_film", "passwords", "male_names",
                  "female_names", "surnames")
_STEMMER = snowballstemmer.stemmer("english")

Reason = Literal["negated", "vague"]


@dataclass(frozen=True)
class FlagMatch:
    """A red flag found in the text, with the words (as written) that matched."""

    id: str
    matched: str
    reason: Reason | None = None  # None: a red flag; else why it is only possible


@dataclass(frozen=True)
class TriageResult:
    urgent: bool
    unclear: bool
    flags: tuple[FlagMatch, ...]
    possible: tuple[FlagMatch, ...]
    advice: str
    #: Words not read (not English, not the rule's) when the text as a whole could not be
    #: read: it is then unclear, never "not urgent" (the clinic calls back).
    unread: tuple[str, ...] = ()

    @property
    def level(self) -> Literal["urgent", "unclear", "not_urgent"]:
        return "urgent" if self.urgent else "unclear" if self.unclear else "not_urgent"

    @property
    def flag_ids(self) -> list[str]:
        return [f.id for f in self.flags]


@dataclass(frozen=True)
class _Token:
    stem: str
    start: int
    end: int
    length: int  # letters of the word as written (misspellings are read in longer words)
    clause: int  # between punctuation: a phrasing's words stand in one clause
    part: int  # a clause cut at words such as "but": a negation does not reach across parts
    negation: bool = False


@dataclass(frozen=True)
class _Phrase:
    flag: str
    stems: tuple[str, ...]
    vague: bool
    exact: bool  # contains a negation word: must match word for word


@dataclass
class _Compiled:
    data: TriageData
    ignore: frozenset[str]
    rewrites: list[tuple[tuple[str, ...], tuple[str, ...]]]
    negations: frozenset[str]
    breakers: frozenset[str]
    carries: frozenset[str]
    reaches_over: frozenset[str]
    not_misspellings: frozenset[str]
    phrases: list[_Phrase]
    vocabulary: frozenset[str]
    known: frozenset[str] = frozenset()
    by_length: dict[int, list[str]] = field(default_factory=dict)
    spellings: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict)


def _fold(word: str) -> str:
    # apostrophes first: NFKD writes the acute accent as a space and a combining mark
    text = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", word).casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def _words(text: str) -> list[tuple[str, int, int]]:
    """(folded word or stop mark, start, end) for each word and each sentence stop."""
    out: list[tuple[str, int, int]] = []
    for m in _WORD_OR_STOP.finditer(text):
        tok = m.group()
        mark = "||" if tok in _SENTENCE_END else "|"
        out.append((_fold(tok) if tok[0].isalnum() else mark, m.start(), m.end()))
    return out


def _rewrite(
    words: list[tuple[str, int, int]], rewrites: list[tuple[tuple[str, ...], tuple[str, ...]]]
) -> list[tuple[str, int, int]]:
    """The rewrites applied until none applies (at most four rounds): "isn't able to" is
    "is not able to", then "is cannot"."""
    for _ in range(4):
        out = _rewrite_once(words, rewrites)
        if out == words:
            break
        words = out
    return words


def _rewrite_once(
    words: list[tuple[str, int, int]], rewrites: list[tuple[tuple[str, ...], tuple[str, ...]]]
) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(words):
        for src, dst in rewrites:  # longest first
            n = len(src)
            if tuple(w for w, _, _ in words[i : i + n]) == src:
                start, end = words[i][1], words[i + n - 1][2]
                out.extend((d, start, end) for d in dst)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _compile(data: TriageData) -> _Compiled:
    m = data.matching
    ignore = frozenset(_fold(w) for w in m.ignore_words)
    rewrites = sorted(
        ((tuple(_fold(k).split()), tuple(_fold(v).split())) for k, v in m.rewrites.items()),
        key=lambda kv: -len(kv[0]),
    )
    negations = frozenset(_fold(w) for w in m.negations)
    c = _Compiled(
        data=data,
        ignore=ignore,
        rewrites=rewrites,
        negations=negations,
        breakers=frozenset(_fold(w) for w in m.clause_breakers),
        carries=frozenset(_fold(w) for w in m.negation_carries),
        reaches_over=frozenset(_stem(_fold(w)) for w in m.negation_reaches_over),
        not_misspellings=frozenset(_stem(_fold(w)) for w in m.not_misspellings),
        phrases=[],
        vocabulary=frozenset(),
    )
    phrases: list[_Phrase] = []
    for flag in data.red_flags:
        for vague, texts in ((False, flag.phrases), (True, flag.vague)):
            for text in texts:
                words = [w for w, _, _ in _rewrite(_words(text), rewrites) if w[0] != "|"]
                stems = tuple(_stem(w) for w in words if w not in ignore)
                if stems:
                    phrases.append(_Phrase(flag.id, stems, vague, bool(negations & set(words))))
    c.phrases = phrases
    c.vocabulary = frozenset(s for p in phrases for s in p.stems)
    c.known = frozenset(
        {_fold(w) for w in m.known_words}
        | {w for k, _ in rewrites for w in k}
        | ignore | negations | c.breakers | c.carries
        | {_fold(w) for w in (*m.negation_reaches_over, *m.not_misspellings)}
    )
    for s in c.vocabulary:
        c.by_length.setdefault(len(s), []).append(s)
    return c


_CACHE: dict[int, _Compiled] = {}
_MAX_SPELLINGS = 200_000


def _compiled(data: TriageData) -> _Compiled:
    got = _CACHE.get(id(data))
    if got is None or got.data is not data:
        if len(_CACHE) > 8:
            _CACHE.clear()
        got = _CACHE[id(data)] = _compile(data)
    return got


def _spellings(c: _Compiled, stem: str, length: int) -> frozenset[str]:
    """The phrase words a written word stands for: itself, and the phrase words it is a near
    miss of (a misspelling), unless it is a real word listed as not a misspelling."""
    key = (stem, length)
    got = c.spellings.get(key)
    if got is not None:
        return got
    found: set[str] = {stem} if stem in c.vocabulary else set()
    f = c.data.matching.fuzzy
    if length >= f.min_length and stem not in c.not_misspellings:
        most = max(f.max_edits, f.long_max_edits)
        for size in range(len(stem) - most, len(stem) + most + 1):
            for word in c.by_length.get(size, ()):
                shorter = min(len(word), len(stem))
                if len(word) < f.min_stem_length:
                    continue
                edits = f.long_max_edits if shorter >= f.long_min_length else f.max_edits
                if DamerauLevenshtein.distance(stem, word, score_cutoff=edits) <= edits:
                    found.add(word)
    if len(c.spellings) > _MAX_SPELLINGS:  # a long-running server sees endless new words
        c.spellings.clear()
    got = c.spellings[key] = frozenset(found)
    return got


def _tokens(c: _Compiled, text: str) -> tuple[list[_Token], dict[int, tuple[int, bool]]]:
    """Content words, and for each part: (its sentence, opens with a carry word)."""
    tokens: list[_Token] = []
    parts: dict[int, tuple[int, bool]] = {}
    clause, part, sentence, fresh = 0, 0, 0, True
    for word, start, end in _rewrite(_words(text), c.rewrites):
        if word[0] == "|" or word in c.breakers:
            sentence += word == "||"
            clause += word[0] == "|"
            if not fresh:
                part, fresh = part + 1, True
            continue
        if fresh:
            parts[part] = (sentence, word in c.carries and word not in c.negations)
            fresh = False
        if word in c.negations:
            tokens.append(_Token(_stem(word), start, end, len(word), clause, part, True))
        elif word not in c.ignore:
            tokens.append(_Token(_stem(word), start, end, len(word), clause, part))
    return tokens, parts


def _find(
    c: _Compiled, phrase: _Phrase, positions: dict[str, list[int]], tokens: list[_Token]
) -> list[tuple[int, ...]]:
    """Each place the phrase's words all stand close together in one sentence part."""
    n = len(phrase.stems)
    if any(s not in positions for s in phrase.stems):
        return []
    width = n if phrase.exact else n + c.data.matching.max_extra_words
    found: list[tuple[int, ...]] = []
    for anchor in positions[phrase.stems[0]]:
        if phrase.exact:
            idx = tuple(range(anchor, anchor + n))
            if (
                idx[-1] < len(tokens)
                and all(idx[k] in positions[s] for k, s in enumerate(phrase.stems))
                and tokens[idx[-1]].clause == tokens[anchor].clause
            ):
                found.append(idx)
            continue
        chosen = [anchor]
        for s in phrase.stems[1:]:
            cands = positions[s]
            lo = bisect_left(cands, anchor - width + 1)
            best = None
            for p in cands[lo:]:
                if p > anchor + width - 1:
                    break
                if p not in chosen and tokens[p].clause == tokens[anchor].clause:
                    best = p
                    break
            if best is None:
                break
            chosen.append(best)
        else:
            if max(chosen) - min(chosen) < width:
                found.append(tuple(chosen))
    return found


def _negated(
    c: _Compiled, idx: tuple[int, ...], tokens: list[_Token], carried: set[int]
) -> bool:
    """A negation among the phrase's words, or before it in the same part of a clause with
    only filler words (set aside already) or words it reaches over between them ("no trouble
    swallowing", "not noticed any blurred vision"). Any other word ends its reach: in "not
    eating, says it's hard to swallow" the negation is about eating, not swallowing."""
    first, last = min(idx), max(idx)
    part = tokens[first].part
    if any(tokens[p].negation and p not in idx for p in range(first, last + 1)):
        return True
    scope = c.data.matching.negation_scope_words
    if tokens[first].stem == _CANNOT:  # "no i cant breathe": an answer, then the symptom
        scope = 0
    for p in range(first - 1, max(-1, first - 1 - scope), -1):
        t = tokens[p]
        if t.part != part:
            break
        if t.negation:
            return True
        if t.stem not in c.reaches_over:
            break
    return part in carried


def triage(text: str, data: TriageData) -> TriageResult:
    """Triage one report written by a patient or caregiver (see the module docstring)."""
    c = _compiled(data)
    tokens, parts = _tokens(c, text)
    positions: dict[str, list[int]] = {}
    for i, t in enumerate(tokens):
        for s in _spellings(c, t.stem, t.length):
            positions.setdefault(s, []).append(i)
    negated_parts = {t.part for t in tokens if t.negation}
    carried = {
        part
        for part, (sentence, opens_with_carry) in parts.items()
        if opens_with_carry
        and any(p < part and parts[p][0] == sentence for p in negated_parts)
    }

    urgent: dict[str, FlagMatch] = {}
    possible: dict[str, FlagMatch] = {}
    for phrase in c.phrases:
        for idx in _find(c, phrase, positions, tokens):
            words = text[tokens[min(idx)].start : tokens[max(idx)].end]
            if phrase.vague:
                possible.setdefault(phrase.flag, FlagMatch(phrase.flag, words, "vague"))
            elif _negated(c, idx, tokens, carried):
                possible.setdefault(phrase.flag, FlagMatch(phrase.flag, words, "negated"))
            else:
                best = urgent.get(phrase.flag)
                if best is None or len(words) > len(best.matched):
                    urgent[phrase.flag] = FlagMatch(phrase.flag, words)
    unread = () if urgent or possible else _unread(c, text)
    return _result(data, urgent, possible, unread)


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    return frozenset(w for name in _ENGLISH_LISTS for w in FREQUENCY_LISTS[name])


def _unread(c: _Compiled, text: str) -> tuple[str, ...]:
    """The words the rule could not read, when they are too many for "not urgent" to be
    said (``unknown_words_share`` of the words or more), or ("",) for text with no word at
    all (emoji, digits, marks); () when the text was read."""
    words = [w for w, _, _ in _words(text) if w[0] != "|" and not w.isdigit()]
    if not words:  # nothing written, or marks only ("-", "..."): nothing to read
        marks = all(ch.isspace() or unicodedata.category(ch)[0] in "PZ" for ch in text)
        return () if marks else ("",)
    shortest = c.data.matching.unknown_min_letters
    words = [w for w in words if len(w) >= shortest]
    if not words:  # short words only ("ok", "ow"): read, as the rule reads them
        return ()
    english = _english()
    unknown = [
        w for w in words
        if w not in english and w not in c.known and _stem(w) not in c.vocabulary
    ]
    if unknown and len(unknown) >= c.data.matching.unknown_words_share * len(words):
        return tuple(dict.fromkeys(unknown))
    return ()


def triage_long(text: str, data: TriageData, window: int, overlap: int = 400) -> TriageResult:
    """Triage a report of any length in windows of ``window`` characters that overlap by
    ``overlap`` (cut at a space where one is near), so a phrasing is read whole in at least
    one window; the result is the union: urgent when any window is urgent. A long report
    is read in full, never refused for its length."""
    if len(text) <= window:
        return triage(text, data)
    results: list[TriageResult] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + window)
        if end < len(text):
            space = text.rfind(" ", end - overlap // 2, end)
            end = space if space > start else end
        results.append(triage(text[start:end], data))
        if end >= len(text):
            break
        start = max(start + 1, end - overlap)
    urgent: dict[str, FlagMatch] = {}
    possible: dict[str, FlagMatch] = {}
    for r in results:
        for f in r.flags:
            urgent.setdefault(f.id, f)
        for f in r.possible:
            possible.setdefault(f.id, f)
    unread = () if urgent or possible else tuple(
        dict.fromkeys(w for r in results for w in r.unread))
    return _result(data, urgent, possible, unread)


def _result(
    data: TriageData, urgent: dict[str, FlagMatch], possible: dict[str, FlagMatch],
    unread: tuple[str, ...] = (),
) -> TriageResult:
    """The result for the red flags found (urgent) and those only possibly meant, in the data's
    order; a possible flag that is also urgent is urgent; a text not read (``unread``, given
    only when nothing matched) is unclear."""
    order = {f.id: i for i, f in enumerate(data.red_flags)}
    flags = tuple(sorted(urgent.values(), key=lambda f: order[f.id]))
    maybe = tuple(
        sorted((f for k, f in possible.items() if k not in urgent), key=lambda f: order[f.id])
    )
    return TriageResult(
        urgent=bool(flags),
        unclear=not flags and (bool(maybe) or bool(unread)),
        flags=flags,
        possible=maybe,
        advice=advice(data, flags, maybe, bool(unread)),
        unread=unread,
    )


def advice(data: TriageData, flags: Sequence[FlagMatch], possible: Sequence[FlagMatch],
           unread: bool = False) -> str:
    """The plain-language message for the result."""
    if flags:
        names = {f.id: f.name.lower() for f in data.red_flags}
        symptoms = ", ".join(names[f.id] for f in flags)
        return data.advice.urgent.replace("{symptoms}", symptoms)
    return data.advice.unclear if possible or unread else data.advice.not_urgent


def red_flags(texts: Sequence[str], data: TriageData) -> list[str]:
    """Ids of the red flags (urgent) found in any of ``texts``."""
    found: list[str] = []
    for text in texts:
        found += [i for i in triage(text, data).flag_ids if i not in found]
    return found


def flag_by_id(data: TriageData, flag_id: str) -> RedFlag:
    return next(f for f in data.red_flags if f.id == flag_id)
