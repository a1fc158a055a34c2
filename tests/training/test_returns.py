"""PaSa's session reward and return, checked against sessions computed by hand."""

from __future__ import annotations

import pytest

from training.returns import (
    ActionOutcome,
    advantages,
    discounted_returns,
    parse_actions,
    session_returns,
    token_index_for_char,
    token_rewards,
    whiten,
)


def test_parse_actions_splits_at_tags_and_stops() -> None:
    reply = "[Search] graph nets\n[Search]  molecule survey \n[StopSearch] trailing [Search] ignored"
    actions = parse_actions(reply)
    assert [(a.kind, a.argument) for a in actions] == [
        ("search", "graph nets"),
        ("search", "molecule survey"),
        ("stop", ""),
    ]
    assert reply[: actions[0].end] == "[Search] graph nets\n"
    assert reply[actions[2].start : actions[2].end] == "[StopSearch]"


def test_parse_actions_untagged_and_unterminated() -> None:
    assert parse_actions("no tags at all") == []
    (only,) = parse_actions("[Expand]3 Method")  # cut off before [StopExpand]
    assert (only.kind, only.argument, only.end) == ("expand", "3 Method", len("[Expand]3 Method"))


def test_token_index_for_char() -> None:
    ends = [3, 7, 12]  # token 0 covers chars 0-2, token 1 chars 3-6, token 2 chars 7-11
    assert token_index_for_char(ends, 3) == 0
    assert token_index_for_char(ends, 4) == 1
    assert token_index_for_char(ends, 12) == 2
    assert token_index_for_char(ends, 99) == 2


def test_search_session_by_hand() -> None:
    # 5 reply tokens. Action 1 (Search) ends at token 1, finds 2 new relevant papers whose expand
    # sessions are worth V = 0.4 and 0.6; action 2 (Search) ends at token 3, finds nothing;
    # Stop at token 4. Per-token KL log(pi/pi_sft) = [0.1, 0, 0.2, 0, -0.1].
    outcomes = [
        ActionOutcome(end_token=1, new_relevant=2, cost=0.1, child_values=[0.4, 0.6]),
        ActionOutcome(end_token=3, new_relevant=0, cost=0.1),
        ActionOutcome(end_token=4, new_relevant=0, cost=0.0),
    ]
    kl = [0.1, 0.0, 0.2, 0.0, -0.1]
    # r_t = -0.1*kl_t; r_1 += 1.5*2 - 0.1 + 0.1*(0.4+0.6) = 3.0; r_3 += -0.1
    expected_rewards = [-0.01, 3.0, -0.02, -0.1, 0.01]
    rewards = token_rewards(5, outcomes, kl, alpha=1.5, gamma1=0.1, beta=0.1)
    assert rewards == pytest.approx(expected_rewards)
    # gamma0 = 1: suffix sums
    assert session_returns(5, outcomes, kl) == pytest.approx([2.88, 2.89, -0.11, -0.09, 0.01])
    # gamma0 = 0.5: R_4 = 0.01, R_3 = -0.1 + 0.005, R_2 = -0.02 + 0.5*R_3, ...
    r4 = 0.01
    r3 = -0.1 + 0.5 * r4
    r2 = -0.02 + 0.5 * r3
    r1 = 3.0 + 0.5 * r2
    r0 = -0.01 + 0.5 * r1
    assert session_returns(5, outcomes, kl, gamma0=0.5) == pytest.approx([r0, r1, r2, r3, r4])


def test_expand_session_costs_and_stop_is_free() -> None:
    # [Expand] s1 (nothing new) [Expand] s2 (1 new relevant, no bootstrap) [StopExpand]; no KL.
    outcomes = [
        ActionOutcome(end_token=0, new_relevant=0, cost=0.1),
        ActionOutcome(end_token=1, new_relevant=1, cost=0.1),
        ActionOutcome(end_token=2, cost=0.0),
    ]
    assert session_returns(3, outcomes, [0.0, 0.0, 0.0]) == pytest.approx([1.3, 1.4, 0.0])


def test_rewards_reject_inconsistent_sessions() -> None:
    with pytest.raises(ValueError, match="kl has"):
        token_rewards(3, [], [0.0], alpha=1.5, gamma1=0.1, beta=0.1)
    with pytest.raises(ValueError, match="outside"):
        token_rewards(2, [ActionOutcome(end_token=5)], [0.0, 0.0], alpha=1.5, gamma1=0.1, beta=0.1)


def test_advantages_and_whitening() -> None:
    assert advantages([1.0, 2.0], [0.5, 0.5]) == [0.5, 1.5]
    white = whiten([1.0, 2.0, 3.0])
    assert sum(white) == pytest.approx(0.0)
    assert sum(w * w for w in white) / 3 == pytest.approx(1.0, rel=1e-6)
    assert whiten([4.0]) == [0.0]
    assert discounted_returns([], 1.0) == []
