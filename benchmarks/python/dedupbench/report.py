"""The markdown report: one section per benchmark part, then the targets table."""

from __future__ import annotations

from typing import Any

from benchkit import fmt
from dedupbench.config import BANDS, NGRAM, NUM_PERM, PEERS, RENSA_BANDS, ROWS, THRESHOLD
from dedupbench.formatting import pct, rate, ratio, table
from dedupbench.scale import SCALE_EDIT
from dedupbench.targets import target_rows

SIG_ROWS: list[tuple[str, str, str | None]] = [
    ("reactor `minhash_signatures`, 1 thread (end to end from `str`)", "reactor", None),
    ("reactor `minhash_signatures`, 2 threads", "reactor_2t", None),
    (
        "reactor `engine.dedup.minhash(with_sets=True)` (sets for verify=jaccard), 1 thread",
        "reactor_sets",
        None,
    ),
    ("datasketch `MinHash.bulk` + xxh32, incl. Python shingling", "datasketch", None),
    ("datasketch `MinHash.bulk` + xxh32, sketch only (shingles given)", "datasketch", "sketch"),
    ("rensa `digest_matrix_from_token_sets`, incl. Python shingling", "rensa", None),
    ("rensa `digest_matrix_from_token_sets`, sketch only (shingles given)", "rensa", "sketch"),
    ("(reference) Python shingling alone: split + 5-gram join + encode", "datasketch", "tokenise"),
    (
        "(reference) reactor `exact_fingerprints`: normalise + tokenise + doc hash, no shingles",
        "reactor_exact",
        None,
    ),
]


def signature_section(res: dict[str, Any]) -> list[str]:
    summ = res["signatures"]
    r1 = rate(summ, "reactor")
    rows = []
    for label, name, phase in SIG_ROWS:
        if name not in summ:
            continue
        cpu_rate = rate(summ, name, phase)
        rows.append([label, fmt(cpu_rate), fmt(rate(summ, name, phase, wall=True)), ratio(r1, cpu_rate)])
    lines = ["### 1. MinHash signatures (word 5-grams, 128 perms)", ""]
    lines += table(["System", "docs/CPU-s", "docs/s (wall)", "reactor 1T / row (CPU)"], rows)
    s, mach = res.get("scaling"), res["machine"]
    if s:
        lines += [
            "",
            f"2 threads: wall speedup {s['wall_speedup']:.2f}x, CPU-time efficiency "
            f"{s['cpu_efficiency']:.2f} (1-thread CPU-s / 2-thread CPU-s; 1.0 = no extra work, so "
            f"{2 * s['cpu_efficiency']:.2f}x on two free cores). Load average at the start: "
            f"{mach['loadavg_start'][0]:.2f} on {mach['cpus']} CPUs, which bounds the wall speedup.",
        ]
    return lines


LSH_ROWS: list[tuple[str, str]] = [
    (
        f"reactor `NearDuplicateIndex` {BANDS}x{ROWS} verify=minhash: add_signatures + clusters",
        "reactor_minhash",
    ),
    (
        f"reactor `NearDuplicateIndex` {BANDS}x{ROWS} verify=jaccard: add_signatures + clusters",
        "reactor_jaccard",
    ),
    (f"reactor engine `MinHashIndex` {BANDS}x{ROWS} minhash: insert all, then query all", "reactor_query"),
    ("reactor default banding verify=jaccard: add_signatures + clusters", "reactor_default"),
    (f"datasketch `MinHashLSH(0.8)` ({BANDS}x{ROWS}): insertion session + query each", "datasketch"),
    (f"rensa `RMinHashLSH(0.8, 128, {RENSA_BANDS})`: insert_pairs + query_all", "rensa"),
]


