"""Scale-out on Ray Data: the stages' featurizers (signatures, fingerprints, quality signals,
contamination against the eval set, embeddings) run in parallel on Ray workers; the decisions
(fingerprint set, LSH index, clustering, the substring suffix array) stay on the driver, in stream
order. That split is why a Ray run keeps exactly the documents a local run keeps. Texts that a
decision rewrites (substring dedup) are featurised again on the driver for the stages after it
(:meth:`reactor.data.pipeline.Pipeline._refresh`), only for the documents it changed.

The driver reads ``window`` batches, hands them to Ray Data as one row per batch
(``ray.data.from_items`` + ``map_batches``), and consumes the features in input order while the
workers compute the next window. Ray must be installed (``pip install 'reactor[ray]'``); an existing
``ray.init`` is used, else a local one is started.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reactor.data.io import Document
from reactor.data.pipeline import FeatureExecutor, Featurizers
from reactor.data.stages.base import Features
from reactor.errors import UnavailableError

__all__ = ["RayExecutor"]


@dataclass(frozen=True)
class _FeaturizeBatches:
    """Ray Data ``map_batches`` function: every row holds one pipeline batch of texts."""

    featurizers: tuple[Callable[[list[str]], Features] | None, ...]

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        out = []
        for texts in rows["texts"]:
            texts = [str(t) for t in texts]
            per_stage: list[Features] = []
            for featurize in self.featurizers:
                features = featurize(texts) if featurize is not None else {}
                per_stage.append(features)
                if "text" in features:  # a transforming stage: later stages see its output
                    texts = [str(t) for t in features["text"]]
            out.append(pickle.dumps(per_stage, protocol=pickle.HIGHEST_PROTOCOL))
        return {"features": out}


class RayExecutor(FeatureExecutor):
    """Featurises windows of batches on Ray Data, in order."""

    name = "ray"

    def __init__(self, window: int = 4, *, num_cpus_per_task: float = 1.0) -> None:
        try:
            import ray
        except ImportError:
            raise UnavailableError("engine='ray' needs Ray: pip install 'reactor[ray]'") from None
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
            self._started = True
        else:
            self._started = False
        self._ray = ray
        self.window = max(1, int(window))
        self.num_cpus = num_cpus_per_task
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # features must come back in input order
        context.enable_progress_bars = False

    def featurize(
        self, batches: Iterator[list[Document]], featurizers: Featurizers
    ) -> Iterator[tuple[list[Document], list[Features] | None]]:
        """Yield each batch with the features of all its documents, per stage."""
        fn = _FeaturizeBatches(tuple(featurizers))
        while True:
            window = [docs for _, docs in zip(range(self.window), batches, strict=False)]
            if not window:
                return
            dataset = self._ray.data.from_items([{"texts": [doc.text for doc in docs]} for docs in window])
            mapped = dataset.map_batches(fn, batch_size=1, num_cpus=self.num_cpus, batch_format="numpy")
            results = (pickle.loads(row["features"]) for row in mapped.iter_rows())
            yield from zip(window, results, strict=True)

    def close(self) -> None:
        """Shut down a Ray instance this executor started."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
