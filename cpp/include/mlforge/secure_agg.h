// Arithmetic for secure aggregation (Bonawitz et al., CCS 2017; Bell et al., CCS 2020): fixed-point
// encoding of updates into Z_{2^32}, masked sums modulo 2^32, and mask expansion from 32-byte seeds
// with the ChaCha20 stream cipher (RFC 8439). The protocol itself (key agreement, secret sharing,
// rounds) lives in Python (reactor.federated); this is the per-coordinate work it needs.
//
// Fixed point. With clip c > 0 and an integer number of levels L >= 1, x in [-c, c] encodes as
//   q(x) = round(x * L / c) in [-L, L]   (round half to even, computed in float64),
// stored as a uint32 in two's complement (q mod 2^32). A sum of K encodings lies in [-K L, K L];
// it can be recovered from its residue mod 2^32 exactly when K L <= 2^31 - 1, and decodes as
//   x_sum = int32(S) * c / L   (int32(): the residue read as a signed 32-bit integer)
// so each coordinate of a decoded sum is within K * c / (2 L) of the true sum (c / (2 L) per update:
// half a quantization step). fixed_point_levels(c, K) gives the largest safe L, floor((2^31-1)/K).
//
// Masks. Client u sends y_u = q(x_u) + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv)
// (mod 2^32); pairwise masks cancel in the sum. PRG(seed) here is ChaCha20 (RFC 8439) keyed by the
// 32-byte seed, with a 12-byte nonce (default all zeros) and a 32-bit block counter starting at
// `counter` (default 0): mask[i] is little-endian word i % 16 of keystream block counter + i / 16.
// This equals numpy.frombuffer(keystream_bytes, "<u4"), i.e. the `cryptography` package's
// ChaCha20 with a 16-byte nonce = counter (4 bytes, little endian) || nonce (12 bytes). A mask of D
// words needs ceil(D / 16) blocks, and counter + blocks must not exceed 2^32 (the RFC's counter does
// not wrap). Expansion runs 16 blocks at a time in 32-bit SIMD lanes (runtime-dispatched AVX-512 /
// AVX2 / SSE2) and in parallel over block ranges; every word depends only on (key, nonce, counter,
// index), so the output is the same for any thread count.
//
// Dtypes: updates float32 or float64; encodings, masks and accumulators uint32. All arrays are
// contiguous CPU memory owned by the caller; nothing is retained. Outputs and accumulators must be
// writable. Thread-safety: pure functions over caller memory. Blocking: each call runs on the shared
// pool and returns when done.
// Errors: InvalidArgument ("[secure_agg.op] ...") for wrong dtype, shape or layout, a length
// mismatch, non-finite or non-positive clip, levels outside [1, 2^31 - 1], a sign other than +1/-1,
// a NaN/infinite value (naming its index), a value outside [-c, c] under RangePolicy::kError (naming
// its index, the value and c), and a counter range past 2^32. CapacityExceeded when K * L > 2^31 - 1
// (the sum of K encodings could wrap), naming K, L and the limit. On an error from quantize, `out`
// may be partly written; inputs are never modified by a failing call.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/array.h"

namespace mlforge {

using ChaChaKey = std::array<std::uint8_t, 32>;
using ChaChaNonce = std::array<std::uint8_t, 12>;
using ChaChaBlock = std::array<std::uint32_t, 16>;

/// The ChaCha20 block function (RFC 8439, section 2.3): the 16 state words after 20 rounds plus the
/// input state. Serialised little-endian they are the 64 keystream bytes of block `counter`.
MLFORGE_API ChaChaBlock chacha20_block(const ChaChaKey& key, std::uint32_t counter, const ChaChaNonce& nonce) noexcept;

/// Writes the keystream words into out (uint32, contiguous, writable): out[i] = word i % 16 of block
/// counter + i / 16 (see the file comment).
MLFORGE_API void chacha20_expand(const ArrayView& out, const ChaChaKey& key, std::uint32_t counter = 0,
                                 const ChaChaNonce& nonce = {});

/// One mask to add (sign +1) or subtract (sign -1) while the keystream is being generated.
struct MaskSeed {
  ChaChaKey key;
  int sign;
};

/// acc[i] = acc[i] + sum_s seeds[s].sign * keystream_s[i] (mod 2^32), one pass over acc whatever the
/// number of seeds; no mask is ever materialised. acc: uint32, contiguous, writable.
MLFORGE_API void add_masks(const ArrayView& acc, const std::vector<MaskSeed>& seeds, std::uint32_t counter = 0,
                           const ChaChaNonce& nonce = {});

/// acc[i] = acc[i] + sign * values[i] (mod 2^32) in place; both uint32 of one length, sign +1 or -1.
MLFORGE_API void add_mod(const ArrayView& acc, const ArrayView& values, int sign = 1);

/// Largest level count L with num_clients * L <= 2^31 - 1. Throws InvalidArgument for
/// num_clients < 1 and CapacityExceeded when num_clients > 2^31 - 1.
MLFORGE_API std::int64_t fixed_point_levels(std::int64_t num_clients);

/// What quantize does with a finite value outside [-clip, clip].
enum class RangePolicy : int { kError = 0, kClip = 1 };

/// out[i] = round(x[i] * levels / clip) mod 2^32 (see the file comment). x float32 or float64 [D],
/// out uint32 [D]. num_clients is the number of encodings that will be summed: K * levels must be
/// <= 2^31 - 1 (else CapacityExceeded). NaN/infinity is always an error; out-of-range values are an
/// error (kError) or clamped to +-clip (kClip).
MLFORGE_API void quantize(const ArrayView& x, double clip, std::int64_t levels, std::int64_t num_clients,
                          const ArrayView& out, RangePolicy policy = RangePolicy::kError);

/// out[i] = int32(sum[i]) * clip / levels: decodes a modular sum of encodings (or one encoding).
/// sum uint32 [D], out float32 or float64 [D] (computed in float64, rounded once).
MLFORGE_API void dequantize(const ArrayView& sum, double clip, std::int64_t levels, const ArrayView& out);

}  // namespace mlforge
