"""The Crawler: writes search queries for a user query and picks the sections of a paper worth following.

Both sessions use PaSa's exact prompts. The reply is started with PaSa's own tag (`[Search]` /
`[Expand]`) so that small untuned models continue in format; a fine-tuned pasa-7b-crawler would
have produced the same tag anyway. Replies are parsed tolerantly and bounded; search queries pass the
query cleaner (engine/agent/query_cleaner.py), so only search strings leave the Crawler.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.agent import prompts
from engine.agent.query_cleaner import clean_queries, reply_items
from engine.agent.settings import AgentSettings
from engine.models.base import ChatModel, ModelInfo, user_message
from engine.papers import Paper

# Measured on train.jsonl (benchmarks/crawler_queries.py, RESULTS §1.10): the embedded SmolLM2-135M's
# queries, cleaned, change no recall, so by default ("auto") it writes none and the search is faster.
EMBEDDED_WRITES_QUERIES = False


def is_embedded_crawler(name: str) -> bool:
    """The packaged SmolLM2 model: profile kind `embedded`, or a model/file whose name says SmolLM."""
    low = name.lower()
    return low == "embedded" or "smollm" in low


def crawler_writes_queries_for(settings: AgentSettings, kind: str, name: str = "") -> bool:
    """Whether a search asks the Crawler for queries, from its profile (`kind`, and file or model `name`)."""
    if settings.max_queries == 0 or settings.crawler_queries == "off":
        return False
    if settings.crawler_queries == "on":
        return True
    return EMBEDDED_WRITES_QUERIES or not (kind == "embedded" or is_embedded_crawler(name))


def crawler_writes_queries(settings: AgentSettings, info: ModelInfo) -> bool:
    """Whether a search asks this Crawler model for queries (the loaded model's own name decides "auto")."""
    return crawler_writes_queries_for(settings, info.backend, info.name)


class Crawler:
    def __init__(self, model: ChatModel, settings: AgentSettings) -> None:
        self.model = model
        self.settings = settings

    def search_queries(self, user_query: str) -> list[str]:
        """Up to `max_queries` distinct queries (union over `crawler_samples` sampled sessions). Blocking."""
        limit = self.settings.max_queries
        if limit == 0:
            return []
        items: list[str] = []
        for sample in range(self.settings.crawler_samples):
            reply = self.model.generate(
                user_message(prompts.search_prompt(user_query)),
                max_tokens=self.settings.crawler_max_tokens,
                temperature=0.0 if sample == 0 else 0.8,
                seed=self.settings.seed + sample,
                prefix="[Search]",
            )
            items.extend(reply_items("[Search]" + reply))
        # The question itself runs as the user's query; a Crawler restating it adds nothing.
        question = user_query if self.settings.include_user_query else None
        return clean_queries(items, question, limit=limit * self.settings.crawler_samples)

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
