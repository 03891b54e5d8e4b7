"""Verification of generated answers, with crafted answers (no model needed)."""

from __future__ import annotations

from assistant.verify import facts_in, verify_answer

SOURCES = {
    1: "Het budget is € 8,5 miljard, waarvan € 5,8 miljard voor het funderend onderwijs, voor een periode van 2,5 jaar.",
    2: "Maar ik ben ook voornemens circa € 300 miljoen aan gemeenten uit te keren, in de vorm van een specifieke uitkering.",
    3: "Met vragen kunt u terecht bij de regiocoördinatoren van de GKA via gelijkekansen@minocw.nl.",
}


def test_invented_amount_is_removed_with_reason() -> None:
    result = verify_answer("Gemeenten krijgen € 50 miljoen [2]. Het totale budget is € 8,5 miljard [1].", SOURCES)
    assert "50 miljoen" not in result.text
    assert "8,5 miljard [1]" in result.text
    assert len(result.removed) == 1 and "50" in result.removed[0].reason


def test_dangling_citation_is_dropped_or_repaired() -> None:
    result = verify_answer("Gemeenten krijgen circa € 300 miljoen [7].", SOURCES)
    assert "[7]" not in result.text
    assert result.text.endswith("[2].")  # repaired to the source that carries the amount
    assert "[7]" in result.removed[0].reason
    nothing = verify_answer("De minister woont in Zwolle [9].", SOURCES)
    assert nothing.text == "" and not nothing.kept


def test_amount_formats_are_normalised() -> None:
    assert verify_answer("Het budget bedraagt 8,5 miljard euro [1].", SOURCES).kept
    assert verify_answer("The budget is 8.5 billion euro [1].", SOURCES).kept
    assert facts_in("€ 8,5 miljard") & facts_in("8,5 miljard euro")


def test_number_must_come_with_its_unit_and_year_ranges_stay_whole() -> None:
    assert not verify_answer("Het geld wordt verdeeld over 2 jaar [1].", SOURCES).kept
    src = {1: "Het budget loopt tot en met schooljaar 2022-2023."}
    assert not verify_answer("Het loopt tot schooljaar 2023 [1].", src).kept
    assert verify_answer("Het loopt tot en met schooljaar 2022-2023 [1].", src).kept


def test_email_must_occur_in_cited_source() -> None:
    assert verify_answer("Mail naar gelijkekansen@minocw.nl [3].", SOURCES).kept
    removed = verify_answer("Mail naar helpdesk@npo.nl [3].", SOURCES)
    assert not removed.kept and "helpdesk@npo.nl" in removed.removed[0].reason


def test_unsupported_sentence_without_figures_is_removed() -> None:
    result = verify_answer(
        "Gemeenten krijgen circa € 300 miljoen [2]. Scholen moeten elke week een rapport naar Den Haag sturen [1].",
        SOURCES,
    )
    assert "rapport" not in result.text and "300 miljoen" in result.text
    assert result.removed[0].reason == "geen steun voor deze bewering in de bronnen"


def test_uncited_but_supported_sentence_gets_a_citation() -> None:
    result = verify_answer("Gemeenten krijgen circa € 300 miljoen als specifieke uitkering.", SOURCES)
    assert result.text.endswith("[2].")


def test_echo_of_the_question_and_fragments_are_removed() -> None:
    sources = {1: "Aan welke bestedingsdoelen kun je denken? Ondersteuning voor thuiszitters. De uitdagingen zijn groot."}
    question = "Welke NPO-bestedingsdoelen noemt de CED-Groep voor gemeenten?"
    echo = "De CED-Groep voor gemeenten noemt de NPO-bestedingsdoelen [1]. Ondersteuning voor thuiszitters [1]."
    result = verify_answer(echo, sources, question=question)
    assert result.text == "Ondersteuning voor thuiszitters [1]."
    assert [r.reason for r in result.removed] == ["herhaalt alleen de vraag"]
    fragment = verify_answer("De uitdagingen en [1].", sources)
    assert not fragment.kept and fragment.removed[0].reason == "te onvolledig om iets te beweren"


def test_a_restated_question_that_adds_the_asked_month_is_an_answer() -> None:
    sources = {1: "Vanaf juni horen de scholen welk NPO-budget ze krijgen en voor de zomer bepalen ze hun maatregelen."}
    question = "Vanaf welke maand horen scholen welk NPO-budget ze zelf krijgen?"
    answer = verify_answer("Vanaf juni horen scholen welk NPO-budget ze zelf krijgen [1].", sources, question=question)
    assert answer.kept and "juni" in answer.text
    echo = verify_answer("Scholen horen vanaf een maand welk NPO-budget ze zelf krijgen [1].", sources, question=question)
    assert not echo.kept and echo.removed[0].reason == "herhaalt alleen de vraag"


