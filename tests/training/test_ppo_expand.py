"""PPO's expand sessions (PaSa §4.2): a relevant paper with a full text becomes a trajectory of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.fulltext.model import FullText
from engine.papers import Paper
from training.config import parse_config
from training.data import QueryRecord
from training.metrics import MetricsWriter
from training.ppo import CrawlerEnvironment, SessionPPO

pytestmark = pytest.mark.slow


class CitedRetriever:
    """An index that holds exactly the papers a full text cites with an arXiv id."""

    def __init__(self, text: FullText) -> None:
        self.by_id: dict[str, Paper] = {}
        for entry in text.cited_in(text.section_names()):
            arxiv_id = entry.arxiv_id or entry.ids.get("arxiv_id")
            if arxiv_id:
                self.by_id[arxiv_id] = Paper(id=f"arxiv:{arxiv_id}", title=entry.title or arxiv_id, arxiv_id=arxiv_id)

    def search(self, query: str, limit: int) -> list[Paper]:
        return list(self.by_id.values())[:limit]

    def match_title(self, title: str) -> Paper | None:
        return None

    def by_arxiv_id(self, arxiv_id: str) -> Paper | None:
        return self.by_id.get(arxiv_id)


@pytest.fixture(scope="module")
def expandable(unarxive_fixture: Path) -> tuple[Paper, FullText, str]:
    """A real fixture paper, its full text, and a section of it that cites papers with arXiv ids."""
    from engine.fulltext.unarxive import UnarxiveFullTexts

    texts = UnarxiveFullTexts(unarxive_fixture)
    for arxiv_id in texts.ids():
        text = texts.fulltext_sync(arxiv_id)
        paper = texts.paper(arxiv_id)
        if text is None or paper is None:
            continue
        for name in text.section_names():
            if any(e.arxiv_id or e.ids.get("arxiv_id") for e in text.cited_in([name])):
                return paper, text, name
    raise AssertionError("no fixture section cites a paper with an arXiv id")


def test_expand_actions_reward_the_relevant_papers_cited_in_the_chosen_section(
    expandable: tuple[Paper, FullText, str],
) -> None:
    paper, text, section = expandable
    retriever = CitedRetriever(text)
    cited = [e.arxiv_id or e.ids.get("arxiv_id") for e in text.cited_in([section])]
    gold = tuple(a for a in cited if a)
    record = QueryRecord("q", "what does this paper build on", (), gold)
    env = CrawlerEnvironment(retriever, lambda rec, ps: [rec.is_gold(p) for p in ps], 10, 0.1)
    reply = f"[Expand] {section} [Expand] No Such Section [Expand] {section} [StopExpand]"
    ends = list(range(1, len(reply) + 1))  # one "token" per character
    outcomes, opened = env.run_expand(record, text, reply, ends, seen={paper.key})
    assert [o.cost for o in outcomes] == [0.1, 0.1, 0.1, 0.0]
    assert outcomes[0].new_relevant == len(set(gold)) == len(opened)
    assert outcomes[1].new_relevant == 0  # an invented section opens nothing
    assert outcomes[2].new_relevant == 0  # the same section again finds nothing new
    assert len(outcomes[0].child_values) == len(opened)


def test_trainer_rolls_out_and_updates_on_a_real_expand_session(
    tiny_qwen2: Path, tmp_path: Path, expandable: tuple[Paper, FullText, str]
) -> None:
    paper, text, section = expandable
    config = parse_config({
        "job": {"kind": "ppo", "role": "crawler", "smoke": True, "output_dir": str(tmp_path)},
        "model": {"path": str(tiny_qwen2)},
        "ppo": {"max_new_tokens": 16, "expand_sessions": 2},
    })
    record = QueryRecord("q", "what does this paper build on", (), ())
    trainer = SessionPPO(
        config,
        MetricsWriter(tmp_path / "job"),
        CitedRetriever(text),
        lambda _rec, ps: [True] * len(ps),
        lambda p: text if p.key == paper.key else None,
    )
    rollout, _found = trainer.rollout_expand(record, paper, {paper.key})
    assert rollout is not None and rollout.kind == "expand"
    prompt = trainer.tokenizer.decode(rollout.input_ids[0, : rollout.prompt_len])
    assert section in prompt  # the Crawler sees the paper's real section names
    assert len(rollout.returns) == len(rollout.advantages) == rollout.input_ids.shape[1] - rollout.prompt_len
    stats = trainer.update([rollout], policy_on=True)
    assert all(v == v for v in stats.values())  # finite, not NaN
    no_text = Paper(id="x", title="A paper without a full text")
    assert trainer.rollout_expand(record, no_text, set()) == (None, [])
    sessions = trainer.rollout(record)
    assert sessions[0].kind == "search" and all(s.kind == "expand" for s in sessions[1:])
    assert len(sessions) <= 1 + config.ppo.expand_sessions


def test_value_only_warmup_leaves_the_policy_unchanged(tiny_qwen2: Path, tmp_path: Path) -> None:
    """The value head shares the policy's trunk: during warm-up its loss must not move the policy."""
    import torch

    config = parse_config({
        "job": {"kind": "ppo", "role": "crawler", "smoke": True, "output_dir": str(tmp_path)},
        "model": {"path": str(tiny_qwen2)},
        "ppo": {"max_new_tokens": 16, "learning_rate": 1e-2},
    })
    retriever = CitedRetriever.__new__(CitedRetriever)
    retriever.by_id = {}
    trainer = SessionPPO(config, MetricsWriter(tmp_path / "job"), retriever, lambda _r, ps: [True] * len(ps))
    (rollout,) = trainer.rollout(QueryRecord("q", "graph networks for molecules", (), ()))
    rollout.returns = torch.ones_like(rollout.returns)  # something for the value head to learn
    before = [p.detach().clone() for p in trainer.model.policy.parameters()]
    head_before = trainer.model.head.weight.detach().clone()
    trainer.update([rollout], policy_on=False)
    assert all(torch.equal(a, p) for a, p in zip(before, trainer.model.policy.parameters(), strict=True))
    assert not torch.equal(head_before, trainer.model.head.weight)  # the value head did learn
    trainer.update([rollout], policy_on=True)
    assert any(not torch.equal(a, p) for a, p in zip(before, trainer.model.policy.parameters(), strict=True))
