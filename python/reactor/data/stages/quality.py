"""Heuristic quality filtering (Gopher, Rae et al. 2021) on the engine's quality signals.

The default signals function is the engine's
:func:`reactor.engine.dedup_analysis.quality_signals` (21 Gopher signals, definitions in
``mlforge/dedup/quality.h``) and the default rules are :data:`GOPHER_RULES`: Gopher's published
thresholds as datatrove's ``GopherQualityFilter`` and ``GopherRepetitionFilter`` use them. Any
function ``texts -> (matrix, names)`` can replace the signals (``signals=``, or
``quality.signals = "module:function"`` in a config); rules then name its columns.

A document is removed when one of its signals is outside a rule's inclusive ``[min, max]`` (or is
NaN); its ledger entry names the first rule broken (in rule order) with the signal value as
``score`` and the violated bound as ``threshold``; ``detail`` lists every rule it broke.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from reactor.data.ledger import LedgerEntry
from reactor.data.stages.base import Batch, Features, SignalsFn, Stage, StageResult, import_object
from reactor.engine.dedup_analysis import QUALITY_SIGNAL_NAMES, quality_signals
from reactor.errors import InvalidArgumentError

__all__ = [
    "BASIC_SIGNALS",
    "DEFAULT_SIGNALS",
    "GOPHER_RULES",
    "QualityStage",
    "Rules",
    "basic_signals",
    "check_rules",
    "default_signals",
    "is_engine_signals",
]

#: ``{signal name: (min, max)}``, inclusive; None is an open bound.
Rules = Mapping[str, tuple[float | None, float | None]]

#: Names of the signals :func:`default_signals` computes, in column order (the engine's).
DEFAULT_SIGNALS: tuple[str, ...] = QUALITY_SIGNAL_NAMES

#: Gopher's thresholds (Rae et al. 2021, App. A.1.1; datatrove's ``GopherQualityFilter`` and
#: ``GopherRepetitionFilter`` defaults) over :data:`DEFAULT_SIGNALS`, in the order they are checked.
GOPHER_RULES: dict[str, tuple[float | None, float | None]] = {
    "word_count": (50, 100_000),
    "mean_word_length": (3, 10),
    "hash_to_word_ratio": (None, 0.1),
    "ellipsis_to_word_ratio": (None, 0.1),
    "bullet_line_fraction": (None, 0.9),
    "ellipsis_line_fraction": (None, 0.3),
    "alpha_word_fraction": (0.8, None),
    "stop_word_count": (2, None),
    "dup_line_fraction": (None, 0.3),
    "dup_paragraph_fraction": (None, 0.3),
    "dup_line_char_fraction": (None, 0.2),
    "dup_paragraph_char_fraction": (None, 0.2),
    "top_2gram_char_fraction": (None, 0.20),
    "top_3gram_char_fraction": (None, 0.18),
    "top_4gram_char_fraction": (None, 0.16),
    "dup_5gram_char_fraction": (None, 0.15),
    "dup_6gram_char_fraction": (None, 0.14),
    "dup_7gram_char_fraction": (None, 0.13),
    "dup_8gram_char_fraction": (None, 0.12),
    "dup_9gram_char_fraction": (None, 0.11),
    "dup_10gram_char_fraction": (None, 0.10),
}


def default_signals(texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], tuple[str, ...]]:
    """The engine's Gopher signals: a float64 ``(len(texts), 21)`` matrix and :data:`DEFAULT_SIGNALS`.

    One engine call for the batch, without the GIL; see
    :func:`reactor.engine.dedup_analysis.quality_signals` for the definitions.
    """
    return quality_signals(list(texts))


def is_engine_signals(signals: SignalsFn | str) -> bool:
    """Whether ``signals`` (a function or a ``"module:function"`` spec) is the engine's Gopher signals."""
    fn = import_object(signals) if isinstance(signals, str) else signals
    return fn is default_signals or fn is quality_signals


