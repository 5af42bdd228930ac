"""The issue #3 targets table: each target, its measured value and a PASS / FAIL verdict."""

from __future__ import annotations

from typing import Any

from benchkit import fmt
from dedupbench.config import BANDS, ROWS, TARGETS
from dedupbench.formatting import pct, rate, verdict


def target_rows(res: dict[str, Any]) -> list[list[str]]:
    """(target, measured, verdict) rows."""
    sig, lsh, mem, rows = res["signatures"], res["lsh"], res["memory"], []
    r1 = rate(sig, "reactor")
    rows.append(
        [
            "signatures >= 100k docs/CPU-s, 1 thread",
            fmt(r1),
            verdict(r1 >= TARGETS["signatures_docs_per_cpu_s"]),
        ]
    )
    if "rensa" in sig:
        got = r1 / rate(sig, "rensa")
        rows.append(["signatures faster than rensa (end to end)", f"{got:.1f}x", verdict(got > 1.0)])
        got = r1 / rate(sig, "rensa", "sketch")
        rows.append(
            ["(info) vs rensa's sketch alone, shingles given", f"{got:.1f}x", verdict(got > 1.0, True)]
        )
    if "datasketch" in sig:
        got = r1 / rate(sig, "datasketch")
        rows.append(
            ["(info) vs datasketch bulk+xxh32 (issue: 'about 18x')", f"{got:.1f}x", verdict(None, True)]
        )
    if res.get("scaling"):
        eff = res["scaling"]["cpu_efficiency"]
        rows.append(
            [
                "near-linear with a 2nd thread (CPU efficiency >= 0.85)",
                f"{eff:.2f} (wall {res['scaling']['wall_speedup']:.2f}x)",
                verdict(eff >= TARGETS["two_thread_cpu_efficiency"]),
            ]
        )
    for name in ("reactor_minhash", "reactor_jaccard"):
        got = rate(lsh, name)
        rows.append(
            [
                f"LSH insert+query >= 300k docs/CPU-s ({name[8:]})",
                fmt(got),
                verdict(got >= TARGETS["lsh_docs_per_cpu_s"]),
            ]
        )
    m = mem.get("reactor-minhash")
    if isinstance(m, dict):
        worst = max(m["index_bytes_per_doc"], m["rss_bytes_per_doc"])
        rows.append(
            [
                "signatures + index <= 1 KB/doc (minhash; max of index.stats and RSS)",
                fmt(worst),
                verdict(worst <= TARGETS["bytes_per_doc"]),
            ]
        )
    rows += quality_targets(res)
    s = res.get("scale")
    if isinstance(s, dict) and "minhash" in s:
        wall = s["minhash"]["wall_s"]
        rows.append(
            [f"{s['docs']:,} docs exact + near (minhash) < 60 s wall", f"{wall:.1f} s", verdict(wall < 60)]
        )
    return rows


def quality_targets(res: dict[str, Any]) -> list[list[str]]:
    rows = []
    ours, theirs = f"reactor {BANDS}x{ROWS} verify=jaccard", f"datasketch {BANDS}x{ROWS} raw LSH"
    for key, q in res["quality"].items():
        s = q["systems"]
        rows.append(
            [
                f"{key}: no FP after exact verification (reactor jaccard)",
                str(s[ours]["false_positives_after_exact"]),
                verdict(s[ours]["false_positives_after_exact"] == 0),
            ]
        )
        if theirs not in s:
            continue
        a, b = s[ours]["recall_j_ge_t"], s[theirs]["recall_j_ge_t"]
        n = q["truth"]["pairs_j_ge_t"]
        se = (b * (1 - b) / n) ** 0.5 if b is not None and n else 0.0
        ok = None if a is None or b is None else a >= b
        note = "" if ok or a is None or b is None or b - a > 2 * se else " (within 2 s.e.)"
        rows.append(
            [
                f"{key}: recall(J>=t) >= datasketch at {BANDS}x{ROWS}",
                f"{pct(a)} vs {pct(b)}{note}",
                verdict(ok),
            ]
        )
        a, b = s[ours]["precision_exact_j"], s[theirs]["precision_exact_j"]
        ok = None if a is None or b is None else a >= b
        rows.append(
            [
                f"{key}: precision(exact J) >= datasketch at {BANDS}x{ROWS}",
                f"{pct(a)} vs {pct(b)}",
                verdict(ok),
            ]
        )
    return rows