def lsh_section(res: dict[str, Any]) -> list[str]:
    summ = res["lsh"]
    peers = [p for p in PEERS if p in summ]
    rows = []
    for label, name in LSH_ROWS:
        if name not in summ:
            continue
        cpu_rate = rate(summ, name)
        phases = ", ".join(
            f"{k[:-6]} {fmt(summ[name]['n_docs'] / v)}"
            for k, v in summ[name]["median"].items()
            if k.endswith("_cpu_s") and k != "cpu_s" and v
        )
        row = [label, fmt(cpu_rate), fmt(rate(summ, name, wall=True)), phases]
        rows.append(
            row + [ratio(cpu_rate, rate(summ, p)) if name.startswith("reactor") else "" for p in peers]
        )
    lines = ["", "### 2. LSH insert + query at threshold 0.8 (signatures given)", ""]
    head = ["System", "docs/CPU-s", "docs/s (wall)", "phases (docs/CPU-s)", *(f"row / {p}" for p in peers)]
    lines += table(head, rows)
    lines.append("")
    lines.append(
        "The reactor `add_signatures` rows link every new document to its (verified) candidates while "
        "inserting, so they do insert + query + union-find in one pass; the peers' rows stop at candidate "
        "lists (no verification, no clustering)."
    )
    return lines


def memory_section(res: dict[str, Any]) -> list[str]:
    mem = res["memory"]
    rows = []
    for name, label in (
        ("reactor-minhash", f"reactor index {BANDS}x{ROWS} verify=minhash"),
        ("reactor-jaccard", f"reactor index {BANDS}x{ROWS} verify=jaccard (keeps shingle sets)"),
        ("datasketch", "datasketch MinHash objects + MinHashLSH"),
        ("rensa", "rensa RMinHash objects + RMinHashLSH"),
    ):
        m = mem.get(name)
        if m is None:
            continue
        if isinstance(m, str):
            rows.append([label, "n/a", "n/a", "n/a", m[:120]])
            continue
        rows.append(
            [
                label,
                fmt(m.get("index_bytes_per_doc")),
                fmt(m["rss_bytes_per_doc"]),
                fmt(m.get("peak_growth_bytes_per_doc")),
                "",
            ]
        )
    lines = ["", "### 3. Resident memory for signatures + index, bytes per document", ""]
    lines += table(
        ["System", "index.stats() B/doc", "RSS growth B/doc", "peak RSS growth B/doc", "note"], rows
    )
    lines += [
        "",
        "RSS growth: a fresh process per system, corpus texts already loaded, signing + indexing the "
        "corpus, shingle lists freed. A uint32 signature row alone is 512 B/doc; reactor's index keeps "
        "its own copy (the caller may drop the signature array, as here).",
    ]
    return lines


def quality_section(res: dict[str, Any]) -> list[str]:
    lines = ["", "### 4. Precision / recall against the injected duplicates", ""]
    for key, q in res["quality"].items():
        t = q["truth"]
        lines += [
            f"Corpus {key}: {t['docs']:,} docs, {t['pairs']:,} injected pairs ({t['near_pairs']:,} near, "
            f"{t['exact_pairs']:,} exact); near-pair 5-gram Jaccard mean {pct(t['near_j_mean'])}, "
            f"p5 {pct(t['near_j_p5'])}, p95 {pct(t['near_j_p95'])}, max {pct(t['near_j_max'])}; "
            f"{t['pairs_j_ge_t']:,} pairs have J >= {THRESHOLD} (S-curve expectation of their recall at "
            f"{BANDS}x{ROWS}: {pct(t['expected_recall_j_ge_t'])}); sha256 {t['sha256_prefix']}.",
            "",
        ]
        head = [
            "Config",
            "removed",
            "recall all / exact / near",
            f"recall J>={THRESHOLD}",
            "precision family / exact-J",
            "FP after exact",
        ]
        rows = [
            [
                name,
                f"{s['removed_docs']:,}",
                f"{pct(s['recall_all'])} / {pct(s['recall_exact'])} / {pct(s['recall_near'])}",
                pct(s["recall_j_ge_t"]),
                f"{pct(s['precision_family'])} / {pct(s['precision_exact_j'])}",
                str(s["false_positives_after_exact"]),
            ]
            for name, s in q["systems"].items()
        ]
        lines += [*table(head, rows), ""]
        est = q["estimates_near_pairs"]
        lines += [
            "MinHash Jaccard estimate on the near pairs (bias = mean estimate - exact, RMSE): "
            + "; ".join(f"{k} {v['bias']:+.4f} / {v['rmse']:.4f}" for k, v in est.items())
            + ".",
            "",
        ]
    lines.append(
        "removed = documents that are not their cluster's smallest id. FP after exact = removed documents "
        f"not joined to their representative by a chain of exact-Jaccard >= {THRESHOLD} pairs."
    )
    return lines


