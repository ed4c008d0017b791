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

// Large arrays are fresh anonymous mappings on 2 MiB boundaries with transparent
// huge pages requested: at 1M flows a lookup touches ~75 MiB at random, and 4 KiB
// pages would cost a TLB miss per lookup. (malloc may hand back heap memory already
// faulted in 4 KiB pages, so it is not used.) The kernel zeroes the pages; with
// `prefault` they are all faulted in here, on the control path, so the packet path
// never page-faults; without, each is faulted in (zeroed) on first touch.
void* alloc_table(size_t bytes, bool prefault, size_t* out_bytes) {
  // Whole pages only: the tail past the last 2 MiB boundary stays in small pages
  // rather than growing the table by up to 2 MiB (it counts in bytes per flow).
  const size_t align = bytes >= kHugePage ? kHugePage : 4096;
  const size_t rounded = (bytes + 4095) / 4096 * 4096;
#if defined(__linux__)
  const size_t span = rounded + (align == kHugePage ? kHugePage : 0);
  void* m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  // Trim to the aligned part, so that every 2 MiB of the table can be one huge page.
  const uintptr_t base = reinterpret_cast<uintptr_t>(m);
  const uintptr_t start = (base + align - 1) & ~uintptr_t{align - 1};
  if (start > base) munmap(m, start - base);
  if (start + rounded < base + span) munmap(reinterpret_cast<void*>(start + rounded), base + span - start - rounded);
  void* p = reinterpret_cast<void*>(start);
#if defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  // Written rather than MADV_POPULATE_WRITE: the kernel's page clearing leaves
  // the table out of cache, and inserts into a small table then measured 4-6x slower.
  if (prefault) std::memset(p, 0, rounded);
#else
  (void)prefault;
  const size_t whole = (rounded + align - 1) / align * align;  // aligned_alloc wants a multiple
  void* p = std::aligned_alloc(align, whole);
  if (p == nullptr) return nullptr;
  std::memset(p, 0, whole);
#endif
  *out_bytes = rounded;
  return p;
}

void free_table(void* p, size_t bytes) {
  if (p == nullptr) return;
#if defined(__linux__)
  munmap(p, bytes);
#else
  (void)bytes;
  std::free(p);
#endif
}

uint32_t slots_for(uint32_t max_flows) {
  // Fewest slots with max_flows <= 0.75 x slots (home() maps onto any count), and
  // at least one more than max_flows: an empty slot ends every probe.
  const uint64_t need = (uint64_t{max_flows} * 4 + 2) / 3;
  return static_cast<uint32_t>(need > max_flows ? need : uint64_t{max_flows} + 1);
}

}  // namespace

double flow_table_bytes_per_flow(uint32_t max_flows) {
  return sizeof(Flow) + sizeof(FlowCold) + 8.0 * slots_for(max_flows) / max_flows;
}

FlowTable::~FlowTable() { release(); }

void FlowTable::release() {
  free_table(slots_, slots_bytes_);
  free_table(flows_, flows_bytes_);
  free_table(colds_, colds_bytes_);
  slots_ = nullptr;
  flows_ = nullptr;
  colds_ = nullptr;
  slots_bytes_ = flows_bytes_ = colds_bytes_ = 0;
}

bool FlowTable::init(uint32_t max_flows, uint64_t seed, FlowTableMemory memory) {
  const bool prefault = memory == FlowTableMemory::Prefault;
  release();
  max_flows_ = 0;
  if (max_flows == 0 || max_flows > kMaxFlowsLimit) return false;
  const uint32_t index_flows = prefault || max_flows < kLazyIndexFlows ? max_flows : kLazyIndexFlows;
  const uint32_t n = slots_for(index_flows);
  // The index is written at allocation even when lazy (grow_index says why).
  slots_ = static_cast<Slot*>(alloc_table((size_t{n} + kSlotPad) * sizeof(Slot), true, &slots_bytes_));
  flows_ = static_cast<Flow*>(alloc_table(size_t{max_flows} * sizeof(Flow), prefault, &flows_bytes_));
  colds_ = static_cast<FlowCold*>(alloc_table(size_t{max_flows} * sizeof(FlowCold), prefault, &colds_bytes_));
  if (slots_ == nullptr || flows_ == nullptr || colds_ == nullptr) {
    release();
    return false;
  }
  nslots_ = n;
  index_flows_ = index_flows;
  max_flows_ = max_flows;
  high_water_ = 0;
  free_head_ = kNoFree;
  sweep_cursor_ = 0;
  seed_ = seed;
  hash4_ = FlowHash4::of(seed);
  next_id_ = 0;
  counters_ = {};
  if (timeout_ns_[0] == 0) set_timeouts(kAwsTimeouts);
  return true;
}

