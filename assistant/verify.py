"""Verification of a generated answer against the sources it was given.

(a) every [n] must resolve to a provided source, else it is repaired or dropped;
(b) every figure, amount, percentage, date, e-mail address, phone number and URL
    must occur (normalised) in a source the sentence cites;
(c) sentences without support in their cited sources are removed;
(d) the caller falls back to the extractive answer or abstains when nothing is left.
Everything removed is recorded with a Dutch reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .questions import ANSWER_TYPES, answer_types, is_claim_check
from .types import RemovedClaim

_CITE = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9€(\"'‘“\-*])|\n+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s)\]>,]+", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\d)(?:\+31|0)[\d\s-]{8,13}\d")
_NUMBER = re.compile(r"(?<![\w])(\d+(?:[.,]\d+)*)(?:\s*(%|procent|percent))?")
_RANGE = re.compile(r"(?<![\w])(\d{4})\s*[-–/]\s*(\d{4})(?![\w])")
_UNIT = re.compile(
    r"\s*(jaar|jaren|maand|maanden|week|weken|dag|dagen|miljoen|miljard|mln|mld|procent|%|euro|gemeenten|"
    r"inwoners|leerlingen|scholen|kinderen|years|months|million|billion|percent|municipalities)\b",
    re.IGNORECASE,
)
_UNIT_ALIASES = {"mln": "miljoen", "mld": "miljard", "million": "miljoen", "billion": "miljard", "%": "procent",
                 "percent": "procent", "jaren": "jaar", "years": "jaar", "maanden": "maand", "months": "maand",
                 "weken": "week", "dagen": "dag", "municipalities": "gemeenten"}
_WORD = re.compile(r"\w+", re.UNICODE)
_ENGLISH_WORDS = re.compile(r"\b(the|is|are|of|and|for|with|can|will|municipalities|schools)\b", re.IGNORECASE)
_STOP = set(
    """de het een en van in op te dat die is zijn voor met als aan om ook of bij door naar
    niet kan kunnen wordt worden u uw je we wij ze zij er dit deze hun wat hoe welke wie waar
    the a an of to and for on is are be can this that these with as by from it their""".split()
)


ECHO = "herhaalt alleen de vraag"  # the reason for a sentence that restates the question ("Ja, <de vraag> [1].")


def normalise_number(token: str) -> str:
    """'8,5' and '8.5' -> '8.5'; '40.000' -> '40000'; keeps digits comparable across styles."""
    t = token.strip()
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", t):  # Dutch thousands separator
        return t.replace(".", "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+", t) and not re.fullmatch(r"\d,\d{3}", t):
        return t.replace(",", "")
    return t.replace(",", ".")


# a number written out is a number: "Met ruim vijftig jaar ervaring" is the CED-Groep's, not the NPO's duration
_NUMBER_WORDS = {
    "twee": "2", "drie": "3", "vier": "4", "vijf": "5", "zes": "6", "zeven": "7", "acht": "8", "negen": "9",
    "tien": "10", "elf": "11", "twaalf": "12", "twintig": "20", "dertig": "30", "veertig": "40", "vijftig": "50",
    "zestig": "60", "zeventig": "70", "tachtig": "80", "negentig": "90", "honderd": "100", "duizend": "1000",
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)


def _in_digits(text: str) -> str:
    """The text with its numbers written out in digits ("vijftig jaar" -> "50 jaar")."""
    return _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1).casefold()], text)


def facts_in(text: str) -> set[str]:
    """Normalised checkable facts: numbers (incl. amounts, %, written out), e-mails, URLs, phone numbers."""
    text = _in_digits(text)
    facts: set[str] = set()
    for m in _EMAIL.finditer(text):
        facts.add("mail:" + m.group(0).lower().rstrip("."))
    rest = _EMAIL.sub(" ", text)
    for m in _URL.finditer(rest):
        facts.add("url:" + re.sub(r"^https?://(www\.)?|^www\.", "", m.group(0).lower()).rstrip("./"))
    rest = _URL.sub(" ", rest)
    for m in _PHONE.finditer(rest):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 10:
            facts.add("tel:" + digits)
            rest = rest.replace(m.group(0), " ")
    for m in _RANGE.finditer(rest):
        facts.add(f"range:{m.group(1)}-{m.group(2)}")
    rest = _RANGE.sub(" ", rest)
    for m in _NUMBER.finditer(rest):
        number = normalise_number(m.group(1))
        facts.add("num:" + number)
        unit = _UNIT.match(rest, m.end(1))
        if unit:
            word = unit.group(1).lower()
            facts.add(f"unit:{number}|{_UNIT_ALIASES.get(word, word)}")
    return facts


_SHARED_UNIT = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)\s+(?:naar|tot|en|of|à|-|–)\s+\d+(?:[.,]\d+)*(?=\s)")


def source_facts(text: str) -> set[str]:
    """Facts a source supports; a number with its unit ("2,5 jaar") also supports the bare number.

    Two numbers share the unit after the second: "van 50 naar 100 gemeenten" supports "50 gemeenten".
    """
    facts = facts_in(text)
    for m in _SHARED_UNIT.finditer(text):
        unit = _UNIT.match(text, m.end())
        if unit:
            word = unit.group(1).lower()
            facts.add(f"unit:{normalise_number(m.group(1))}|{_UNIT_ALIASES.get(word, word)}")
    return facts


def unsupported_facts(claim: set[str], source: set[str]) -> set[str]:
    """Claim facts the source lacks. "2 jaar" needs "2 jaar" in the source, not just some "2"."""
    missing = {f for f in claim if f.startswith(("num:", "mail:", "url:", "tel:", "range:")) and f not in source}
    missing |= {f for f in claim if f.startswith("unit:") and f not in source}
    return missing


def gives_asked(sentence: str, question: str) -> bool:
    """Does the sentence add, beyond the question's words, the kind of thing asked for?

    "Vanaf juni horen scholen welk budget ze krijgen." restates "Vanaf welke maand
    horen scholen ...?" but adds the month: an answer, not an echo.
    """
    new = " ".join(content_words(sentence) - content_words(question))
    return "date" in answer_types(question) and bool(ANSWER_TYPES["date"][1].search(new))


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 2 and not w.isdigit()}


def _prefix_match(word: str, pool: set[str]) -> bool:
    """Cheap Dutch stemming: 'gemeenten' ~ 'gemeente', 'scholen' ~ 'school' by a shared prefix."""
    if word in pool:
        return True
    stem = word[: max(4, len(word) - 3)]
    return any(p.startswith(stem) or word.startswith(p[: max(4, len(p) - 3)]) for p in pool if len(p) > 3)


# a name of capitalised words, or acronyms among them: "Nationaal Programma Onderwijs", "NP Onderwijs"
_NAME_RUN = re.compile(
    r"\b(?:[A-Z]{2,}|[A-Z][a-zà-ÿ]+)(?:[ \t]+(?:(?:en|van|voor)[ \t]+)?(?:[A-Z]{2,}\b|[A-Z][a-zà-ÿ]+)){1,4}"
)


def initialisms(text: str) -> set[str]:
    """The acronyms of the names a text writes out: "het NP Onderwijs" supports "het NPO"."""
    out = set()
    for match in _NAME_RUN.finditer(text):
        words = [w for w in match.group(0).split() if w not in ("en", "van", "voor")]
        for start in range(len(words) - 1):  # "De Gelijke Kansen Alliantie" also gives GKA
            letters = "".join(w if w.isupper() else w[0] for w in words[start:])
            if len(letters) >= 3:
                out.add(letters.casefold())
    return out


def support(sentence: str, source_text: str) -> float:
    """Share of the sentence's content words found in the source text (an acronym also when written out)."""
    words = content_words(sentence)
    if not words:
        return 1.0
    pool = content_words(source_text) | initialisms(source_text)
    return sum(1 for w in words if _prefix_match(w, pool)) / len(words)


