r"""The Constitutional AI pipeline (Bai et al. 2022, arXiv 2212.08073).

**SL-CAI** (:func:`sl_cai`): the policy answers each prompt; then, ``revisions`` times, it critiques
its current answer under a principle drawn at random from the constitution and revises it. The
final revisions form a supervised fine-tuning set. The paper's layout::

    Human: <prompt>

    Assistant: <response>

    Critique Request: <principle.critique>

    Critique: <critique>

    Revision Request: <principle.revision>

    Revision: <revision>

Each round starts from the conversation and the latest revision (earlier rounds are not kept in
the context, so it stays short); the constitution's ``few_shot`` text, if any, comes first.

**RL-CAI** (:func:`rl_cai`): the policy samples two answers per prompt; a feedback model (the
judge) answers, for each of ``principles_per_comparison`` principles drawn at random::

    Consider the following conversation between a human and an assistant:
    Human: <prompt>
    <principle.choice>
    Options:
    (A) <answer>
    (B) <answer>
    The answer is: (

and its normalised probabilities of ``A`` and ``B`` are averaged over the principles (the
ensemble). The preferred answer becomes ``chosen``: preference pairs for DPO or a reward model.

Records use the paper's dialogue format: ``prompt`` is ``"Human: ...\n\nAssistant:"`` and every
completion starts with one space, so ``prompt + completion`` is the conversation the policy saw.
Everything is seeded: equal inputs and seeds give equal outputs (for deterministic backends).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reactor.atomic import atomic_write_text
from reactor.errors import InvalidArgumentError
from reactor.train.cai.backends import Backend, BackendError
from reactor.train.cai.constitution import Constitution, Principle

__all__ = [
    "OPTION_LABELS",
    "PromptLike",
    "critique_prompt",
    "feedback_prompt",
    "read_prompts",
    "render_conversation",
    "revision_prompt",
    "rl_cai",
    "sl_cai",
    "write_jsonl",
]

PromptLike = str | Sequence[Mapping[str, str]]
"""A prompt: a user message, or a conversation as chat messages ending with the user's turn."""

OPTION_LABELS = ("A", "B")
RESPONSE_PREFIX = " "  # completions follow "Assistant:" after one space

_RESPONSE_STOP = ("\n\nHuman:", "\n\nCritique Request:", "\nHuman:")
_CRITIQUE_STOP = ("\n\nRevision Request:", "\n\nHuman:", "\n\nCritique Request:")
_REVISION_STOP = ("\n\nCritique Request:", "\n\nHuman:", "\n\nRevision Request:")
_ROLES = {"user": "Human", "assistant": "Assistant"}

# Stages of the derived seeds: every random draw has its own stream.
_SL_RESPONSE, _SL_PRINCIPLE, _SL_CRITIQUE, _SL_REVISION = 1, 2, 3, 4
_RL_SAMPLE, _RL_PRINCIPLE = 5, 6


