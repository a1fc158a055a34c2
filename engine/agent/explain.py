"""Why the Selector scored a paper as it did, in seconds and in words a reader can check.

Two routes, chosen by what the Selector is:

- A model that gives a probability for (query, title, abstract) — the trained relevance model, the
  cross-encoder — is explained by **ablation**: the paper is scored again with each abstract sentence
  removed, with the title removed, and with each word it shares with the question struck out, all in
  one batched call. A sentence whose removal lowers the score supports the paper; one whose removal raises
  it opposes. Nothing is generated, so nothing can be invented, and it costs one batch (~20 texts).
- An LLM Selector gives its **generated reason** (PaSa's second pass, `Selector.reason`). Small models
  often answer with their own prompt ("Searched Paper: Title: … Output format: Decision: True/False");
  such a reply, or an empty one, is never shown: the result says the model cannot explain its scores.

Pure Python (no Qt); the window renders an `Explanation`, the library stores its `text()`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.agent.ranking import is_embedded_selector
from engine.agent.selector import Selector
from engine.models.base import ChatModel
from engine.models.score_meaning import CALIBRATED_SCORE
from engine.papers import Paper
from engine.sources.local_index import query_terms

# (query, [(title, abstract), ...]) -> one probability per paper, in order. One call per explanation.
ScoreFn = Callable[[str, list[tuple[str, str]]], list[float]]

# One batch = 2 + sentences + shared words texts; the relevance model reads ~10 texts a second on 2 busy
# cores, so the batch is kept near 20 for a normal abstract (8-10 sentences).
MAX_TERMS = 8
MAX_SENTENCES = 16
# Effects smaller than this are noise for a reader (scores are shown to two decimals).
NOTABLE = 0.005


class ExplanationKind(StrEnum):
    ABLATION = "ablation"  # sentences and terms measured by removing them
    GENERATED = "generated"  # an LLM's own reason
    UNAVAILABLE = "unavailable"  # the model cannot explain (echoed its prompt, said nothing, …)


@dataclass(frozen=True, slots=True)
class SentenceEffect:
    """One abstract sentence and how much the score drops without it (negative: it rises)."""

    start: int  # character offsets in Explanation.abstract
    end: int
    text: str
    effect: float


@dataclass(frozen=True, slots=True)
class TermEffect:
    """A word the paper shares with the question, and how much the score drops with it struck from the paper."""

    term: str  # as the question spells it
    effect: float


@dataclass(frozen=True, slots=True)
class Explanation:
    kind: ExplanationKind
    score: float | None  # the Selector's probability for the paper as read (None: not measured here)
    abstract: str = ""  # the abstract as the Selector read it (sentence offsets refer to this text)
    title_effect: float | None = None
    sentences: tuple[SentenceEffect, ...] = ()
    terms: tuple[TermEffect, ...] = ()
    missing_terms: tuple[str, ...] = ()  # question words the paper never uses (not measured: nothing to remove)
    reason: str = ""  # the LLM's reason, or why there is no explanation
    model: str = ""
    seconds: float = 0.0

    def supporting_terms(self, n: int = 6) -> list[TermEffect]:
        """The shared words that raise this paper's score most, strongest first."""
        good = [t for t in self.terms if t.effect >= NOTABLE]
        return sorted(good, key=lambda t: -t.effect)[:n]

    def opposing_terms(self, n: int = 4) -> list[TermEffect]:
        """Shared words whose presence in the paper lowers its score."""
        bad = [t for t in self.terms if t.effect <= -NOTABLE]
        return sorted(bad, key=lambda t: t.effect)[:n]

    def text(self) -> str:
        """A plain-text reason: what the library stores and exports with the paper."""
        if self.kind is not ExplanationKind.ABLATION:
            return self.reason
        parts = [f"{CALIBRATED_SCORE} {self.score:.2f}." if self.score is not None else ""]
        ranked = sorted(self.sentences, key=lambda s: -s.effect)
        best = [s for s in ranked if s.effect >= NOTABLE][:2]
        worst = [s for s in reversed(ranked) if s.effect <= -NOTABLE][:1]
        for label, group in (("Supports it", best), ("Counts against it", worst)):
            if group:
                quoted = "; ".join(f"“{_clip(s.text)}” ({s.effect:+.2f})" for s in group)
                parts.append(f"{label}: {quoted}.")
        if self.title_effect is not None and abs(self.title_effect) >= NOTABLE:
            parts.append(f"The title {'adds' if self.title_effect > 0 else 'takes away'} "
                         f"{abs(self.title_effect):.2f}.")
        if not best and not worst:
            parts.append("No single sentence changes the score by 0.01 or more.")
        idle = sum(1 for s in self.sentences if s.effect == 0.0)
        if idle and len(self.sentences) > 1:
            parts.append(f"{idle} of {len(self.sentences)} sentences do not change the score at all.")
        good, bad = self.supporting_terms(), self.opposing_terms()
        if good:
            parts.append("Key terms: " + ", ".join(f"{t.term} ({t.effect:+.2f})" for t in good) + ".")
        if bad:
            parts.append("Shared words that lower it: " + ", ".join(f"{t.term} ({t.effect:+.2f})" for t in bad) + ".")
        if self.missing_terms:
            parts.append("Not in the paper: " + ", ".join(self.missing_terms[:8]) + ".")
        parts.append("(Measured by scoring the paper again without each sentence and each shared word.)")
        return " ".join(p for p in parts if p)


