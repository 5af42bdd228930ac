// Deduplication and data-quality engine: one call per batch of documents, parallel, GIL-free.
//   dedup/text.h        normalisation, tokenisation, exact 128-bit fingerprints
//   dedup/minhash.h     MinHash signatures, LSH parameter choice, the near-duplicate index
//   dedup/simhash.h     64-bit SimHash and Hamming-distance search
//   dedup/semantic.h    in-cluster cosine search for semantic dedup (SemDeDup)
#pragma once

#include "mlforge/dedup/minhash.h"
#include "mlforge/dedup/semantic.h"
#include "mlforge/dedup/simhash.h"
#include "mlforge/dedup/text.h"