def _seed(*keys: int) -> int:
    """A 31-bit seed derived from ``keys`` (independent streams per stage and round)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0] & 0x7FFFFFFF)


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in keys])


# ----------------------------------------------------------------------------------- prompts
def render_conversation(prompt: PromptLike) -> str:
    r"""``"Human: <prompt>\n\nAssistant:"``; chat messages render as alternating Human/Assistant
    turns (a system message becomes a first paragraph) and must end with the user's turn.
    """
    if isinstance(prompt, str):
        return f"Human: {prompt.strip()}\n\nAssistant:"
    if not isinstance(prompt, Sequence) or not prompt:
        raise InvalidArgumentError(f"[train.cai] a prompt is a string or a list of messages, got {prompt!r}")
    parts: list[str] = []
    for index, message in enumerate(prompt):
        role = message.get("role") if isinstance(message, Mapping) else None
        content = str(message.get("content", "")).strip() if isinstance(message, Mapping) else ""
        if role == "system":
            parts.append(content)
        elif role in _ROLES:
            parts.append(f"{_ROLES[role]}: {content}")
        else:
            raise InvalidArgumentError(
                f"[train.cai] messages[{index}].role must be system, user or assistant, got {role!r}"
            )
    if prompt[-1].get("role") != "user":
        raise InvalidArgumentError("[train.cai] a conversation prompt must end with the user's message")
    return "\n\n".join(parts) + "\n\nAssistant:"


def critique_prompt(conversation: str, response: str, principle: Principle, few_shot: str = "") -> str:
    """The context that asks for a critique of ``response`` under ``principle``."""
    prefix = f"{few_shot.strip()}\n\n" if few_shot.strip() else ""
    return (
        f"{prefix}{conversation}{RESPONSE_PREFIX}{response}\n\n"
        f"Critique Request: {principle.critique}\n\nCritique:"
    )


def revision_prompt(critique_context: str, critique: str, principle: Principle) -> str:
    """The critique context, the critique, then the request to revise."""
    return f"{critique_context} {critique}\n\nRevision Request: {principle.revision}\n\nRevision:"


def feedback_prompt(
    conversation: str,
    principle: Principle,
    response_a: str,
    response_b: str,
    labels: Sequence[str] = OPTION_LABELS,
) -> str:
    """The multiple-choice question put to the feedback model; its answer is the next text."""
    dialogue = conversation.removesuffix("\n\nAssistant:").removesuffix("Assistant:").rstrip()
    first, second = labels
    return (
        "Consider the following conversation between a human and an assistant:\n"
        f"{dialogue}\n"
        f"{principle.choice}\n"
        "Options:\n"
        f"({first}) {response_a}\n"
        f"({second}) {response_b}\n"
        "The answer is: ("
    )


def read_prompts(path: str | os.PathLike[str]) -> list[PromptLike]:
    """Prompts from a JSON Lines file (``{"prompt": str | messages}`` per line) or a text file
    (one prompt per non-empty line).
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidArgumentError(f"[train.cai] prompts file {str(file)!r} does not exist")
    prompts: list[PromptLike] = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if file.suffix.lower() != ".jsonl":
                prompts.append(line.strip())
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidArgumentError(
                    f"[train.cai] {file}:{number}: not valid JSON ({error})"
                ) from error
            prompt = record.get("prompt") if isinstance(record, dict) else None
            if not isinstance(prompt, (str, list)) or not prompt:
                raise InvalidArgumentError(
                    f"[train.cai] {file}:{number}: needs a non-empty 'prompt' "
                    "(a string or a list of messages)"
                )
            prompts.append(prompt)
    if not prompts:
        raise InvalidArgumentError(f"[train.cai] {str(file)!r} holds no prompts")
    return prompts


