"""A scripted search with a calibrated Selector, for the explanation and calibrated-plot tests.

Like scripted_search.py, events are recorded into the real library before the window sees them; here
the papers have varied, real-style abstracts and are scored by `KeywordRelevance`, a scripted
probability model that the window's explanation then ablates (the same model, so the scores agree).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence

from engine.events import (
    Event,
    FoundBy,
    PaperScored,
    PapersFound,
    QueryIssued,
    SearchFinished,
    SearchStarted,
    SearchStatus,
)
from engine.papers import Paper
from pasa_desktop.gui_controller import SearchRequest
from pasa_desktop.library import Library
from pasa_testing.scripted import ScriptedModel

QUERY = "coded computation against stragglers in distributed training, not gradient accumulation"
THRESHOLD = 0.3

PAPERS = (
    ("Gradient Coding: Avoiding Stragglers in Distributed Learning",
     "We propose a novel coding theoretic framework for mitigating stragglers in distributed learning. "
     "We show how carefully replicating data blocks and coding across gradients can provide tolerance to "
     "failures and stragglers for synchronous gradient descent. We implement our schemes in Python using MPI "
     "on Amazon EC2. Our image benchmarks are secondary and we do not tune them."),
    ("Speeding Up Distributed Machine Learning Using Codes",
     "Codes are widely used in many engineering applications to offer robustness against noise. "
     "In large-scale systems there are several types of noise that can affect the performance of "
     "distributed machine learning algorithms, such as straggler nodes and communication bottlenecks. "
     "We show that coded computation can speed up distributed matrix multiplication and data shuffling."),
    ("Gradient Accumulation for Large Batch Training on a Single GPU",
     "Gradient accumulation lets a single device emulate a large batch by summing gradients over several "
     "micro-batches before an update. We study its effect on convergence for image classification. "
     "We find that accumulation matches large-batch training when the learning rate is scaled."),
    ("Neural Motifs: Scene Graph Parsing with Global Context",
     "We investigate the problem of producing structured graph representations of visual scenes. "
     "Our work analyzes the role of motifs: regularly appearing substructures in scene graphs. "
     "We present new quantitative insights on such repeated structures in the Visual Genome dataset."),
    ("Coded Distributed Computing for Straggler Mitigation in Training",
     "Stragglers slow down synchronous distributed training. We design coded computation schemes that "
     "let the master recover the full gradient from any subset of workers. Experiments on a cluster show "
     "training time reduced by 40 percent compared to uncoded replication."),
    ("Asynchronous Stochastic Gradient Descent with Delay Compensation",
     "Asynchronous training avoids waiting for slow workers but suffers from delayed gradients. "
     "We compensate the delay with a Taylor expansion of the gradient. The method is evaluated on "
     "image classification benchmarks with many workers."),
)
STOP = {"in", "not", "against", "the", "a", "of", "for"}


class KeywordRelevance(ScriptedModel):
    """A scripted probability Selector (the relevance model's `probabilities` interface): +0.13 per
    question word in the paper, −0.2 when the paper is about images or accumulation. Not for results."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(name="keyword-relevance", delay_s=delay_s)
        self.batches: list[int] = []

    def probabilities(self, triples: Sequence[tuple[str, str, str]]) -> list[float]:
        self.batches.append(len(triples))
        if self._delay:
            time.sleep(self._delay)
        out = []
        for query, title, abstract in triples:
            words = set(re.findall(r"[a-z]+", query.lower())) - STOP
            text = set(re.findall(r"[a-z]+", f"{title} {abstract}".lower()))
            p = 0.02 + 0.13 * len(words & text) - 0.2 * bool(text & {"image", "accumulation"})
            out.append(round(min(0.97, max(0.01, p)), 4))
        return out


def papers() -> list[Paper]:
    return [Paper(id=f"cal:{i}", title=t, abstract=a, authors=("Ada Lovelace", "Alan Turing"), year=2017 + i,
                  venue="NeurIPS", arxiv_id=f"1612.{3301 + i:05d}", source="local")
            for i, (t, a) in enumerate(PAPERS)]


class CalibratedSearch:
    """A `StreamFactory`: one query, six papers, scores from `model`, the run's rule in SearchStarted."""

    def __init__(self, library: Library, model: KeywordRelevance, *, calibrated: bool = True) -> None:
        self.library = library
        self.model = model
        self.calibrated = calibrated

    def settings(self) -> dict[str, object]:
        if self.calibrated:
            return {"select_rule": "threshold", "select_threshold": THRESHOLD, "selector_calibrated": True}
        return {"select_rule": "top_unrejected", "select_threshold": 0.5, "select_k": 1}

    async def __call__(self, request: SearchRequest, cancel: asyncio.Event) -> AsyncIterator[tuple[int, Event]]:
        t0 = time.monotonic()
        run_id = await asyncio.to_thread(self.library.create_run, request.query, {"preset": request.preset})
        found = papers()
        scores = self.model.probabilities([(request.query, p.title, p.abstract) for p in found])
        events: list[Event] = [
            SearchStarted(query=request.query, settings=self.settings()),
            QueryIssued(request.query, origin="user"),
            PapersFound(tuple(found), tuple(FoundBy("query", query=request.query, rank=k + 1, source="local")
                                            for k in range(len(found)))),
        ]
        for paper, score in zip(found, scores, strict=True):
            selected = score > THRESHOLD if self.calibrated else score == max(scores)
            events.append(PaperScored(paper.key, score, selected))
        events.append(SearchFinished(SearchStatus.DONE, seconds=time.monotonic() - t0))
        for event in events:
            await asyncio.to_thread(self.library.record, run_id, event)
            yield run_id, event
            await asyncio.sleep(0)
