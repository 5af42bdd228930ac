"""The streaming data pipeline: read -> [normalise] -> [quality] -> [exact dedup] -> [near dedup]
-> [substring dedup] -> [decontaminate] -> [semantic dedup] -> write, in batches of ``batch_size``
documents.

Memory is bounded by one batch of texts (a window of batches on Ray) plus what the dedup stages keep
across batches (fingerprints, signatures, the LSH index, embeddings): documents are written as soon as
their batch is decided. In ``global`` mode each dedup stage costs one extra read of the input.
Substring dedup is the exception to bounded memory: it is global in every mode and holds the texts
that reach it until its suffix array is built (see :mod:`reactor.data.stages.substring`).

Every input record ends up either in the output or in the ledger (unreadable records, records without
text, empty documents, and every stage's removals), so nothing is dropped silently.

Python use::

    from reactor.data import PipelineConfig, run_pipeline
    report = run_pipeline(PipelineConfig(input={"path": "in.jsonl"}, output={"path": "out.jsonl"}))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
from rich.console import Console

from reactor.data.config import PipelineConfig
from reactor.data.io import AtomicWriter, Document, Item, Rejected, Source, open_source, open_writer
from reactor.data.ledger import Ledger, LedgerEntry, RunReport
from reactor.data.semantic import EmbedFn, SemanticDedupStage, sentence_transformer_embedder
from reactor.data.stages import (
    Batch,
    DecontaminateStage,
    ExactDedupStage,
    Features,
    MinHashDedupStage,
    NormaliseStage,
    QualityStage,
    SignalsFn,
    SimHashDedupStage,
    Stage,
    SubstringDedupStage,
    default_signals,
    is_engine_signals,
    load_eval_set,
    subset_features,
)
from reactor.errors import InvalidArgumentError

__all__ = ["FeatureExecutor", "LocalExecutor", "Pipeline", "build_stages", "run_pipeline"]


def build_stages(
    config: PipelineConfig, *, embed: EmbedFn | None = None, signals: SignalsFn | None = None
) -> list[Stage]:
    """The stages ``config`` enables, in pipeline order. ``embed`` / ``signals`` override the functions
    named in the config (for Python callers).
    """
    stages: list[Stage] = []
    mode, keep = config.mode, config.keep
    if config.normalise.enabled:
        n = config.normalise
        stages.append(
            NormaliseStage(n.unicode_form, collapse_whitespace=n.collapse_whitespace, strip=n.strip)
        )
    if config.quality.enabled:
        quality = config.quality
        function = signals or quality.signals or default_signals
        rules = quality.resolved_rules(custom=not is_engine_signals(function))
        stages.append(QualityStage(rules, function))
    if config.exact.enabled:
        stages.append(ExactDedupStage(tokenizer=config.exact.tokenizer, mode=mode, keep=keep))
    if config.near.enabled:
        near = config.near
        if near.method == "minhash":
            stages.append(
                MinHashDedupStage(
                    near.threshold,
                    near.num_perm,
                    near.ngram,
                    near.seed,
                    bands=near.bands,
                    rows=near.rows,
                    target_recall=near.target_recall,
                    verify=near.verify,
                    tokenizer=near.tokenizer,
                    mode=mode,
                    keep=keep,
                )
            )
        else:
            stages.append(
                SimHashDedupStage(
                    near.max_distance, near.simhash_ngram, tokenizer=near.tokenizer, mode=mode, keep=keep
                )
            )
    if config.substring.enabled:
        sub = config.substring
        stages.append(
            SubstringDedupStage(
                sub.min_tokens,
                keep_first=sub.keep_first,
                min_remaining_words=sub.min_remaining_words,
                tokenizer=sub.tokenizer,
            )
        )
    if config.decontaminate.enabled:
        dec = config.decontaminate
        eval_set = load_eval_set(dec.eval, text_field=dec.text_field, id_field=dec.id_field)
        stages.append(
            DecontaminateStage(
                eval_set,
                mode=dec.mode,
                ngram=dec.ngram,
                min_hits=dec.min_hits,
                min_match=dec.min_match,
                max_mismatches=dec.max_mismatches,
                threshold=dec.threshold,
                coverage_of=dec.coverage_of,
                tokenizer=dec.tokenizer,
            )
        )
    if config.semantic.enabled or embed is not None:
        sem = config.semantic
        if embed is not None:
            embedder: EmbedFn | str = embed
        elif sem.model_path is not None:
            embedder = sentence_transformer_embedder(sem.model_path)
        elif sem.embedder is not None:
            embedder = sem.embedder
        else:
            raise InvalidArgumentError(
                "[data.pipeline] semantic dedup needs semantic.embedder or semantic.model_path"
            )
        stages.append(
            SemanticDedupStage(
                embedder,
                n_clusters=sem.n_clusters,
                eps=sem.eps,
                seed=sem.seed,
                max_iter=sem.max_iter,
                mode=mode,
                keep=keep,
            )
        )
    return stages


Featurizers = Sequence[Callable[[list[str]], Features] | None]


class FeatureExecutor:
    """Computes stage features for whole batches ahead of the decisions (Ray) or lets each stage compute
    them on its own survivors (local, :class:`LocalExecutor`).
    """

    name = "local"

    def featurize(
        self, batches: Iterator[list[Document]], featurizers: Featurizers
    ) -> Iterator[tuple[list[Document], list[Features] | None]]:
        """Yield each batch with, per stage, features of *all* its documents (or None to compute lazily)."""
        for docs in batches:
            yield docs, None

    def close(self) -> None:
        """Release resources."""


class LocalExecutor(FeatureExecutor):
    """In-process: every stage featurises the documents that reached it."""


class Pipeline:
    """Runs stages over a :class:`~reactor.data.io.Source` into a writer and a ledger.

    ``run`` makes one pass per stage that still has to observe the input (global dedup, substring
    dedup), then the final pass that writes. Stages are applied in order to the survivors of the
    stages before them.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        batch_size: int = 10_000,
        drop_empty: bool = True,
        executor: FeatureExecutor | None = None,
        progress: bool = False,
        console: Console | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(
                f"[data.pipeline] batch_size must be a positive integer, got {batch_size!r}"
            )
        names = [stage.name for stage in stages]
        if len(set(names)) != len(names):
            raise InvalidArgumentError(f"[data.pipeline] stage names must be unique, got {names}")
        self.stages = list(stages)
        self.batch_size = batch_size
        self.drop_empty = drop_empty
        self.executor = executor or LocalExecutor()
        self.progress = progress
        self.console = console or Console(stderr=True)

    def run(self, source: Source, writer: AtomicWriter | None, ledger: Ledger) -> RunReport:
        """Process ``source``; kept documents go to ``writer``, removals to ``ledger``. The caller commits."""
        report = ledger.report
        report.engine = self.executor.name
        started = time.perf_counter()
        observing = [i for i, stage in enumerate(self.stages) if stage.needs_observation]
        report.passes = len(observing) + 1
        for stage in self.stages:
            report.stage(stage.name)
        for number, target in enumerate([*observing, None], start=1):
            for stage in self.stages:
                stage.reset()
            label = "writing" if target is None else f"observing {self.stages[target].name}"
            self._pass(source, writer, ledger, report, target, f"pass {number}/{report.passes}: {label}")
            if target is not None:
                t0 = time.perf_counter()
                stage = self.stages[target]
                stage.finalize()
                report.stage(stage.name).seconds += time.perf_counter() - t0
        for stage in self.stages:
            report.stage(stage.name).extra.update(stage.summary())
        report.seconds = time.perf_counter() - started
        return report

    def _batches(
        self, items: Iterator[Item], final: bool, ledger: Ledger, report: RunReport
    ) -> Iterator[list[Document]]:
        docs: list[Document] = []
        for item in items:
            if final:
                report.input_records += 1
            if isinstance(item, Rejected):
                if final:
                    ledger.add([LedgerEntry(item.id, "read", item.rule, item.position, detail=item.detail)])
                continue
            if self.drop_empty and not item.text.strip():
                if final:
                    ledger.add([LedgerEntry(item.id, "read", "empty", item.position, detail="no text")])
                continue
            docs.append(item)
            if len(docs) == self.batch_size:
                yield docs
                docs = []
        if docs:
            yield docs

    def _pass(
        self,
        source: Source,
        writer: AtomicWriter | None,
        ledger: Ledger,
        report: RunReport,
        target: int | None,
        label: str,
    ) -> None:
        final = target is None
        limit = len(self.stages) if final else target + 1
        featurizers = [stage.featurizer() for stage in self.stages[:limit]]
        batches = self._batches(source.documents(), final, ledger, report)
        bar = self._progress_bar(source, label)
        with bar if bar is not None else nullcontext():
            task = bar.add_task(label, total=source.total) if bar is not None else None
            for docs, features in self.executor.featurize(batches, featurizers):
                kept, entries = self._apply(docs, features, featurizers, target, report)
                if final:
                    ledger.add(sorted(entries, key=lambda e: e.position))
                    if writer is not None:
                        writer.write(kept)
                    report.output_documents += len(kept)
                if bar is not None and task is not None:
                    bar.update(task, completed=source.progress)

    def _apply(
        self,
        docs: list[Document],
        features: list[Features] | None,
        featurizers: Featurizers,
        target: int | None,
        report: RunReport,
    ) -> tuple[list[Document], list[LedgerEntry]]:
        alive = np.arange(len(docs))
        texts = [doc.text for doc in docs]
        featurized = list(texts)  # the texts the executor featurised each stage on (ahead of decisions)
        positions = np.fromiter((doc.position for doc in docs), dtype=np.int64, count=len(docs))
        entries: list[LedgerEntry] = []
        stop = len(self.stages) if target is None else target + 1
        for k, stage in enumerate(self.stages[:stop]):
            if alive.size == 0:
                break
            t0 = time.perf_counter()
            batch = Batch([texts[i] for i in alive], [docs[i].id for i in alive], positions[alive])
            if features is not None:
                feats = subset_features(features[k], alive)
                feats = self._refresh(feats, featurizers[k], batch.texts, [featurized[i] for i in alive])
                if "text" in features[k]:  # the executor chained a transforming featurizer's texts
                    featurized = [str(t) for t in features[k]["text"]]
            else:
                featurize = featurizers[k]
                feats = featurize(batch.texts) if featurize is not None else {}
            stage_report = report.stage(stage.name)
            if k == target:
                stage.observe(batch, feats)
                stage_report.seconds += time.perf_counter() - t0
                break
            result = stage.decide(batch, feats)
            keep = np.asarray(result.keep, dtype=bool)
            if keep.shape != (len(batch),):
                raise InvalidArgumentError(
                    f"[data.pipeline] stage {stage.name!r} returned {keep.shape} keep flags "
                    f"for {len(batch)} documents"
                )
            if result.texts is not None:
                for j, i in enumerate(alive):
                    if result.texts[j] != texts[i]:
                        texts[i] = result.texts[j]
            if target is None:
                stage_report.seen += len(batch)
                entries.extend(result.entries)
            alive = alive[keep]
            stage_report.seconds += time.perf_counter() - t0
        kept = []
        for i in alive:
            doc = docs[i]
            if texts[i] != doc.text:
                doc.text, doc.changed = texts[i], True
            kept.append(doc)
        return kept, entries

    @staticmethod
    def _refresh(
        feats: Features,
        featurize: Callable[[list[str]], Features] | None,
        texts: list[str],
        featurized: list[str],
    ) -> Features:
        """Recompute the rows whose text a decision changed after the executor featurised them.

        An executor featurises whole batches ahead of the decisions, chaining only featurizer outputs
        (normalised texts). A stage that rewrites texts in ``decide`` (substring dedup) leaves later
        stages' precomputed features stale for the documents it changed; those rows are computed again
        here on the current texts, so a Ray run decides on exactly what a local run decides on.
        """
        if featurize is None:
            return feats
        stale = [j for j, (now, then) in enumerate(zip(texts, featurized, strict=True)) if now != then]
        if not stale:
            return feats
        fresh = featurize([texts[j] for j in stale])
        rows = np.asarray(stale, dtype=np.intp)
        out: Features = {}
        for key, value in feats.items():
            column = np.array(value, copy=True)
            new = fresh[key]
            if column.dtype == object:
                for r, j in enumerate(rows):
                    column[j] = new[r]
            else:
                column[rows] = new
            out[key] = column
        return out

    def _progress_bar(self, source: Source, label: str) -> Any:
        if not self.progress:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn() if source.unit == "docs" else TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )


