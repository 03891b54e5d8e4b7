"""The assistant: question -> retrieval -> gate -> generation -> verification -> answer.

``Assistant.stream`` yields the sources as soon as retrieval is done (before
the model starts), then the model's tokens, then the verified ``Answer``.
``Assistant.ask`` is the same without the streaming.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.clean import clean_query
from ingest.embeddings import get_embeddings
from ingest.pipeline import IngestReport, Ingestor, Progress
from settings import Settings, get_settings

from . import guard
from .evidence import EvidenceSelector, Sentence, repeats
from .glossary import with_source_terms
from .llm import get_chat_model, model_label
from .prompts import NOT_FOUND_MARKER, answer_messages, rewrite_messages, translate_messages
from .questions import is_claim_check, question_parts
from .retrieval import HybridRetriever, IndexReader, with_written_out
from .types import Answer, Citation, Mode, Source, StreamEvent
from .verify import (
    ECHO, acronyms, cited_numbers, content_words, mentions, names_near, proper_names, split_answer, support,
    verify_answer,
)

_REFUSAL = re.compile(
    r"NIET[_ ]IN[_ ]BRONNEN|staat niet in de bronnen|niet in de bronnen|kan ik niet (vinden|beantwoorden)|"
    r"geen informatie|not in the sources|I (don't|do not|cannot) (know|find)",
    re.IGNORECASE,
)
_FREE = re.compile(r"\b(kosteloos|gratis|kosteloze)\b", re.IGNORECASE)
# a price: "kosteloos", or an amount said to be what something costs ("kost € 1.200 per traject")
_PRICE = re.compile(
    _FREE.pattern + r"|(€|\beuro\b).{0,80}\b(kost\w*|tarie\w*|prijs\w*|betal\w*)\b"
    r"|\b(kost\w*|tarie\w*|prijs\w*|betal\w*)\b.{0,80}(€|\beuro\b)",
    re.IGNORECASE,
)
_FIGURES = {"number", "money"}  # requested kinds of fact that are amounts or counts
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Assistant:
    """One per process; thread-safe for concurrent sessions (the LLM is serialised)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.embeddings = get_embeddings(self.settings.embedding_model, self.settings.embedding_batch_size)
        self.ingestor = Ingestor(self.settings, self.embeddings)
        self.reader = IndexReader(self.ingestor.store)
        self.retriever = HybridRetriever(reader=self.reader, settings=self.settings, k=self.settings.top_k)
        self.evidence = EvidenceSelector(
            self.embeddings,
            overlap_weight=self.settings.evidence_overlap_weight,
            type_weight=self.settings.evidence_type_weight,
            margin=self.settings.evidence_margin,
            max_sentences=self.settings.evidence_max_sentences,
            max_chars=self.settings.evidence_max_chars,
            window_chars=self.settings.evidence_window_chars,
        )
        self._ingest_lock = threading.Lock()

    # ------------------------------------------------------------ documents
    @property
    def model_name(self) -> str:
        return model_label(self.settings)

    def documents(self) -> list[dict[str, Any]]:
        snapshot = self.reader.snapshot()
        if snapshot is None:
            return []
        return [
            {k: v for k, v in doc.items() if k != "text"}
            for doc in sorted(snapshot.documents.values(), key=lambda d: d["source"])
        ]

    def document_text(self, source: str) -> str:
        snapshot = self.reader.snapshot()
        if snapshot is None or source not in snapshot.documents:
            return ""
        return snapshot.documents[source].get("text", "")

    def ingest(
        self,
        paths: list[Path] | None = None,
        rebuild: bool = False,
        delete: Iterable[str] = (),
        progress: Progress | None = None,
    ) -> IngestReport:
        with self._ingest_lock:
            return self.ingestor.run(paths, rebuild=rebuild, delete=delete, progress=progress)

    # ------------------------------------------------------------ retrieval
    def retrieve(self, question: str, history: list[dict[str, str]] | None = None) -> list[Source]:
        """The passages ``ask`` would show first, without an LLM (an appended instruction is cut off)."""
        question = _CONTROL.sub(" ", question or "").strip()
        question = guard.real_question(question) or question
        query = self._heuristic_standalone(question, history or [])
        return self._sources(self._search(query))

    def _search(self, query: str) -> list[Any]:
        """Hits for the question; a compound question also gets the best passage of each part.

        "Kan dat, en waar moeten de scholen op letten als ze hun eigen NPO-middelen inzetten?"
        ranks passages about the first half; the second half's passage replaces the
        weakest hit that no part needs.
        """
        hits = self.retriever.search(guard.purpose_query(query), keep_displaced=True)
        parts = question_parts(query)
        if len(parts) < 2 or not hits:
            return hits
        needed = []
        for part in parts:
            best = self.retriever.search(part, 1)
            if best and best[0].record.chunk_id not in {h.record.chunk_id for h in hits + needed}:
                needed.append(best[0])
        top, displaced = hits[: self.retriever.k], hits[self.retriever.k :]
        keep = len(top) - len(needed)
        return (top[:keep] + needed if keep > 0 else top) + displaced

    @staticmethod
    def _sources(hits: list[Any]) -> list[Source]:
        return [
            Source(
                n=i,
                chunk_id=h.record.chunk_id,
                source=h.record.source,
                title=h.record.title,
                kind=h.record.kind,
                date=h.record.date,
                section=h.record.section,
                text=h.record.text,
                start=h.record.start,
                end=h.record.end,
                score=round(h.score, 5),
            )
            for i, h in enumerate(hits, start=1)
        ]

    @staticmethod
    def _heuristic_standalone(question: str, history: list[dict[str, str]]) -> str:
        """Without an LLM: the previous user question gives a follow-up its subject."""
        previous = [t.get("content", "") for t in history if t.get("role") == "user"]
        return f"{previous[-1]} {question}" if previous else question

    def _standalone(self, question: str, history: list[dict[str, str]], mode: Mode) -> str:
        if not history:
            return question  # first turn: no LLM call
        if mode == "extractive":
            return self._heuristic_standalone(question, history)
        try:
            model = get_chat_model(self.settings)
            out = model.invoke(rewrite_messages(question, history), max_tokens=60).content
            rewritten = _first_line(out)
        except Exception:  # noqa: BLE001 - fall back to the heuristic, never fail here
            rewritten = ""
        if len(rewritten) < 8 or len(rewritten) > 400 or guard.is_injection(rewritten):
            return self._heuristic_standalone(question, history)
        # a rewrite that took nothing from the conversation still needs its subject
        # and one that dropped the question's own words answers another question
        context_words = content_words(" ".join(t.get("content", "") for t in history if t.get("role") == "user"))
        own, new = content_words(question), content_words(rewritten)
        if not (new - own) & context_words or len(own - new) > len(own) / 2:
            return self._heuristic_standalone(question, history)
        return rewritten

    def _search_query(self, question: str, mode: Mode) -> str:
        """The question in Dutch, for retrieval and evidence: the sources are Dutch.

        Only English questions are translated, never in extractive mode (no LLM).
        A translation that drops a figure or turns into an instruction is not used.
        """
        if (
            mode == "extractive"
            or not self.settings.translate_questions
            or len(question) > 500  # a long text would cost seconds to read and write again
            or not guard.is_english(question)
        ):
            return question
        try:
            out = get_chat_model(self.settings).invoke(translate_messages(question), max_tokens=80).content
            dutch = re.sub(r"^(vraag|nederlands|dutch)\s*:\s*", "", _first_line(out), flags=re.IGNORECASE)
        except Exception:  # noqa: BLE001 - search with the question as asked
            return question
        numbers = re.findall(r"\d+", question)
        if (
            not 8 <= len(dutch) <= 400
            or guard.is_english(dutch)
            or guard.is_injection(dutch)
            or any(n not in dutch for n in numbers)
        ):
            return question
        return dutch

    # ------------------------------------------------------------ answering
    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        mode: Mode | None = None,
        sender_name: str | None = None,
        gemeente: str | None = None,
    ) -> Answer:
        answer = None
        for event in self.stream(question, history, mode, sender_name, gemeente):
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        mode: Mode | None = None,
        sender_name: str | None = None,
        gemeente: str | None = None,
    ) -> Iterator[StreamEvent]:
        t0 = time.perf_counter()
        mode = mode or self.settings.default_mode
        history = [t for t in (history or []) if isinstance(t, dict) and t.get("content")]
        question = _CONTROL.sub(" ", question or "").strip()
        answer = Answer(question=question, text="", mode=mode, model=self.model_name if mode != "extractive" else "extractief")

        def finish(**fields: Any) -> StreamEvent:
            for key, value in fields.items():
                setattr(answer, key, value)
            if answer.fallback:
                answer.notice = guard.fallback_notice(answer.reason)
            answer.timings["total"] = round(time.perf_counter() - t0, 4)
            if mode == "draft":
                answer.text = draft_reply(answer, sender_name, gemeente)
            return StreamEvent(kind="answer", answer=answer)

        def refuse(reason: str, message: str) -> Iterator[StreamEvent]:
            if not answer.sources:
                yield StreamEvent(kind="sources", sources=[])
                answer.timings.setdefault("sources", round(time.perf_counter() - t0, 4))
            yield finish(text=message, abstained=True, reason=reason)

        if not question:
            yield from refuse("empty", guard.EMPTY_QUESTION)
            return
        if len(question) > self.settings.max_question_chars:
            yield from refuse(
                "too_long", guard.TOO_LONG.format(n=len(question), max=self.settings.max_question_chars)
            )
            return
        core = guard.real_question(question)
        if core is None:
            yield from refuse("injection", guard.INJECTION)
            return
        question = core  # the real question; an injected instruction is ignored
        if guard.is_out_of_scope(question):
            yield from refuse("out_of_scope", guard.OUT_OF_SCOPE)
            return

        snapshot = self.reader.snapshot()
        if snapshot is None:
            yield from refuse("no_index", "Er zijn nog geen documenten geïndexeerd. Voeg eerst documenten toe.")
            return

        t_rewrite = time.perf_counter()
        standalone = self._standalone(question, history, mode)
        if not guard.is_english(standalone):  # "gemeeten", "budgget": search and the model read the corpus's spelling
            standalone = guard.corrected_spelling(standalone, snapshot.keywords, snapshot.content_terms)
        answer.standalone_question = standalone
        search = answer.search_query = self._search_query(standalone, mode)
        answer.timings["rewrite"] = round(time.perf_counter() - t_rewrite, 4)
        t_ret = time.perf_counter()
        hits = self._search(search)
        answer.sources = self._sources(hits)
        answer.timings["retrieval"] = round(time.perf_counter() - t_ret, 4)
        answer.timings["sources"] = round(time.perf_counter() - t0, 4)
        yield StreamEvent(kind="sources", sources=answer.sources)

        needed = guard.requested_types(standalone)
        beyond = guard.after_the_sources(standalone, snapshot.latest_year)
        if beyond:
            # "Komt er na schooljaar 2022-2023 een vervolg?": the nearest passages say what happens until then
            when = beyond if beyond.split()[0].lower() in ("na", "vanaf") else "daarna"
            text = guard.AFTER_THE_SOURCES.format(year=snapshot.latest_year, when=when)
            yield finish(text=text, abstained=True, reason="after_the_sources")
            return
        # long question words that resemble no corpus word: things no source mentions ("leerlingenvervoer")
        # (not the words that frame the question: "Tot wanneer mogen we het geld uitgeven?")
        things = [] if guard.is_english(standalone) else guard.unnamed_things(
            standalone, snapshot.keywords, snapshot.content_terms
        )
        if things and {"number", "money", "date"} & set(needed) and search == standalone:
            # an amount or date for something the sources never mention
            yield finish(text=self._not_named(things), abstained=True, reason="requested_fact_missing:" + ",".join(map(_shortened, things[:5])))
            return
        purpose = guard.unnamed_purpose(standalone, snapshot.keywords, snapshot.content_terms) if search == standalone else []
        if purpose:
            # "Mag NPO-geld naar schoolreisjes?" when no source names schoolreisjes
            shown = [_shortened(w) for w in purpose[:3]]
            words = " en ".join(f"“{w}”" for w in shown)
            yield finish(text=guard.UNNAMED_PURPOSE.format(words=words), abstained=True, reason="unnamed_purpose:" + ",".join(shown))
            return
        # after the checks above: their refusals name the word no source mentions, this one cannot
        gate = guard.evidence_gate(
            clean_query(standalone),
            hits,
            snapshot.keywords,
            self.settings.min_dense_similarity,
            self.settings.min_bm25_overlap,
            snapshot.content_terms,
        )
        if not gate.allowed:
            yield finish(text=gate.message, abstained=True, reason=gate.reason)
            return

        t_ev = time.perf_counter()
        evidence_query = with_written_out(search, snapshot)  # "de LEA": its sentences say "Lokale Educatieve Agenda"
        if self.settings.use_glossary:  # "de peutergroepen": its sentences say "voorschoolse"
            evidence_query = with_source_terms(evidence_query)
        query_vector = self.embeddings.embed_query(clean_query(evidence_query))
        candidates = self.evidence.candidates(snapshot, hits)
        ranked = self.evidence.rank(evidence_query, query_vector, candidates, snapshot.keywords)
        selected = self.evidence.select(ranked)
        parts = question_parts(search)
        if len(parts) > 1:  # a compound question: every sub-question gets its best evidence
            part_bests = []
            for part in parts:
                part_ranked = self.evidence.rank(
                    part, self.embeddings.embed_query(clean_query(part)), candidates, snapshot.keywords
                )
                part_bests += part_ranked[:1]
            selected = self.evidence.cover(selected, part_bests)
        selected = self.evidence.widen(selected, snapshot)
        answer.evidence_score = round(ranked[0].score, 4) if ranked else 0.0
        answer.timings["evidence"] = round(time.perf_counter() - t_ev, 4)
        texts_by_n = {
            i: " ".join([h.record.text] + [r.text for r in snapshot.neighbours(h.record)])
            for i, h in enumerate(hits, start=1)
        }

        typed = self._typed_evidence(standalone, needed, ranked, snapshot) if needed else selected
        if needed and not typed:
            # asked for a phone number, amount or date that no retrieved passage gives
            yield finish(text=guard.NOT_IN_SOURCES, abstained=True, reason="requested_fact_missing")
            return
        if guard.asks_own_amount(standalone, own_words=question) and not any(guard.gives_amount_per_gemeente(s.text) for s in ranked[:10]):
            # "Hoeveel krijgen wij precies?": the passages' amounts are totals for all gemeenten
            yield finish(text=guard.OWN_AMOUNT, abstained=True, reason="own_amount")
            return
        if needed and not any(guard.has_requested(s.text, needed) for s in selected):
            selected = sorted(selected[: self.settings.evidence_max_sentences - 1] + typed[:1], key=lambda s: (s.n, s.start))

        if mode == "extractive":
            text = extractive_text(selected)
            yield finish(text=text, citations=self._citations(text, selected, ranked))
            return

        t_gen = time.perf_counter()
        raw = ""
        try:
            model = get_chat_model(self.settings)
            for chunk in model.stream(
                answer_messages(standalone, selected, self.settings.llm_evidence_chars), **self._refusal_policy(model, standalone)
            ):
                metadata = getattr(chunk, "response_metadata", None) or {}
                if "refusal_probability" in metadata:
                    answer.refusal_probability = metadata["refusal_probability"]
                token = str(chunk.content)
                if not token:
                    continue
                if not raw:
                    answer.timings["first_token"] = round(time.perf_counter() - t0, 4)
                raw += token
                yield StreamEvent(kind="token", token=token)
        except Exception as exc:  # noqa: BLE001 - the user gets the extractive answer instead
            answer.timings["generation"] = round(time.perf_counter() - t_gen, 4)
            text = extractive_text(selected)
            yield finish(
                text=text,
                citations=self._citations(text, selected, ranked),
                fallback=True,
                reason=f"llm_error: {type(exc).__name__}",
            )
            return
        answer.timings["generation"] = round(time.perf_counter() - t_gen, 4)

        refused = bool(_REFUSAL.search(raw)) and len(raw) < 200
        # who speaks in a passage is named by its document's title and publisher ("wij" on the CED-Groep's page)
        # and what kind of document it is ("Welke partners noemt de FAQ?")
        headers_by_n = {i: _header(h.record, snapshot) for i, h in enumerate(hits, start=1)}
        # the amount asked for someone ("Hoeveel krijgen gemeenten?"): not what was said of the counted or a rate
        paid_to = guard.recipient(standalone) if "money" in needed and not guard.counted_noun(standalone) else None
        names = _known_names(standalone, snapshot)
        verified = verify_answer(
            "" if refused else raw, texts_by_n, question=standalone, headers_by_n=headers_by_n,
            unknown_terms=set(things), recipient=paid_to, question_names=names,
        )
        answer.removed = verified.removed
        weak = not ranked or ranked[0].score < self.settings.min_kept_evidence
        if verified.kept and guard.has_requested(verified.text, needed) and not weak:
            units = self._quoted_units(selected, ranked, snapshot)
            text = with_supporting_quotes(verified.text, units)
            yield finish(text=text, citations=self._citations(text, units, ranked))
            return
        # The 1.5B model refuses or garbles many answerable questions, or answers
        # around what was asked; with strong evidence the cited source sentences
        # answer instead, otherwise we abstain. Overruling the model's own "not in
        # the sources" takes stronger evidence: on questions the sources do not
        # answer ("renovatie van een gymzaal") the nearest passages score high too.
        if refused:
            reason, needed_score = "model_not_found", self.settings.min_overrule_evidence
            spending = guard.spending_sentence(standalone)  # also after context: "Er zit bij ons een kind … Mogen we …?"
            if spending and not guard.unnamed_purpose(spending, snapshot.keywords, snapshot.content_terms):
                needed_score = self.settings.min_spending_overrule_evidence
            if is_claim_check(standalone):
                needed_score = min(needed_score, self.settings.min_claim_overrule_evidence)
        elif not verified.kept:
            reason, needed_score = "verification_removed_all", self.settings.min_answer_evidence
            if verified.removed and all(r.reason == ECHO for r in verified.removed):
                reason = "model_echoed_question"  # "Ja, <de vraag> [1].": nothing false, nothing answered
                needed_score = self.settings.min_echo_evidence
        elif weak:  # the model's answer rests on passages about something else: quoting them would not answer either
            reason, needed_score = "weak_evidence", self.settings.min_kept_evidence
        else:
            reason, needed_score = "requested_fact_missing", self.settings.min_answer_evidence
        strong = bool(ranked) and ranked[0].score >= needed_score
        # Asked how much or how many without naming what is counted ("Hoeveel extra geld krijgt een gemeente
        # die haar GKA-agenda uitbreidt?"), the model answered from the passages without a figure: the
        # amounts they hold are about something else (the € 8,5 miljard in total), and quoting them would
        # put a wrong amount in the reply. A figure of the thing counted ("Tot hoeveel inwoners …?" beside
        # "tot ongeveer 40.000 inwoners") or per the unit asked ("per leerling") is still quoted.
        # The user's own words must ask it: "en wanneer kunnen we aan de slag?" after a "hoeveel" question asks a date.
        # So too when the model put one of the passages' figures on the thing asked and verification removed it:
        # "Hoe hoog is de extra bijdrage voor de GKA-agenda?" answered with the € 300 miljoen for all gemeenten.
        misplaced_figure = not verified.kept and bool(verified.misattributed)
        # the typed evidence gives the figure of the thing asked: what is counted, a rate, "kosteloos", or an amount
        # for the recipient asked about ("€ 300 miljoen aan gemeenten": typed evidence names the recipient)
        figure_of_thing_asked = bool(
            guard.counted_noun(question) or guard.RATE.search(question) or self._free_of_charge(question, typed)
            or (typed and guard.recipient(question))
        )
        if (reason == "requested_fact_missing" or misplaced_figure) and _FIGURES & set(guard.requested_types(question)) and not (
            figure_of_thing_asked
        ):
            strong = False
        # The model gave no answer and an amount of money is asked: the amounts quoted must stand where the
        # question's subject is named ("Hoe groot is het budget van het steunpakket Welzijn Jeugd?" is not
        # answered by the € 8,5 miljard for the whole programme)
        # (not asked when the amount is known: "Klopt het dat we pas in september horen hoeveel we krijgen?")
        if not verified.kept and "money" in needed and typed and not guard.asks_when_known(question):
            subject = set(guard.subject_terms(standalone, snapshot.keywords))
            if not figure_of_thing_asked and not any(subject & _named_terms(s, snapshot) for s in typed[:2]):
                strong = False
            # a name the question gives the money ("uit het steunpakket Welzijn Jeugd") must stand where the
            # amount does, even when the amount is for the recipient asked about ("€ 300 miljoen aan gemeenten")
            if names and not any(all(names_near(n, _where(s, snapshot)) for n in names) for s in typed[:2]):
                strong = False
        # "Wat kost het als we de CED-Groep inhuren?": passages quoted instead of an answer must give a price
        # ("kosteloos", an amount in euro); the nearest passages about the party asked for do not
        if not verified.kept and guard.asks_price(question) and not any(_PRICE.search(s.text) for s in typed[:2]):
            strong = False
        # quoted instead of the answer, the passages must still be about the organisation asked about:
        # "Welke rol speelt de GGD bij de schoolscan?" is not answered by passages that never name the GGD
        quoted = "\n".join([s.text for s in selected] + [headers_by_n.get(s.n, "") for s in selected])
        unnamed = sorted(
            term for term in acronyms(standalone)
            if not mentions(term, quoted) and not mentions(snapshot.written_out.get(term, term), quoted)
        )
        # the model answered about something no source names ("de leerplichtambtenaar"): nearby passages
        # about other things would only seem to answer it
        unnamed += sorted(verified.foreign) if not verified.kept else []
        # the model gave no answer of its own and the question asks about something no source names
        # ("schoolexcursies"): the nearest passages are about other things
        unanswered = things if not verified.kept else []
        unnamed += [t for t in unanswered if t not in unnamed]
        if not strong or unnamed:
            message = self._not_named(unanswered) if unanswered else guard.NOT_IN_SOURCES
            yield finish(text=message, abstained=True, reason=reason + "".join(f":{_shortened(t)}" for t in unnamed[:5]))
            return
        units = selected if verified.kept else self._quoted_units(selected, ranked, snapshot)
        if needed:  # the units with the asked-for fact first, then the rest of the evidence
            units = typed[:2] + [s for s in selected if not any(repeats(s, t) for t in typed[:2])]
            units = sorted(units[: self.settings.evidence_max_sentences], key=lambda s: (s.n, s.start))
        if verified.kept and reason != "requested_fact_missing":
            text = with_supporting_quotes(verified.text, units)
        else:
            # the model's own sentences lack the figure, date or address asked for: they would only stand
            # in front of the passages that give it ("Het hangt af van de regels van de gemeente [2].")
            text = extractive_text(units)
        yield finish(text=text, citations=self._citations(text, units, ranked), fallback=True, reason=reason)

    def _quoted_units(self, selected: list[Sentence], ranked: list[Sentence], snapshot: Any) -> list[Sentence]:
        """The evidence quoted under an answer: the model's evidence plus what a larger budget holds.

        Quoting costs no model time: a long list the model read must not crowd out the sentence after it
        ("Ook als deze leerlingen niet staan ingeschreven, mag u het geld … gebruiken").
        """
        if self.settings.quote_max_chars <= self.settings.evidence_max_chars:
            return selected
        return self.evidence.widen(self.evidence.extend(selected, ranked, self.settings.quote_max_chars), snapshot)

    def _refusal_policy(self, model: Any, question: str) -> dict[str, Any]:
        """Ask a model that can tell its refusal probability to refuse only above the calibrated threshold."""
        if not getattr(model, "supports_refusal_probability", False):
            return {}
        threshold = self.settings.refusal_threshold
        if is_claim_check(question) and threshold is not None and self.settings.claim_refusal_threshold is not None:
            threshold = max(threshold, self.settings.claim_refusal_threshold)
        return {"refusal": {"marker": NOT_FOUND_MARKER, "threshold": threshold}}

    @staticmethod
    def _free_of_charge(question: str, typed: list[Sentence]) -> bool:
        """A price question ("Moeten we daarvoor betalen?") that a passage answers with "kosteloos".

        Its other figures (the € 8,5 miljard) are no price of what was asked.
        """
        return guard.asks_price(question) and any(_FREE.search(s.text) for s in typed[:2])

    @staticmethod
    def _not_named(things: list[str]) -> str:
        """The refusal that names what no source mentions, so the user can check the spelling or ask otherwise."""
        return guard.NOT_NAMED.format(words=" en ".join(f"“{_shortened(w)}”" for w in things[:3]))

    def _typed_evidence(
        self, question: str, needed: list[str], ranked: list[Sentence], snapshot: Any
    ) -> list[Sentence]:
        """Evidence that holds the kind of fact asked for, about the question's subject.

        "Wat is het telefoonnummer van de helpdesk?" is not answered by the phone
        number of a CED adviser. The subject is one of the question's rarest corpus terms.
        """
        # Contact details must come from a document about the party asked for, a date from a
        # sentence or heading about the thing asked for; a figure is often phrased around its
        # subject ("€ 300 miljoen aan gemeenten"), so it needs no such check.
        subject = guard.subject_terms(question, snapshot.keywords)
        amount = bool({"number", "money"} & set(needed))
        rate = guard.RATE.search(question) if amount else None
        counted = guard.counted_noun(question) if amount else None
        # "Hoeveel gaat er naar het mbo?": the amount must be given to the mbo, not to the whole programme
        who = guard.recipient(question) if amount and not (counted or rate) else None
        who_terms = set(snapshot.keywords.query_terms(who)) if who else set()
        # whose phone number: the organisation the question names ("bij het CED"), else its rarest terms
        party = {t for name in acronyms(question) for t in snapshot.keywords.query_terms(name)} - {"npo"}
        # "de NPO-menukaart": a list must come from a passage that names the menukaart ("npo" alone names nothing)
        held_by = guard.container(question) if "contents" in needed else None
        holder_terms = set(snapshot.keywords.query_terms(held_by)) - {"npo"} if held_by else set()
        best = ranked[0].score if ranked else 0.0
        clear_lead = len(ranked) < 2 or best - ranked[1].score >= self.settings.evidence_margin / 2

        out = []
        for sent in ranked[:10]:
            if sent.score < best - 2 * self.settings.evidence_margin or not guard.has_requested(sent.text, needed):
                continue
            if rate and not re.search(rf"\bper\s+{re.escape(rate.group(1)[:5])}", sent.text, re.IGNORECASE):
                continue  # "hoeveel per leerling?" is not answered by a total
            if counted and not guard.counts(sent.text, counted):
                continue  # "hoeveel leerlingen?" is not answered by "€ 8,5 miljard"
            if who_terms and not who_terms <= snapshot.keywords.document_terms(sent.text):
                continue
            if holder_terms and not holder_terms & _named_terms(sent, snapshot):
                continue
            if (party or subject) and {"phone", "email"} & set(needed):
                # the party must be named where the details are, not just somewhere on the page: the GKA's
                # address is not the helpdesk's, though one page names both
                if not set(party or subject) & _named_terms(sent, snapshot):
                    continue
            elif subject and needed in (["date"], ["percentage"], ["names"], ["duration"]):
                # "de deadline voor de verantwoording": a date about something else does not answer,
                # nor does the share of doelgroepkinderen answer "hoeveel procent mag naar overhead?".
                # A clear winner of the ranking may say it in other words ("besluit" / "bepaalt"): on the
                # dev split the refused questions' best sentence led by at most 0.04
                if not set(subject) & _named_terms(sent, snapshot) and not (sent is ranked[0] and clear_lead):
                    continue
            if not any(repeats(sent, o) for o in out):
                out.append(sent)
        return out

    # ------------------------------------------------------------ citations
    def _citations(self, text: str, selected: list[Sentence], ranked: list[Sentence]) -> list[Citation]:
        """For every [n] in the text, the exact sentence of source n that best supports it."""
        snapshot = self.reader.snapshot()
        out: list[Citation] = []
        sentences = split_answer(text)
        for n in cited_numbers(text):
            claims = " ".join(s for s in sentences if f"[{n}]" in s)
            pool = [s for s in selected if s.n == n] or [s for s in ranked if s.n == n]
            if not pool or snapshot is None:
                continue
            best = max(pool, key=lambda s: support(claims, s.text))
            doc = snapshot.documents.get(best.source, {})
            hit_section = snapshot.section_at(best.source, best.start)
            out.append(
                Citation(
                    n=n,
                    source=best.source,
                    title=doc.get("title", best.source),
                    section=hit_section,
                    quote=best.text,
                    start=best.start,
                    end=best.end,
                )
            )
        return out


