"""Generators and judges for Constitutional AI: a local causal LM, or an OpenAI-compatible HTTP
endpoint (``/v1/completions``), behind one small interface (:class:`Backend`).

* ``generate`` samples one completion per prompt (deterministic for a seed where the backend is);
* ``choice_probabilities`` is the feedback model's answer to a multiple-choice question: the
  probabilities of the option labels (``"A"``, ``"B"``) as the next text after ``prompt``,
  normalised over the options (Bai et al. 2022, section 4.1).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from reactor import errors
from reactor.errors import InvalidArgumentError, ReactorError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from reactor.train.tokenizer import Tokenizer

__all__ = [
    "Backend",
    "BackendError",
    "LocalModelBackend",
    "OpenAIBackend",
    "normalise_logprobs",
    "truncate_at_stop",
]


class BackendError(ReactorError, RuntimeError):
    """A generator or judge failed: an HTTP error, an unreachable server, a malformed answer."""


@runtime_checkable
class Backend(Protocol):
    """What the CAI pipeline needs from a generator (policy) and from a judge (feedback model)."""

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] = (),
    ) -> list[str]:
        """One sampled continuation per prompt, cut before the first ``stop`` string."""
        ...

    def choice_probabilities(self, prompt: str, options: Sequence[str]) -> list[float]:
        """Probabilities of each option label being the text that follows ``prompt``,
        normalised to sum to 1 over ``options``.
        """
        ...


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest occurrence of any ``stop`` string."""
    cut = len(text)
    for marker in stop:
        if marker:
            found = text.find(marker)
            if found != -1:
                cut = min(cut, found)
    return text[:cut]


def normalise_logprobs(logprobs: Sequence[float]) -> list[float]:
    """Softmax of log-probabilities (``-inf`` allowed, not all)."""
    top = max(logprobs)
    if not math.isfinite(top):
        raise InvalidArgumentError(f"[train.cai] cannot normalise log-probabilities {list(logprobs)}")
    weights = [math.exp(value - top) for value in logprobs]
    total = sum(weights)
    return [w / total for w in weights]


def _check_options(options: Sequence[str]) -> None:
    if len(options) < 2:
        raise InvalidArgumentError(f"[train.cai] a choice needs at least two options, got {list(options)}")
    if any(not option for option in options) or len(set(options)) != len(options):
        raise InvalidArgumentError(f"[train.cai] options must be distinct, non-empty: {list(options)}")


