// The flow key: the exact bytes the flow table hashes and compares (VPP style:
// the 5-tuple is the hash key, no separate canonical form). A flow is keyed per
// interface from the interface's point of view (local/remote), so both
// directions of a connection build the same key (spec section 4).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/packet_meta.h"
#include "core/reason.h"

namespace sgfw::conntrack {

struct alignas(8) FlowKey {
  uint16_t iface = 0;        // +2  interface index in the loaded table
  uint8_t family = 0;        // +1  4 or 6
  uint8_t proto = 0;         // +1  IANA protocol number
  uint16_t local_port = 0;   // +2  host order; ICMP query/reply: the identifier
  uint16_t remote_port = 0;  // +2  = 8: the first u64 word
  uint8_t local[16] = {};    // +16 = 24 (IPv4 in bytes 0..3, rest zero)
  uint8_t remote[16] = {};   // +16 = 40
};
static_assert(sizeof(FlowKey) == 40, "FlowKey is the 40-byte hash key");
static_assert(alignof(FlowKey) == 8);

inline constexpr int kFlowKeyWords = 5;

// The key as five u64 words (memcpy compiles to plain loads).
inline void flow_key_words(const FlowKey& k, uint64_t w[kFlowKeyWords]) {
  std::memcpy(w, &k, sizeof(FlowKey));
}

inline bool operator==(const FlowKey& a, const FlowKey& b) {
#if defined(__SSE2__)
  // Two 16-byte compares and the last word: half the instructions of five word compares (a
  // flow table hit makes one of these per packet).
  const unsigned char* pa = reinterpret_cast<const unsigned char*>(&a);
  const unsigned char* pb = reinterpret_cast<const unsigned char*>(&b);
  const __m128i e = _mm_and_si128(
      _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pa)),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(pb))),
      _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pa + 16)),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(pb + 16))));
  uint64_t x4, y4;
  std::memcpy(&x4, pa + 32, 8);
  std::memcpy(&y4, pb + 32, 8);
  return ((static_cast<uint32_t>(_mm_movemask_epi8(e)) ^ 0xffffu) | (x4 ^ y4)) == 0;
#else
  uint64_t x[kFlowKeyWords], y[kFlowKeyWords];
  flow_key_words(a, x);
  flow_key_words(b, y);
  // One branch instead of five: keys that share a hash tag rarely differ.
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
#endif
}

namespace detail {
// 64x64 -> 128 multiply folded to 64 bits (the "mum" step of wyhash): two
// independent products per key pair keep the latency short.
constexpr uint64_t mum(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
// Secrets with both 32-bit halves non-zero, so that no IPv4 address (upper half
// zero) can cancel a factor to zero.
inline constexpr uint64_t kSecret[6] = {
    0xa0761d6478bd642full, 0xe7037ed1a0b428dbull, 0x8ebc6af09c88c6e3ull,
    0x589965cc75374cc3ull, 0x1d8e4e27c47d124full, 0x9e3779b97f4a7c15ull,
};
}  // namespace detail

// Fast hash over five u64 words (any 40-byte key). The low bits pick the home
// slot, so the final mum spreads every input bit into them. `seed` lets a table
// resist collisions chosen by a remote sender.
inline uint64_t hash40_words(const uint64_t w[5], uint64_t seed = 0) {
  using detail::kSecret;
  using detail::mum;
  const uint64_t a = mum(w[0] ^ kSecret[0] ^ seed, w[1] ^ kSecret[1]);
  const uint64_t b = mum(w[2] ^ kSecret[2], w[3] ^ kSecret[3]);
  const uint64_t c = mum(w[4] ^ kSecret[4], seed ^ kSecret[5]);
  return mum(a ^ b ^ kSecret[5], c ^ kSecret[0]);
}

inline uint64_t hash40(const void* key, uint64_t seed = 0) {
  uint64_t w[5];
  std::memcpy(w, key, sizeof(w));
  return hash40_words(w, seed);
}

inline uint64_t flow_hash(const FlowKey& k, uint64_t seed = 0) { return hash40(&k, seed); }

// flow_hash(k, seed) of an IPv4 key, whose words 2 and 4 (local and remote bytes 8..15) are
// zero: their terms fold into constants of the seed (FlowHash4), one product fewer.
struct FlowHash4 {
  uint64_t s0;    // kSecret[0] ^ seed
  uint64_t tail;  // mum(kSecret[4], seed ^ kSecret[5]) ^ kSecret[0]: c ^ kSecret[0] of hash40
  static constexpr FlowHash4 of(uint64_t seed) {
    return {detail::kSecret[0] ^ seed, detail::mum(detail::kSecret[4], seed ^ detail::kSecret[5]) ^ detail::kSecret[0]};
  }
};

// The key of a packet seen on `iface` in direction `dir`: ingress packets are
// addressed to the interface (local = destination), egress packets come from it
// (local = source). ICMP query/reply tuples already carry the identifier in both
// ports (packet_meta.h), so an echo request and its reply share the key.
inline FlowKey make_flow_key(const Tuple& t, uint16_t iface, Direction dir) {
  FlowKey k;
  k.iface = iface;
  k.family = t.family;
  k.proto = t.proto;
  if (dir == Direction::Ingress) {
    k.local_port = t.dport;
    k.remote_port = t.sport;
    std::memcpy(k.local, t.dst, 16);
    std::memcpy(k.remote, t.src, 16);
  } else {
    k.local_port = t.sport;
    k.remote_port = t.dport;
    std::memcpy(k.local, t.src, 16);
    std::memcpy(k.remote, t.dst, 16);
  }
  return k;
}

// make_flow_key(t, iface, dir) as the key's five words, kept in registers: hash them with
// flow_hash(words) (flow_hash4 for IPv4) and store them with store(). Why: the parser has just
// stored the tuple field by field, and a load that spans several recent stores (16 bytes of an
// IPv4 address over its 4-byte store and the clearing, or both ports at once) cannot take its
// value from the store buffer and waits until they all reach the cache; so does hashing a key
// stored in pieces (or built on the stack and copied, as GCC did with a FlowKey returned by
// value). Each field is read here within one store of the parser's: an IPv4 address's 4 bytes
// (its other 12 are zero), an IPv6 address's two halves. Callgrind does not see such stalls;
// perf put ~20 % of the engine loop's samples on them.
struct FlowKeyWords {
  uint64_t w[kFlowKeyWords];