_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,7}\b")


def listed_items(sentence: str) -> list[str]:
    """The items of an enumeration after a colon ("vier stappen: A, B, C en D"), when there are 3 or more."""
    if ":" not in sentence:
        return []
    tail = sentence.rsplit(":", 1)[1]
    items = [i.strip() for i in re.split(r"\s*[,;]\s*|\s+(?:en|of|and|or)\s+", tail) if content_words(i)]
    return items if len(items) >= 3 else []


def lists_what_source_holds(sentence: str, source_text: str, min_support: float) -> bool:
    """Most listed items are in the source: a small model invents the steps of a method
    ("Identificatie van problemen, Planen van reactie, ...") around a few true words."""
    items = listed_items(sentence)
    if not items:
        return True
    # an item is short: one true word of two ("Planen van reactie") is not enough
    held = sum(1 for item in items if support(item, source_text) > min_support)
    return held >= 2 * len(items) / 3


def acronyms(text: str) -> set[str]:
    """The organisations a text names by acronym: GGD, GKA, MR."""
    return set(_ACRONYM.findall(text))


def question_terms(sentence: str, question: str) -> set[str]:
    """The organisations a sentence names after the question.

    (Long question words were tried too: paraphrases such as "uitgesmeerd" or
    "totale" then dropped good answers.)
    """
    return acronyms(sentence) & acronyms(question) if question else set()


