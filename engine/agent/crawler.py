"""The Crawler: writes search queries for a user query and picks the sections of a paper worth following.

Both sessions use PaSa's exact prompts. The reply is started with PaSa's own tag (`[Search]` /
`[Expand]`) so that small untuned models continue in format; a fine-tuned pasa-7b-crawler would
have produced the same tag anyway. Replies are parsed tolerantly and bounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.agent import prompts
from engine.agent.settings import AgentSettings
from engine.models.base import ChatModel, user_message
from engine.papers import Paper

_REPEAT = re.compile(r"\b(\w+(?:\s+\w+){0,5})(?:\s+\1){2,}", re.IGNORECASE)


def _useful(query: str, user_query: str) -> bool:
    """Drop degenerate model output: prompt echoes, endless repeats, no content words."""
    low = query.lower()
    if _REPEAT.search(low):
        return False
    if "mutually exclusive" in low or "user query" in low or low.startswith(("a:", "q:")):
        return False
    return len(re.findall(r"[a-z]{3,}", low)) >= 2


class Crawler:
    def __init__(self, model: ChatModel, settings: AgentSettings) -> None:
        self.model = model
        self.settings = settings

    def search_queries(self, user_query: str) -> list[str]:
        """Up to `max_queries` distinct queries (union over `crawler_samples` sampled sessions). Blocking."""
        limit = self.settings.max_queries
        if limit == 0:
            return []
        queries: list[str] = []
        seen: set[str] = set()
        for sample in range(self.settings.crawler_samples):
            reply = self.model.generate(
                user_message(prompts.search_prompt(user_query)),
                max_tokens=self.settings.crawler_max_tokens,
                temperature=0.0 if sample == 0 else 0.8,
                seed=self.settings.seed + sample,
                prefix="[Search]",
            )
            for query in prompts.parse_search_queries("[Search]" + reply, limit=limit * 2):
                key = query.lower()
                if key in seen or not _useful(query, user_query):
                    continue
                seen.add(key)
                queries.append(query)
        return queries[: limit * self.settings.crawler_samples]

    def choose_sections(self, user_query: str, paper: Paper, sections: Sequence[str]) -> list[str]:
        """Sections of `paper` to expand, each one of `sections`. Blocking."""
        if not sections:
            return []
        reply = self.model.generate(
            user_message(prompts.expand_prompt(user_query, paper.title, paper.abstract, sections)),
            max_tokens=self.settings.crawler_max_tokens,
            temperature=0.0,
            seed=self.settings.seed,
            prefix="[Expand]",
        )
        return prompts.parse_expand_sections("[Expand]" + reply, sections, self.settings.sections_per_paper)
