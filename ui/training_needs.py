"""Training messages in the training panel's words.

What a job needs, and why one failed, is decided once, in the app layer (pasa_desktop/training_service.py),
for `pasa train` and this panel alike. Those messages name commands and job-file keys ("needs [data]
train", "build them with `pasa train data`"); the panel has fields and buttons for them, so here the
same facts are said with their names. No Qt here: the panel shows what this returns.
"""

from __future__ import annotations

from pasa_desktop.training_service import TRAIN_EXTRA_HINT, plain_error

# Job-file and command terms -> the panel's fields and buttons. Longer patterns first: hints before the bare keys.
_PANEL_TERMS: tuple[tuple[str, str], ...] = (
    ("build one with `pasa train data`", "build one with “Build Selector data” or “Build Crawler data” on the Data tab"),
    ("build them with `pasa train data`", "build them with “Build Selector data” or “Build Crawler data” on the Data tab"),
    ("set [model] path to a transformers directory", "choose a transformers checkpoint folder in the Model field"),
    ("set path to a transformers checkpoint directory", "choose a transformers checkpoint folder in the Model field"),
    ("fix [data] fulltext in the job file", "fix the “Full texts (PPO)” field on the Job tab"),
    ('set [job] role = "crawler"', "choose Role: crawler on the Job tab"),
    ('([launch] mode = "ssh")', "(“Launch on: ssh” on the Job tab)"),
    ("(--smoke)", "(tick “Smoke run”)"),
    ("install the `train` extra (scripts/setup.sh dev does)", TRAIN_EXTRA_HINT),
    ("a local-selector job", "training a local Selector"),
    ("the local Selector job", "training a local Selector"),
    ("an sft job", "an SFT job"),
    ("a ppo job", "a PPO job"),
    ("[model] path", "a model (the “Model” field on the Job tab)"),
    ("[data] train", "SFT rows (the “SFT rows” field on the Job tab)"),
    ("[data] queries", "a query file (the “Queries” field on the Job tab or the Data tab)"),
    ("[data] index", "the paper index (the “Index” field on the Job tab or “Paper index” on the Data tab)"),
    ("[data] fulltext", "the “Full texts (PPO)” field on the Job tab"),
    ("[launch] host", "an SSH host (the “SSH host” field on the Job tab)"),
    ("[launch] mode", "“Launch on” on the Job tab"),
    ("[job] role", "Role on the Job tab"),
)


def in_panel_terms(text: str) -> str:
    """`text` with a missing-package traceback line said in plain words (the service's `plain_error`),
    and job-file keys and commands replaced by the panel's field and button names."""
    plain = plain_error(text)
    if plain != text:
        return plain
    for term, words in _PANEL_TERMS:
        text = text.replace(term, words)
    return text
