#include "mlforge/secure_agg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

mlforge::ChaChaKey sequential_key() {
  mlforge::ChaChaKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

mlforge::ChaChaNonce nonce_from(std::initializer_list<int> bytes) {
  mlforge::ChaChaNonce nonce{};
  std::size_t i = 0;
  for (int b : bytes) nonce[i++] = static_cast<std::uint8_t>(b);
  return nonce;
}

ArrayView words_view(std::vector<std::uint32_t>& v) {
  return ArrayView(v.data(), DType::kUInt32, {static_cast<std::int64_t>(v.size())});
}

std::vector<std::uint8_t> keystream_bytes(const mlforge::ChaChaKey& key, std::uint32_t counter,
                                          const mlforge::ChaChaNonce& nonce, std::size_t n) {
  std::vector<std::uint32_t> words((n + 3) / 4);
  mlforge::chacha20_expand(words_view(words), key, counter, nonce);
  std::vector<std::uint8_t> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(words[i / 4] >> (8 * (i % 4)));
  return bytes;
}

// RFC 8439 section 2.3.2: key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, block count 1.
TEST(ChaCha20, BlockFunctionMatchesRfc8439Section232) {
  const mlforge::ChaChaBlock block =
      mlforge::chacha20_block(sequential_key(), 1, nonce_from({0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0}));
  const mlforge::ChaChaBlock expected = {0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033,
                                         0x9aaa2204, 0x4e6cd4c3, 0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9,
                                         0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2};
  EXPECT_EQ(block, expected);
  // The serialized keystream starts 10 f1 e7 e4 d1 3b 59 15 (little-endian words).
  const auto bytes = keystream_bytes(sequential_key(), 1, nonce_from({0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0}), 8);
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15}));
}

// RFC 8439 section 2.4.2: encryption with counter 1 of the "sunscreen" plaintext.
TEST(ChaCha20, EncryptionMatchesRfc8439Section242) {
  const std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would "
      "be it.";
  const std::vector<std::uint8_t> expected = {
      0x6e, 0x2e, 0x35, 0x9a, 0x25, 0x68, 0xf9, 0x80, 0x41, 0xba, 0x07, 0x28, 0xdd, 0x0d, 0x69, 0x81, 0xe9, 0x7e, 0x7a,
      0xec, 0x1d, 0x43, 0x60, 0xc2, 0x0a, 0x27, 0xaf, 0xcc, 0xfd, 0x9f, 0xae, 0x0b, 0xf9, 0x1b, 0x65, 0xc5, 0x52, 0x47,
      0x33, 0xab, 0x8f, 0x59, 0x3d, 0xab, 0xcd, 0x62, 0xb3, 0x57, 0x16, 0x39, 0xd6, 0x24, 0xe6, 0x51, 0x52, 0xab, 0x8f,
      0x53, 0x0c, 0x35, 0x9f, 0x08, 0x61, 0xd8, 0x07, 0xca, 0x0d, 0xbf, 0x50, 0x0d, 0x6a, 0x61, 0x56, 0xa3, 0x8e, 0x08,
      0x8a, 0x22, 0xb6, 0x5e, 0x52, 0xbc, 0x51, 0x4d, 0x16, 0xcc, 0xf8, 0x06, 0x81, 0x8c, 0xe9, 0x1a, 0xb7, 0x79, 0x37,
      0x36, 0x5a, 0xf9, 0x0b, 0xbf, 0x74, 0xa3, 0x5b, 0xe6, 0xb4, 0x0b, 0x8e, 0xed, 0xf2, 0x78, 0x5e, 0x42, 0x87, 0x4d};
  ASSERT_EQ(plaintext.size(), expected.size());
  const auto stream = keystream_bytes(sequential_key(), 1, nonce_from({0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0}),
                                      plaintext.size());
  std::vector<std::uint8_t> ciphertext(plaintext.size());
  for (std::size_t i = 0; i < plaintext.size(); ++i) {
    ciphertext[i] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(plaintext[i]) ^ stream[i]);
  }
  EXPECT_EQ(ciphertext, expected);
}

// RFC 8439 appendix A.1, test vector #1: all-zero key and nonce, counter 0.
TEST(ChaCha20, ZeroKeyMatchesRfc8439AppendixA1) {
  const auto bytes = keystream_bytes({}, 0, {}, 16);
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5,
                                              0x53, 0x86, 0xbd, 0x28}));
}

