"""Session-level PPO for the Crawler (PaSa §4.2) on stock torch + transformers (+ peft for LoRA).

Each step rolls out the search session for a few user queries, runs every `[Search]` action against
the offline index, rewards new relevant papers (gold, or Selector > 0.5), bootstraps with the value of
the expand session each new relevant paper opens, penalises KL to the frozen SFT policy, and makes
`ppo_epochs` clipped-surrogate passes. The first `warmup_steps` steps train the value head only.

Expand sessions are trajectories of their own, as in PaSa: for up to `expand_sessions` new relevant
papers whose full text is at hand (`[data] fulltext`, e.g. an unarXive JSON-lines file), the Crawler
sees the paper's section names, each `[Expand] section` action adds the papers cited there (resolved
in the index by arXiv id, then by title) and is rewarded like a search action. Without a full text,
a paper's expand state is still valued (with no sections) for the search session's bootstrap.
The arithmetic lives in training/returns.py; this module is the model plumbing.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from engine.agent.prompts import expand_prompt, parse_expand_sections, search_prompt, selector_prompt
from engine.errors import InputError
from engine.fulltext.model import FullText
from engine.papers import Paper
from training.config import JobConfig
from training.data import IndexRetriever, QueryRecord, Retriever, read_queries
from training.faults import check_finite
from training.metrics import CHECKPOINTS_DIR, MetricsWriter, gpu_memory_gb
from training.returns import ActionOutcome, advantages, parse_actions, session_returns, token_index_for_char, whiten
from training.sft import library_deprecations, load_causal_lm, pick_dtype

VALUE_HEAD_FILE = "value_head.pt"
RelevanceFn = Callable[[QueryRecord, list[Paper]], list[bool]]
FullTextFn = Callable[[Paper], FullText | None]


@dataclass
class Rollout:
    query: QueryRecord
    input_ids: Any  # 1-D tensor: prompt + reply
    prompt_len: int
    old_logprobs: Any  # reply tokens
    returns: Any
    advantages: Any
    reward: float  # environment reward of the session (α·relevant − costs)
    kl: float  # Σ_t log π − log π_sft over the reply
    relevant: int
    kind: str = "search"  # "search" | "expand"


class CrawlerEnvironment:
    """The search environment of one user query: a queue of papers seen so far and a relevance judge."""

    def __init__(self, retriever: Retriever, relevance: RelevanceFn, results_per_query: int, cost: float) -> None:
        self.retriever = retriever
        self.relevance = relevance
        self.k = results_per_query
        self.cost = cost

    def run(self, record: QueryRecord, reply: str, token_ends: list[int]) -> tuple[list[ActionOutcome], list[Paper]]:
        """Execute the reply's actions; returns each action's outcome and the new relevant papers per action."""
        seen: set[str] = set()
        outcomes: list[ActionOutcome] = []
        opened: list[Paper] = []
        for action in parse_actions(reply):
            end_token = token_index_for_char(token_ends, action.end)
            if action.kind == "stop":
                outcomes.append(ActionOutcome(end_token=end_token, cost=0.0))
                continue
            papers = self.retriever.search(action.argument, self.k) if action.argument else []
            outcomes.append(self._outcome(record, papers, seen, opened, end_token))
        return outcomes, opened

    def _outcome(
        self, record: QueryRecord, papers: list[Paper], seen: set[str], opened: list[Paper], end_token: int
    ) -> ActionOutcome:
        """One paid action that brought `papers`: those new to `seen` and relevant are rewarded and opened."""
        new = [p for p in papers if p.key not in seen]
        seen.update(p.key for p in new)
        flags = self.relevance(record, new) if new else []
        relevant = [p for p, ok in zip(new, flags, strict=True) if ok]
        opened.extend(relevant)
        outcome = ActionOutcome(end_token=end_token, new_relevant=len(relevant), cost=self.cost)
        outcome.child_values = [0.0] * len(relevant)  # filled with V(S_{q+p}) by the trainer
        return outcome

    def resolve(self, fulltext: FullText, section: str) -> list[Paper]:
        """Papers cited in `section` that the index holds: by arXiv id first, then by title."""
        papers: list[Paper] = []
        for entry in fulltext.cited_in([section]):
            arxiv_id = entry.arxiv_id or entry.ids.get("arxiv_id") or ""
            paper = self.retriever.by_arxiv_id(arxiv_id) if arxiv_id else None
            if paper is None and entry.title:
                paper = self.retriever.match_title(entry.title)
            if paper is not None:
                papers.append(paper)
        return papers

    def run_expand(
        self, record: QueryRecord, fulltext: FullText, reply: str, token_ends: list[int], seen: set[str]
    ) -> tuple[list[ActionOutcome], list[Paper]]:
        """Execute an expand session's `[Expand] section` actions; `seen` holds the papers already queued."""
        names = fulltext.section_names()
        outcomes: list[ActionOutcome] = []
        opened: list[Paper] = []
        for action in parse_actions(reply):
            end_token = token_index_for_char(token_ends, action.end)
            if action.kind != "expand":  # a stop is free; a [Search] in an expand session is a wasted action
                outcomes.append(ActionOutcome(end_token=end_token, cost=0.0 if action.kind == "stop" else self.cost))
                continue
            chosen = parse_expand_sections(f"[Expand]{action.argument}", names, 1)
            papers = self.resolve(fulltext, chosen[0]) if chosen else []
            outcomes.append(self._outcome(record, papers, seen, opened, end_token))
        return outcomes, opened