def _header(record: Any, snapshot: Any) -> str:
    """What stands above a passage: its document's title, publisher and kind (brief, webpagina, FAQ)."""
    document = snapshot.documents.get(record.source, {})
    return f"{record.title}\n{document.get('publisher') or ''}\n{document.get('kind') or ''}"


def _where(sent: Sentence, snapshot: Any) -> str:
    """Where a sentence stands: its document's title and publisher ("we" on the CED-Groep's page), its
    section and itself, with its acronyms written out ("GKA": "Gelijke Kansen Alliantie")."""
    document = snapshot.documents.get(sent.source, {})
    context = "\n".join(
        [document.get("title", ""), document.get("publisher") or "", snapshot.section_at(sent.source, sent.start), sent.text]
    )
    return context + "\n" + " ".join(snapshot.written_out.get(a, "") for a in acronyms(context))


def _named_terms(sent: Sentence, snapshot: Any) -> set[str]:
    """The terms of where a sentence stands (``_where``)."""
    return snapshot.keywords.document_terms(_where(sent, snapshot))


def _known_names(question: str, snapshot: Any) -> set[str]:
    """The question's names that the corpus holds: "Welzijn Jeugd", not "het Rijk" (a way of asking)."""
    return {
        name for name in proper_names(question)
        if all(t in snapshot.content_terms for t in snapshot.keywords.query_terms(name))
    }