def test_a_restated_question_is_an_echo_even_with_the_question_s_own_number() -> None:
    sources = {1: "Na de zomervakantie wordt de alliantie uitgebreid van 50 naar 100 gemeenten."}
    question = "Welke 50 gemeenten zitten nu al in de Gelijke Kansen Alliantie?"
    echo = verify_answer("50 gemeenten zitten nu al in de Gelijke Kansen Alliantie [1].", sources, question=question)
    assert not echo.kept and echo.removed[0].reason == "herhaalt alleen de vraag"
    growth = verify_answer("De alliantie wordt uitgebreid van 50 naar 100 gemeenten [1].", sources, question=question)
    assert growth.kept


def test_a_sentence_the_model_repeats_is_kept_once() -> None:
    looping = (
        "Gemeenten krijgen circa € 300 miljoen als specifieke uitkering [2]. Het budget is € 8,5 miljard [1]. "
        "Gemeenten krijgen circa € 300 miljoen als specifieke uitkering [2]. Gemeenten krijgen circa € 300 miljoen [2]."
    )
    result = verify_answer(looping, SOURCES)
    assert result.text == "Gemeenten krijgen circa € 300 miljoen als specifieke uitkering [2]. Het budget is € 8,5 miljard [1]."
    assert [r.reason for r in result.removed] == ["herhaling van een eerdere zin"] * 2


def test_an_organisation_from_the_question_must_be_in_the_cited_source() -> None:
    """Asked about the GGD, the model put "GGD" in a sentence about the GKA: that sentence goes."""
    sources = {1: (
        "De GKA speelt tevens een belangrijke rol in het delen van goede voorbeelden en kennis.\n"
        "Denk aan partijen zoals de GGD, jeugdzorg en kinderopvang."  # the next paragraph names the GGD
    )}
    question = "Welke rol speelt de GGD bij de schoolscan?"
    swapped = verify_answer("De GGD speelt een belangrijke rol in het delen van goede voorbeelden [1].", sources, question=question)
    assert not swapped.kept and swapped.removed[0].reason == "de bron zegt niets over GGD"
    asked_right = "Wat doet de GKA?"
    assert verify_answer("De GKA speelt een belangrijke rol in het delen van kennis [1].", sources, question=asked_right).kept
    # a name the passage leaves out but its publisher gives, or an acronym the source spells out, is fine
    passage = {1: "Neem contact op met Anja de Rooij."}
    header = {1: "Nationaal Programma Onderwijs: gemeenten aan zet\nCED-Groep"}
    ced = "De contactpersoon bij de CED-Groep is Anja de Rooij [1]."
    assert verify_answer(ced, passage, question="Wie is de contactpersoon bij de CED-Groep?", headers_by_n=header).kept
    spelled = {1: "Gemeenten krijgen geld uit het Nationaal Programma Onderwijs voor de inhaal van vertragingen."}
    assert verify_answer("Gemeenten krijgen geld uit het NPO voor vertragingen [1].", spelled, question="Waarvoor is het NPO?").kept


def test_a_sentence_about_something_no_source_names_is_removed() -> None:
    """Asked about the leerplichtambtenaar, whom no source names, the model gave him the gemeente's role."""
    sources = {1: "De gemeente kan helpen de kinderen en jongeren te verbinden met school door deelname aan activiteiten."}
    claim = "De rol van de leerplichtambtenaar is kinderen en jongeren te verbinden met school [1]."
    result = verify_answer(claim, sources, question="Wat is de rol van de leerplichtambtenaar?", unknown_terms={"leerplichtambtenaar"})
    assert not result.kept and result.removed[0].reason == "de bronnen zeggen niets over leerplichtambtenaar"
    assert verify_answer(claim.replace("De rol van de leerplichtambtenaar is", "De gemeente kan"), sources).kept


def test_two_numbers_share_the_unit_after_the_second() -> None:
    """ "uitgebreid van 50 naar 100 gemeenten" says that 50 gemeenten take part now."""
    source = {1: "Na de zomervakantie wordt de alliantie uitgebreid van 50 naar 100 gemeenten."}
    assert verify_answer("De alliantie wordt na de zomervakantie uitgebreid van 50 gemeenten naar 100 [1].", source).kept
    assert not verify_answer("De alliantie wordt uitgebreid naar 150 gemeenten [1].", source).kept


