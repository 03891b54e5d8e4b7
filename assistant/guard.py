"""Gates around the model: injection and scope checks, and evidence strength.

A wrong euro amount in a municipal reply is worse than none, so the assistant
refuses early when a request is not about the sources, tries to steer it, or
when retrieval found nothing that carries the question's specific terms.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ingest.index import KeywordIndex

from .glossary import source_term
from .questions import ANSWER_TYPES, is_claim_check, question_parts
from .retrieval import Hit

NOT_IN_SOURCES = (
    "Dat staat niet in de bronnen die mij ter beschikking staan, dus daar kan ik geen betrouwbaar "
    "antwoord op geven. U kunt uw vraag anders formuleren, of contact opnemen met de online helpdesk "
    "van het Nationaal Programma Onderwijs die in de bronnen wordt genoemd."
)
# Shown above an answer made of source passages instead of the model's own words: the user
# must know why, and that the passages may not answer the question.
_CHECK = " Hieronder staan de passages die het best bij uw vraag passen; controleert u of zij uw vraag beantwoorden."
FALLBACK_NOTICES = {
    "llm_error": "Het taalmodel was niet beschikbaar; dit is een extractief antwoord uit de bronnen." + _CHECK,
    "model_not_found": "Het taalmodel vond in de bronnen geen direct antwoord." + _CHECK,
    "verification_removed_all": "Het antwoord van het taalmodel werd niet door de bronnen gedekt en is weggelaten."
    + _CHECK,
    "requested_fact_missing": "Het antwoord van het taalmodel noemde niet het gegeven waar u om vroeg." + _CHECK,
    "model_echoed_question": "Het taalmodel herhaalde alleen uw vraag, zonder antwoord uit de bronnen." + _CHECK,
}


def fallback_notice(reason: str) -> str:
    """The Dutch note for an answer that fell back to quoting the sources."""
    return FALLBACK_NOTICES.get(reason.split(":", 1)[0], FALLBACK_NOTICES["llm_error"])


UNNAMED_PURPOSE = (
    "De bronnen noemen {words} nergens, dus of het NPO-geld daarvoor gebruikt mag worden, staat er niet in. "
    "U kunt contact opnemen met de online helpdesk van het Nationaal Programma Onderwijs die in de bronnen wordt genoemd."
)
NOT_NAMED = (
    "De bronnen noemen {words} nergens, dus daar kan ik geen betrouwbaar antwoord op geven. U kunt uw vraag anders "
    "formuleren, of contact opnemen met de online helpdesk van het Nationaal Programma Onderwijs die in de bronnen wordt genoemd."
)
OUT_OF_SCOPE = (
    "Ik beantwoord alleen vragen over het Nationaal Programma Onderwijs en de rol van gemeenten daarin, "
    "op basis van de officiële bronnen. Met dit verzoek kan ik u helaas niet helpen."
)
INJECTION = (
    "Ik kan niet ingaan op verzoeken om mijn instructies te wijzigen of te tonen. Ik beantwoord "
    "alleen vragen over het Nationaal Programma Onderwijs op basis van de bronnen."
)
AFTER_THE_SOURCES = (
    "De bronnen gaan over de periode tot en met {year}; wat er {when} gebeurt, staat er niet in. U kunt contact "
    "opnemen met de online helpdesk van het Nationaal Programma Onderwijs die in de bronnen wordt genoemd."
)
EMPTY_QUESTION = "Stelt u alstublieft een vraag over het Nationaal Programma Onderwijs."
TOO_LONG = "Uw vraag is te lang ({n} tekens; maximaal {max}). Wilt u de vraag inkorten?"

_INJECTION_PATTERNS = [
    r"\b(negeer|vergeet|ignore|disregard|forget)\b.{0,40}\b(instructie|instructies|regels|richtlijnen|opdracht|bronnen|documenten|instructions|rules|guidelines|documents|prompt|above|previous|vorige|eerdere)",
    r"\b(system ?prompt|systeem ?prompt|systeeminstructie|developer message|je instructies|your instructions)\b",
    r"\b(jailbreak|(?-i:DAN)\b|do anything now|developer mode|ontwikkelaarsmodus)",  # not the Dutch word "dan"
    r"\b(je bent nu|you are now|doe alsof|pretend (to be|you)|act as|speel (de rol|een rol))\b",
    r"\b(zeg|antwoord|schrijf|say|answer)\b.{0,30}\b(dat|that)\b.{0,60}\b(\d+\s*(miljard|miljoen|billion|million))",
    r"(toon|laat zien|print|herhaal|reveal|show|repeat).{0,30}(prompt|instructies|instructions|configuratie)",
    r"<\s*/?\s*(system|assistant|im_start|im_end)\s*>|\[/?INST\]",
    r"(#{2,}\s*|\b)(systeem|system|systeemmelding|admin)\s*:",  # a fake role marker
]
_OUT_OF_SCOPE_PATTERNS = [
    r"\b(weer|weerbericht|weersverwachting|weather|regen|temperatuur)\b",
    r"\b(recept|recipe|koken|bakken|cook|taart|pannenkoek\w*)\b",
    r"\b(python|javascript|java|sql|html|code|programma schrijven|script|functie schrijven|function)\b",
    r"\b(gedicht|poem|speech|toespraak|lied|song|grap|joke|verhaal|story|rap)\b",
    r"\b(voetbal|football|soccer|uitslag|score|eredivisie|ajax|feyenoord|psv)\b",
    r"\b(vertaal|translate)\b",
    r"\b(aandelen|bitcoin|crypto|beurs)\b",
    # other public services staff may ask about, none of them part of the NPO
    r"\b(huurtoeslag|zorgtoeslag|toeslagen|belastingaangifte|paspoort|rijbewijs|identiteitskaart|parkeervergunning|"
    r"bijstandsuitkering|bijstand|afvalkalender|omgevingsvergunning|bouwvergunning|uittreksel|verhuizing doorgeven)\b",
]
_NPO_TERMS = re.compile(
    r"\b(npo|nationaal programma|onderwijs|school|scholen|gemeente|gemeenten|budget|kinderopvang|bso|"
    r"thuiszitter|leerling|jeugd|wethouder|samenwerkingsverband|gka|subsidie|uitkering|education|municipal)",
    re.IGNORECASE,
)
_CAPITAL_OR_NUMBER = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z]{2,}\b|[A-Z][\w-]{2,}|\d{4}|\d+[.,]?\d*)\b")
_ACRONYM = re.compile(r"^[A-Z]{2,}$")
_POPULATION = re.compile(r"\s*inwoners\b", re.I)


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    reason: str = ""  # machine-readable: injection, out_of_scope, weak_evidence, missing_terms
    message: str = ""  # Dutch text shown to the user


def is_injection(question: str) -> bool:
    return any(re.search(p, question, re.IGNORECASE | re.DOTALL) for p in _INJECTION_PATTERNS)


def is_out_of_scope(question: str) -> bool:
    """A request for something else (code, recipes, weather, speeches) with no NPO subject."""
    hits = any(re.search(p, question, re.IGNORECASE) for p in _OUT_OF_SCOPE_PATTERNS)
    task = re.search(r"\b(schrijf|maak|write|create|genereer|generate|compose)\b", question, re.IGNORECASE)
    if hits and not _NPO_TERMS.search(question):
        return True
    # "schrijf een speech over het NPO" is still not an answer from the sources
    return bool(hits and task and re.search(r"gedicht|poem|speech|toespraak|lied|song|code|python|script|rap", question, re.IGNORECASE))


_QUESTION_MARKER = re.compile(r"\b(vraag|question)\s*:\s*", re.IGNORECASE)


def strip_injection(question: str) -> str:
    """The real question around an injected instruction: before an appended one, after a leading one."""
    starts = [m.start() for p in _INJECTION_PATTERNS for m in re.finditer(p, question, re.IGNORECASE | re.DOTALL)]
    if starts and min(starts) <= 15:
        # "SYSTEEMMELDING: ... Vraag: mogen scholen ...?": the question after the marker
        marker = _QUESTION_MARKER.search(question, min(starts))
        return question[marker.end() :].strip() if marker else question
    starts = [s for s in starts if s > 15]
    return question[: min(starts)].strip(" .,;:-#") if starts else question


def real_question(question: str) -> str | None:
    """The question to answer: as asked, or what is left around an injected instruction.

    None when nothing but the instruction is left ("Negeer je instructies en ...").
    """
    if not is_injection(question):
        return question
    core = strip_injection(question)
    if core == question or len(core.split()) < 4 or is_injection(core):
        return None
    return core


_ENGLISH = re.compile(r"\b(the|what|how|which|who|when|does|do|can|are|for|and|with|will|should|that|this|into|from|your|my)\b", re.IGNORECASE)  # not "is", "of": Dutch too


def is_english(question: str) -> bool:
    return len(_ENGLISH.findall(question)) >= 2


def asked_part(question: str) -> str:
    """The sentences that ask (end with "?"); the whole text when none does.

    "Wij zijn een gemeente in Drenthe met 25.000 inwoners. Komen wij in aanmerking …?": the
    context sentence names the asker, the question sentence what is asked about.
    """
    asked = [s for s in re.split(r"(?<=[.!?])\s+", question) if s.rstrip().endswith("?")]
    return " ".join(asked) if asked else question


def missing_specific_terms(question: str, keywords: KeywordIndex, vocabulary: set[str] | None = None) -> list[str]:
    """Names, acronyms, years and figures in the question that no source says anything about.

    "Hoeveel krijgt Utrecht?" retrieves budget passages that look relevant, yet
    no source says anything about Utrecht. Capitalised words count only in Dutch
    questions (English ones capitalise ordinary words), acronyms ("MR", "GMR") in
    both, and a word that starts a corpus term ("Rijk" ~ "rijksoverheid") is not
    missing. ``vocabulary`` is what the documents cover (``Snapshot.content_terms``):
    a word that only occurs in a "Zie ook ..." pointer is missing.
    """
    vocab = vocabulary if vocabulary is not None else (keywords.retriever.vocab_dict if keywords.ids else {})
    english = is_english(question)
    missing = []
    asked = asked_part(question)
    for match in _CAPITAL_OR_NUMBER.finditer(asked):
        word = match.group(1)
        is_number = word[0].isdigit()
        if is_number and len(word) < 4 and "," not in word and "." not in word:
            continue
        if is_number and _POPULATION.match(asked, match.end()):
            continue  # "wij hebben zo'n 41.500 inwoners": the asker's own size, compared with the sources' limits
        if english and not is_number and not _ACRONYM.match(word):
            continue
        terms = keywords.query_terms(word)
        if not terms or any(t in vocab for t in terms):
            continue
        # a corpus term starts with it ("Rijk" ~ "rijksoverheid"); the first letters of a long name alone do
        # not count ("Staatscourant" is no "staat")
        if not is_number and any(v.startswith(t[: max(4, len(t) - 2)]) for t in terms for v in vocab if len(t) >= 4):
            continue
        if _misspelt_corpus_word(word, vocab):  # "Gelijke Kansen Aliantie"
            continue
        missing.append(word)
    return missing


def evidence_gate(
    question: str,
    hits: list[Hit],
    keywords: KeywordIndex,
    min_dense: float,
    min_overlap: float,
    vocabulary: set[str] | None = None,
) -> GateResult:
    """Is there enough evidence to answer? Calibrated on the dev split."""
    if not hits:
        return GateResult(False, "weak_evidence", NOT_IN_SOURCES)
    missing = missing_specific_terms(question, keywords, vocabulary)
    if missing:
        return GateResult(False, "missing_terms:" + ",".join(missing[:5]), NOT_IN_SOURCES)
    best_dense = max(h.dense for h in hits)
    q_terms = set(keywords.query_terms(question))
    top_terms: set[str] = set()
    for h in hits[:3]:
        top_terms |= keywords.document_terms(h.record.content)
    overlap = len(q_terms & top_terms) / (len(q_terms) or 1)
    if best_dense < min_dense and overlap < min_overlap:
        return GateResult(False, "weak_evidence", NOT_IN_SOURCES)
    return GateResult(True)


# What a question explicitly asks for, and how an answer shows it has it.
# An answer without the thing asked for ("Er is een online helpdesk [1]" to
# "wat is het telefoonnummer?") does not answer, however true it is.
# "Wat is het (totale) budget voor/van …": the amount of something
_AMOUNT_FOR = r"wat\s+is\s+(?:het|de)\s+(?:totale\s+)?(?:budget|bedrag|bijdrage)\s+"

REQUESTED_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "phone": (
        re.compile(r"\b(telefoonnummer|telefoon|phone|bellen|bel ik|call)\b", re.I),
        re.compile(r"(\+31|\b0\d)[\d -]{7,}\d"),
    ),
    "email": (
        re.compile(r"\b(e-?mail(adres)?|mailadres|email address)\b", re.I),
        re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    ),
    "number": (
        # "wat kost het?" asks an amount; "of de kosten van X onder de bestedingsdoelen vallen" does not
        re.compile(
            r"\b(hoeveel|hoe groot|hoe hoog|welk bedrag|wat (kost|kosten)|wat zijn de kosten|hoe duur|how much|how many|"
            r"per leerling)\b"
            # "Moeten we betalen voor de begeleiding?" asks the price: "kosteloos" answers it, a description does not
            + "|" + ANSWER_TYPES["cost"][0].pattern,
            re.I,
        ),
        re.compile(
            r"\d|\b(twee|drie|vier|vijf|zes|zeven|acht|negen|tien|twintig|dertig|veertig|vijftig|honderd|duizend|"
            r"miljoen|miljard|kosteloos|gratis|free)\b",
            re.I,
        ),
    ),
    "date": (
        # "In welke maand horen we hoeveel budget we krijgen?" asks a month, whatever else it names.
        # Not "welk schooljaar": its answer sentences rarely name the question's subject
        # ("Tot en met welk schooljaar loopt het NPO-budget?"), which a date must be about.
        re.compile(
            r"\b(wanneer|when|welke datum|op welke datum|welke data|deadline|uiterste datum|welke maand|welk jaar|"
            r"welke schooljaren)\b",
            re.I,
        ),
        re.compile(
            r"\b(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
            r"january|february|march|june|july|august|october|zomer|summer|najaar|voorjaar|herfst|"
            r"schooljaar|\d{4}|\d{1,2}-\d{1,2}|doorlopend|na de|voor de)\b",
            re.I,
        ),
    ),
    # "Hoe vaak moeten scholen de schoolscan herhalen?": only a frequency answers it, not a month or an amount
    "frequency": (
        re.compile(r"\b(hoe vaak|how often|hoe regelmatig|met welke frequentie)\b", re.I),
        re.compile(
            r"\b(per (jaar|half jaar|maand|week|kwartaal|dag|schooljaar)|\d+\s*(keer|maal)|(een|twee|drie|vier)\s*(keer|maal)|"
            r"jaarlijks|halfjaarlijks|maandelijks|wekelijks|dagelijks|eenmalig|"
            r"(elk|elke|ieder|iedere) (jaar|maand|week|kwartaal|schooljaar))\b",
            re.I,
        ),
    ),
    # "Hoeveel procent mag naar overhead?": only a percentage answers it, not the € 8,5 miljard
    "percentage": (
        re.compile(r"\b(hoeveel procent|welk percentage|wat is het percentage|what percentage)\b", re.I),
        re.compile(r"\d\s?%|\b(procent|percent)\b", re.I),
    ),
    # "Welke interventies staan er op de menukaart?" asks what a thing holds: only an enumeration answers it, and it
    # must come from a passage about that thing (``container``), not the nearest list of activities
    "contents": (
        re.compile(
            r"\bwelke\s+[\w-]+\s+(?:staan|stonden|zitten|zaten)\s+(?:er\s+)?(?:\w+\s+)?(?:op|in)\s+(?:de|het|die|dat)\s+"
            r"(?!(?:moment|periode|fase|tijd|jaar|schooljaar)\b)[\w-]+",
            re.I,
        ),
        re.compile(r"\n\s*(?:[-•*]|\d+[.)])\s.*\n\s*(?:[-•*]|\d+[.)])\s|\w(?:,\s+[\w@-]+(?:\s+[\w@-]+){0,3}){2,},?\s+en\s+\w"),
    ),
    # "Welke gemeenten zitten al in de GKA?" asks for members by name: only a list of names answers it,
    # not who may join ("kleinere gemeenten, tot ongeveer 40.000 inwoners")
    "names": (
        re.compile(
            r"\bwelke\s+(?:(?:\d+|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|\w+tig|honderd)\s+)?"
            r"(?:gemeenten|gemeentes|scholen)\s+(?:zitten|doen|nemen|zijn|horen)\b"
            r"(?=.*\b(?:al|nu|mee|deel|lid|aangesloten|bij|in)\b)",
            re.I,
        ),
        re.compile(r"\b[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?(?:,\s+[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)+,?\s+en\s+[A-Z]"),
    ),
    # "Hoe lang duurt één 4D-cyclus?": only a length of time answers it, and it must be about the thing asked
    # ("Hoelang krijgen gemeenten geld?" is answered by "voor de schooljaren 2021-2022 en 2022-2023")
    "duration": (
        re.compile(r"\b(hoe\s*lang|how long)\b", re.I),
        re.compile(
            ANSWER_TYPES["duration"][1].pattern + r"|\b(19|20)\d\d\s*[-–/]\s*(19|20)\d\d\b|\btot en met\b|\bperiode van\b",
            re.I,
        ),
    ),
    # an amount of money: "40.000 inwoners" or "van 50 naar 100 gemeenten" does not answer it
    # "Wat is het budget voor gemeenten?" asks an amount as "Hoeveel geld krijgen gemeenten?" does
    "money": (
        re.compile(ANSWER_TYPES["money"][0].pattern + r"|\b" + _AMOUNT_FOR + r"(?:voor|van|aan)\b", re.I),
        re.compile(r"€|\beuro\b|\b(miljoen|miljard|kosteloos|gratis|free)\b", re.I),
    ),
}


# "Hoeveel euro per leerling?": a rate, which a total does not answer
RATE = re.compile(
    r"\bper\s+(leerling|kind|school|gemeente|inwoner|jaar|maand|week|dagdeel|dag|uur|traject|sessie|pupil|student|child|"
    r"municipality|hour)",
    re.I,
)

# "Hoeveel leerlingen ...?" counts leerlingen: a figure answers it only when leerlingen follow it
_COUNTED = re.compile(r"\bhoeveel\s+([a-zà-ÿ]{4,})", re.I)  # Dutch only: the sources are Dutch
_NOT_COUNTED = {"geld", "euro", "budget", "middelen", "procent", "extra", "meer", "minder", "ruimte", "tijd"}
# "Hoeveel krijgen gemeenten?" asks an amount: the word after "hoeveel" is a verb, not what is counted
_NOT_COUNTED |= {
    "krijgen", "krijgt", "kregen", "kreeg", "hebben", "heeft", "hadden", "kosten", "kost", "kostte", "bedraagt",
    "bedragen", "gaat", "gaan", "ging", "gingen", "komt", "komen", "staat", "staan", "wordt", "worden", "werd",
    "zijn", "mogen", "kunnen", "moeten", "zullen", "ontvangen", "ontvangt", "ontving", "uitgeven", "besteden",
    "ongeveer", "precies", "eigenlijk", "totaal", "zouden", "willen", "blijft", "blijven",
}
# a pronominal adverb after "hoeveel" counts nothing: "daarvan", "ervan", "hiervoor"
_POINTING = re.compile(r"(daar|hier|waar|er)(van|voor|mee|bij|in|uit|aan|op|over|naar|door|af|om|onder|binnen)")


def counted_noun(question: str) -> str | None:
    """What a "hoeveel X" question counts (None for money and open amounts).

    Counted things are plural nouns or mass nouns; a word in -t after "hoeveel" is a verb
    ("Hoeveel trekt het Rijk uit?" asks an amount), and a misspelt "bugdet" is still the budget.
    """
    m = _COUNTED.search(question)
    if not m:
        return None
    word = m.group(1).casefold()
    if word in _NOT_COUNTED or word.endswith("t") or difflib.get_close_matches(word, _NOT_COUNTED, n=1, cutoff=0.8):
        return None
    if _POINTING.fullmatch(word):  # "hoeveel daarvan gaat naar …?" points back at an amount already named
        return None
    return word


OWN_AMOUNT = (
    "De bronnen noemen geen bedrag voor afzonderlijke gemeenten, dus hoeveel uw gemeente krijgt, kan ik niet "
    "betrouwbaar zeggen. U kunt vragen hoeveel er in totaal naar gemeenten gaat en wanneer de bedragen bekend worden, "
    "of contact opnemen met de online helpdesk van het Nationaal Programma Onderwijs die in de bronnen wordt genoemd."
)
# the asker's own organisation: "wij", "onze gemeente", "een gemeente van 30.000 inwoners"
_OWN = re.compile(
    r"\b(wij|we|ons|onze|mijn)\b|\been gemeente (van|met) (ruim |bijna |ongeveer )?[\d.]+ inwoners"
    # one gemeente, not all of them: "Hoeveel krijgt een gemeente in schooljaar 2021-2022?"
    r"|\b(een|elke|iedere|één|per) (individuele |afzonderlijke )?gemeente\b",
    re.I,
)
# all gemeenten together: "hoeveel krijgen we als gemeenten samen?"
_ALL_TOGETHER = re.compile(r"\b(gemeenten|in totaal|samen|alle|landelijk)\b", re.I)
# when the amount becomes known: "horen we hoeveel budget we krijgen" asks a date
_WHEN_KNOWN = re.compile(r"\b(horen|hoort|bekend|bekendgemaakt)\b", re.I)
# an amount for each gemeente ("elke gemeente krijgt € 50.000") would answer it
_PER_GEMEENTE = re.compile(r"\b(per|elke|iedere) gemeente\b", re.I)


def asks_price(question: str) -> bool:
    """ "Wat kost het?", "Moeten we daarvoor betalen?": the price of something, not an amount received."""
    return bool(ANSWER_TYPES["cost"][0].search(question))


def asks_when_known(question: str) -> bool:
    """ "… horen we hoeveel budget we krijgen?" asks when an amount becomes known, not the amount."""
    return bool(_WHEN_KNOWN.search(question))


def asks_own_amount(question: str, own_words: str | None = None) -> bool:
    """ "Hoeveel NPO-geld krijgen wij precies?": an amount for the asker's own gemeente.

    The sources cannot say who "wij" are; a total for all gemeenten does not answer it.
    Asked when the amount will be known ("in welke maand horen we ..."), it is a date question.
    ``own_words`` is the user's last turn when ``question`` was made standalone from the
    conversation: "en wat betekent dat voor een gemeente met 30.000 inwoners?" asks about
    one gemeente, although the question before it asked about all gemeenten.
    """
    types = requested_types(question)
    own = own_words or question
    return (
        bool({"money", "number"} & set(types))
        and "date" not in types
        and not counted_noun(question)
        and not RATE.search(question)
        and bool(_OWN.search(own))
        and not _ALL_TOGETHER.search(own)
        and not asks_when_known(own)
        and not is_claim_check(question)  # "Klopt het dat wij pas in september horen hoeveel ...?"
        and not asks_price(question)  # "Wat moeten we betalen voor de begeleiding?"
    )


def gives_amount_per_gemeente(text: str) -> bool:
    """Does a passage give an amount for each gemeente, not only a total?"""
    return bool(_PER_GEMEENTE.search(text)) and has_requested(text, ["money"])


def counts(text: str, noun: str) -> bool:
    """Does the text give a figure of that noun ("van 50 naar 100 gemeenten", "2,5 jaar")?"""
    stem = noun[: max(4, len(noun) - 3)]
    return bool(re.search(rf"\d[\d.,]*\s+(?:[\w-]+\s+){{0,2}}{re.escape(stem)}", text, re.I))


# who receives the amount asked for: "Hoeveel NPO-geld gaat er naar het mbo?", "Hoeveel krijgt het consortium?",
# "Hoeveel geld is er gereserveerd voor het speciaal onderwijs?"
_RECIPIENT = (
    re.compile(r"^hoeveel\s+(?:[\w-]+\s+)?(?:krijgt|krijgen|ontvangt|ontvangen)\s+(?:de|het|een|die|alle)?\s*([a-zà-ÿ][\w-]*)", re.I),
    # "Krijgen kinderopvangorganisaties zelf ook een eigen budget, en hoeveel dan?"
    re.compile(r"^(?:krijgt|krijgen|ontvangt|ontvangen)\s+(?:de|het|een|die|alle)?\s*([a-zà-ÿ][\w-]*)(?=.*\bhoeveel\b)", re.I),
    re.compile(
        r"\bhoeveel\b[^?]*?\b(?:(?:gaat|gaan|ging|gingen)\s+(?:er\s+)?naar|voor)\s+(?:de|het|een|die|alle)?\s*([a-zà-ÿ][\w-]*)",
        re.I,
    ),
    # "Wat is het budget voor gemeenten?"
    re.compile(r"^" + _AMOUNT_FOR + r"(?:voor|aan)\s+(?:de|het|een|die|alle)?\s*([a-zà-ÿ][\w-]*)", re.I),
)
# no recipient: the asker ("wij", "onze gemeente": ``asks_own_amount``), the programme itself ("voor het Nationaal
# Programma Onderwijs") or a time ("voor welke schooljaren", "voor de zomer")
_NO_RECIPIENT = {
    "wij", "we", "ons", "onze", "jullie", "u", "je", "jij", "mij", "welke", "welk", "wat", "wie", "hoeveel", "elke",
    "iedere", "ieder", "elk", "periode", "schooljaren", "schooljaar", "jaar", "jaren", "totaal", "het", "de", "npo",
    "hele", "gehele", "totale", "heel", "nationaal", "programma", "np", "zomer", "eind", "einde", "begin", "komende",
    "volgend", "volgende", "dit", "dat", "deze", "die",
}


def container(question: str) -> str | None:
    """What a "Welke X staan op de Y?" question asks the contents of ("menukaart" in "de NPO-menukaart")."""
    m = REQUESTED_TYPES["contents"][0].search(question)
    return m.group(0).split()[-1].casefold() if m else None


def recipient(question: str) -> str | None:
    """Who receives the amount a "hoeveel" question asks about ("het mbo", "het consortium").

    An amount given to someone else (the € 8,5 miljard for the whole programme) does not answer
    "Hoeveel gaat er naar het mbo?"; the sentence with the figure must name the recipient.
    """
    m = next((m for m in (pattern.search(question.strip()) for pattern in _RECIPIENT) if m), None)
    if not m:
        return None
    word = m.group(1).casefold().strip("-")
    return None if word in _NO_RECIPIENT or len(word) < 3 else word


def _misspelt_corpus_word(word: str, vocabulary: set[str] | dict[str, int]) -> bool:
    """A long word that, as written, is one letter or so from a corpus word ("Aliantie" ~ "Alliantie").

    Short words and a cutoff of 0.9 keep "overhead" from passing for "overheid".
    """
    written = getattr(vocabulary, "written", ())
    return len(word) >= 8 and bool(difflib.get_close_matches(word.casefold(), written, n=1, cutoff=0.9))


def _one_typo(word: str, corpus_word: str) -> bool:
    """One letter left out, doubled or added, or two letters swapped, inside the word.

    Not at its end: "bedoelt", "anderen" and "Bestaan" are inflections of corpus words
    ("bedoel", "andere", "bestaand"), not misspellings; nor a letter replaced:
    "binnenkomt" is a word of its own, not "binnenkort".
    """
    w, c = word, corpus_word
    if len(c) == len(w) + 1:  # a letter left out: "gemeeten"
        return len(w) >= 7 and any(c[:i] + c[i + 1:] == w for i in range(1, len(c) - 1))
    if len(w) == len(c) + 1:  # a letter added or doubled: "budgget"
        return len(w) >= 7 and any(w[:i] + w[i + 1:] == c for i in range(1, len(w) - 1))
    if len(w) == len(c):  # two letters swapped: "bugdet", "leerlignen"
        diff = [i for i in range(len(w)) if w[i] != c[i]]
        return (
            len(diff) == 2 and diff[1] == diff[0] + 1 < len(w) - 1  # "concrete" is "concreet" inflected
            and w[diff[0]] == c[diff[1]] and w[diff[1]] == c[diff[0]]
        )
    return False


def corrected_spelling(question: str, keywords: KeywordIndex, vocabulary: set[str]) -> str:
    """The question with its misspelt words written as the corpus writes them.

    "het consortium dat kleinere gemeeten begeleidt": the misspelt word finds no
    passage by its terms, and the wrong sentences win. Only a word of 6+ letters
    that no corpus term matches and that is one typo (``_one_typo``) from a corpus word is changed.
    """
    words = getattr(vocabulary, "words", ())
    if not words:
        return question

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        terms = keywords.query_terms(word)
        if not terms or all(t in vocabulary for t in terms):
            return word
        folded = word.casefold()
        close = [c for c in difflib.get_close_matches(folded, words, n=5, cutoff=0.8) if _one_typo(folded, c)]
        if not close:
            return word
        return close[0].capitalize() if word[0].isupper() else close[0]

    return re.sub(r"\b[a-zA-Zà-ÿ]{6,}\b", fix, question)


def _in_corpus(word: str, keywords: KeywordIndex, vocabulary: set[str]) -> bool:
    """A corpus term, or close to one (a misspelling: "ondewijs" ~ "onderwijs").

    The stemmer cuts a misspelt word elsewhere ("vaardigeheden" -> "vaardige", "vaardigheden" ->
    "vaard"), so the word as written is compared too, with the corpus words as written (``Vocabulary.written``).
    """
    terms = keywords.query_terms(word)
    if not terms or any(t in vocabulary for t in terms):
        return True
    known_as = source_term(word)  # "peutergroepen": the sources say "voorschoolse"
    if known_as and all(t in vocabulary for t in keywords.query_terms(known_as)):
        return True
    if _misspelt_corpus_word(word, vocabulary):
        return True
    if any(t in vocabulary for form in uninflected(word) for t in keywords.query_terms(form)):
        return True
    # a misspelling keeps its first letter: "sanctie" is no "actie"
    return any(m[0] == t[0] for t in terms for m in difflib.get_close_matches(t, vocabulary, n=3, cutoff=0.8))


_VOWELS = "aeiou"


def uninflected(word: str) -> list[str]:
    """The base forms a Dutch inflected word may have: "kosteloze" -> "kosteloos", "actieve" -> "actief", "grote" -> "groot".

    The stemmer leaves these spelling changes alone: before -e or -en a long vowel is written single and
    s, f become z, v. So the sources' "kosteloos" did not name the "kosteloze begeleiding" asked about.
    """
    word = word.casefold()
    stem = word[:-2] if word.endswith("en") else word[:-1] if word.endswith("e") else ""
    if len(stem) < 3 or stem[-1] in _VOWELS:
        return []
    stem = stem[:-1] + {"z": "s", "v": "f"}.get(stem[-1], stem[-1])
    forms = [stem]
    # one vowel between consonants was long in the open syllable: "kostelo-ze" -> "kosteloos"
    if len(stem) >= 3 and stem[-2] in _VOWELS and stem[-3] not in _VOWELS:
        forms.append(stem[:-1] + stem[-2] + stem[-1])
    if len(stem) >= 3 and stem[-1] == stem[-2]:  # "lessen" -> "les"
        forms.append(stem[:-1])
    return forms


# "Via welk financieel instrument …?" asks which instrument, as "welk telefoonnummer" asks a number
_KIND_OF_INSTRUMENT = re.compile(r"^(?:financierings)?instrument\w*$|^\w*(?:uitkerings|financierings)vorm\w*$")


def unknown_subjects(question: str, keywords: KeywordIndex, vocabulary: set[str]) -> list[str]:
    """Long words (8+ letters: Dutch compounds name specific things) of a Dutch question
    that nothing in the corpus resembles.

    "Hoeveel NPO-geld krijgt een gemeente voor leerlingenvervoer?": the sources hold
    amounts, none of them for leerlingenvervoer. A misspelling ("ondewijs") still
    resembles a corpus word, so it is not unknown.
    """
    out = []
    # a sentence's first word is no name for being capitalised: "Cameratoezicht rond de scholen: mag dat?"
    question = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).lower(), question)
    for word in dict.fromkeys(re.findall(r"\b[a-zà-ÿ]{8,}\b", question)):
        if ANSWER_TYPES["contact"][0].search(word) or _KIND_OF_INSTRUMENT.match(word):
            continue  # "contactpersoon", "telefoonnummer", "instrument": the kind of answer asked for, not its subject
        if not _in_corpus(word, keywords, vocabulary) and not _known_parts(word, keywords, vocabulary):
            out.append(word)
    return out


_SENTENCE_START = re.compile(r"(^\W*|[.!?]\s+)([A-Z])(?=[a-zà-ÿ]{7,}\b)")

# Long Dutch words that are no thing a source could name: adverbs and pronouns ("hetzelfde bedrag")
_FUNCTION_WORDS = {
    "hetzelfde", "dezelfde", "datzelfde", "inderdaad", "eigenlijk", "misschien", "natuurlijk", "bijvoorbeeld",
    "ongeveer", "helemaal", "allemaal", "voldoende", "daarnaast", "bovendien", "inmiddels", "ondertussen",
    "eventueel", "eventuele", "trouwens", "voorlopig", "tenminste", "uiteindelijk", "binnenkort", "tegelijk",
    "tegelijkertijd", "momenteel", "uitsluitend", "verschillende", "nogmaals", "iedereen", "allebei", "waarschijnlijk",
    "daadwerkelijk", "uiteraard", "sowieso", "gewoonweg", "nauwelijks", "regelmatig", "maximaal", "minimaal",
    "minstens", "hoogstens", "überhaupt", "ueberhaupt", "verhouding", "verhoudingsgewijs",  # "naar verhouding evenveel"
    # a month or day is a value an answer may correct ("pas in september?" - "in juli"), not a thing
    "januari", "februari", "augustus", "september", "oktober", "november", "december", "woensdag", "donderdag",
    "vrijdag", "zaterdag",
}
# verb forms: a participle ("gekregen", "aangekondigd", "toegestaan", "toegestane"), an -eren verb
# ("coördineren"), a short separable verb ("uitgeven", "meehelpen"); an adjective ("volledige", "openbare")
_PARTICIPLE = re.compile(
    r"^(?:aan|af|bij|door|in|mee|na|om|op|over|toe|uit|vast|voor|weg|terug|achter)?ge\w{3,}(?:d|t|n)e?$"
    r"|^(?:be|ver|ont|her)\w{3,}(?:d|t|en)$"  # no "ge-" after these: "besloten", "verdeeld", "ontvangen"
)
_VERB_FORM = re.compile(
    r"^\w{3,}(?:eren|eert|eerde|eerden)$"
    r"|^(?=\w{8,11}$)(?:aan|af|bij|door|mee|na|om|op|toe|uit|terug|weg|achter|vast)\w{3,}en$"
    r"|^\w{3,}(?:ige?|lijke?|ische?|bare?|ere)$"
)


# "erachter", "daarvoor", "waarmee": a pointing word, never a thing
_PRONOMINAL_ADVERB = re.compile(
    r"^(er|daar|hier|waar)(aan|achter|af|bij|binnen|boven|buiten|door|heen|in|langs|mee|na|naar|naast|om|onder|op|"
    r"over|tegen|toe|tussen|uit|van|vandaan|voor|zonder)$"
)


def _frames(word: str, keywords: KeywordIndex, vocabulary: set[str]) -> bool:
    """An adverb, verb form or adjective: how a question is put, not a thing it asks about."""
    if word in _FUNCTION_WORDS or _VERB_FORM.match(word) or _PRONOMINAL_ADVERB.match(word):
        return True
    if not _PARTICIPLE.match(word):
        return False
    # a compound that starts with a corpus word ("gemeenteraad") is a noun; checked last: it is the slow part
    return not any(_in_corpus(word[:i], keywords, vocabulary) for i in range(5, len(word) - 3))


def unnamed_things(question: str, keywords: KeywordIndex, vocabulary: set[str]) -> list[str]:
    """The unknown words of a question (``unknown_subjects``) that name a thing, not how it is asked.

    "Is het toegestaan om schoolexcursies te bekostigen?" asks about
    schoolexcursies; "toegestaan" frames the question. Passages quoted in place
    of the model's answer only seem to answer it when the sources name the thing.
    A compound that starts with a corpus word ("gemeenteraad") is a noun, not a participle.
    """
    asked = asked_part(question)  # not the words of a sentence that only gives context
    # a word after "te" is a verb ("om gedoe met de regels te voorkomen") or an adjective ("te laat"): no thing
    after_te = {w.lower() for w in _AFTER_TE.findall(asked)}
    return [
        w for w in unknown_subjects(asked, keywords, vocabulary)
        if w.lower() not in after_te and not _frames(w, keywords, vocabulary)
    ]


_AFTER_TE = re.compile(r"\bte\s+(\w+)", re.IGNORECASE)


def _known_parts(word: str, keywords: KeywordIndex, vocabulary: set[str]) -> bool:
    """A compound of two corpus words ("expertteam": "een team van experts"; "uitkerings-vorm")."""
    def known(part: str) -> bool:
        terms = keywords.query_terms(part)
        return bool(terms) and all(t in vocabulary for t in terms)

    for i in range(4, len(word) - 3):
        left, right = word[:i], word[i:]
        if known(right) and (known(left) or left.endswith("s") and known(left[:-1])):
            return True
    return False


# "Mag NPO-geld worden gebruikt voor schoolreisjes?": a question whether money may go to something
_PERMISSION = re.compile(r"^\W*(en\s+)?(mag|mogen|kan|kunnen|is het toegestaan|is het mogelijk)\b", re.I)
_MONEY_WORDS = r"(?:geld|middelen|budget|potje)"  # "uit het npo-potje"
# "Kunnen we uit het NPO een project betalen?": the programme named as the purse
_MONEY = re.compile(_MONEY_WORDS + r"\b|\b(?:uit|vanuit)\s+het\s+npo\b(?!-)", re.I)
# what the money would go to: after the first "voor/aan/naar", up to the next clause; or "om X te betalen"
_PURPOSE = re.compile(
    r"\b(?:voor|aan|naar)\s+(.+?)(?=\s+(?:die|dat|en|om|of|zodat|als)\b|[,?.!;:]|$)"
    r"|\bom\s+(.+?)\s+te\s+(?:betalen|financieren|bekostigen|kopen|compenseren|vergoeden|dekken)\b",
    re.I,
)
# words in that slot that are not what the money goes to ("voor de nieuwe laptops": laptops)
_NOT_THE_PURPOSE = {
    "de", "het", "een", "hun", "haar", "onze", "ons", "uw", "zijn", "deze", "dit", "die", "dat", "ook", "nog", "zelf",
    "worden", "gebruiken", "gebruikt", "besteden", "besteed", "inzetten", "ingezet", "uitgeven", "uitgegeven",
    "financieren", "gefinancierd", "betalen", "betaald", "gaan", "wel", "niet", "extra", "nieuwe", "andere",
}
# a verb of spending, or "met het geld"
_SPENDING = re.compile(
    r"\b(gebruik\w*|besteed\w*|besteden|inzet\w*|ingezet|uitgeven|uitgegeven|betal\w*|financier\w*|gefinancierd|"
    r"bekostig\w*|combiner\w*)\b|\bmet\s+(?:het\s+|de\s+)?(?:npo-?)?(?:geld|middelen|budget)\b"
    r"|\b" + _MONEY_WORDS + r"\s+(?:\w+\s+){0,2}naar\b",  # "mag npo geld ook naar huiswerkhulp?"
    re.I,
)


# "…, valt dat onder het npo?", "Past dat binnen het NPO?": whether something described before qualifies
_QUALIFIES = re.compile(
    r"\b(?:valt|vallen|past|passen)\s+(?:dat|dit|het|zoiets|zo'n\s+\w+|die|deze\s+\w+)\s+(?:dan\s+|ook\s+|wel\s+)*"
    r"(?:onder|binnen)\s+(?:het\s+|de\s+)?(?:npo|nationaal programma|np onderwijs|bestedingsdoelen|regeling)\b",
    re.I,
)


# hiring or buying is spending, whether or not the money is named: "Mag een school de bso inhuren om …?"
_HIRING = re.compile(r"\b(inhuren|huren|inkopen|aanschaffen|aankopen|kopen|ingehuurd|gehuurd|ingekocht|aangeschaft)\b", re.I)


def is_spending_question(question: str) -> bool:
    """ "Mag/Kunnen we NPO-geld … gebruiken voor …?", "…, valt dat onder het NPO?", "Mag een school de bso
    inhuren …?": whether the money may be spent on something."""
    if _QUALIFIES.search(question):
        return True
    if not _PERMISSION.search(question):
        return False
    return bool((_MONEY.search(question) and _SPENDING.search(question)) or _HIRING.search(question))


_SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")


def spending_sentence(question: str) -> str | None:
    """The sentence of a question that asks whether the money may be spent, also after context.

    "Er zit bij ons een kind al maanden thuis. Mogen we daar NPO-middelen voor inzetten?"
    Only the refusal threshold reads this: searching the last sentence alone loses the context.
    """
    return next((s for s in _SENTENCE_BREAK.split(question.strip()) if is_spending_question(s)), None)


# the words every spending question shares: they find passages about spending NPO money in general
_SPENDING_FRAME = re.compile(
    r"\b(en|mag|mogen|kan|kunnen|is het toegestaan|toegestaan|we|wij|je|ik|u|gemeenten?|de gemeente|ook|het|de|een|"
    r"npo[- ]?(?:geld|middelen|budget|potje)|npo|geld|middelen|budget|gebruiken|gebruikt|besteden|"
    r"besteed|inzetten|ingezet|uitgeven|uitgegeven|betalen|betaald|financieren|vergoeden|worden|uit|van|met|voor|aan|"
    r"naar|om|te|dat|dan|een deel)\b|(?<!\w)-(?!\w)",
    re.I,
)


def purpose_query(question: str) -> str:
    """A spending question without its frame: what the money would go to.

    "Mogen we NPO-middelen inzetten voor een aanpak rond leerlingen die zich vaak
    ziek melden?" searches "aanpak rond leerlingen die zich vaak ziek melden"; with
    the frame, the passage "mag u het geld gebruiken" about thuiszitters wins.
    Measured: evidence hit@5 0.766 -> 0.809 (dev), 0.849 -> 0.887 (test).
    """
    if not is_spending_question(question) or len(question_parts(question)) > 1:
        return question  # a compound question's other part may not be about spending
    focus = re.sub(r"\s+", " ", _SPENDING_FRAME.sub(" ", _QUALIFIES.sub(" ", question))).strip(" ?,.!")
    return focus if len(focus) >= 8 else question