  static FlowKeyWords of4(const Tuple& t, uint16_t iface, Direction dir) {
    uint32_t src, dst;
    std::memcpy(&src, t.src, 4);
    std::memcpy(&dst, t.dst, 4);
    const bool in = dir == Direction::Ingress;
    return {{head(t, iface, in), in ? dst : src, 0, in ? src : dst, 0}};
  }
  static FlowKeyWords of6(const Tuple& t, uint16_t iface, Direction dir) {
    uint64_t src[2], dst[2];
    std::memcpy(src, t.src, 16);
    std::memcpy(dst, t.dst, 16);
    const bool in = dir == Direction::Ingress;
    const uint64_t* local = in ? dst : src;
    const uint64_t* remote = in ? src : dst;
    return {{head(t, iface, in), local[0], local[1], remote[0], remote[1]}};
  }
  // Writes the key as five whole words.
  void store(FlowKey& k) const {
    unsigned char* p = reinterpret_cast<unsigned char*>(&k);
    for (int i = 0; i < kFlowKeyWords; ++i) std::memcpy(p + 8 * i, &w[i], 8);
  }

 private:
  // The first word, little-endian in FlowKey's layout: iface, family, proto, local port,
  // remote port.
  static uint64_t head(const Tuple& t, uint16_t iface, bool in) {
    static_assert(std::endian::native == std::endian::little, "FlowKeyWords writes little-endian words");
    const uint64_t local_port = in ? t.dport : t.sport, remote_port = in ? t.sport : t.dport;
    return uint64_t{iface} | uint64_t{t.family} << 16 | uint64_t{t.proto} << 24 | local_port << 32 | remote_port << 48;
  }
};

inline uint64_t flow_hash(const FlowKeyWords& k, uint64_t seed = 0) { return hash40_words(k.w, seed); }

// flow_hash4 of an IPv4 key's words (of4: words 2 and 4 zero).
inline uint64_t flow_hash4(const FlowKeyWords& k, const FlowHash4& h) {
  using detail::kSecret;
  using detail::mum;
  const uint64_t a = mum(k.w[0] ^ h.s0, k.w[1] ^ kSecret[1]);
  const uint64_t b = mum(kSecret[2], k.w[3] ^ kSecret[3]);
  return mum(a ^ b ^ kSecret[5], h.tail);
}

// The same of a stored IPv4 key (words 2 and 4 are not read).
inline uint64_t flow_hash4(const FlowKey& k, const FlowHash4& h) {
  FlowKeyWords words;
  std::memcpy(words.w, &k, sizeof words.w);
  return flow_hash4(words, h);
}

}  // namespace sgfw::conntrack