// The wide (16 blocks per vector) path, the partial last group and a non-zero start counter all agree
// with the scalar block function.
TEST(ChaCha20, ExpandEqualsScalarBlocksForEveryLength) {
  mlforge::ChaChaKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0xa5 ^ (7 * i));
  const auto nonce = nonce_from({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  for (std::int64_t n : {0, 1, 15, 16, 17, 255, 256, 257, 4096 + 33, 70000}) {
    for (std::uint32_t counter : {0u, 7u}) {
      std::vector<std::uint32_t> words(static_cast<std::size_t>(n));
      mlforge::chacha20_expand(words_view(words), key, counter, nonce);
      for (std::int64_t i = 0; i < n; ++i) {
        const auto block = mlforge::chacha20_block(key, counter + static_cast<std::uint32_t>(i / 16), nonce);
        ASSERT_EQ(words[static_cast<std::size_t>(i)], block[static_cast<std::size_t>(i % 16)])
            << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST(ChaCha20, CounterMayReachButNotPass2To32) {
  std::vector<std::uint32_t> words(32);  // two blocks
  EXPECT_NO_THROW(mlforge::chacha20_expand(words_view(words), {}, 0xfffffffeu));
  EXPECT_EQ(words[16], mlforge::chacha20_block({}, 0xffffffffu, {})[0]);
  EXPECT_THROW(mlforge::chacha20_expand(words_view(words), {}, 0xffffffffu), mlforge::InvalidArgument);
}

TEST(ChaCha20, SameResultOnOneAndTwoThreads) {
  const int before = mlforge::num_threads();
  std::vector<std::uint32_t> one(300001), two(300001), acc1(300001, 5), acc2(300001, 5);
  const std::vector<mlforge::MaskSeed> seeds = {{sequential_key(), 1}, {{}, -1}};
  mlforge::set_num_threads(1);
  mlforge::chacha20_expand(words_view(one), sequential_key());
  mlforge::add_masks(words_view(acc1), seeds);
  mlforge::set_num_threads(2);
  mlforge::chacha20_expand(words_view(two), sequential_key());
  mlforge::add_masks(words_view(acc2), seeds);
  mlforge::set_num_threads(before);
  EXPECT_EQ(one, two);
  EXPECT_EQ(acc1, acc2);
}

TEST(Masks, FusedAddEqualsMaterialisedMasks) {
  const std::int64_t n = 5000;
  mlforge::ChaChaKey a = sequential_key(), b{};
  b[0] = 42;
  std::vector<std::uint32_t> acc(n), ma(n), mb(n), expected(n);
  for (std::int64_t i = 0; i < n; ++i) acc[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i * 2654435761u);
  mlforge::chacha20_expand(words_view(ma), a, 3);
  mlforge::chacha20_expand(words_view(mb), b, 3);
  for (std::size_t i = 0; i < acc.size(); ++i) expected[i] = acc[i] + ma[i] - mb[i];
  mlforge::add_masks(words_view(acc), {{a, 1}, {b, -1}}, 3);
  EXPECT_EQ(acc, expected);
  EXPECT_THROW(mlforge::add_masks(words_view(acc), {{a, 2}}), mlforge::InvalidArgument);
}

// K clients with Bonawitz-style pairwise masks: the masked encodings sum to the plain sum of the
// encodings exactly (mod 2^32), and that decodes to the float sum within K half-steps.
TEST(SecureSum, PairwiseMasksCancelExactly) {
  const int clients = 7;
  const std::int64_t d = 10007;
  const double clip = 2.0;
  const std::int64_t levels = mlforge::fixed_point_levels(clients);
  std::mt19937 gen(123);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  std::vector<std::vector<float>> updates(clients, std::vector<float>(d));
  for (auto& u : updates) {
    for (float& x : u) x = value(gen);
  }
  std::vector<std::vector<mlforge::ChaChaKey>> pair_seed(clients, std::vector<mlforge::ChaChaKey>(clients));
  for (int u = 0; u < clients; ++u) {
    for (int v = u + 1; v < clients; ++v) {
      for (auto& byte : pair_seed[u][v]) byte = static_cast<std::uint8_t>(gen());
      pair_seed[v][u] = pair_seed[u][v];
    }
  }
  std::vector<std::uint32_t> plain(d, 0), masked_sum(d, 0), encoded(d);
  for (int u = 0; u < clients; ++u) {
    mlforge::quantize(ArrayView(updates[u].data(), DType::kFloat32, {d}), clip, levels, clients, words_view(encoded));
    mlforge::add_mod(words_view(plain), words_view(encoded));
    std::vector<mlforge::MaskSeed> masks;
    for (int v = 0; v < clients; ++v) {
      if (v != u) masks.push_back({pair_seed[u][v], v > u ? 1 : -1});
    }
    mlforge::add_masks(words_view(encoded), masks);
    mlforge::add_mod(words_view(masked_sum), words_view(encoded));
  }
  EXPECT_EQ(masked_sum, plain);
  std::vector<double> decoded(d);
  mlforge::dequantize(words_view(masked_sum), clip, levels, ArrayView(decoded.data(), DType::kFloat64, {d}));
  const double half_step = clip / static_cast<double>(levels) / 2.0;
  for (std::int64_t i = 0; i < d; ++i) {
    double truth = 0.0;
    for (int u = 0; u < clients; ++u) truth += updates[u][static_cast<std::size_t>(i)];
    ASSERT_LE(std::fabs(decoded[static_cast<std::size_t>(i)] - truth), clients * half_step * (1 + 1e-9)) << i;
  }
}

TEST(FixedPoint, RoundTripWithinHalfAStepAndNegativeValuesWrap) {
  const double clip = 3.0;
  const std::int64_t levels = 1000;
  std::vector<float> x = {-3.0f, -2.9995f, -1.0f, -0.0014f, 0.0f, 0.0016f, 1.25f, 3.0f};
  std::vector<std::uint32_t> q(x.size());
  const auto n = static_cast<std::int64_t>(x.size());
  mlforge::quantize(ArrayView(x.data(), DType::kFloat32, {n}), clip, levels, 1, words_view(q));
  EXPECT_EQ(q[0], static_cast<std::uint32_t>(-1000));
  EXPECT_EQ(q[2], static_cast<std::uint32_t>(-333));
  EXPECT_EQ(q[3], static_cast<std::uint32_t>(0));  // -0.467 rounds to 0
  EXPECT_EQ(q[5], 1u);                              // 0.533 rounds to 1
  EXPECT_EQ(q[7], 1000u);
  std::vector<float> back(x.size());
  mlforge::dequantize(words_view(q), clip, levels, ArrayView(back.data(), DType::kFloat32, {n}));
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(back[i] - x[i]), clip / levels / 2.0 + 1e-6) << i;
  }
  EXPECT_FLOAT_EQ(back[2], -0.999f);
}

TEST(FixedPoint, OverflowAndRangeErrors) {
  EXPECT_EQ(mlforge::fixed_point_levels(1), 2147483647);
  EXPECT_EQ(mlforge::fixed_point_levels(100), 21474836);
  EXPECT_THROW(mlforge::fixed_point_levels(0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::fixed_point_levels(std::int64_t{1} << 31), mlforge::CapacityExceeded);
  std::vector<float> x = {0.5f, -4.0f, 7.0f};
  std::vector<std::uint32_t> q(3);
  const ArrayView xv(x.data(), DType::kFloat32, {3});
  try {
    mlforge::quantize(xv, 1.0, 21474837, 100, words_view(q));
    FAIL() << "expected CapacityExceeded";
  } catch (const mlforge::CapacityExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("num_clients=100"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("levels=21474837"), std::string::npos) << e.what();
  }
  try {
    mlforge::quantize(xv, 1.0, 100, 100, words_view(q));
    FAIL() << "expected InvalidArgument";
  } catch (const mlforge::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("x[1] = -4"), std::string::npos) << e.what();
  }
  mlforge::quantize(xv, 1.0, 100, 100, words_view(q), mlforge::RangePolicy::kClip);
  EXPECT_EQ(q, (std::vector<std::uint32_t>{50u, static_cast<std::uint32_t>(-100), 100u}));
  x[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(mlforge::quantize(xv, 1.0, 100, 100, words_view(q), mlforge::RangePolicy::kClip),
               mlforge::InvalidArgument);
  std::vector<std::uint32_t> short_out(2);
  EXPECT_THROW(mlforge::quantize(xv, 1.0, 100, 1, words_view(short_out)), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::add_mod(words_view(q), words_view(short_out)), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::add_mod(words_view(q), words_view(q), 0), mlforge::InvalidArgument);
}

// At the capacity limit (K * L = 2^31 - 1 with every value at +-clip) the modular sum still decodes.
TEST(FixedPoint, ExtremeSumsDecodeAtTheCapacityLimit) {
  const int clients = 3;
  const std::int64_t levels = mlforge::fixed_point_levels(clients);
  std::vector<float> x = {1.0f, -1.0f};
  std::vector<std::uint32_t> q(2), sum(2, 0);
  for (int k = 0; k < clients; ++k) {
    mlforge::quantize(ArrayView(x.data(), DType::kFloat32, {2}), 1.0, levels, clients, words_view(q));
    mlforge::add_mod(words_view(sum), words_view(q));
  }
  std::vector<double> out(2);
  mlforge::dequantize(words_view(sum), 1.0, levels, ArrayView(out.data(), DType::kFloat64, {2}));
  EXPECT_DOUBLE_EQ(out[0], 3.0);
  EXPECT_DOUBLE_EQ(out[1], -3.0);
}

TEST(FixedPoint, SameResultOnOneAndTwoThreads) {
  const int before = mlforge::num_threads();
  std::vector<float> x(200003);
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (float& v : x) v = value(gen);
  x[150000] = 5.0f;
  x[60000] = -7.0f;  // the lowest bad index is reported whatever the chunking
  std::vector<std::uint32_t> q1(x.size()), q2(x.size()), scratch(x.size());
  const ArrayView xv(x.data(), DType::kFloat32, {static_cast<std::int64_t>(x.size())});
  for (int threads : {1, 2}) {
    mlforge::set_num_threads(threads);
    try {
      mlforge::quantize(xv, 1.0, 1 << 20, 10, words_view(scratch));
      FAIL();
    } catch (const mlforge::InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("x[60000]"), std::string::npos) << e.what();
    }
    mlforge::quantize(xv, 1.0, 1 << 20, 10, words_view(threads == 1 ? q1 : q2), mlforge::RangePolicy::kClip);
  }
  mlforge::set_num_threads(before);
  EXPECT_EQ(q1, q2);
}

}  // namespace