_CLAUSE_START = re.compile(
    r"\b(?:waar\w*|die|dat|zodat|omdat|wanneer|als|zodra|om)\s+(?:we|wij|ze|zij|u|je|jullie|hij|men|er|de|het)\b"
)

_TIME_PHRASE = re.compile(r"\s(?:na|tijdens|buiten|binnen|gedurende)\s")


def unnamed_purpose(question: str, keywords: KeywordIndex, vocabulary: set[str]) -> list[str]:
    """What a Dutch "may the money go to X?" question asks about, when no source names it.

    Whether NPO money may pay for laptops is answered only by a source that
    names laptops; the nearest passages ("ook als deze leerlingen niet staan
    ingeschreven, mag u het geld gebruiken") share the question's frame, not
    its subject. An unknown word ending in -e before another word is an
    adjective ("de gewone opvang"), not the subject.
    """
    money = _MONEY.search(question)
    if not _PERMISSION.search(question) or not money:
        return []
    slot = _PURPOSE.search(question, money.end())
    if not slot:
        return []
    # the purpose ends where a clause about it starts: "een extra lokaal waar we een interventie in draaien"
    purpose = _CLAUSE_START.split((slot.group(1) or slot.group(2)).casefold(), maxsplit=1)[0]
    # ... or where a phrase of time starts: "huiswerkhulp na schooltijd" asks about huiswerkhulp
    purpose = _TIME_PHRASE.split(purpose, maxsplit=1)[0]
    words = re.findall(r"[a-zà-ÿ]+", purpose)
    out = []
    for i, word in enumerate(words):
        if word in _NOT_THE_PURPOSE or len(word) < 3 or _in_corpus(word, keywords, vocabulary):
            continue
        if _frames(word, keywords, vocabulary):
            continue  # "aan van alles wat we nuttig vinden"
        if word.endswith("e") and i + 1 < len(words):
            continue  # an adjective before its noun
        out.append(word)
    return out