def scale_section(res: dict[str, Any]) -> list[str]:
    s = res.get("scale")
    if s is None:
        return []
    lines = ["", "### 5. Scale: exact + MinHash near dedup, 2 engine threads", ""]
    if isinstance(s, str):
        return [*lines, f"Scale run failed: `{s}`"]
    b = s["banding"]
    lines.append(
        f"{s['docs']:,} docs (~{s['mean_chars']:.0f} chars; {s['injected_exact']:,} exact + "
        f"{s['injected_near']:,} near copies with {SCALE_EDIT:.0%} word edits), generated in "
        f"{s['generate_s']:.0f} s (not timed); banding {b['bands']}x{b['rows']}; corpus RSS "
        f"{s['rss_corpus_bytes'] / 2**30:.2f} GiB."
    )
    rows = []
    for verify in ("minhash", "jaccard"):
        r = s.get(verify)
        if r is None:
            continue
        peak = r["peak_rss_bytes"]
        rows.append(
            [
                f"verify={verify}",
                f"{r['exact_wall_s']:.1f} / {r['exact_cpu_s']:.1f}",
                f"{r['near_wall_s']:.1f} / {r['near_cpu_s']:.1f}",
                f"{r['wall_s']:.1f} / {r['cpu_s']:.1f}",
                "n/a" if peak is None else f"{peak / 2**30:.2f}",
                f"{r['exact_removed']:,} / {r['near_removed']:,}",
            ]
        )
    head = [
        "Mode",
        "exact wall / CPU s",
        "near wall / CPU s",
        "total wall / CPU s",
        "peak RSS GiB",
        "docs removed: exact / near stage",
    ]
    lines.append(
        "The near stage's count includes the exact copies; injected: "
        f"{s['injected_exact'] + s['injected_near']:,} documents. Peak RSS is the process's high-water "
        "mark since the start of that mode (corpus included)."
    )
    return [*lines, "", *table(head, rows)]


def markdown(res: dict[str, Any]) -> str:
    cfg, mach = res["config"], res["machine"]
    lines = [
        f"## MinHash dedup: reactor vs datasketch and rensa ({'QUICK smoke run, ' if res['quick'] else ''}"
        f"{cfg['n_docs']:,} docs, word {NGRAM}-grams, {NUM_PERM} perms, t={THRESHOLD}, 1 thread)",
        "",
        f"Machine: {mach['cpu']}, {mach['cpus']} CPUs, load average at start "
        f"{', '.join(f'{x:.2f}' for x in mach['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in mach['loadavg_end'])}. **Shared host**: rates are per CPU-second of "
        f"this process (median of {cfg['repeats']}); wall-clock rates move with other load.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".",
    ]
    for peer, err in res["unavailable"].items():
        lines.append(f"**{peer} unavailable, its columns skipped**: `{err}`")
    lines += ["", *signature_section(res), *lsh_section(res), *memory_section(res), *quality_section(res)]
    lines += scale_section(res)
    lines += ["", "### Targets (issue #3)", "", *table(["Target", "Measured", "Verdict"], target_rows(res))]
    return "\n".join(lines) + "\n"