def make_relevance(selector_profile: str, config: JobConfig) -> RelevanceFn:
    """I(q, p): gold, or the Selector (any backend profile) says P(True) > 0.5."""
    selector = None
    if selector_profile:
        from engine.models.base import user_message
        from engine.models.profiles import ModelProfile, load_model

        path = config.resolve(selector_profile)
        try:
            text = path.read_text(encoding="utf-8")
            raw = json.loads(text) if path.suffix == ".json" else __import__("tomllib").loads(text)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the Selector profile {path}: {exc}") from exc
        selector = load_model(ModelProfile.model_validate(raw))

    def relevance(record: QueryRecord, papers: list[Paper]) -> list[bool]:
        flags = [record.is_gold(p) for p in papers]
        if selector is not None:
            todo = [i for i, f in enumerate(flags) if not f]
            prompts = [user_message(selector_prompt(record.question, papers[i].title, papers[i].abstract)) for i in todo]
            for i, prob in zip(todo, selector.true_probabilities(prompts) if prompts else [], strict=True):
                flags[i] = prob > 0.5
        return flags

    return relevance


class ValueModel:
    """The policy with a scalar value head on its last hidden state (shared trunk, as in PaSa's trl fork)."""

    def __init__(self, policy: Any, dtype: Any) -> None:
        import torch

        hidden = policy.config.hidden_size
        self.policy = policy
        self.head = torch.nn.Linear(hidden, 1).to(device=policy.device, dtype=torch.float32)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        self.dtype = dtype

    def forward(self, input_ids: Any, *, trunk_grad: bool = True) -> tuple[Any, Any]:
        """(log-probs of each next token under the policy, value of each position), for a [1, T] batch.

        trunk_grad=False trains the value head alone: during the value-only warm-up the value loss must
        not reach the shared trunk, or it moves the policy (measured: KL to the SFT policy rose from 0 to
        1.5 over 5 warm-up steps before this)."""
        import torch

        out = self.policy(input_ids=input_ids, output_hidden_states=True)
        logits = out.logits[:, :-1].float()
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, input_ids[:, 1:, None])[..., 0]
        hidden = out.hidden_states[-1].float()
        values = self.head(hidden if trunk_grad else hidden.detach())[..., 0]
        return logprobs, values

    def values_of(self, input_ids: Any) -> Any:
        import torch

        with torch.no_grad():
            return self.forward(input_ids)[1]


