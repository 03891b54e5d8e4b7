"""What a question asks for: its answer type (amount, date, contact, ...) and its parts.

Retrieval and evidence selection both use this, so it lives apart from either.
"""

from __future__ import annotations

import re

_CLAIM_CHECK = re.compile(r"\b(klopt het|klopt dat|is het waar|het is toch zo|is it true)\b", re.IGNORECASE)


def is_claim_check(question: str) -> bool:
    """ "Klopt het dat …?": the user checks a claim; "yes, …" restating it and "no, the source says …" both answer."""
    return bool(_CLAIM_CHECK.search(question))


# What kind of answer a question asks for, and how a sentence shows it has one.
ANSWER_TYPES = {
    "number": (
        # "Mogen we het NPO-budget inzetten voor …?" names the budget without asking a figure
        re.compile(
            r"\b(hoeveel|hoe groot|hoe hoog|welk bedrag|bedrag|wat is het (?:budget|aantal)|percentage|how much|how many|amount)\b",
            re.I,
        ),
        re.compile(r"\d"),
    ),
    # the price of something: "en moeten we daar zelf voor betalen?" is answered by "kosteloos"
    "cost": (
        # "Wat rekent de CED-Groep per uur?", "Hebben ze een tarief per traject?"
        re.compile(
            r"\bwat (kost|kosten|rekent|rekenen)\b|\bmoeten\s+(we|wij|gemeenten)\b.{0,40}\bbetalen\b|"
            r"\bwat\s+moeten\b.{0,40}\bbetalen\b|\b(tarief|tarieven|prijs|prijzen)\b|"
            r"\bkost(?:en)?\s+(?:het|dat|die|dit|deze)\b",  # "Kost die begeleiding ons iets?"
            re.I,
        ),
        re.compile(r"\b(kosteloos|gratis|kosten|euro)\b|€", re.I),
    ),
    # an amount of money: "Hoeveel hebben de gemeenten samen gekregen?", "Hoe groot is het NPO in euro's?"
    "money": (
        re.compile(
            r"\b(hoeveel ([\w-]*geld|[\w-]*budget|euro|middelen)|hoeveel van (die|dat|het|de) [\d,.]+ (miljoen|miljard)|"
            r"welk bedrag|in euro|hoe (groot|hoog) (is|zijn|was|wordt|worden) (het|de|die|dat|deze|dit|ons|onze)\s+(?:[\w-]+\s+){0,3}?"
            r"(?:[\w-]*budget|bedrag|bijdrage|subsidie|uitkering|vergoeding|financiering|npo)\b|"
            r"hoeveel\s+(krijgen|krijgt|krijg|kregen|kreeg|ontvangen|ontvangt|ontving|hebben|heeft|hadden|gaat|ging|"
            r"bedraagt|is er|zit er|komt er)\b|how much money)",  # "hoeveel gemeenten krijgen ..." counts gemeenten
            re.I,
        ),
        re.compile(r"€|\beuro\b|\b(miljoen|miljard)\b", re.I),
    ),
    # "In welke fase …?" asks when; "Wat kunnen we in de voorschoolse fase doen?" does not
    "date": (
        re.compile(r"\b(wanneer|when|welke datum|deadline|welke maand|welk moment|welke (?:periode|fase|fases))\b", re.I),
        re.compile(r"\b(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|zomer|\d{4}|doorlopend|doorgaand)\b", re.I),
    ),
    "duration": (
        re.compile(r"\b(hoe lang|how long|sinds wanneer|since when)\b", re.I),
        re.compile(
            r"\b(\d+|een|twee|drie|vier|vijf|tien|twintig|dertig|veertig|vijftig|zestig|honderd)\s+"
            r"(jaar|jaren|maanden|weken|dagen|years|months)\b",
            re.I,
        ),
    ),
    "contact": (
        re.compile(r"(e-?mail|mailadres|mail adres|telefoon|nummer|bellen|\bcall\b|phone|contact|wie kan ik|bij wie|contactpersoon|terecht)", re.I),
        re.compile(r"(@|\b0\d[\d -]{7,}|contact op met|terecht bij|helpdesk)", re.I),
    ),
    # how the money reaches the gemeente: "Via welke route krijgen we het geld binnen, gemeentefonds of iets anders?"
    # is answered by the funding instrument ("in de vorm van een specifieke uitkering")
    "instrument": (
        re.compile(
            r"\b(via welk\w*\s+(?:\w+\s+)?(?:instrument|route|weg|kanaal|regeling)|(?:financieel|financierings)\s*instrument|"
            r"uitkeringsvorm|financieringsvorm|in welke vorm|gemeentefonds|algemene uitkering)",
            re.I,
        ),
        re.compile(r"\b(specifieke uitkering|algemene uitkering|gemeentefonds|decentralisatie-?uitkering)\b", re.I),
    ),
    # "Wat is het doel van het NPO?" is answered by "Het programma is bedoeld om …", not by what else it is
    "purpose": (
        re.compile(r"\b(het doel|doel van|bedoeling|waarvoor (?:is|zijn|dient|dienen)|waartoe|bedoeld|what is the (?:aim|goal|purpose))\b", re.I),
        re.compile(r"\b(bedoeld (?:om|voor)|(?:als|tot) doel|doel is|is gericht op|dient om|intended to|aims to)\b", re.I),
    ),
    # "Welke minister heeft de brief ondertekend?" is answered by the signature, not by who else the letter names
    "signatory": (
        re.compile(
            r"\b(ondertekend|ondertekent|ondertekende|getekend|ondertekenaar|afzender|wie schreef|signed|"
            r"van (?:wie|welke \w+) (?:is|kwam|komt) (?:de|die|deze) brief)\b",
            re.I,
        ),
        re.compile(r"\b(met vriendelijke groet|hoogachtend|kind regards)\b", re.I),
    ),
    # how the money is divided: "Krijgt iedere gemeente naar verhouding evenveel, of zit er een verdeelsleutel
    # achter?" is answered by "Gemeenten met veel leerlingen met een hoog risico … ontvangen meer geld"
    "allocation": (
        re.compile(
            r"\b(verdeelsleutel|verdeling|hoe (?:wordt|worden|is|zijn) (?:\w+\s+){0,4}verdeeld|naar rato|naar verhouding|"
            r"evenveel|(?:precies\s+)?hetzelfde (?:bedrag\s+)?(?:krijgt|krijgen|ontvangt|ontvangen)|"
            r"(?:krijgt|krijgen|ontvangt|ontvangen)\s+(?:\w+\s+){0,3}(?:hetzelfde|even veel)|how is (?:\w+\s+){0,3}divided)\b",
            re.I,
        ),
        re.compile(r"\b((?:ontvangen|ontvangt|krijgen|krijgt) meer (?:geld|middelen)|verdeeld (?:naar|op basis|volgens)|naar rato|verdeelsleutel)\b", re.I),
    ),
    # what a name or term stands for: "Waar staan de vier D's voor?" is answered by "Dit staat voor Data, Duiden, …"
    "definition": (
        re.compile(r"\bwaar\s+(?:staat|staan)\b.{0,60}\bvoor\b|\bwat\s+(?:betekent|betekenen|houdt|houden)\b|"
                   r"\bwat\s+(?:wordt|is)\s+(?:er\s+)?bedoeld\s+met\b|\bwhat does\b.{0,40}\b(?:stand for|mean)\b", re.I),
        re.compile(r"\b(staat voor|staan voor|betekent|houdt in|dat wil zeggen|wil zeggen|wordt bedoeld|stands for)\b", re.I),
    ),
    # a question after several things is answered by a whole list, not by one of its items
    "list": (
        re.compile(r"\b(welke [\w-]+(en|s)|wat zijn|which [\w-]+s|what are|noem|stappen|stap voor stap)\b", re.I),
        re.compile(r"\n(- |\d+[.)] ).*\n(- |\d+[.)] )", re.S),
    ),
}


