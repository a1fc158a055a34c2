"""PaSa's session-level reward and return (paper §4.2), as plain functions checked by hand-computed tests.

A session is one Crawler generation (the search session for a user query, or an expand session for
a paper). Its reply is a sequence of actions — `[Search] q`, `[Expand] s`, `[Stop…]` — and each
action a_k ends at some reply token e_k. Rewards are per token:

    r_t = −β·(log π(y_t) − log π_sft(y_t))                                  every token
        + α·Σ_p I(q, p) − c(a_k) + γ1·Σ_j V(S_{q+p_j})                      at t = e_k

with I(q, p) = 1 when p is new to the queue and gold or selected (Selector > 0.5), c = 0.1 for Search
and Expand and 0 for Stop, and S_{q+p_j} the expand session each new relevant paper opens (its value
bootstraps what that paper will find later). The return is R_t = Σ_{k ≥ t} γ0^(k−t) r_k over the
session's tokens (γ0 = 1 by default, so the step granularity does not matter) and the advantage is
R_t − V(s_t).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

STOP_TAGS = ("[StopSearch]", "[StopExpand]")
_ACTION = re.compile(r"\[(Search|Expand|StopSearch|StopExpand)\]")


@dataclass(frozen=True, slots=True)
class Action:
    """One action parsed from a reply: kind is search / expand / stop; `end` is the char offset after it."""

    kind: str
    argument: str
    start: int
    end: int


@dataclass
class ActionOutcome:
    """What the environment made of one action."""

    end_token: int  # index (in the reply's tokens) of the action's last token
    new_relevant: int = 0  # papers new to the queue with I(q, p) = 1
    cost: float = 0.0
    child_values: list[float] = field(default_factory=list)  # V(S_{q+p_j}) of each new relevant paper


def parse_actions(reply: str) -> list[Action]:
    """Actions in reply order. An action's text runs to the next tag (or the end); a stop ends the session."""
    marks = list(_ACTION.finditer(reply))
    actions: list[Action] = []
    for i, mark in enumerate(marks):
        tag = mark.group(1)
        if tag.startswith("Stop"):
            actions.append(Action("stop", "", mark.start(), mark.end()))
            break
        end = marks[i + 1].start() if i + 1 < len(marks) else len(reply)
        argument = re.sub(r"\s+", " ", reply[mark.end() : end]).strip()
        actions.append(Action(tag.lower(), argument, mark.start(), end))
    return actions


def token_index_for_char(token_ends: Sequence[int], char_end: int) -> int:
    """The reply token holding the character just before `char_end` (token_ends[i] = chars after token i)."""
    target = max(char_end, 1)
    for i, end in enumerate(token_ends):
        if end >= target:
            return i
    return len(token_ends) - 1


def action_reward(outcome: ActionOutcome, alpha: float) -> float:
    """r(a) = α·(new relevant papers) − c(a): the environment part, without bootstrap or KL."""
    return alpha * outcome.new_relevant - outcome.cost


def token_rewards(
    n_tokens: int,
    outcomes: Sequence[ActionOutcome],
    kl: Sequence[float],
    *,
    alpha: float,
    gamma1: float,
    beta: float,
) -> list[float]:
    """Per-token rewards: −β·kl_t everywhere, plus each action's reward and bootstrap at its last token."""
    if len(kl) != n_tokens:
        raise ValueError(f"kl has {len(kl)} entries for {n_tokens} tokens")
    rewards = [-beta * k for k in kl]
    for outcome in outcomes:
        if not 0 <= outcome.end_token < n_tokens:
            raise ValueError(f"action ends at token {outcome.end_token}, outside 0..{n_tokens - 1}")
        rewards[outcome.end_token] += action_reward(outcome, alpha) + gamma1 * sum(outcome.child_values)
    return rewards


def discounted_returns(rewards: Sequence[float], gamma0: float) -> list[float]:
    """R_t = Σ_{k ≥ t} γ0^(k−t) r_k."""
    out = [0.0] * len(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma0 * running
        out[t] = running
    return out


def session_returns(
    n_tokens: int,
    outcomes: Sequence[ActionOutcome],
    kl: Sequence[float],
    *,
    alpha: float = 1.5,
    gamma0: float = 1.0,
    gamma1: float = 0.1,
    beta: float = 0.1,
) -> list[float]:
    return discounted_returns(token_rewards(n_tokens, outcomes, kl, alpha=alpha, gamma1=gamma1, beta=beta), gamma0)


def advantages(returns: Sequence[float], values: Sequence[float]) -> list[float]:
    if len(returns) != len(values):
        raise ValueError("returns and values differ in length")
    return [r - v for r, v in zip(returns, values, strict=True)]


def whiten(values: Sequence[float], eps: float = 1e-8) -> list[float]:
    """Zero mean, unit variance (PPO's usual advantage normalisation); a single value becomes 0."""
    if len(values) < 2:
        return [0.0 for _ in values]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return [(v - mean) / (var + eps) ** 0.5 for v in values]