# a capitalised word inside a sentence is (part of) a name: "het steunpakket Welzijn Jeugd", "de Gelijke Kansen Alliantie"
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)(?<![-\n]\s)\b[A-Z][a-zà-ÿ]{2,}(?:\s+[A-Z][a-zà-ÿ]{2,})*\b")


def proper_names(text: str) -> set[str]:
    """The names inside a text's sentences, as runs of capitalised words ("Welzijn Jeugd")."""
    return set(_NAME.findall(text.strip()))


def names_near(name: str, context: str) -> bool:
    """The context names it: every word of it, or its initials ("GKA" for "Gelijke Kansen Alliantie")."""
    words = name.split()
    initials = "".join(w[0] for w in words)
    if len(words) > 1 and re.search(rf"\b{initials}\b", context):
        return True
    return all(re.search(rf"\b{re.escape(w)}\b", context, re.IGNORECASE) for w in words)


def mentions(term: str, source: str) -> bool:
    """Does the source name the acronym, or spell it out ("NPO": Nationaal Programma Onderwijs)?"""
    if re.search(rf"\b{re.escape(term)}\b", source):
        return True
    letters = [c for c in term.casefold() if c.isalpha()]
    initials = "".join(w[0] for w in _WORD.findall(source.casefold()))
    return len(letters) > 1 and "".join(letters) in initials


_FACT_KIND = re.compile(
    r"\b((e-?)?mail\w*|telefoon\w*|tel|bel(len|t)?|nummer|website|webadres|adres|bedrag|getal)\b", re.IGNORECASE
)


def without_facts(text: str) -> str:
    """The words around a claim's figures, for what they are said about.

    The figure itself and the name of its kind ("mailadres") say nothing about
    whom the address belongs to.
    """
    text = _in_digits(text)
    for pattern in (_EMAIL, _URL, _PHONE, _SPAN_OF_TIME, _NUMBER, _FACT_KIND):
        text = pattern.sub(" ", text)
    return text


# a span of time is one figure: the "jaar" of "vijftig jaar" says nothing about what lasted that long
_SPAN_OF_TIME = re.compile(r"(?<![\w])\d+(?:[.,]\d+)*\s+(?:jaar|jaren|maand|maanden|week|weken|dag|dagen)\b", re.IGNORECASE)


def figure_context(facts: set[str], source_text: str) -> str:
    """The source sentences that hold the claim's figures, with the sentence before and after each.

    A figure must be said about what the claim says it is about: "€ 300 miljoen"
    is in the source, but about the NPO for all gemeenten, not about the
    steunpakket Welzijn Jeugd that the answer attaches it to.
    """
    sentences = split_answer(source_text)
    hold = [i for i, s in enumerate(sentences) if facts & source_facts(s)]
    near = sorted({j for i in hold for j in (i - 1, i, i + 1) if 0 <= j < len(sentences)})
    return "\n".join(sentences[j] for j in near)


# a denial: "Het geld wordt niet verhoogd" is not carried by "Gemeenten krijgen ... geld" (same words, other meaning)
_NEGATION = re.compile(r"\b(niet|geen|nooit|niets|nergens|not|no|never)\b", re.IGNORECASE)


def denies_what_source_says(sentence: str, source_text: str) -> bool:
    """The sentence negates while the source sentence closest to it does not."""
    return bool(_NEGATION.search(sentence)) and not _NEGATION.search(_closest(sentence, source_text))


def _closest(sentence: str, source_text: str) -> str:
    """The source sentence that supports the claim best: where its names must be."""
    return max(split_answer(source_text) or [source_text], key=lambda s: support(sentence, s))


@dataclass
class Verified:
    text: str
    kept: list[tuple[str, list[int]]] = field(default_factory=list)  # sentence, cited source numbers
    removed: list[RemovedClaim] = field(default_factory=list)
    foreign: set[str] = field(default_factory=set)  # unknown subjects that sentences were removed for
    misattributed: set[str] = field(default_factory=set)  # figures a removed sentence said about something else
    # (or about something its source never names)