# three or more things in one sentence: "op cognitief, executief, sociaal en emotioneel vlak"
INLINE_ENUMERATION = re.compile(r"(?:[\w()/-]+(?: [\w()/-]+){0,2}, ){2,}[\w()/-]+(?: [\w()/-]+){0,3} (?:en|of)\b")
_ASKED_CATEGORY = re.compile(r"\b(?:welke|which)\s+(?:soorten\s+|soort\s+|typen\s+|kinds of\s+)?([\w-]{4,})", re.I)


def asked_category(question: str) -> str:
    """What a list question enumerates: "partijen" in "Met welke partijen …?" ("" when it names none)."""
    match = _ASKED_CATEGORY.search(question)
    return match.group(1) if match else ""


_PART_SPLIT = re.compile(
    r"(?<=\?)\s+(?=\S)|,?\s+en\s+(?=(?:wat|wie|waar|wanneer|hoe|welke|welk|hoeveel|met welke|met wie|bij wie|"
    r"voor welke|op welk|moet|moeten|kan|kunnen|is er|zijn er|mag|mogen)\b)"
    r"|,?\s+and\s+(?=(?:what|who|where|when|how|which|is there|are there|can|may|must|do|does)\b)",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The sub-questions of a compound question ("Zit X in het consortium, en met welke werkwijze ...?")."""
    parts = [p.strip(" ,") for p in _PART_SPLIT.split(question) if p and len(p.strip()) > 12]
    return parts if len(parts) > 1 else [question]


def answer_types(question: str) -> list[str]:
    return [name for name, (ask, _) in ANSWER_TYPES.items() if ask.search(question)]
