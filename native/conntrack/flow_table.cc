#include "conntrack/flow_table.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace sgfw::conntrack {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Large arrays go on 2 MiB boundaries with transparent huge pages requested:
// at 1M flows a lookup touches ~110 MiB at random, and 4 KiB pages would cost
// a TLB miss per lookup. Pages are touched here, on the control path, so the
// packet path never page-faults.
void* alloc_table(size_t bytes, size_t* out_bytes) {
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  const size_t rounded = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  std::memset(p, 0, rounded);
  *out_bytes = rounded;
  return p;
}

uint32_t slots_for(uint32_t max_flows) {
  // Smallest power of two with max_flows <= 0.75 x slots.
  const uint64_t need = (uint64_t{max_flows} * 4 + 2) / 3;
  uint64_t n = 2;
  while (n < need) n <<= 1;
  return static_cast<uint32_t>(n);
}

}  // namespace

double flow_table_bytes_per_flow(uint32_t max_flows) {
  return sizeof(Flow) + 8.0 * slots_for(max_flows) / max_flows;
}

FlowTable::~FlowTable() { release(); }

void FlowTable::release() {
  std::free(slots_);
  std::free(flows_);
  slots_ = nullptr;
  flows_ = nullptr;
  slots_bytes_ = flows_bytes_ = 0;
}

bool FlowTable::init(uint32_t max_flows, uint64_t seed) {
  release();
  max_flows_ = 0;
  if (max_flows == 0 || max_flows > kMaxFlowsLimit) return false;
  const uint32_t n = slots_for(max_flows);
  slots_ = static_cast<Slot*>(alloc_table(size_t{n} * sizeof(Slot), &slots_bytes_));
  flows_ = static_cast<Flow*>(alloc_table(size_t{max_flows} * sizeof(Flow), &flows_bytes_));
  if (slots_ == nullptr || flows_ == nullptr) {
    release();
    return false;
  }
  mask_ = n - 1;
  max_flows_ = max_flows;
  high_water_ = 0;
  free_head_ = kNoFree;
  sweep_cursor_ = 0;
  seed_ = seed;
  next_id_ = 0;
  counters_ = {};
  if (timeout_ns_[0] == 0) set_timeouts(kAwsTimeouts);
  return true;
}

void FlowTable::set_timeouts(const Timeouts& t) {
  for (int i = 0; i < kTimeoutSlots; ++i) timeout_ns_[i] = uint64_t{t.seconds[i]} * kNsPerSec;
}

size_t FlowTable::memory_bytes() const { return slots_bytes_ + flows_bytes_; }

void FlowTable::prefetch_flow(uint64_t hash) const {
  // The slot line is expected in cache (prefetch() earlier); the first slot
  // whose tag matches is almost always the flow.
  const uint32_t tag = static_cast<uint32_t>(hash);
  uint32_t pos = tag & mask_;
  for (int i = 0; i < 4; ++i, pos = (pos + 1) & mask_) {
    const Slot s = slots_[pos];
    if (s.index == 0) return;
    if (s.tag == tag) {
      // The per-packet path touches bytes 0..88 of the record (key through
      // bytes[]); id, rule and start_s are cold. Two prefetches cover 2-3 lines.
      const char* p = reinterpret_cast<const char*>(&flows_[s.index - 1]);
      __builtin_prefetch(p, 1);
      __builtin_prefetch(p + offsetof(Flow, id) - 1, 1);
      if ((reinterpret_cast<uintptr_t>(p) & 63) + offsetof(Flow, id) > 128)
        __builtin_prefetch(p + 64, 1);
      return;
    }
  }
}

Flow* FlowTable::find(const FlowKey& key, uint64_t hash, uint64_t now_ns) {
  const uint32_t tag = static_cast<uint32_t>(hash);
  for (uint32_t pos = tag & mask_;; pos = (pos + 1) & mask_) {
    const Slot s = slots_[pos];
    if (s.index == 0) return nullptr;  // load <= 75 %: an empty slot always ends the chain
    if (s.tag != tag) continue;
    Flow& f = flows_[s.index - 1];
    if (!(f.key == key)) continue;
    if (is_expired(f, now_ns)) {
      reclaim(pos, expiry_reason(f));
      return nullptr;
    }
    return &f;
  }
}

void FlowTable::find_batch(const FlowKey* keys, const uint64_t* hashes, uint32_t n,
                           uint64_t now_ns, Flow** out) {
  constexpr uint32_t d = kPipeDistance;
  for (uint32_t i = 0; i < n + 2 * d; ++i) {
    if (i < n) prefetch(hashes[i]);
    if (i >= d && i - d < n) prefetch_flow(hashes[i - d]);
    if (i >= 2 * d) out[i - 2 * d] = find(keys[i - 2 * d], hashes[i - 2 * d], now_ns);
  }
}