def run_pipeline(
    config: PipelineConfig,
    *,
    source: object | None = None,
    embed: EmbedFn | None = None,
    signals: SignalsFn | None = None,
    console: Console | None = None,
) -> RunReport:
    """Run the pipeline ``config`` describes; the output, ledger and report appear only when the whole
    run succeeded (an exception or Ctrl-C leaves none of them half-written). ``source`` replaces
    ``config.input.path`` (a ``datasets.Dataset`` or an iterable of dicts / strings).
    """
    inp, out = config.input, config.output
    if source is None and inp.path is None:
        raise InvalidArgumentError("[data.pipeline] input.path is not set")
    stages = build_stages(config, embed=embed, signals=signals)
    reader = open_source(
        inp.path if source is None else source,
        text_field=inp.text_field,
        id_field=inp.id_field,
        on_missing=inp.on_missing_text,
        format=inp.format,
        batch_size=config.batch_size,
    )
    executor: FeatureExecutor
    if config.engine == "ray":
        from reactor.data.distributed import RayExecutor

        executor = RayExecutor(window=config.ray_window)
    else:
        executor = LocalExecutor()
    pipeline = Pipeline(
        stages,
        batch_size=config.batch_size,
        drop_empty=inp.drop_empty,
        executor=executor,
        progress=config.progress,
        console=console,
    )
    report = RunReport(config=config.model_dump(mode="json"))
    writer = (
        open_writer(out.path, format=out.format, text_field=inp.text_field, schema=reader.schema)
        if out.path is not None
        else None
    )
    ledger = Ledger(out.ledger, report)
    try:
        pipeline.run(reader, writer, ledger)
        if writer is not None:
            writer.commit()
        ledger.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        ledger.abort()
        raise
    finally:
        executor.close()
    if out.report is not None:
        report.write(out.report)
    return report