void FlowTable::set_timeouts(const Timeouts& t) {
  for (int i = 0; i < kTimeoutSlots; ++i) timeout_ns_[i] = uint64_t{t.seconds[i]} * kNsPerSec;
}

size_t FlowTable::memory_bytes() const { return slots_bytes_ + flows_bytes_ + colds_bytes_; }

Flow* FlowTable::find(const FlowKey& key, uint64_t hash, uint64_t now_ns) {
  const uint32_t tag = static_cast<uint32_t>(hash);
  for (uint32_t pos = home(tag);; pos = next(pos)) {
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
  // Staged (VPP style) rather than a software pipeline: a pipeline of depth d
  // leaves 2d packets of each batch in its fill and drain with nothing to
  // overlap, which measured slower on batches of 64.
  for (uint32_t base = 0; base < n; base += kFindGroup) {
    const uint32_t m = n - base < kFindGroup ? n - base : kFindGroup;
    const uint64_t* h = hashes + base;
    uint32_t hint[kFindGroup];
    for (uint32_t i = 0; i < m; ++i) prefetch(h[i]);
    for (uint32_t i = 0; i < m; ++i) hint[i] = prefetch_flow(h[i]);
    for (uint32_t i = 0; i < m; ++i) out[base + i] = find(keys[base + i], h[i], now_ns, hint[i]);
  }
}

Flow* FlowTable::insert(const FlowKey& key, uint64_t hash, uint64_t now_ns) {
  if (free_head_ == kNoFree && high_water_ == max_flows_ && !make_room(hash, now_ns)) {
    ++counters_.full;
    return nullptr;
  }
  // A full index grows (lazily faulted tables only: a prefaulted one holds max_flows, and the
  // pool has a free record here). Should the memory not be had, the index takes flows past
  // 75 % while an empty slot remains to end every probe.
  if (counters_.entries >= index_flows_ && !grow_index() && counters_.entries + 2 > nslots_) {
    ++counters_.full;
    return nullptr;
  }
  uint32_t idx;
  if (free_head_ != kNoFree) {
    idx = free_head_;
    free_head_ = flows_[idx].generation;  // free records link through the hot line
  } else {
    idx = high_water_++;
  }
  Flow& f = flows_[idx];
  f = Flow{};
  f.key = key;
  f.last_ns = now_ns;
  f.flags = kFlowLive;
  flow_refresh_slot(f);
  FlowCold& c = colds_[idx];
  c = FlowCold{};
  c.id = ++next_id_;
  c.start_s = static_cast<uint32_t>(now_ns / kNsPerSec);

  place(Slot{static_cast<uint32_t>(hash), idx + 1});
  ++counters_.entries;
  ++counters_.created;
  return &f;
}

// Puts an entry in the first empty slot from its tag's home (linear probing).
void FlowTable::place(Slot s) {
  uint32_t pos = home(s.tag);
  while (slots_[pos].index != 0) pos = next(pos);
  slots_[pos] = s;
}

// Doubles the flows the index holds (up to max_flows_), placing every entry anew by its tag.
// The old slots are freed. The new ones are written (faulted in) here, not left to the packets:
// lookups read slots at random before inserts write them, and a read of an untouched page maps
// the shared zero page, so each page then faulted twice, the second time (copy on write) with
// a TLB flush, an IPI to every other CPU running a thread of the process. Under node, whose
// compiler threads run beside the replay, that made the bench replay ~10 % slower (perf: the
// insert's wp fault in smp_call_function_many_cond). The index is at most a tenth of the
// table's memory, and at 75 % load every page of it holds flows soon anyway.
bool FlowTable::grow_index() {
  if (index_flows_ >= max_flows_) return false;
  const uint32_t flows = index_flows_ > max_flows_ / 2 ? max_flows_ : index_flows_ * 2;
  const uint32_t n = slots_for(flows);
  size_t bytes = 0;
  Slot* fresh = static_cast<Slot*>(alloc_table((size_t{n} + kSlotPad) * sizeof(Slot), true, &bytes));
  if (fresh == nullptr) return false;
  Slot* const old = slots_;
  const uint32_t old_n = nslots_;
  const size_t old_bytes = slots_bytes_;
  slots_ = fresh;
  slots_bytes_ = bytes;
  nslots_ = n;
  index_flows_ = flows;
  for (uint32_t i = 0; i < old_n; ++i)
    if (old[i].index != 0) place(old[i]);
  free_table(old, old_bytes);
  return true;
}

FinishReason FlowTable::expiry_reason(const Flow& f) const {
  if (f.key.proto == kProtoTcp && (f.state == kTcpTimeWait || f.state == kTcpClose))
    return FinishReason::Closed;
  return FinishReason::Expired;
}

bool FlowTable::make_room(uint64_t hash, uint64_t now_ns) {
  // Linux early_drop, in the probe neighbourhood of the new key: an expired
  // flow first, else the least recently seen flow that never saw a reply.
  const uint32_t scan = kEarlyDropScan < nslots_ ? kEarlyDropScan : nslots_;
  uint32_t pos = home(static_cast<uint32_t>(hash));
  uint32_t victim = kNoFree;
  uint64_t victim_seen = 0;
  for (uint32_t i = 0; i < scan; ++i, pos = next(pos)) {
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
  if (sink_ != nullptr) sink_(sink_ctx_, FlowView{f, colds_[idx]}, why);
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
  f.generation = free_head_;
  free_head_ = idx;
  --counters_.entries;
}

void FlowTable::delete_slot(uint32_t hole) {
  // Backward-shift deletion (Knuth 6.4 algorithm R): move each later entry of
  // the cluster into the hole unless its home lies cyclically in (hole, j].
  uint32_t j = hole;
  for (;;) {
    j = next(j);
    const Slot s = slots_[j];
    if (s.index == 0) break;
    const uint32_t h = home(s.tag);
    const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  slots_[hole] = Slot{0, 0};
}

uint32_t FlowTable::slot_of(uint32_t flow_index) const {
  const uint32_t tag = static_cast<uint32_t>(hash(flows_[flow_index].key));
  uint32_t pos = home(tag);
  while (slots_[pos].index != flow_index + 1) pos = next(pos);
  return pos;
}

void FlowTable::remove(Flow* f, FinishReason why) {
  if (f == nullptr || !(f->flags & kFlowLive)) return;
  const uint32_t idx = static_cast<uint32_t>(f - flows_);
  ++counters_.removed;
  // remove() is the engine's decision; count it once, as removed, whatever the reason it gives.
  const uint32_t slot = slot_of(idx);
  Flow& fl = flows_[idx];
  if (sink_ != nullptr) sink_(sink_ctx_, FlowView{fl, colds_[idx]}, why);
  delete_slot(slot);
  fl.flags = 0;
  fl.generation = free_head_;
  free_head_ = idx;
  --counters_.entries;
}

uint32_t FlowTable::expire_some(uint64_t now_ns, uint32_t budget) {
  const uint32_t hw = high_water_;  // reclaim() leaves it as it is
  if (hw == 0) return 0;
  uint32_t reclaimed = 0;
  if (budget > hw) budget = hw;
  // The cursor in a register and one test per record: this runs for every packet's record.
  uint32_t cur = sweep_cursor_;
  while (budget > 0) {
    if (cur >= hw) cur = 0;
    const uint32_t end = budget < hw - cur ? cur + budget : hw;
    budget -= end - cur;
    for (; cur < end; ++cur) {
      const Flow& f = flows_[cur];
      // A free record's timer fields are stale but in range: the live bit decides.
      if (((f.flags & kFlowLive) != 0) & is_expired(f, now_ns)) [[unlikely]] {
        reclaim(slot_of(cur), expiry_reason(f));
        ++reclaimed;
      }
    }
  }
  sweep_cursor_ = cur;
  return reclaimed;
}

uint32_t FlowTable::probe_length(uint64_t hash) const {
  uint32_t n = 0;
  for (uint32_t pos = home(static_cast<uint32_t>(hash)); slots_[pos].index != 0; pos = next(pos))
    ++n;
  return n;
}

}  // namespace sgfw::conntrack