def split_answer(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE.split(text.strip()) if p and p.strip()]
    # a lone citation marker belongs to the sentence before it
    merged: list[str] = []
    for part in parts:
        if merged and re.fullmatch(r"(\[\d+\][\s.,]*)+", part):
            merged[-1] = merged[-1] + " " + part
        else:
            merged.append(part)
    return merged


def verify_answer(
    text: str,
    texts_by_n: dict[int, str],
    min_support: float = 0.5,
    question: str = "",
    headers_by_n: dict[int, str] | None = None,
    unknown_terms: set[str] | frozenset[str] = frozenset(),
    recipient: str | None = None,
    question_names: set[str] | None = None,
) -> Verified:
    """Keep only sentences whose citations resolve and whose facts and words the sources carry.

    ``texts_by_n`` maps each source number to the text it stands for (its
    passage, plus the rest of the section when the passage is a fragment);
    ``headers_by_n`` to its document's title and publisher, which name who
    speaks in it (the CED-Groep's page says "wij"). ``recipient`` is who the question asks an amount for
    ("gemeenten"): a figure in the answer must stand beside it in the source; so must the names the claim
    takes over from the question (``question_names``: by default all the question's names; the caller gives
    the ones the corpus knows, as "het Rijk" in "Hoeveel trekt het Rijk uit?" is only a way of asking).
    """
    if question_names is None:
        question_names = proper_names(question)
    headers = headers_by_n or {}
    by_n = texts_by_n
    result = Verified(text="")
    kept_lines: list[str] = []
    said: list[set[str]] = []  # content words of the sentences kept so far
    for raw in split_answer(text):
        cited: list[int] = []
        for m in _CITE.finditer(raw):
            cited += [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        body = _CITE.sub("", raw).strip()
        bullet = ""
        if re.match(r"^([-*•]|\d+[.)])\s+", body):
            bullet = "- "
            body = re.sub(r"^([-*•]|\d+[.)])\s+", "", body)
        if len(content_words(body)) == 0:
            continue  # a stray marker or punctuation
        if len(content_words(body)) < 2 and not facts_in(body) and not gives_asked(body, question):
            result.removed.append(RemovedClaim(raw, "te onvolledig om iets te beweren"))
            continue  # "De uitdagingen en [5]."
        adds_a_fact = bool(facts_in(body) - facts_in(question))  # "50 gemeenten" from "Welke 50 gemeenten ...?" adds none
        echo = support(body, question) >= 0.8 and not gives_asked(body, question) and not is_claim_check(question)
        if question and not adds_a_fact and echo:
            result.removed.append(RemovedClaim(raw, ECHO))
            continue  # "De CED-Groep noemt de bestedingsdoelen [1]." to "Welke bestedingsdoelen noemt de CED-Groep?"
        words = content_words(body)
        if any(len(words & earlier) >= 0.9 * len(words) for earlier in said):
            result.removed.append(RemovedClaim(raw, "herhaling van een eerdere zin"))
            continue  # a small model can loop: the same two sentences three times over
        dangling = [n for n in cited if n not in by_n]
        valid = [n for n in dict.fromkeys(cited) if n in by_n]
        if dangling:
            result.removed.append(
                RemovedClaim(raw, f"verwijzing {', '.join(f'[{n}]' for n in dangling)} bestaat niet")
            )
        claim_facts = facts_in(body)
        figures = {f for f in claim_facts - facts_in(question) if not f.startswith("unit:")}
        # English answers from Dutch sources share names and figures, few other words
        needed = 0.25 if len(_ENGLISH_WORDS.findall(body)) >= 2 else min_support
        foreign = sorted(words & set(unknown_terms))
        if foreign:
            # "De rol van de leerplichtambtenaar is ..." when no source ever names a leerplichtambtenaar
            result.removed.append(RemovedClaim(raw, f"de bronnen zeggen niets over {', '.join(foreign)}"))
            result.foreign.update(foreign)
            continue
        # an organisation the sentence takes over from the question must be in its source: "De GGD speelt
        # een rol ..." cited to "De GKA speelt een rol ..." answers a question about the GGD with the GKA's role
        taken = question_terms(body, question)

        def names(n: int) -> str:
            """Where source n must name the sentence's organisations: its closest sentence, title, publisher."""
            return _closest(body, by_n[n]) + "\n" + headers.get(n, "")

        # repair: pick the sources that carry the facts and words when citations are missing or wrong
        def holds(n: int) -> bool:
            """Source n has the claim's facts and words (not yet: about the same thing)."""
            return (
                not unsupported_facts(claim_facts, source_facts(by_n[n]))
                and support(body, by_n[n]) >= needed
                and lists_what_source_holds(body, by_n[n], needed)
                and not denies_what_source_says(body, by_n[n])
            )

        named = [n for n in question_names if names_near(n, body)] if needed == min_support else []

        def said_about_else(n: int) -> bool:
            """The figure is in source n, but its sentence is about something else.

            A name the claim takes over from the question must stand beside the figure: "Het steunpakket
            Welzijn Jeugd geeft gemeenten € 300 miljoen" shares enough words with the € 300 miljoen for the
            NPO, but that sentence never names the steunpakket.
            """
            if not figures:
                return False
            around = figure_context(figures, by_n[n])
            # "Gemeenten krijgen € 5,8 miljard" to "Hoeveel krijgen gemeenten?": that figure is the funderend onderwijs's
            if recipient and not re.search(rf"\b{re.escape(recipient[:5])}", around, re.I):
                return True
            context = around + "\n" + headers.get(n, "")
            if not all(names_near(name, context) for name in named):
                return True
            words = content_words(without_facts(body))
            if not words:
                return False
            pool = content_words(context) | initialisms(context)
            shared = sum(1 for w in words if _prefix_match(w, pool))
            # a short claim needs two of its words there: "Het NPO duurt vijftig jaar" shares only "NPO" with
            # "Met ruim vijftig jaar ervaring leggen we verbinding tussen alle partners in het NPO"
            if needed == min_support and len(words) >= 2 and shared < 2:
                return True
            return shared / len(words) < needed

        def carries(n: int) -> bool:
            if not holds(n) or said_about_else(n):
                return False
            return not taken or all(mentions(term, names(n)) for term in taken)

        supporting = [n for n in valid if carries(n)]
        if not supporting:
            candidates = [n for n in by_n if carries(n)]
            if candidates:
                best = max(candidates, key=lambda n: support(body, by_n[n]))
                supporting = [best]
        if not supporting:
            cited_text = " ".join(by_n[n] for n in (valid or list(by_n)))
            unsupported = sorted(
                f.split(":", 1)[1].replace("|", " ") for f in unsupported_facts(claim_facts, source_facts(cited_text))
            )
            absent = sorted(t for t in taken if not any(mentions(t, names(n)) for n in (valid or list(by_n))))
            elsewhere = any(holds(n) and said_about_else(n) for n in (valid or list(by_n)))
            # cited to a source without the figure, which another source gives about something else
            misplaced = bool(unsupported) and any(
                not unsupported_facts(claim_facts, source_facts(by_n[n])) and said_about_else(n) for n in by_n
            )
            if misplaced:
                result.misattributed.update(figures)
            if unsupported:
                reason = f"gegeven(s) {', '.join(unsupported)} staan niet in de geciteerde bron"
            elif elsewhere:
                shown = sorted(f.split(":", 1)[1] for f in figures)
                reason = f"de bron noemt {', '.join(shown)} bij iets anders"
                result.misattributed.update(figures)
            elif absent:
                reason = f"de bron zegt niets over {', '.join(absent)}"
                result.misattributed.update(figures)  # "€ 300 miljoen" said of the GKA, which that source never names
            elif not any(lists_what_source_holds(body, by_n[n], needed) for n in (valid or list(by_n))):
                reason = "de opgesomde punten staan niet in de bronnen"
            else:
                reason = "geen steun voor deze bewering in de bronnen"
            if not dangling:
                result.removed.append(RemovedClaim(raw, reason))
            continue
        marker = "".join(f"[{n}]" for n in supporting)
        line = body.rstrip()
        end = ""
        if line and line[-1] in ".!?:":
            line, end = line[:-1], line[-1]
        kept_lines.append(f"{bullet}{line} {marker}{end}")
        said.append(words)
        result.kept.append((body, supporting))
    result.text = "\n".join(kept_lines) if any(l.startswith("- ") for l in kept_lines) else " ".join(kept_lines)
    return result


def cited_numbers(text: str) -> list[int]:
    out: list[int] = []
    for m in _CITE.finditer(text):
        out += [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
    return list(dict.fromkeys(out))