# -- ablation --------------------------------------------------------------------------------------

# A sentence ends at . ! or ? followed by space and a capital, digit or bracket; common abbreviations
# ("e.g.", "et al.", "Fig.") and decimals do not end one.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9(\[\"'])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "fig.", "figs.", "eq.", "eqs.", "vs.", "cf.", "resp.",
                  "sec.", "ref.", "refs.", "approx.", "no.", "dr.", "prof.", "mr.", "ms.", "st.")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of `text`, whitespace between them excluded."""
    spans: list[tuple[int, int]] = []
    start = len(text) - len(text.lstrip())
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()].lower()
        if head.endswith(_ABBREVIATIONS) or re.search(r"\b[a-z]\.$", head):  # "et al." or an initial
            continue
        end = match.start()
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _without(text: str, spans: Sequence[tuple[int, int]], drop: int) -> str:
    return " ".join(text[s:e] for i, (s, e) in enumerate(spans) if i != drop)


def _clip(text: str, limit: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def _drop_term(text: str, stem: str) -> str:
    """`text` without every word whose stem is `stem` ("stragglers" and "straggler" alike)."""
    out = _WORD.sub(lambda m: "" if word_stem(m.group(0).lower()) == stem else m.group(0), text)
    return " ".join(out.split())


_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ed", "es", "e", "s")


def word_stem(word: str) -> str:
    """Enough to match "stragglers" with "straggler", "coded" with "coding" and "compute" with
    "computation" (all to a common stem of three letters or more); not a real stemmer."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def paper_stems(title: str, abstract: str) -> set[str]:
    return {word_stem(w) for w in query_terms(f"{title} {abstract}", keep_stopwords=True)}