# ----------------------------------------------------------------------------------------- local
class LocalModelBackend:
    """A torch causal LM (a Hugging Face model or a plain module mapping ids to logits) with a
    Reactor tokenizer (:class:`~reactor.train.tokenizer.ByteTokenizer`, ``HFTokenizer``).

    Prompts are encoded as ``<bos> + encode(prompt)`` (as the trainers encode string prompts) and
    cut to their last ``max_prompt_tokens`` tokens. Sampling draws from a ``torch.Generator``
    seeded with ``seed``, so equal calls give equal samples; ``temperature = 0`` is greedy.
    An option label is scored by the summed log-probability of its own tokens after the prompt.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Tokenizer,
        device: str | torch.device | None = None,
        *,
        batch_size: int = 16,
        max_prompt_tokens: int | None = None,
    ) -> None:
        import torch

        if batch_size < 1:
            raise InvalidArgumentError(f"[train.cai] batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        if max_prompt_tokens is None:
            config = getattr(getattr(model, "module", model), "config", None)
            limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
            max_prompt_tokens = int(limit) if limit else None
        self.max_prompt_tokens = max_prompt_tokens

    def _encode(self, prompt: str, room: int = 0) -> list[int]:
        ids = [self.tokenizer.bos_id, *self.tokenizer.encode(prompt)]
        if self.max_prompt_tokens is not None:
            keep = max(1, self.max_prompt_tokens - room)
            ids = ids[-keep:]  # the end of a long prompt is nearest the answer
        return ids

    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        was_training = self.model.training
        self.model.eval()
        try:
            yield
        finally:
            self.model.train(was_training)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] = (),
    ) -> list[str]:
        """Sample a completion per prompt in batches of ``batch_size`` (deterministic for ``seed``)."""
        import torch

        from reactor.train.rollout import generate

        if max_new_tokens < 1:
            raise InvalidArgumentError(f"[train.cai] max_new_tokens must be >= 1, got {max_new_tokens}")
        if temperature < 0:
            raise InvalidArgumentError(f"[train.cai] temperature must be >= 0, got {temperature}")
        generator = torch.Generator(device=self.device)
        generator.manual_seed(int(seed))
        texts: list[str] = []
        with self._eval_mode():
            for start in range(0, len(prompts), self.batch_size):
                chunk = [self._encode(p, max_new_tokens) for p in prompts[start : start + self.batch_size]]
                out = generate(
                    self.model,
                    chunk,
                    max_new_tokens=max_new_tokens,
                    temperature=max(temperature, 1e-5),  # ~greedy at 0: one-hot after the softmax
                    eos_id=self.tokenizer.eos_id,
                    pad_id=self.tokenizer.pad_id,
                    generator=generator,
                )
                for row, mask in zip(out.completions.tolist(), out.completion_mask.tolist(), strict=True):
                    ids = [t for t, keep in zip(row, mask, strict=True) if keep]
                    texts.append(truncate_at_stop(self.tokenizer.decode(ids), stop))
        return texts

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[list[float]]:
        """Summed log-probabilities [len(prompts)][len(options)] of each option's tokens after each prompt."""
        import torch

        from reactor.train.models import causal_lm_logits

        _check_options(options)
        option_ids = [self.tokenizer.encode(option) for option in options]
        if any(not ids for ids in option_ids):
            raise InvalidArgumentError(f"[train.cai] an option encodes to no tokens: {list(options)}")
        room = max(len(ids) for ids in option_ids)
        rows = [(self._encode(p, room), ids) for p in prompts for ids in option_ids]
        scores: list[float] = []
        with self._eval_mode(), torch.no_grad():
            step = self.batch_size * len(options)
            for start in range(0, len(rows), step):
                chunk = rows[start : start + step]
                width = max(len(p) + len(o) for p, o in chunk)
                ids = torch.full((len(chunk), width), self.tokenizer.pad_id, dtype=torch.int64)
                mask = torch.zeros_like(ids)
                for r, (p, o) in enumerate(chunk):
                    ids[r, : len(p) + len(o)] = torch.tensor(p + o)
                    mask[r, : len(p) + len(o)] = 1
                ids, mask = ids.to(self.device), mask.to(self.device)
                logprobs = torch.log_softmax(causal_lm_logits(self.model, ids, mask).float(), dim=-1)
                for r, (p, o) in enumerate(chunk):
                    positions = torch.arange(len(p) - 1, len(p) + len(o) - 1, device=self.device)
                    targets = torch.tensor(o, device=self.device)
                    scores.append(float(logprobs[r, positions, targets].sum()))
        k = len(options)
        return [scores[i * k : (i + 1) * k] for i in range(len(prompts))]

    def choice_probabilities(self, prompt: str, options: Sequence[str]) -> list[float]:
        """The options' probabilities after ``prompt``, normalised over the options."""
        return normalise_logprobs(self.option_logprobs([prompt], options)[0])

    def choice_probabilities_batch(self, prompts: Sequence[str], options: Sequence[str]) -> list[list[float]]:
        """:meth:`choice_probabilities` of many prompts, batched."""
        return [normalise_logprobs(row) for row in self.option_logprobs(prompts, options)]


# ------------------------------------------------------------------------------------------ HTTP
def _endpoint(base_url: str) -> str:
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidArgumentError(f"[train.cai] base_url must be an http(s) URL, got {base_url!r}")
    path = parsed.path.rstrip("/")
    if not path:
        path = "/v1"  # "http://host:8000" means the usual OpenAI-compatible root
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, f"{path}/completions", "", ""))