def check_rules(
    rules: Rules, names: Sequence[str] | None = None
) -> dict[str, tuple[float | None, float | None]]:
    """Validate rules; with ``names`` (the signals' names) also that every rule names a signal and, for
    the engine's signals (all >= 0), that no bound is negative. Returns the rules as a plain dict.

    Raises:
        InvalidArgumentError: naming the rule and the bad value.

    """
    checked: dict[str, tuple[float | None, float | None]] = {}
    engine = names is not None and tuple(names) == DEFAULT_SIGNALS
    for rule, bounds in rules.items():
        try:
            low, high = bounds
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"[data.quality] rule {rule!r} must be a (min, max) pair, got {bounds!r}"
            ) from None
        for which, value in (("min", low), ("max", high)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidArgumentError(
                    f"[data.quality] rule {rule!r}: {which} must be a finite number or None, got {value!r}"
                )
            if engine and value < 0:
                raise InvalidArgumentError(
                    f"[data.quality] rule {rule!r}: {which} {value} is negative; "
                    "the engine's signals are >= 0"
                )
        if low is not None and high is not None and low > high:
            raise InvalidArgumentError(f"[data.quality] rule {rule!r}: min {low} exceeds max {high}")
        if names is not None and rule not in names:
            raise InvalidArgumentError(
                f"[data.quality] rule {rule!r} names no signal; signals are {sorted(names)}"
            )
        checked[rule] = (None if low is None else float(low), None if high is None else float(high))
    return checked


@lru_cache(maxsize=1)
def _bmp_tables() -> tuple[np.ndarray, np.ndarray]:
    chars = [chr(c) for c in range(0x10000)]
    space = np.fromiter((c.isspace() for c in chars), dtype=bool, count=0x10000)
    alnum = np.fromiter((c.isalnum() for c in chars), dtype=bool, count=0x10000)
    return space, alnum


_SYMBOLS = np.array([ord(c) for c in "#$%<>"], dtype=np.uint32)

#: Names of the signals :func:`basic_signals` computes, in column order.
BASIC_SIGNALS = ("word_count", "mean_word_length", "symbol_ratio", "alnum_ratio")


def basic_signals(texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], tuple[str, ...]]:
    """Four simple signals per text, vectorised over the whole batch with numpy (an example of a custom
    ``signals`` function; the default is the engine's :func:`default_signals`).

    Words are maximal runs of non-whitespace (``str.split()``). ``word_count``; ``mean_word_length``
    (non-space characters per word); ``symbol_ratio`` (``#``, ``$``, ``%``, ``<``, ``>``, ``...`` and ``…``
    per word); ``alnum_ratio`` (fraction of words with a letter or digit). A text without words gets
    0 for all ratios.
    """
    n = len(texts)
    if n == 0:
        return np.zeros((0, len(BASIC_SIGNALS))), BASIC_SIGNALS
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    # One codepoint array for the batch; a newline between texts is a word boundary.
    cp = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    doc = np.repeat(np.arange(n), lengths + 1)[: cp.size]
    space_table, alnum_table = _bmp_tables()
    bmp = cp < 0x10000
    space = np.zeros(cp.size, dtype=bool)
    alnum = np.zeros(cp.size, dtype=bool)
    space[bmp] = space_table[cp[bmp]]
    alnum[bmp] = alnum_table[cp[bmp]]
    if not bmp.all():  # astral characters: decide each distinct one once
        astral = cp[~bmp]
        values, inverse = np.unique(astral, return_inverse=True)
        alnum[~bmp] = np.array([chr(int(v)).isalnum() for v in values], dtype=bool)[inverse]
    word = ~space
    start = word.copy()
    start[1:] &= space[:-1]
    words = np.bincount(doc[start], minlength=n).astype(np.float64)
    chars = np.bincount(doc[word], minlength=n).astype(np.float64)
    # Symbols: single characters, plus non-overlapping "..." in every run of dots, plus "…".
    symbols = np.bincount(doc[np.isin(cp, _SYMBOLS) | (cp == 0x2026)], minlength=n).astype(np.float64)
    dot = cp == ord(".")
    if dot.any():
        edges = np.diff(np.concatenate(([0], dot.astype(np.int8), [0])))
        run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        symbols += np.bincount(doc[run_start], weights=(run_end - run_start) // 3, minlength=n)
    word_id = np.cumsum(start) - 1
    has_alnum = np.zeros(int(start.sum()), dtype=bool)
    has_alnum[word_id[word & alnum]] = True
    word_doc = doc[start]
    alnum_words = np.bincount(word_doc[has_alnum], minlength=n).astype(np.float64)
    per_word = np.maximum(words, 1.0)
    matrix = np.stack([words, chars / per_word, symbols / per_word, alnum_words / per_word], axis=1)
    return matrix, BASIC_SIGNALS


@dataclass(frozen=True)
class _Signals:
    fn: SignalsFn | str

    def __call__(self, texts: list[str]) -> Features:
        fn = import_object(self.fn) if isinstance(self.fn, str) else self.fn
        matrix, names = fn(texts)
        matrix = np.asarray(matrix, dtype=np.float64)
        names = list(names)
        if matrix.shape != (len(texts), len(names)):
            raise InvalidArgumentError(
                f"[data.quality] signals returned shape {matrix.shape} "
                f"for {len(texts)} texts and {len(names)} names"
            )
        return {f"signal:{name}": matrix[:, j] for j, name in enumerate(names)}


class QualityStage(Stage):
    """Removes documents whose signals fall outside ``rules`` (``{name: (min, max)}``, None = open).

    ``rules=None`` means :data:`GOPHER_RULES`. With the engine's signals (the default) every rule is
    checked here against :data:`DEFAULT_SIGNALS` and no bound may be negative; a custom ``signals``
    function's names are checked on the first batch. The ledger names the first rule broken (in
    ``rules`` order) with the signal value as ``score`` and the violated bound as ``threshold``;
    ``detail`` lists every rule broken. NaN breaks any rule.

    Raises:
        InvalidArgumentError: a rule naming no signal, a non-finite, negative (engine signals) or
            inverted bound, a ``signals`` spec that cannot be imported.

    """

    name = "quality"

    def __init__(self, rules: Rules | None = None, signals: SignalsFn | str = default_signals) -> None:
        names = DEFAULT_SIGNALS if is_engine_signals(signals) else None
        self.rules = check_rules(GOPHER_RULES if rules is None else rules, names)
        self._fn = _Signals(signals)

    def featurizer(self) -> Callable[[list[str]], Features]:
        """One ``signal:<name>`` column per signal."""
        return self._fn

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Apply the rules."""
        n = len(batch)
        broken: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        for rule, (low, high) in self.rules.items():
            column = features.get(f"signal:{rule}")
            if column is None:
                names = sorted(key.removeprefix("signal:") for key in features if key.startswith("signal:"))
                raise InvalidArgumentError(
                    f"[data.quality] rule {rule!r} names no signal; signals are {names}"
                )
            too_low = (column < low) if low is not None else np.zeros(n, dtype=bool)
            too_high = (column > high) if high is not None else np.zeros(n, dtype=bool)
            bad = too_low | too_high | np.isnan(column)
            bound = np.where(too_high, np.nan if high is None else high, np.nan if low is None else low)
            broken.append((rule, bad, column, bound))
        keep = np.ones(n, dtype=bool)
        for _, bad, _, _ in broken:
            keep &= ~bad
        entries = []
        for i in np.flatnonzero(~keep):
            hits = [(rule, column[i], bound[i]) for rule, bad, column, bound in broken if bad[i]]
            rule, score, bound = hits[0]
            entries.append(
                LedgerEntry(
                    batch.ids[i],
                    self.name,
                    rule,
                    int(batch.positions[i]),
                    score=float(score),
                    threshold=None if np.isnan(bound) else float(bound),
                    detail=", ".join(f"{r}={s:.6g}" for r, s, _ in hits),
                )
            )
        return StageResult(keep, entries)