def write_jsonl(path: str | os.PathLike[str], records: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``records`` as JSON Lines, atomically (a reader sees the old file or the whole new one)."""
    target = Path(path)
    atomic_write_text(target, "".join(json.dumps(record) + "\n" for record in records))
    return target


# ------------------------------------------------------------------------------------- SL-CAI
def _check_sampling(prompts: Sequence[Any], max_new_tokens: int, temperature: float) -> None:
    if not prompts:
        raise InvalidArgumentError("[train.cai] no prompts")
    if max_new_tokens < 1:
        raise InvalidArgumentError(f"[train.cai] max_new_tokens must be >= 1, got {max_new_tokens}")
    if temperature < 0:
        raise InvalidArgumentError(f"[train.cai] temperature must be >= 0, got {temperature}")


def _generate(backend: Backend, prompts: Sequence[str], expected: int, **kwargs: Any) -> list[str]:
    texts = backend.generate(list(prompts), **kwargs)
    if len(texts) != expected:
        raise BackendError(f"[train.cai] the generator returned {len(texts)} texts for {expected} prompts")
    return [text.strip() for text in texts]


def sl_cai(
    backend: Backend,
    prompts: Sequence[PromptLike],
    constitution: Constitution,
    *,
    revisions: int = 1,
    seed: int = 0,
    max_new_tokens: int = 128,
    temperature: float = 1.0,
    critique_max_new_tokens: int | None = None,
    keep_unrevised: bool = False,
) -> list[dict[str, Any]]:
    r"""Supervised CAI data: per prompt, a response and ``revisions`` critique -> revision rounds.

    Returns one record per prompt (in prompt order)::

        {"index": i, "prompt": "Human: ...\n\nAssistant:", "completion": " <final revision>",
         "initial": "<first response>",
         "history": [{"principle": name, "critique": text, "revision": text}, ...]}

    An empty revision leaves the current answer unchanged; a prompt whose every revision is
    empty is dropped unless ``keep_unrevised`` (its completion is then the initial response).
    """
    _check_sampling(prompts, max_new_tokens, temperature)
    if revisions < 1:
        raise InvalidArgumentError(f"[train.cai] revisions must be >= 1, got {revisions}")
    conversations = [render_conversation(p) for p in prompts]
    n = len(conversations)
    common = {"max_new_tokens": max_new_tokens, "temperature": temperature}
    critique_common = {**common, "max_new_tokens": critique_max_new_tokens or max_new_tokens}
    initial = _generate(
        backend, conversations, n, seed=_seed(seed, _SL_RESPONSE), stop=_RESPONSE_STOP, **common
    )
    current = list(initial)
    revised = [False] * n
    histories: list[list[dict[str, str]]] = [[] for _ in range(n)]
    for round_ in range(revisions):
        principles = [constitution.sample(_rng(seed, _SL_PRINCIPLE, i, round_), 1)[0] for i in range(n)]
        contexts = [
            critique_prompt(conv, answer, principle, constitution.few_shot)
            for conv, answer, principle in zip(conversations, current, principles, strict=True)
        ]
        critiques = _generate(
            backend,
            contexts,
            n,
            seed=_seed(seed, _SL_CRITIQUE, round_),
            stop=_CRITIQUE_STOP,
            **critique_common,
        )
        requests = [
            revision_prompt(context, critique, principle)
            for context, critique, principle in zip(contexts, critiques, principles, strict=True)
        ]
        revisions_ = _generate(
            backend, requests, n, seed=_seed(seed, _SL_REVISION, round_), stop=_REVISION_STOP, **common
        )
        for i in range(n):
            histories[i].append(
                {"principle": principles[i].name, "critique": critiques[i], "revision": revisions_[i]}
            )
            if revisions_[i]:
                current[i] = revisions_[i]
                revised[i] = True
    return [
        {
            "index": i,
            "prompt": conversations[i],
            "completion": RESPONSE_PREFIX + current[i],
            "initial": initial[i],
            "history": histories[i],
        }
        for i in range(n)
        if revised[i] or keep_unrevised
    ]


# ------------------------------------------------------------------------------------- RL-CAI
@dataclass(frozen=True)
class _Query:
    pair: int
    principle: str
    swapped: bool  # True: the second sample is shown as option (A)
    prompt: str


def _judge_all(judge: Backend, prompts: Sequence[str], options: Sequence[str]) -> list[list[float]]:
    batch = getattr(judge, "choice_probabilities_batch", None)
    answers = (
        batch(prompts, options)
        if callable(batch)
        else [judge.choice_probabilities(p, options) for p in prompts]
    )
    checked = []
    for answer in answers:
        values = [float(v) for v in answer]
        total = sum(values)
        if len(values) != len(options) or any(not 0.0 <= v <= 1.0 for v in values) or not total > 0:
            raise BackendError(f"[train.cai] the judge returned invalid choice probabilities {answer!r}")
        checked.append([v / total for v in values])
    if len(checked) != len(prompts):
        raise BackendError(f"[train.cai] the judge answered {len(checked)} of {len(prompts)} questions")
    return checked


def rl_cai(
    policy: Backend,
    judge: Backend,
    prompts: Sequence[PromptLike],
    constitution: Constitution,
    *,
    principles_per_comparison: int = 1,
    seed: int = 0,
    max_new_tokens: int = 128,
    temperature: float = 1.0,
    min_margin: float = 0.0,
    order: Literal["random", "fixed", "both"] = "random",
) -> list[dict[str, Any]]:
    r"""Preference pairs from AI feedback: two policy samples per prompt, judged under
    ``principles_per_comparison`` distinct principles drawn at random per prompt.

    ``order``: ``random`` shows the two samples as (A)/(B) in a random order per principle
    (position bias averages out), ``fixed`` always shows the first sample as (A), ``both`` asks
    each question in both orders (twice the judge calls). ``p`` = the mean over the questions of
    the judge's normalised probability that the first sample is better; a pair is kept when
    ``|p - 0.5| > min_margin`` and its two samples differ. Records (in prompt order)::

        {"index": i, "prompt": "Human: ...\n\nAssistant:", "chosen": " ...", "rejected": " ...",
         "preference": P(chosen is better) in (0.5, 1], "principles": [names],
         "judgements": [P(chosen is better) per question]}
    """
    _check_sampling(prompts, max_new_tokens, temperature)
    if not 0.0 <= min_margin < 0.5:
        raise InvalidArgumentError(f"[train.cai] min_margin must be in [0, 0.5), got {min_margin}")
    if order not in ("random", "fixed", "both"):
        raise InvalidArgumentError(f"[train.cai] order must be random, fixed or both, got {order!r}")
    if not 1 <= principles_per_comparison <= len(constitution):
        raise InvalidArgumentError(
            f"[train.cai] principles_per_comparison ({principles_per_comparison}) must be between 1 and "
            f"the constitution's {len(constitution)} principles"
        )
    conversations = [render_conversation(p) for p in prompts]
    n = len(conversations)
    common = {"max_new_tokens": max_new_tokens, "temperature": temperature, "stop": _RESPONSE_STOP}
    first = _generate(policy, conversations, n, seed=_seed(seed, _RL_SAMPLE, 0), **common)
    second = _generate(policy, conversations, n, seed=_seed(seed, _RL_SAMPLE, 1), **common)
    queries: list[_Query] = []
    for i in range(n):
        if first[i] == second[i]:
            continue  # nothing to prefer
        rng = _rng(seed, _RL_PRINCIPLE, i)
        for principle in constitution.sample(rng, principles_per_comparison):
            if order == "both":
                orders = [False, True]
            elif order == "random":
                orders = [bool(rng.random() < 0.5)]
            else:
                orders = [False]
            for swapped in orders:
                a, b = (second[i], first[i]) if swapped else (first[i], second[i])
                prompt = feedback_prompt(conversations[i], principle, a, b)
                queries.append(_Query(i, principle.name, swapped, prompt))
    answers = _judge_all(judge, [q.prompt for q in queries], OPTION_LABELS) if queries else []
    per_pair: dict[int, list[tuple[str, float]]] = {}
    for query, (p_a, p_b) in zip(queries, answers, strict=True):
        per_pair.setdefault(query.pair, []).append((query.principle, p_b if query.swapped else p_a))
    records = []
    for i, votes in per_pair.items():
        p_first = float(np.mean([p for _, p in votes]))
        if abs(p_first - 0.5) <= min_margin:
            continue
        first_wins = p_first > 0.5
        chosen, rejected = (first[i], second[i]) if first_wins else (second[i], first[i])
        records.append(
            {
                "index": i,
                "prompt": conversations[i],
                "chosen": RESPONSE_PREFIX + chosen,
                "rejected": RESPONSE_PREFIX + rejected,
                "preference": p_first if first_wins else 1.0 - p_first,
                "principles": list(dict.fromkeys(name for name, _ in votes)),
                "judgements": [p if first_wins else 1.0 - p for _, p in votes],
            }
        )
    return records
