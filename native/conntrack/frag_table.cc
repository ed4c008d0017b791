#include "conntrack/frag_table.h"

#include <cstdlib>

#include "conntrack/timeouts.h"

namespace sgfw::conntrack {

namespace {
constexpr uint32_t kNone = 0xffffffffu;

uint32_t slots_for(uint32_t cap) {
  const uint64_t need = (uint64_t{cap} * 4 + 2) / 3;
  uint64_t n = 2;
  while (n < need) n <<= 1;
  return static_cast<uint32_t>(n);
}
}  // namespace

FragTable::~FragTable() { release(); }

void FragTable::release() {
  std::free(ring_);
  std::free(slots_);
  ring_ = nullptr;
  slots_ = nullptr;
  cap_ = 0;
}

bool FragTable::init(uint32_t max_fragments, uint64_t seed) {
  release();
  if (max_fragments == 0 || max_fragments > kMaxLimit) return false;
  const uint32_t n = slots_for(max_fragments);
  ring_ = static_cast<Entry*>(std::calloc(max_fragments, sizeof(Entry)));
  slots_ = static_cast<Slot*>(std::calloc(n, sizeof(Slot)));
  if (ring_ == nullptr || slots_ == nullptr) {
    release();
    return false;
  }
  cap_ = max_fragments;
  mask_ = n - 1;
  head_ = 0;
  used_ = 0;
  seed_ = seed;
  counters_ = {};
  return true;
}

void FragTable::set_timeout(uint32_t seconds) { timeout_ns_ = uint64_t{seconds} * kNsPerSec; }

size_t FragTable::memory_bytes() const {
  return cap_ == 0 ? 0 : size_t{cap_} * sizeof(Entry) + (size_t{mask_} + 1) * sizeof(Slot);
}

uint32_t FragTable::find_slot(const FragKey& key, uint32_t tag) const {
  for (uint32_t pos = tag & mask_;; pos = (pos + 1) & mask_) {
    const Slot s = slots_[pos];
    if (s.index == 0) return kNone;
    if (s.tag == tag && ring_[s.index - 1].key == key) return pos;
  }
}

uint32_t FragTable::slot_of(uint32_t ring_pos) const {
  uint32_t pos = static_cast<uint32_t>(hash(ring_[ring_pos].key)) & mask_;
  while (slots_[pos].index != ring_pos + 1) pos = (pos + 1) & mask_;
  return pos;
}

void FragTable::delete_slot(uint32_t hole) {
  // Backward-shift deletion, as in FlowTable.
  uint32_t j = hole;
  for (;;) {
    j = (j + 1) & mask_;
    const Slot s = slots_[j];
    if (s.index == 0) break;
    const uint32_t home = s.tag & mask_;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  slots_[hole] = Slot{0, 0};
}

void FragTable::kill(uint32_t slot) {
  Entry& e = ring_[slots_[slot].index - 1];
  delete_slot(slot);
  e.live = 0;
  --counters_.entries;
}

void FragTable::pop_head() {
  Entry& e = ring_[head_];
  if (e.live) kill(slot_of(head_));
  head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
  --used_;
}

uint32_t FragTable::expire_some(uint64_t now_ns, uint32_t budget) {
  uint32_t n = 0;
  while (used_ > 0 && n < budget) {
    const Entry& e = ring_[head_];
    if (e.live) {
      // Arrival order is time order, unless a trace's clock steps back: then a
      // younger entry may sit behind an older one and lookup() expires it.
      if (!expired(e, now_ns)) break;
      ++counters_.expired;
      ++n;
    }
    pop_head();
  }
  return n;
}

void FragTable::record(const FragKey& key, uint64_t hash, const FragVerdict& v, uint64_t now_ns) {
  if (cap_ == 0) return;
  const uint32_t tag = static_cast<uint32_t>(hash);
  const uint32_t old = find_slot(key, tag);
  if (old != kNone) {
    Entry& e = ring_[slots_[old].index - 1];
    if (!expired(e, now_ns)) {
      // A repeated first fragment: the newest verdict wins; the timer keeps
      // running from the first one (as a Linux frag queue's), and the entry
      // keeps its place, so replacing never leaves a hole in the ring.
      e.verdict = v;
      return;
    }
    kill(old);
    ++counters_.expired;
  }
  // Expired and dead entries leave from the head (each once: O(1) amortised).
  while (used_ > 0) {
    const Entry& h = ring_[head_];
    if (h.live && !expired(h, now_ns)) break;
    if (h.live) ++counters_.expired;
    pop_head();
  }
  if (used_ == cap_) {
    ++counters_.evicted;
    pop_head();  // the oldest live entry
  }
  uint32_t pos = head_ + used_;
  if (pos >= cap_) pos -= cap_;
  ++used_;
  Entry& e = ring_[pos];
  e.key = key;
  e.created_ns = now_ns;
  e.verdict = v;
  e.live = 1;
  uint32_t s = tag & mask_;
  while (slots_[s].index != 0) s = (s + 1) & mask_;
  slots_[s] = Slot{tag, pos + 1};
  ++counters_.entries;
  ++counters_.inserted;
}

const FragVerdict* FragTable::lookup(const FragKey& key, uint64_t hash, uint64_t now_ns) {
  if (cap_ == 0) {
    ++counters_.misses;
    return nullptr;
  }
  const uint32_t slot = find_slot(key, static_cast<uint32_t>(hash));
  if (slot == kNone) {
    ++counters_.misses;
    return nullptr;
  }
  const Entry& e = ring_[slots_[slot].index - 1];
  if (expired(e, now_ns)) {
    kill(slot);  // its ring position is skipped when it reaches the head
    ++counters_.expired;
    ++counters_.misses;
    return nullptr;
  }
  ++counters_.hits;
  return &e.verdict;
}

}  // namespace sgfw::conntrack
