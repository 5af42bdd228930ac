// Deduplication and data-quality engine: one call per batch of documents, parallel, GIL-free.
//   dedup/text.h           normalisation, tokenisation, exact 128-bit fingerprints
//   dedup/minhash.h        MinHash signatures, LSH parameter choice, the near-duplicate index
//   dedup/simhash.h        64-bit SimHash and Hamming-distance search
//   dedup/semantic.h       in-cluster cosine search for semantic dedup (SemDeDup)
//   dedup/substring.h      exact-substring dedup (suffix array over the token stream, Lee et al. 2021)
//   dedup/contamination.h  eval-set contamination: GPT-3 n-gram overlap, Llama 2 token coverage
//   dedup/quality.h        Gopher-style quality signals (one float64 row per document)
#pragma once

#include "mlforge/dedup/contamination.h"
#include "mlforge/dedup/minhash.h"
#include "mlforge/dedup/quality.h"
#include "mlforge/dedup/semantic.h"
#include "mlforge/dedup/simhash.h"
#include "mlforge/dedup/substring.h"
#include "mlforge/dedup/text.h"