def _ref_logprobs(ref: Any, input_ids: Any) -> Any:
    import torch

    with torch.no_grad():
        logits = ref(input_ids=input_ids).logits[:, :-1].float()
        return torch.log_softmax(logits, dim=-1).gather(-1, input_ids[:, 1:, None])[..., 0]


def _chat_ids(tokenizer: Any, content: str, device: Any) -> Any:
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )["input_ids"]
    return ids.to(device)


def _token_ends(tokenizer: Any, reply_ids: list[int]) -> list[int]:
    """Characters of decoded reply after each token (to map action offsets to tokens)."""
    return [len(tokenizer.decode(reply_ids[: i + 1], skip_special_tokens=True)) for i in range(len(reply_ids))]


class SessionPPO:
    def __init__(
        self,
        config: JobConfig,
        metrics: MetricsWriter,
        retriever: Retriever,
        relevance: RelevanceFn,
        fulltext: FullTextFn | None = None,
    ) -> None:
        import torch

        self.config = config
        self.opts = config.ppo
        self.metrics = metrics
        dtype = pick_dtype(config.model.dtype)
        self.tokenizer, policy = load_causal_lm(config, dtype)
        if config.model.lora:
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(
                r=config.model.lora_r,
                lora_alpha=config.model.lora_alpha,
                lora_dropout=config.model.lora_dropout,
                task_type="CAUSAL_LM",
            )
            with library_deprecations():
                policy = get_peft_model(policy, lora)
            self.ref = None  # the SFT policy is the base with adapters disabled
        else:
            self.ref = load_causal_lm(config, dtype)[1].eval()
            for p in self.ref.parameters():
                p.requires_grad_(False)
        self.model = ValueModel(policy, dtype)
        self.device = policy.device
        params = [p for p in policy.parameters() if p.requires_grad] + list(self.model.head.parameters())
        # No weight decay (TRL's default): with it, the warm-up's zero policy gradients would still shrink the policy.
        self.optimiser = torch.optim.AdamW(params, lr=self.opts.learning_rate, weight_decay=0.0)
        self.env = CrawlerEnvironment(retriever, relevance, self.opts.results_per_query, self.opts.action_cost)
        self.fulltext = fulltext or (lambda _paper: None)

    def ref_logprobs(self, ids: Any) -> Any:
        if self.ref is not None:
            return _ref_logprobs(self.ref, ids)
        with self.model.policy.disable_adapter():
            return _ref_logprobs(self.model.policy, ids)

    def _expand_text(self, record: QueryRecord, paper: Paper) -> tuple[str, FullText | None]:
        text = self.fulltext(paper)
        names = text.section_names() if text is not None else []
        return expand_prompt(record.question, paper.title, paper.abstract, names), text

    def _session(
        self,
        record: QueryRecord,
        prompt: str,
        act: Callable[[str, list[int]], tuple[list[ActionOutcome], list[Paper]]],
        kind: str,
    ) -> tuple[Rollout, list[Paper]]:
        """Sample one session from `prompt`, let `act` execute its actions, and compute its returns."""
        import torch

        prompt_ids = _chat_ids(self.tokenizer, prompt, self.device)
        self.model.policy.eval()
        with torch.no_grad():
            full = self.model.policy.generate(
                prompt_ids,
                attention_mask=torch.ones_like(prompt_ids),
                do_sample=True,
                temperature=self.opts.temperature,
                max_new_tokens=self.opts.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        plen = prompt_ids.shape[1]
        reply_ids = full[0, plen:].tolist()
        if not reply_ids:  # an immediate end-of-sequence: keep one token so the session has a step
            reply_ids = [self.tokenizer.eos_token_id]
            full = torch.cat([prompt_ids, torch.tensor([reply_ids], device=self.device)], dim=1)
        reply = self.tokenizer.decode(reply_ids, skip_special_tokens=True)
        outcomes, opened = act(reply, _token_ends(self.tokenizer, reply_ids))
        with torch.no_grad():
            logprobs, values = self.model.forward(full)
        ref_lp = self.ref_logprobs(full)
        old = logprobs[0, plen - 1 :]
        kl = (old - ref_lp[0, plen - 1 :]).tolist()
        vals = values[0, plen - 1 : -1].tolist()  # V(s_t): the state before reply token t
        # Bootstrap: V of the expand session each new relevant paper opens (its real sections when known).
        child_iter = iter(opened)
        for outcome in outcomes:
            for j in range(len(outcome.child_values)):
                text, _ = self._expand_text(record, next(child_iter))
                ids = _chat_ids(self.tokenizer, text, self.device)
                outcome.child_values[j] = float(self.model.values_of(ids)[0, -1])
        rets = session_returns(
            len(reply_ids), outcomes, kl,
            alpha=self.opts.alpha, gamma0=self.opts.gamma0, gamma1=self.opts.gamma1, beta=self.opts.beta,
        )
        adv = advantages(rets, vals)
        env_reward = sum(self.opts.alpha * o.new_relevant - o.cost for o in outcomes)
        rollout = Rollout(
            query=record,
            input_ids=full,
            prompt_len=plen,
            old_logprobs=old.detach(),
            returns=torch.tensor(rets, device=self.device),
            advantages=torch.tensor(adv, device=self.device),
            reward=env_reward,
            kl=float(sum(kl)),
            relevant=sum(o.new_relevant for o in outcomes),
            kind=kind,
        )
        return rollout, opened

    def rollout(self, record: QueryRecord) -> list[Rollout]:
        """The search session for `record`, then the expand sessions of the relevant papers it found."""
        search, opened = self._session(record, search_prompt(record.question), partial(self.env.run, record), "search")
        sessions = [search]
        seen = {p.key for p in opened}
        queue = list(opened)
        while queue and len(sessions) <= self.opts.expand_sessions:
            paper = queue.pop(0)
            expand, found = self.rollout_expand(record, paper, seen)
            if expand is not None:
                sessions.append(expand)
                queue.extend(found)
        return sessions

    def rollout_expand(self, record: QueryRecord, paper: Paper, seen: set[str]) -> tuple[Rollout | None, list[Paper]]:
        """One expand session of `paper` (None when its full text is not at hand)."""
        prompt, text = self._expand_text(record, paper)
        if text is None or not text.sections:
            return None, []
        def act(reply: str, ends: list[int]) -> tuple[list[ActionOutcome], list[Paper]]:
            return self.env.run_expand(record, text, reply, ends, seen)

        return self._session(record, prompt, act, "expand")

    def update(self, rollouts: list[Rollout], policy_on: bool) -> dict[str, float]:
        import torch

        flat = whiten([float(a) for r in rollouts for a in r.advantages])
        offset = 0
        for r in rollouts:
            n = len(r.advantages)
            r.advantages = torch.tensor(flat[offset : offset + n], device=self.device)
            offset += n
        self.model.policy.train()
        stats = {"policy_loss": 0.0, "value_loss": 0.0, "clipfrac": 0.0}
        for _ in range(self.opts.ppo_epochs):
            self.optimiser.zero_grad()
            for r in rollouts:
                logprobs, values = self.model.forward(r.input_ids, trunk_grad=policy_on)
                new = logprobs[0, r.prompt_len - 1 :]
                v = values[0, r.prompt_len - 1 : -1]
                ratio = torch.exp(new - r.old_logprobs)
                clipped = torch.clamp(ratio, 1 - self.opts.clip, 1 + self.opts.clip)
                policy_loss = -torch.min(ratio * r.advantages, clipped * r.advantages).mean()
                value_loss = 0.5 * ((v - r.returns) ** 2).mean()
                loss = self.opts.value_weight * value_loss + (policy_loss if policy_on else 0.0 * policy_loss)
                check_finite(float(loss.detach()), 0)
                (loss / len(rollouts)).backward()
                stats["policy_loss"] += float(policy_loss.detach()) / len(rollouts) / self.opts.ppo_epochs
                stats["value_loss"] += float(value_loss.detach()) / len(rollouts) / self.opts.ppo_epochs
                stats["clipfrac"] += float(((ratio.detach() - 1).abs() > self.opts.clip).float().mean()) / len(rollouts) / self.opts.ppo_epochs
            torch.nn.utils.clip_grad_norm_([p for g in self.optimiser.param_groups for p in g["params"]], 1.0)
            self.optimiser.step()
        return stats

    def save(self, name: str) -> Path:
        import torch

        out = self.config.output_path / CHECKPOINTS_DIR / name
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.model.policy.save_pretrained(str(tmp))
        self.tokenizer.save_pretrained(str(tmp))
        torch.save(self.model.head.state_dict(), tmp / VALUE_HEAD_FILE)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        return out


def fulltexts_of(config: JobConfig) -> FullTextFn | None:
    """Full texts for expand sessions from `[data] fulltext` (unarXive JSON lines / .tar.gz), by arXiv id."""
    if not config.data.fulltext:
        return None
    from engine.fulltext.unarxive import UnarxiveFullTexts

    path = config.resolve(config.data.fulltext)
    if not path.exists():
        raise InputError(f"the full-text file {path} does not exist", hint="fix [data] fulltext in the job file")
    texts = UnarxiveFullTexts(path)

    def lookup(paper: Paper) -> FullText | None:
        return texts.fulltext_sync(paper.arxiv_id) if paper.arxiv_id else None

    return lookup


def run_ppo(config: JobConfig, metrics: MetricsWriter, *, retriever: Retriever | None = None) -> Path:
    import torch

    opts = config.ppo
    smoke = config.job.smoke
    steps = 2 if smoke else opts.steps
    warmup = min(opts.warmup_steps, 1) if smoke else opts.warmup_steps
    torch.manual_seed(config.job.seed)
    rng = random.Random(config.job.seed)
    records = [r for r in read_queries(config.resolve(config.data.queries)) if r.question]
    if not records:
        raise InputError("the PPO query file holds no usable query")
    if retriever is None:
        if not config.data.index:
            raise InputError("a ppo job needs [data] index: the offline paper index the Crawler searches")
        retriever = IndexRetriever(config.resolve(config.data.index))
    trainer = SessionPPO(config, metrics, retriever, make_relevance(opts.selector, config), fulltexts_of(config))
    per_step = 1 if smoke else opts.queries_per_step
    last: Path | None = None
    for step in range(1, steps + 1):
        t0 = time.monotonic()
        rollouts = [session for _ in range(per_step) for session in trainer.rollout(rng.choice(records))]
        searches = [r for r in rollouts if r.kind == "search"]
        policy_on = step > warmup
        stats = trainer.update(rollouts, policy_on)
        tokens = sum(int(r.input_ids.shape[1]) for r in rollouts) * (1 + opts.ppo_epochs)
        metrics.write(
            step=step,
            # Reward per user query: its search session plus the expand sessions it opened.
            reward=round(sum(r.reward for r in rollouts) / len(searches), 4),
            expand_sessions=len(rollouts) - len(searches),
            kl=round(sum(r.kl for r in rollouts) / len(rollouts), 5),
            value_loss=round(stats["value_loss"], 5),
            loss=round(stats["policy_loss"] + opts.value_weight * stats["value_loss"], 5),
            policy_loss=round(stats["policy_loss"], 5),
            clipfrac=round(stats["clipfrac"], 4),
            relevant=sum(r.relevant for r in rollouts),
            lr=opts.learning_rate,
            phase="ppo" if policy_on else "value-warmup",
            gpu_mem=gpu_memory_gb(),
            tokens_per_s=round(tokens / max(time.monotonic() - t0, 1e-6), 1),
        )
        if step % opts.save_steps == 0:
            last = trainer.save(f"step-{step}")
            metrics.event("checkpoint", f"saved {last}", path=str(last), step=step)
    last = trainer.save("final")
    metrics.event("checkpoint", f"saved {last}", path=str(last), step=steps)
    return last