def _shortened(word: str) -> str:
    """A word quoted back to the user: a 2000-letter "word" is not repeated whole."""
    return word if len(word) <= 40 else word[:40] + "…"


def _first_line(content: Any) -> str:
    """The first line of a model reply, without quotes: a rewrite or translation is one line."""
    text = str(content).strip()
    return text.splitlines()[0].strip(' "') if text else ""


def cited_unit(sent: Sentence) -> str:
    """One evidence unit with its [n]; a list's items stay on their own, indented lines."""
    lines = [line.strip() for line in sent.text.splitlines() if line.strip()] or [""]
    items_only = lines[0].startswith("- ")
    lines[0] = lines[0].lstrip("- ")
    last = lines[-1].rstrip(" .;:,")
    lines[-1] = f"{last} [{sent.n}]."
    indent = "" if items_only else "  "  # items of a list without lead-in stay siblings
    return "\n".join([lines[0]] + [f"{indent}{line}" for line in lines[1:]])


def extractive_text(selected: list[Sentence]) -> str:
    """The selected sentences, cited, grouped per source."""
    if not selected:
        return guard.NOT_IN_SOURCES
    parts = [cited_unit(sent) for sent in selected]
    if len(parts) <= 2 and not any("\n" in p for p in parts):
        return " ".join(parts)
    return "\n".join(f"- {p}" for p in parts)