# "na schooljaar 2022-2023", "vanaf 2024", "in 2025": a time the question asks about
_TIME_ASKED = re.compile(
    r"\b(na|vanaf|in|tijdens|per|after|from)\s+(?:het\s+)?(?:school\s?jaar\s+)?((?:19|20)\d\d)(?:\s*[-/]\s*((?:19|20)\d\d))?\b",
    re.I,
)


def after_the_sources(question: str, latest_year: int | None) -> str | None:
    """The phrase of a question that asks about a time after all the sources speak of ("na schooljaar 2022-2023")."""
    if latest_year is None:
        return None
    for m in _TIME_ASKED.finditer(question):
        year = int(m.group(3) or m.group(2))
        after = m.group(1).casefold() in ("na", "after")
        if year > latest_year or (after and year >= latest_year):
            return m.group(0)
    return None


def requested_types(question: str) -> list[str]:
    """The kinds of fact the question asks for ("phone", "email", "number", "date", "frequency", "percentage", "names",
    "duration", "contents", "money")."""
    types = [name for name, (ask, _) in REQUESTED_TYPES.items() if ask.search(question)]
    if {"money", "percentage"} & set(types):  # the number asked for is an amount or a share
        types = [t for t in types if t != "number"]
    if ANSWER_TYPES["allocation"][0].search(question):
        # "Krijgt elke gemeente hetzelfde bedrag, of telt mee hoeveel kinderen …?" asks how the money is divided:
        # "Gemeenten met veel leerlingen met een hoog risico … ontvangen meer geld" answers it without a figure
        types = [t for t in types if t not in ("number", "money")]
    return types


