// Verdicts of first fragments, so that later fragments (no transport header)
// take the same verdict (spec section 5). Keyed per interface by (family,
// source, destination, protocol, fragment id). A later fragment with no entry
// is dropped as `fragment` by the engine; that includes later fragments that
// arrive before their first one, which leave nothing behind (bounded memory).
//
// Bounded at max_fragments entries, each kept for the `fragment` timeout from
// its first fragment (as Linux ipfrag_time counts from the queue's creation).
// Entries live in a ring in arrival order, so expiry and eviction both take
// the oldest entry at the head in O(1); an index of 8-byte slots (linear
// probing, backward-shift deletion, <= 75 % full) finds them. Allocation at
// init only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "conntrack/flow_key.h"
#include "core/packet_meta.h"
#include "core/reason.h"

namespace sgfw::conntrack {

struct alignas(8) FragKey {
  uint16_t iface = 0;    // +2
  uint8_t family = 0;    // +1
  uint8_t proto = 0;     // +1
  uint32_t frag_id = 0;  // +4  = 8  (IPv4: 16-bit identification; IPv6: 32 bits)
  uint8_t src[16] = {};  // +16 = 24 as on the wire (src = sender)
  uint8_t dst[16] = {};  // +16 = 40
};
static_assert(sizeof(FragKey) == 40);

inline bool operator==(const FragKey& a, const FragKey& b) {
  uint64_t x[5], y[5];
  std::memcpy(x, &a, 40);
  std::memcpy(y, &b, 40);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

inline FragKey make_frag_key(const PacketMeta& m, uint16_t iface) {
  FragKey k;
  k.iface = iface;
  k.family = m.tuple.family;
  k.proto = m.tuple.proto;
  k.frag_id = m.frag_id;
  std::memcpy(k.src, m.tuple.src, 16);
  std::memcpy(k.dst, m.tuple.dst, 16);
  return k;
}

// What the engine decided for the first fragment; later fragments reuse it.
struct FragVerdict {
  uint32_t rule = 0xffffffffu;  // rule index, or ~0 when none
  Verdict verdict = Verdict::Drop;
  Reason reason = Reason::Default;
  uint8_t aux = 0;              // free for the engine
  uint8_t reserved = 0;
};
static_assert(sizeof(FragVerdict) == 8);

struct FragTableCounters {
  uint64_t entries = 0;   // first-fragment verdicts held now
  uint64_t inserted = 0;
  uint64_t expired = 0;   // timed out (lazily, by the sweep, or at insert)
  uint64_t evicted = 0;   // oldest entry pushed out by a new one when full
  uint64_t hits = 0;      // later fragments that found their verdict
  uint64_t misses = 0;    // later fragments without one (dropped as `fragment`)
};

class FragTable {
 public:
  static constexpr uint32_t kMaxLimit = 1u << 26;

  FragTable() = default;
  ~FragTable();
  FragTable(const FragTable&) = delete;
  FragTable& operator=(const FragTable&) = delete;

  // CONTROL: allocate for max_fragments (1..kMaxLimit); drops previous contents.
  bool init(uint32_t max_fragments, uint64_t seed = 0);
  // CONTROL: the `fragment` timeout in seconds (default 30).
  void set_timeout(uint32_t seconds);

  uint64_t hash(const FragKey& k) const { return hash40(&k, seed_); }

  // First fragment: remember its verdict. A repeated first fragment replaces
  // the verdict but not the timer. Evicts the oldest entry when full. Never fails.
  void record(const FragKey& key, uint64_t hash, const FragVerdict& v, uint64_t now_ns);
  // Later fragment: the first fragment's verdict, or nullptr (never seen, or expired).
  const FragVerdict* lookup(const FragKey& key, uint64_t hash, uint64_t now_ns);
  // Drop expired entries from the oldest end, at most `budget`. Returns how many.
  uint32_t expire_some(uint64_t now_ns, uint32_t budget);

  const FragTableCounters& counters() const { return counters_; }
  uint32_t capacity() const { return cap_; }
  size_t memory_bytes() const;

 private:
  struct Entry {
    FragKey key;           // +40
    uint64_t created_ns;   // +8  = 48
    FragVerdict verdict;   // +8  = 56
    uint32_t live;         // +4  = 60  0: expired by lookup, skipped at the head
    uint32_t reserved;     // +4  = 64
  };
  static_assert(sizeof(Entry) == 64);
  struct Slot {
    uint32_t tag;   // low 32 bits of the hash
    uint32_t index; // ring position + 1; 0 = empty
  };

  void release();
  bool expired(const Entry& e, uint64_t now_ns) const {
    return static_cast<int64_t>(now_ns - e.created_ns) >= static_cast<int64_t>(timeout_ns_);
  }
  uint32_t find_slot(const FragKey& key, uint32_t tag) const;  // slot or ~0
  uint32_t slot_of(uint32_t ring_pos) const;
  void delete_slot(uint32_t slot);
  void pop_head();  // the head entry leaves (caller counted why)
  void kill(uint32_t slot);  // a live entry leaves out of order

  Entry* ring_ = nullptr;
  Slot* slots_ = nullptr;
  uint32_t cap_ = 0;
  uint32_t mask_ = 0;
  uint32_t head_ = 0;   // oldest ring position in use
  uint32_t used_ = 0;   // ring positions in use from head_, dead ones included
  uint64_t seed_ = 0;
  uint64_t timeout_ns_ = 30ull * 1'000'000'000ull;
  FragTableCounters counters_;
};

}  // namespace sgfw::conntrack