def explain_by_ablation(
    score: ScoreFn,
    query: str,
    title: str,
    abstract: str,
    *,
    model: str = "",
    max_terms: int = MAX_TERMS,
) -> Explanation:
    """Score the paper, then again without each sentence, without its title, and without each word it
    shares with the question — all in one call of `score`, so a batched model pays one batch."""
    t0 = time.monotonic()
    spans = split_sentences(abstract)[:MAX_SENTENCES]
    if len(spans) == MAX_SENTENCES:  # a very long abstract: the tail is one last "sentence"
        spans[-1] = (spans[-1][0], len(abstract.rstrip()))
    stems = paper_stems(title, abstract)
    words = query_terms(query)
    shared = [w for w in words if word_stem(w) in stems]
    # Longer words first when there are too many: "stragglers" says more than "use".
    keep = set(sorted(shared, key=len, reverse=True)[:max_terms])
    shared = [w for w in shared if w in keep]
    missing = tuple(w for w in words if word_stem(w) not in stems)
    texts: list[tuple[str, str]] = [(title, abstract), ("", abstract)]
    ablate_sentences = len(spans) > 1
    if ablate_sentences:
        texts += [(title, _without(abstract, spans, i)) for i in range(len(spans))]
    term_at = len(texts)
    texts += [(_drop_term(title, word_stem(w)), _drop_term(abstract, word_stem(w))) for w in shared]
    probs = [float(p) for p in score(query, texts)]
    if len(probs) != len(texts):
        raise ValueError(f"the scoring function returned {len(probs)} scores for {len(texts)} texts")
    full = probs[0]
    sentences = tuple(
        SentenceEffect(s, e, abstract[s:e], full - probs[2 + i] if ablate_sentences else 0.0)
        for i, (s, e) in enumerate(spans)
    )
    terms = tuple(TermEffect(w, full - probs[term_at + i]) for i, w in enumerate(shared))
    return Explanation(
        kind=ExplanationKind.ABLATION,
        score=full,
        abstract=abstract,
        title_effect=full - probs[1] if title.strip() else None,
        sentences=sentences,
        terms=terms,
        missing_terms=missing,
        model=model,
        seconds=time.monotonic() - t0,
    )


# -- generated reasons -----------------------------------------------------------------------------

# Fixed parts of PaSa's Selector prompt: any of them in a reply means the model is repeating its input.
_PROMPT_MARKERS = tuple(
    m.lower()
    for m in (
        "Searched Paper:",
        "Output format:",
        "User Query:",
        "Decision: True/False",
        "Reason:...",
        "You are an elite researcher",
        "Evaluate whether the following paper",
        "Ensure that your decision and reasoning are consistent",
        "Abstract:",
    )
)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def has_prompt_labels(text: str) -> bool:
    """True when `text` carries the Selector prompt's own labels ("Searched Paper:", "Output format:", …)."""
    low = _norm(text)
    return any(marker in low for marker in _PROMPT_MARKERS)


def is_prompt_echo(reply: str, query: str, title: str, abstract: str) -> bool:
    """True when `reply` is (part of) the Selector prompt or the paper repeated back, or says nothing.

    A real reason talks about the paper in the model's own words: a few words at least, none of the
    prompt's labels, more than the title, and not the paper copied out (the abstract's first 160
    characters, two of its sentences, or the title with one of them), and no sentence said three
    times. Quoting one sentence is still a reason.
    """
    text = re.sub(r"^(reason\s*:\s*)", "", _norm(reply))
    if len(re.findall(r"[a-z0-9]+", text)) < 4 or has_prompt_labels(text):
        return True
    title_n = _norm(title)
    has_title = len(title_n) >= 12 and title_n in text
    if has_title and len(text.replace(title_n, "").split()) < 4:  # the title alone is not a reason
        return True
    abstract_n = _norm(abstract)
    if len(abstract_n) >= 160 and abstract_n[:160] in text:  # longer than one quoted sentence
        return True
    copied = sum(1 for s, e in split_sentences(abstract) if len(_norm(abstract[s:e])) >= 60
                 and _norm(abstract[s:e]) in text)
    if copied >= 2 or (copied and has_title):
        return True
    # The question copied whole, more than once, is the prompt's shape, not an answer.
    query_n = _norm(query)
    if len(query_n) >= 30 and text.count(query_n) >= 2:
        return True
    return is_degenerate(text)