def test_a_figure_said_about_something_else_in_its_source_is_removed() -> None:
    # the passage names both the steunpakket and the € 300 miljoen, but in different sentences
    passage = {
        1: "Maar ik ben ook voornemens circa € 300 miljoen aan gemeenten uit te keren, in de vorm van een "
        "specifieke uitkering. Gemeenten met veel leerlingen met een hoog risico ontvangen meer geld. "
        "Daarnaast is er het steunpakket Welzijn Jeugd, waarover de ministeries u nog voor de zomer informeren."
    }
    wrong = verify_answer("Het steunpakket Welzijn Jeugd geeft onze gemeente € 300 miljoen [1].", passage)
    assert not wrong.kept
    assert wrong.removed[0].reason == "de bron noemt 300 bij iets anders"
    assert wrong.misattributed == {"num:300"}
    right = verify_answer("Gemeenten krijgen circa € 300 miljoen als specifieke uitkering [1].", passage)
    assert right.kept and not right.misattributed


def test_a_name_from_the_question_must_stand_beside_the_figure() -> None:
    """Cited to the passage on the steunpakket, the € 300 miljoen of another passage is no repair: it is
    said of the NPO, whose title names 'Jeugd' but not 'Welzijn'."""
    sources = {
        1: "Maar ik ben ook voornemens circa € 300 miljoen aan gemeenten uit te keren, in de vorm van een "
        "specifieke uitkering. Het leeuwendeel gaat naar scholen.",
        2: "U kunt middelen uit het steunpakket Welzijn Jeugd combineren met trajecten voor het NPO.",
    }
    headers = {1: "Brief aan de wethouders Onderwijs en Jeugd", 2: "Brief aan de wethouders Onderwijs en Jeugd"}
    question = "Hoeveel geld krijgen gemeenten uit het steunpakket Welzijn Jeugd?"
    wrong = verify_answer(
        "Het steunpakket Welzijn Jeugd geeft gemeenten € 300 miljoen [2].", sources, question=question, headers_by_n=headers
    )
    assert not wrong.kept and wrong.misattributed == {"num:300"}
    right = verify_answer(
        "Gemeenten krijgen circa € 300 miljoen als specifieke uitkering [1].", sources,
        question="Hoeveel geld krijgen gemeenten uit het Nationaal Programma Onderwijs?", headers_by_n=headers,
    )
    assert right.kept and not right.misattributed


def test_an_amount_asked_for_a_recipient_must_be_said_of_that_recipient() -> None:
    sources = {1: "Het budget is € 8,5 miljard, waarvan € 5,8 miljard voor het funderend onderwijs. "
               "Het leeuwendeel gaat naar scholen. Maar ik ben ook voornemens circa € 300 miljoen aan gemeenten uit te keren."}
    question = "Hoeveel geld krijgen gemeenten uit het Nationaal Programma Onderwijs?"
    wrong = verify_answer("Gemeenten krijgen € 5,8 miljard [1].", sources, question=question, recipient="gemeenten")
    assert not wrong.kept and "bij iets anders" in wrong.removed[0].reason
    right = verify_answer("Gemeenten krijgen circa € 300 miljoen [1].", sources, question=question, recipient="gemeenten")
    assert right.kept


def test_a_number_written_out_is_checked_as_a_figure() -> None:
    """ "vijftig jaar" is the CED-Groep's experience, not how long the NPO lasts: a short claim must share more
    with the figure's sentence than the programme's name."""
    source = {1: "Met ruim vijftig jaar ervaring leggen we eenvoudig verbinding tussen alle partners in het NPO."}
    headers = {1: "Nationaal Programma Onderwijs: gemeenten aan zet\nCED-Groep"}
    wrong = verify_answer("Het NPO duurt vijftig jaar [1].", source, question="Hoe lang duurt het NPO?", headers_by_n=headers)
    assert not wrong.kept and "bij iets anders" in wrong.removed[0].reason
    right = verify_answer(
        "De CED-Groep heeft ruim vijftig jaar ervaring [1].", source, question="Hoeveel ervaring heeft de CED-Groep?",
        headers_by_n=headers,
    )
    assert right.kept
    assert not verify_answer("De CED-Groep heeft ruim zestig jaar ervaring [1].", source, headers_by_n=headers).kept


