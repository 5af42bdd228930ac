// Deduplication and data-quality engine: one call per batch of documents, parallel, GIL-free.
//   dedup/text.h        normalisation, tokenisation, exact 128-bit fingerprints
//   dedup/minhash.h     MinHash signatures, LSH parameter choice, the near-duplicate index
//   dedup/simhash.h     64-bit SimHash and Hamming-distance search
#pragma once

#include "mlforge/dedup/text.h"