def is_degenerate(text: str) -> bool:
    """A reply stuck in a loop: one sentence said three times or more ("The user's request was met."
    fourteen times is what SmolLM2-135M gives, measured). Such text explains nothing."""
    sentences = [_norm(s).strip(" .") for s in re.split(r"(?<=[.!?])\s+", text)]
    counts: dict[str, int] = {}
    for sentence in sentences:
        if len(sentence) >= 12:
            counts[sentence] = counts.get(sentence, 0) + 1
    return any(n >= 3 for n in counts.values())


CANNOT_EXPLAIN = (
    "This model cannot explain its scores: asked for a reason, it repeated its instructions, the paper or "
    "itself instead of giving one. Its score is still shown; a trained relevance model (the default Selector) "
    "highlights the sentences that drive its score."
)

EMBEDDED_CANNOT_EXPLAIN = (
    "This model cannot explain its scores: the small embedded model (SmolLM2-135M) answers requests for "
    "a reason by repeating itself or its instructions, and its scores do not tell relevant papers from "
    "others. The relevance Selector, once prepared, explains each score by highlighting the sentences "
    "that drive it."
)


def explain_generated(reply: str, *, query: str, title: str, abstract: str, score: float | None,
                      model: str = "", seconds: float = 0.0) -> Explanation:
    """An LLM's reason, or "cannot explain" when the reply is an echo of its prompt or empty."""
    if is_prompt_echo(reply, query, title, abstract):
        return Explanation(ExplanationKind.UNAVAILABLE, score, abstract=abstract, reason=CANNOT_EXPLAIN,
                           model=model, seconds=seconds)
    reason = re.sub(r"^\s*reason\s*:\s*", "", reply.strip(), flags=re.IGNORECASE)
    return Explanation(ExplanationKind.GENERATED, score, abstract=abstract, reason=reason, model=model,
                       seconds=seconds)


# -- choosing the route ----------------------------------------------------------------------------


def scorer_for(model: Any) -> ScoreFn | None:
    """A batch scoring callable for a Selector model that gives probabilities directly, else None (an LLM)."""
    # The relevance model (`probabilities`) and the cross-encoder (`score_pairs`) both take
    # [(query, title, abstract)] and return one probability each, in one batch.
    for name in ("probabilities", "score_pairs"):
        batch: Callable[[list[tuple[str, str, str]]], Sequence[float]] | None = getattr(model, name, None)
        if callable(batch):
            return _batch_scorer(batch)
    return None


def _batch_scorer(batch: Callable[[list[tuple[str, str, str]]], Sequence[float]]) -> ScoreFn:
    def score(query: str, papers: list[tuple[str, str]]) -> list[float]:
        return [float(p) for p in batch([(query, t, a) for t, a in papers])]

    return score


def explain_paper(
    model: ChatModel,
    query: str,
    title: str,
    abstract: str,
    *,
    decision: bool,
    score: float | None = None,
    abstract_chars: int = 1500,
) -> Explanation:
    """Explain `model`'s score for this paper: ablation when it gives probabilities directly, else its
    generated reason (checked for prompt echoes). Blocking; call it from a worker thread."""
    abstract = abstract[:abstract_chars]  # what the Selector read during the search
    scorer = scorer_for(model)
    if scorer is not None:
        return explain_by_ablation(scorer, query, title, abstract, model=model.info.name)
    if is_embedded_selector(model.info):
        # Measured, not assumed: asked for reasons, SmolLM2-135M looped one sentence or echoed its prompt,
        # taking 22-160 s on 2 busy cores, and its scores do not discriminate (AUC 0.50 on labelled
        # pairs). Waiting a minute for that helps no one; say so at once.
        return Explanation(ExplanationKind.UNAVAILABLE, score, abstract=abstract, reason=EMBEDDED_CANNOT_EXPLAIN,
                           model=model.info.name)
    t0 = time.monotonic()
    selector = Selector(model, abstract_chars=abstract_chars)
    reply = selector.reason(query, Paper(id="explain", title=title, abstract=abstract), decision=decision)
    return explain_generated(reply, query=query, title=title, abstract=abstract, score=score,
                             model=model.info.name, seconds=time.monotonic() - t0)