def test_an_e_mail_address_must_belong_to_whom_the_sentence_says() -> None:
    contact = {
        1: "Er is een online helpdesk waar u terechtkunt met vragen over het NPO. Heb je vragen over de "
        "begeleiding? Neem contact op met Anja de Rooij:\nE-mail: a.derooij@cedgroep.nl\nTel: 06-13269210"
    }
    headers = {1: "NPO-begeleiding voor kleinere gemeenten\nCED-Groep"}
    wrong = verify_answer(
        "Het mailadres van de online helpdesk van het NPO is a.derooij@cedgroep.nl [1].", contact, headers_by_n=headers
    )
    assert not wrong.kept and "bij iets anders" in wrong.removed[0].reason
    right = verify_answer(
        "U kunt Anja de Rooij mailen via a.derooij@cedgroep.nl [1].", contact, headers_by_n=headers
    )
    assert right.kept


def test_confirming_a_claim_to_check_is_an_answer_not_an_echo() -> None:
    question = "Klopt het dat het budget € 8,5 miljard is, voor een periode van 2,5 jaar?"
    confirmed = verify_answer("Ja, het budget is € 8,5 miljard, voor een periode van 2,5 jaar [1].", SOURCES, question=question)
    assert confirmed.kept
    echoed = verify_answer(
        "Het budget is € 8,5 miljard, voor een periode van 2,5 jaar [1].", SOURCES,
        question="Welke periode geldt voor het budget van € 8,5 miljard, voor een periode van 2,5 jaar?",
    )
    assert not echoed.kept and echoed.removed[0].reason == "herhaalt alleen de vraag"


def test_an_enumeration_the_source_does_not_hold_is_removed() -> None:
    """A small model invents the steps of a method around a few true words; the source lists other steps."""
    src = {1: "De CED-Groep werkt met de aanpak Opbrengstgericht werken in 4D. De stappen zijn: het verzamelen van data "
              "over de problemen, het duiden van de data, het vaststellen van doelen en plannen, en de implementatie en "
              "evaluatie van de aanpak."}
    invented = verify_answer("De 4D-aanpak van de CED-Groep heeft vier stappen: identificatie van problemen, planen van "
                             "reactie, implementatie van reactie en evaluatie van reactie [1].", src)
    assert not invented.kept
    assert invented.removed[0].reason == "de opgesomde punten staan niet in de bronnen"
    copied = verify_answer("De 4D-aanpak van de CED-Groep heeft deze stappen: het verzamelen van data, het duiden van "
                           "de data, het vaststellen van doelen en de evaluatie van de aanpak [1].", src)
    assert copied.kept, copied.removed


def test_an_acronym_is_supported_by_the_name_written_out() -> None:
    """The letter writes "NP Onderwijs" and "Nationaal Programma Onderwijs"; the answer may say "het NPO"."""
    src = {1: "Het budget van het Nationaal Programma Onderwijs is € 8,5 miljard, voor een periode van 2,5 jaar."}
    assert verify_answer("Het hele NPO is € 8,5 miljard [1].", src, question="Hoe groot is het NPO?").kept
    assert not verify_answer("Het hele GKA-budget is € 8,5 miljard [1].", src, question="Hoe groot is het GKA-budget?").kept


def test_a_short_answer_that_gives_the_asked_month_is_kept() -> None:
    src = {1: "In juli wordt de hoogte van het budget voor gemeenten bekendgemaakt."}
    result = verify_answer("In juli [1].", src, question="In welke maand wordt het budget bekend?")
    assert result.text == "In juli [1]."
    assert not verify_answer("De uitdagingen [1].", src, question="In welke maand wordt het budget bekend?").kept


def test_a_denial_of_what_the_source_says_is_removed() -> None:
    """Same words, opposite meaning: the model's "niet" is not in the sentence it rests on."""
    sources = {1: "Gemeenten krijgen voor de schooljaren 2021-2022 en 2022-2023 geld uit het NP Onderwijs."}
    result = verify_answer("Gemeenten krijgen geen geld uit het NP Onderwijs voor schooljaar 2022-2023 [1].", sources)
    assert not result.kept and "geen geld" in result.removed[0].text
    kept = verify_answer("Gemeenten krijgen geld uit het NP Onderwijs voor schooljaar 2022-2023 [1].", sources)
    assert kept.kept
    # a denial the source makes itself stays
    denied = {1: "Scholen mogen onderwijsmiddelen uitsluitend besteden aan onderwijs, en dus niet aan kinderopvang."}
    assert verify_answer("Scholen mogen onderwijsmiddelen niet aan kinderopvang besteden [1].", denied).kept