def with_supporting_quotes(text: str, selected: list[Sentence]) -> str:
    """The model's verified answer plus the selected evidence it did not already cover.

    A small model often paraphrases one sentence and misses the one with the
    figure; the quotes below its answer keep the reply complete and checkable.
    """
    extra = [s for s in selected if support(s.text, text) < 0.85]  # only near-verbatim use makes a quote redundant
    if not extra:
        return text
    quotes = "\n".join(f"- {cited_unit(s)}" for s in extra)
    return f"{text}\n\nUit de bronnen:\n{quotes}"


def draft_reply(answer: Answer, sender_name: str | None, gemeente: str | None) -> str:
    """A formal Dutch e-mail around the verified answer, with a Bronnen list."""
    name = (sender_name or "").strip()
    greeting = f"Geachte {name}," if name else "Geachte heer, mevrouw,"
    about = f" namens de gemeente {gemeente.strip()}" if gemeente and gemeente.strip() else ""
    lines = [greeting, "", f"Hartelijk dank voor uw vraag{about} over het Nationaal Programma Onderwijs."]
    if answer.abstained:
        lines += [
            "",
            "Op basis van de officiële bronnen waarover wij beschikken, kunnen wij uw vraag helaas niet "
            "beantwoorden. " + ("" if answer.reason.startswith(("injection", "out_of_scope")) else
            "Wij raden u aan contact op te nemen met de online helpdesk van het Nationaal Programma Onderwijs."),
        ]
    else:
        lines += ["", answer.text]
        cited = {c.n: c for c in answer.citations}
        if cited:
            lines += ["", "Bronnen"]
            for n in sorted(cited):
                c = cited[n]
                section = f", {c.section}" if c.section and c.section != c.title else ""
                lines.append(f"[{n}] {c.title}{section} ({c.source})")
    lines += [
        "",
        "Wij hopen u hiermee voldoende te hebben geïnformeerd.",
        "",
        "Met vriendelijke groet,",
        "",
        "Helpdesk Nationaal Programma Onderwijs",
    ]
    return "\n".join(lines)
