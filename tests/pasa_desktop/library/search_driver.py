"""Run a real search (engine loop, offline index, scripted models) recording every event into a library.

Used by the crash test as a subprocess: after each event is committed it prints a line
(`FOUND <key>`, `SCORED <key> <score>`), so the parent knows exactly what was reported before it
kills the process. `--resume RUN` continues an interrupted run from its logged events.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from pathlib import Path

from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.events import PaperScored, PapersFound
from engine.sources.local_index import LocalIndex
from pasa_desktop.library import open_library
from pasa_testing.scripted import ScriptedModel

QUERIES = (
    "[Search] coded computation stragglers\n[Search] gradient coding distributed learning\n"
    "[Search] large language model agents\n[Search] graph neural networks\n[StopSearch]"
)


def score(prompt: str) -> float:
    return int(hashlib.sha256(prompt.encode()).hexdigest()[:4], 16) / 0xFFFF


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", required=True)
    parser.add_argument("--library", required=True)
    parser.add_argument("--resume", type=int)
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args()
    library = open_library(Path(args.library))
    settings = AgentSettings(max_queries=4, results_per_query=15, expand_layers=0, score_top=200, max_seconds=120)
    query = "papers that use coded computation against stragglers in distributed training"
    resume = []
    if args.resume is not None:
        run_id = args.resume
        resume = library.run_events(run_id)
    else:
        run_id = library.create_run(query, settings.model_dump(mode="json"))
    print(f"RUN {run_id}", flush=True)
    crawler = ScriptedModel(lambda _p: QUERIES.removeprefix("[Search]"), delay_s=args.delay)
    selector = ScriptedModel(scorer=score, delay_s=args.delay)
    deps = SearchDeps(crawler_model=crawler, selector_model=selector, sources=[LocalIndex(Path(args.index))])
    async for event in run_search(query, settings, deps, resume=resume):
        library.record(run_id, event)
        # Printed only after the commit: what the parent sees is what the library must hold.
        if isinstance(event, PapersFound):
            for paper in event.papers:
                print(f"FOUND {paper.key}", flush=True)
        elif isinstance(event, PaperScored):
            print(f"SCORED {event.key} {event.score!r}", flush=True)
    library.close()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