class OpenAIBackend:
    """An OpenAI-compatible completions endpoint (OpenAI, vLLM, llama.cpp server, TGI ...), using
    only the standard library.

    ``base_url`` is the API root as the OpenAI client takes it (``http://host:8000/v1``; a bare
    ``http://host:8000`` gets ``/v1``). Requests go to ``{base_url}/completions``. HTTP 429 and
    5xx answers, refused connections and timeouts are retried ``max_retries`` times with
    exponential backoff from ``backoff`` seconds (or the server's ``Retry-After``), then raise
    :class:`BackendError` (a timeout: :class:`reactor.errors.TimeoutError`, also a built-in
    ``TimeoutError``); other HTTP errors and malformed answers raise :class:`BackendError` at once.
    Messages name the URL, the status and the server's own error message.

    ``generate`` sends the prompts in lists of ``batch_size`` with the request's ``seed`` (servers
    that honour it are deterministic). ``choice_probabilities`` asks for one token at temperature
    0 with the ``top_logprobs`` most likely first tokens, and reads the options' log-probs from
    them (a token matches an option when equal after stripping whitespace). Options missing from
    the top list share the leftover probability mass, each at most the smallest listed
    probability; if no option is listed the answer is uniform (no information).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        batch_size: int = 16,
        top_logprobs: int = 5,
    ) -> None:
        if timeout <= 0 or max_retries < 0 or backoff < 0 or batch_size < 1 or top_logprobs < 1:
            raise InvalidArgumentError(
                "[train.cai] OpenAIBackend: timeout > 0, max_retries >= 0, backoff >= 0, batch_size >= 1 "
                "and top_logprobs >= 1 are required"
            )
        self.url = _endpoint(base_url)
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.top_logprobs = top_logprobs

    # ------------------------------------------------------------------------------ transport
    def _post(self, body: Mapping[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            delay = min(self.backoff * 2**attempt, 30.0)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as error:
                with error:
                    detail = _error_detail(error.read())
                    retry_after = error.headers.get("Retry-After") if error.headers else None
                retryable = error.code == 429 or error.code >= 500
                if not retryable or attempt == self.max_retries:
                    raise BackendError(
                        f"[train.cai] {self.url}: HTTP {error.code} {error.reason}"
                        f"{f' - {detail}' if detail else ''}"
                        f"{f' (after {attempt + 1} attempts)' if attempt else ''}"
                    ) from None
                with contextlib.suppress(TypeError, ValueError):
                    delay = max(delay, min(float(retry_after), 60.0))
            except TimeoutError as error:  # the built-in one (socket.timeout)
                if attempt == self.max_retries:
                    raise errors.TimeoutError(
                        f"[train.cai] {self.url}: no answer within {self.timeout:g} s "
                        f"({attempt + 1} attempt(s))"
                    ) from error
            except urllib.error.URLError as error:
                if isinstance(error.reason, TimeoutError):
                    if attempt == self.max_retries:
                        raise errors.TimeoutError(
                            f"[train.cai] {self.url}: no answer within {self.timeout:g} s "
                            f"({attempt + 1} attempt(s))"
                        ) from error
                elif attempt == self.max_retries:
                    raise BackendError(
                        f"[train.cai] {self.url}: cannot reach the server ({error.reason}) "
                        f"after {attempt + 1} attempt(s)"
                    ) from error
            except (ConnectionError, http.client.HTTPException) as error:
                if attempt == self.max_retries:
                    raise BackendError(
                        f"[train.cai] {self.url}: the connection failed ({type(error).__name__}: {error}) "
                        f"after {attempt + 1} attempt(s)"
                    ) from error
            else:
                try:
                    parsed = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    raise BackendError(
                        f"[train.cai] {self.url}: malformed response, not JSON: {raw[:200]!r}"
                    ) from error
                if not isinstance(parsed, dict):
                    raise BackendError(f"[train.cai] {self.url}: malformed response, not an object")
                return parsed
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _choices(self, answer: Mapping[str, Any], expected: int) -> list[dict[str, Any]]:
        choices = answer.get("choices")
        if not isinstance(choices, list) or len(choices) != expected:
            got = len(choices) if isinstance(choices, list) else type(choices).__name__
            raise BackendError(
                f"[train.cai] {self.url}: malformed response, expected {expected} choice(s), got {got}"
            )
        if not all(isinstance(c, dict) for c in choices):
            raise BackendError(f"[train.cai] {self.url}: malformed response, a choice is not an object")
        if all(isinstance(c.get("index"), int) for c in choices):
            choices = sorted(choices, key=lambda c: c["index"])
            if [c["index"] for c in choices] != list(range(expected)):
                raise BackendError(f"[train.cai] {self.url}: malformed response, choice indices do not match")
        return choices

    # ------------------------------------------------------------------------------- protocol
    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] = (),
    ) -> list[str]:
        """One completion per prompt from the endpoint (``stop`` at most 4 strings, as OpenAI allows)."""
        if max_new_tokens < 1:
            raise InvalidArgumentError(f"[train.cai] max_new_tokens must be >= 1, got {max_new_tokens}")
        markers = [s for s in stop if s]
        texts: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = list(prompts[start : start + self.batch_size])
            body: dict[str, Any] = {
                "model": self.model,
                "prompt": chunk,
                "max_tokens": max_new_tokens,
                "temperature": temperature,
                "seed": int(seed),
                "n": 1,
            }
            if markers:
                body["stop"] = markers[:4]
            for choice in self._choices(self._post(body), len(chunk)):
                text = choice.get("text")
                if not isinstance(text, str):
                    raise BackendError(f"[train.cai] {self.url}: malformed response, a choice has no text")
                texts.append(truncate_at_stop(text, markers))
        return texts

    def choice_probabilities(self, prompt: str, options: Sequence[str]) -> list[float]:
        """The options' probabilities from the first generated token's top log-probs."""
        _check_options(options)
        body = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": self.top_logprobs,
        }
        (choice,) = self._choices(self._post(body), 1)
        top = _first_top_logprobs(choice.get("logprobs"))
        if top is None:
            raise BackendError(
                f"[train.cai] {self.url}: malformed response, no logprobs.top_logprobs for the first "
                "token (does the server support logprobs on /completions?)"
            )
        return _options_from_top(top, options)


def _error_detail(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text[:300]
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
    return text[:300]


def _first_top_logprobs(logprobs: Any) -> dict[str, float] | None:
    """``{token: logprob}`` of the first generated position, from the legacy completions layout
    (``top_logprobs: [{token: lp}]``) or the chat-style one (``content: [{top_logprobs: [...]}]``).
    """
    if not isinstance(logprobs, dict):
        return None
    top = logprobs.get("top_logprobs")
    if top is None and isinstance(logprobs.get("content"), list) and logprobs["content"]:
        top = [logprobs["content"][0].get("top_logprobs")]
    if not isinstance(top, list) or not top:
        return None
    first = top[0]
    out: dict[str, float] = {}
    try:
        if isinstance(first, dict):
            out = {str(token): float(lp) for token, lp in first.items()}
        elif isinstance(first, list):
            out = {str(entry["token"]): float(entry["logprob"]) for entry in first}
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return out


def _options_from_top(top: Mapping[str, float], options: Sequence[str]) -> list[float]:
    masses = [0.0] * len(options)
    found = [False] * len(options)
    wanted = {option.strip(): index for index, option in enumerate(options)}
    for token, logprob in top.items():
        index = wanted.get(token.strip())
        if index is not None and math.isfinite(logprob):
            masses[index] += math.exp(logprob)
            found[index] = True
    if not any(found):
        return [1.0 / len(options)] * len(options)
    if not all(found):
        listed = [math.exp(lp) for lp in top.values() if math.isfinite(lp)]
        leftover = max(0.0, 1.0 - sum(listed)) / (len(options) - sum(found))
        floor = min(leftover, min(listed))
        masses = [m if f else floor for m, f in zip(masses, found, strict=True)]
    total = sum(masses)
    if total <= 0:
        return [1.0 / len(options)] * len(options)
    return [m / total for m in masses]
