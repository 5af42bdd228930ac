// ChaCha20 (RFC 8439) keystream for secure-aggregation masks, written from the RFC's description.
//
// Wide version: kLanes consecutive blocks are computed together, lane b of every state word
// holding block counter + b, so each quarter-round step is one vector operation over kLanes blocks
// (GCC vector extensions; one zmm register on AVX-512, two ymm on AVX2, four xmm on SSE2, chosen at
// load time by MLFORGE_TARGET_CLONES). The result is word-major (word j of all blocks together) and
// is transposed to the keystream's block-major order while it is stored or added.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/simd.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "mlforge/secure_agg.h"

namespace mlforge {
namespace {

constexpr int kLanes = 16;                           // blocks per group
constexpr std::int64_t kGroupWords = 16 * kLanes;    // keystream words per group
constexpr std::int64_t kGroupGrain = 16;             // groups per parallel task (64 KiB of keystream)

using State = std::array<std::uint32_t, 16>;

std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

// RFC 8439 section 2.3: constants "expand 32-byte k", key, block counter, nonce.
State initial_state(const ChaChaKey& key, std::uint32_t counter, const ChaChaNonce& nonce) {
  State s{0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(4 + i)] = load_le32(key.data() + 4 * i);
  s[12] = counter;
  for (int i = 0; i < 3; ++i) s[static_cast<std::size_t>(13 + i)] = load_le32(nonce.data() + 4 * i);
  return s;
}

constexpr std::uint32_t rotl(std::uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

void quarter_round(State& x, int a, int b, int c, int d) {
  auto& xa = x[static_cast<std::size_t>(a)];
  auto& xb = x[static_cast<std::size_t>(b)];
  auto& xc = x[static_cast<std::size_t>(c)];
  auto& xd = x[static_cast<std::size_t>(d)];
  xa += xb; xd ^= xa; xd = rotl(xd, 16);
  xc += xd; xb ^= xc; xb = rotl(xb, 12);
  xa += xb; xd ^= xa; xd = rotl(xd, 8);
  xc += xd; xb ^= xc; xb = rotl(xb, 7);
}

using Lanes = std::uint32_t __attribute__((vector_size(4 * kLanes)));

#define MLFORGE_CHACHA_QR(a, b, c, d)                         \
  do {                                                        \
    v[a] += v[b]; v[d] ^= v[a]; v[d] = (v[d] << 16) | (v[d] >> 16); \
    v[c] += v[d]; v[b] ^= v[c]; v[b] = (v[b] << 12) | (v[b] >> 20); \
    v[a] += v[b]; v[d] ^= v[a]; v[d] = (v[d] << 8) | (v[d] >> 24);  \
    v[c] += v[d]; v[b] ^= v[c]; v[b] = (v[b] << 7) | (v[b] >> 25);  \
  } while (0)

// Blocks first_block .. first_block + kLanes - 1 (relative to the state's counter) into
// words[j * kLanes + b] = word j of block b (word-major).
MLFORGE_TARGET_CLONES void group_words(const std::uint32_t* state, std::uint32_t first_block, std::uint32_t* words) {
  Lanes v[16];
  Lanes input[16];
  for (int j = 0; j < 16; ++j) {
    for (int b = 0; b < kLanes; ++b) input[j][b] = state[j];
  }
  for (int b = 0; b < kLanes; ++b) input[12][b] = state[12] + first_block + static_cast<std::uint32_t>(b);
  for (int j = 0; j < 16; ++j) v[j] = input[j];
  for (int round = 0; round < 10; ++round) {
    MLFORGE_CHACHA_QR(0, 4, 8, 12);
    MLFORGE_CHACHA_QR(1, 5, 9, 13);
    MLFORGE_CHACHA_QR(2, 6, 10, 14);
    MLFORGE_CHACHA_QR(3, 7, 11, 15);
    MLFORGE_CHACHA_QR(0, 5, 10, 15);
    MLFORGE_CHACHA_QR(1, 6, 11, 12);
    MLFORGE_CHACHA_QR(2, 7, 8, 13);
    MLFORGE_CHACHA_QR(3, 4, 9, 14);
  }
  for (int j = 0; j < 16; ++j) {
    const Lanes sum = v[j] + input[j];
    std::memcpy(words + j * kLanes, &sum, sizeof(sum));
  }
}

#undef MLFORGE_CHACHA_QR

// out[b * 16 + j] = words[j * kLanes + b] for the first `count` keystream words of the group.
MLFORGE_TARGET_CLONES void store_group(const std::uint32_t* words, std::uint32_t* out, std::int64_t count) {
  if (count == kGroupWords) {
    for (int b = 0; b < kLanes; ++b) {
      for (int j = 0; j < 16; ++j) out[b * 16 + j] = words[j * kLanes + b];
    }
    return;
  }
  for (std::int64_t i = 0; i < count; ++i) out[i] = words[(i % 16) * kLanes + i / 16];
}

// acc[i] += sign * keystream[i] (mod 2^32) for the first `count` words of the group.
MLFORGE_TARGET_CLONES void add_group(const std::uint32_t* words, std::uint32_t* acc, std::int64_t count,
                                     bool subtract) {
  if (count == kGroupWords) {
    if (subtract) {
      for (int b = 0; b < kLanes; ++b) {
        for (int j = 0; j < 16; ++j) acc[b * 16 + j] -= words[j * kLanes + b];
      }
    } else {
      for (int b = 0; b < kLanes; ++b) {
        for (int j = 0; j < 16; ++j) acc[b * 16 + j] += words[j * kLanes + b];
      }
    }
    return;
  }
  for (std::int64_t i = 0; i < count; ++i) {
    const std::uint32_t w = words[(i % 16) * kLanes + i / 16];
    acc[i] = subtract ? acc[i] - w : acc[i] + w;
  }
}

void require_words(const char* op, const char* name, const ArrayView& a) {
  a.require_device(op, name, DeviceType::kCPU);
  a.require_dtype(op, name, DType::kUInt32);
  MLFORGE_CHECK(a.ndim() == 1, InvalidArgument, "[", op, "] ", name, ": expected a 1-D uint32 array, got ",
                a.describe());
  a.require_contiguous(op, name);
  a.require_writable(op, name);
}

// The blocks for `words` keystream words starting at `counter` must not run past 2^32 (RFC 8439's
// 32-bit counter never wraps).
void require_counter_range(const char* op, std::int64_t words, std::uint32_t counter) {
  const auto blocks = static_cast<std::uint64_t>((words + 15) / 16);
  MLFORGE_CHECK(counter + blocks <= (std::uint64_t{1} << 32), InvalidArgument, "[", op, "] counter=", counter,
                " plus the ", blocks, " blocks needed for ", words, " words runs past the 32-bit block counter (2^32)");
}

// Runs body(group, words_in_group, first_word) for every group of the keystream, in parallel.
template <class Body>
void for_each_group(std::int64_t words, Body body) {
  const std::int64_t groups = (words + kGroupWords - 1) / kGroupWords;
  parallel_for(0, groups, kGroupGrain, [&](std::int64_t lo, std::int64_t hi) {
    alignas(64) std::uint32_t buffer[kGroupWords];
    for (std::int64_t g = lo; g < hi; ++g) {
      const std::int64_t first = g * kGroupWords;
      body(static_cast<std::uint32_t>(g * kLanes), std::min(kGroupWords, words - first), first, buffer);
    }
  });
}

}  // namespace

ChaChaBlock chacha20_block(const ChaChaKey& key, std::uint32_t counter, const ChaChaNonce& nonce) noexcept {
  const State input = initial_state(key, counter, nonce);
  State x = input;
  for (int round = 0; round < 10; ++round) {
    quarter_round(x, 0, 4, 8, 12);
    quarter_round(x, 1, 5, 9, 13);
    quarter_round(x, 2, 6, 10, 14);
    quarter_round(x, 3, 7, 11, 15);
    quarter_round(x, 0, 5, 10, 15);
    quarter_round(x, 1, 6, 11, 12);
    quarter_round(x, 2, 7, 8, 13);
    quarter_round(x, 3, 4, 9, 14);
  }
  ChaChaBlock out;
  for (std::size_t j = 0; j < 16; ++j) out[j] = x[j] + input[j];
  return out;
}

void chacha20_expand(const ArrayView& out, const ChaChaKey& key, std::uint32_t counter, const ChaChaNonce& nonce) {
  constexpr const char* op = "secure_agg.chacha20_expand";
  require_words(op, "out", out);
  const std::int64_t words = out.numel();
  require_counter_range(op, words, counter);
  const State state = initial_state(key, counter, nonce);
  auto* data = static_cast<std::uint32_t*>(out.data());
  for_each_group(words, [&](std::uint32_t block, std::int64_t count, std::int64_t first, std::uint32_t* buffer) {
    group_words(state.data(), block, buffer);
    store_group(buffer, data + first, count);
  });
}

void add_masks(const ArrayView& acc, const std::vector<MaskSeed>& seeds, std::uint32_t counter,
               const ChaChaNonce& nonce) {
  constexpr const char* op = "secure_agg.add_masks";
  require_words(op, "acc", acc);
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    MLFORGE_CHECK(seeds[s].sign == 1 || seeds[s].sign == -1, InvalidArgument, "[", op, "] signs[", s,
                  "] must be +1 or -1, got ", seeds[s].sign);
  }
  const std::int64_t words = acc.numel();
  require_counter_range(op, words, counter);
  std::vector<State> states;
  states.reserve(seeds.size());
  for (const MaskSeed& seed : seeds) states.push_back(initial_state(seed.key, counter, nonce));
  auto* data = static_cast<std::uint32_t*>(acc.data());
  // Seeds innermost: a group of acc stays in L1 while every mask is added to it.
  for_each_group(words, [&](std::uint32_t block, std::int64_t count, std::int64_t first, std::uint32_t* buffer) {
    for (std::size_t s = 0; s < states.size(); ++s) {
      group_words(states[s].data(), block, buffer);
      add_group(buffer, data + first, count, seeds[s].sign < 0);
    }
  });
}

}  // namespace mlforge