Flow* FlowTable::insert(const FlowKey& key, uint64_t hash, uint64_t now_ns) {
  if (free_head_ == kNoFree && high_water_ == max_flows_ && !make_room(hash, now_ns)) {
    ++counters_.full;
    return nullptr;
  }
  uint32_t idx;
  if (free_head_ != kNoFree) {
    idx = free_head_;
    free_head_ = static_cast<uint32_t>(flows_[idx].id);
  } else {
    idx = high_water_++;
  }
  Flow& f = flows_[idx];
  f = Flow{};
  f.key = key;
  f.id = ++next_id_;
  f.last_ns = now_ns;
  f.start_s = static_cast<uint32_t>(now_ns / kNsPerSec);
  f.flags = kFlowLive;
  flow_refresh_slot(f);

  const uint32_t tag = static_cast<uint32_t>(hash);
  uint32_t pos = tag & mask_;
  while (slots_[pos].index != 0) pos = (pos + 1) & mask_;
  slots_[pos] = Slot{tag, idx + 1};
  ++counters_.entries;
  ++counters_.created;
  return &f;
}

FinishReason FlowTable::expiry_reason(const Flow& f) const {
  if (f.key.proto == kProtoTcp && (f.state == kTcpTimeWait || f.state == kTcpClose))
    return FinishReason::Closed;
  return FinishReason::Expired;
}

bool FlowTable::make_room(uint64_t hash, uint64_t now_ns) {
  // Linux early_drop, in the probe neighbourhood of the new key: an expired
  // flow first, else the least recently seen flow that never saw a reply.
  const uint32_t scan = kEarlyDropScan < mask_ + 1 ? kEarlyDropScan : mask_ + 1;
  uint32_t pos = static_cast<uint32_t>(hash) & mask_;
  uint32_t victim = kNoFree;
  uint64_t victim_seen = 0;
  for (uint32_t i = 0; i < scan; ++i, pos = (pos + 1) & mask_) {
    const Slot s = slots_[pos];
    if (s.index == 0) continue;
    const Flow& f = flows_[s.index - 1];
    if (is_expired(f, now_ns)) {
      reclaim(pos, expiry_reason(f));
      return true;
    }
    if ((f.flags & kFlowReplied) == 0 &&
        (victim == kNoFree || static_cast<int64_t>(f.last_ns - victim_seen) < 0)) {
      victim = pos;
      victim_seen = f.last_ns;
    }
  }
  if (victim == kNoFree) return false;
  reclaim(victim, FinishReason::Evicted);
  return true;
}

void FlowTable::reclaim(uint32_t slot, FinishReason why) {
  const uint32_t idx = slots_[slot].index - 1;
  Flow& f = flows_[idx];
  if (sink_ != nullptr) sink_(sink_ctx_, f, why);
  switch (why) {
    case FinishReason::Expired:
    case FinishReason::Closed:
      // Closed here means timed out in TIME_WAIT/CLOSE, unless remove() counted it.
      ++counters_.expired;
      break;
    case FinishReason::Evicted:
      ++counters_.evicted;
      break;
    case FinishReason::Removed:
      break;
  }
  delete_slot(slot);
  f.flags = 0;
  f.id = free_head_;
  free_head_ = idx;
  --counters_.entries;
}

void FlowTable::delete_slot(uint32_t hole) {
  // Backward-shift deletion (Knuth 6.4 algorithm R): move each later entry of
  // the cluster into the hole unless its home lies cyclically in (hole, j].
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

uint32_t FlowTable::slot_of(uint32_t flow_index) const {
  const uint32_t tag = static_cast<uint32_t>(hash(flows_[flow_index].key));
  uint32_t pos = tag & mask_;
  while (slots_[pos].index != flow_index + 1) pos = (pos + 1) & mask_;
  return pos;
}

void FlowTable::remove(Flow* f, FinishReason why) {
  if (f == nullptr || !(f->flags & kFlowLive)) return;
  const uint32_t idx = static_cast<uint32_t>(f - flows_);
  ++counters_.removed;
  // remove() is the engine's decision; count it once, as removed, whatever the reason it gives.
  const uint32_t slot = slot_of(idx);
  Flow& fl = flows_[idx];
  if (sink_ != nullptr) sink_(sink_ctx_, fl, why);
  delete_slot(slot);
  fl.flags = 0;
  fl.id = free_head_;
  free_head_ = idx;
  --counters_.entries;
}

uint32_t FlowTable::expire_some(uint64_t now_ns, uint32_t budget) {
  if (high_water_ == 0) return 0;
  uint32_t reclaimed = 0;
  if (budget > high_water_) budget = high_water_;
  for (uint32_t i = 0; i < budget; ++i) {
    if (sweep_cursor_ >= high_water_) sweep_cursor_ = 0;
    const uint32_t idx = sweep_cursor_++;
    const Flow& f = flows_[idx];
    if ((f.flags & kFlowLive) && is_expired(f, now_ns)) {
      reclaim(slot_of(idx), expiry_reason(f));
      ++reclaimed;
    }
  }
  return reclaimed;
}

uint32_t FlowTable::probe_length(uint64_t hash) const {
  uint32_t n = 0;
  for (uint32_t pos = static_cast<uint32_t>(hash) & mask_; slots_[pos].index != 0;
       pos = (pos + 1) & mask_)
    ++n;
  return n;
}

}  // namespace sgfw::conntrack