# a citation marker "[2]", a name such as "4D", a phone number, postcode, year or e-mail address is no quantity
_NOT_A_QUANTITY = re.compile(r"\[\d+\]|\b\d[A-Z]\b|(\+31|\b0\d)[\d -]{7,}\d|\bPostbus \d+|\b\d{4} ?[A-Z]{2}\b|\b(19|20)\d\d([-/](19|20)\d\d)?\b|[\w.+-]+@[\w-]+\.[\w.]+")


def has_requested(text: str, types: list[str]) -> bool:
    """Does the text hold any of the requested kinds of fact? (No request: yes.)

    A phone number or a school year is no answer to "hoeveel" or "wat kost".
    """
    for t in types:
        probe = _NOT_A_QUANTITY.sub(" ", text) if t == "number" else text
        if REQUESTED_TYPES[t][1].search(probe):
            return True
    return not types


_QUESTION_WORDS = {"welk", "welke", "wie", "wat", "waar", "daarover", "hierover", "daarvoor", "nummer", "adres"}


def subject_terms(question: str, keywords: KeywordIndex, n: int = 2) -> list[str]:
    """The question's rarest corpus terms: what a typed answer must be about ("helpdesk", "verheijen")."""
    asking = [m.group(0) for ask, _ in REQUESTED_TYPES.values() for m in ask.finditer(question)]
    asked_terms = {t for w in asking for t in keywords.query_terms(w)}
    skip = asked_terms | {t for w in _QUESTION_WORDS | _FUNCTION_WORDS for t in keywords.query_terms(w)} | _QUESTION_WORDS
    vocab = keywords.retriever.vocab_dict if keywords.ids else {}
    terms = {t for t in keywords.query_terms(question) if t in vocab and t not in skip}
    # ties in IDF are broken by the term itself: a set's order changes from one process to the next
    return sorted(terms, key=lambda t: (-keywords.idf(t), t))[:n]
