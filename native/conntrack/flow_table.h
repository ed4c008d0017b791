// The flow table: a bounded hash table sized once at init (the only allocation)
// and then used per packet without allocating, locking or throwing. One writer
// (the worker that owns it).
//
// Layout: an index of 8-byte slots {hash tag, flow index + 1}, open addressing
// with linear probing, at most 75 % full; and a pool of max_flows Flow records
// with a free list. A lookup reads one slot line (8 slots) and one flow; both
// can be prefetched for a batch first (prefetch, then prefetch_flow, then find).
// Deletion is backward-shift, so probe chains stay exact without tombstones.
//
// Memory per flow: sizeof(Flow) + 8 bytes x slots/max_flows <= 104 + 8 x 8/3
// = 125.3 bytes (slots is the power of two >= max_flows / 0.75).
//
// Expiry is driven by the caller's packet time: lazily on lookup (an expired
// flow is reclaimed and reported absent) and by an incremental sweep. Every
// flow that leaves the table goes to the sink, for the flow log.
#pragma once
#include <cstddef>
#include <cstdint>

#include "conntrack/flow.h"
#include "conntrack/flow_key.h"
#include "conntrack/timeouts.h"

namespace sgfw::conntrack {

enum class FinishReason : uint8_t {
  Expired = 0,  // idle timeout
  Closed = 1,   // TCP flow that ended (expired in TIME_WAIT/CLOSE, or reopened)
  Evicted = 2,  // early drop of a flow that never saw a reply, to make room
  Removed = 3,  // taken out by the engine (rule change cut, ...)
};
inline constexpr const char* kFinishReasonNames[4] = {"expired", "closed", "evicted", "removed"};

// Receives every flow as it leaves the table; the flow is valid only during the call.
using FlowSink = void (*)(void* ctx, const Flow& flow, FinishReason why);

struct FlowTableCounters {
  uint64_t entries = 0;  // flows in the table now
  uint64_t created = 0;  // successful inserts
  uint64_t expired = 0;  // reclaimed by idle timeout (lazily or by the sweep)
  uint64_t evicted = 0;  // early-dropped unreplied flows
  uint64_t full = 0;     // inserts refused: full and nothing evictable
  uint64_t removed = 0;  // remove() calls
};

class FlowTable {
 public:
  static constexpr uint32_t kMaxFlowsLimit = 1u << 30;
  // Slots looked at for an evictable flow when the pool is full (Linux
  // early_drop scans a few buckets: NF_CT_EVICTION_RANGE = 8).
  static constexpr uint32_t kEarlyDropScan = 16;

  FlowTable() = default;
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // CONTROL: allocate for max_flows (1..kMaxFlowsLimit); drops any previous
  // contents without reporting them. False if out of memory or out of range.
  bool init(uint32_t max_flows, uint64_t seed = 0);
  // CONTROL: timeouts apply to every flow from the next check on.
  void set_timeouts(const Timeouts& t);
  void set_sink(FlowSink sink, void* ctx) { sink_ = sink; sink_ctx_ = ctx; }

  uint64_t hash(const FlowKey& k) const { return flow_hash(k, seed_); }

  // Batch helpers: call prefetch() on every packet of a batch, then
  // prefetch_flow() on every packet, then find().
  void prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
  void prefetch_flow(uint64_t hash) const;

  // find() over a batch, software-pipelined so that the slot and flow cache
  // misses of several packets overlap (prefetch, prefetch_flow and find run
  // kPipeDistance packets apart). out[i] = find(keys[i], hashes[i], now_ns).
  static constexpr uint32_t kPipeDistance = 16;
  void find_batch(const FlowKey* keys, const uint64_t* hashes, uint32_t n, uint64_t now_ns,
                  Flow** out);

  // The live flow with this key, or nullptr. Flow pointers stay valid until
  // that flow leaves the table (records never move). A flow found expired is reclaimed
  // (sink, `expired`) and reported absent.
  Flow* find(const FlowKey& key, uint64_t hash, uint64_t now_ns);
  // Add a flow for a key that find() just missed. The flow comes back zeroed
  // except key, id, last_ns, start_s and kFlowLive; fill it with flow_begin().
  // When the pool is full, an expired or else the oldest unreplied flow near
  // the key's slot makes room (`evicted`); a replied flow never does. nullptr
  // when nothing can go (`full`): the engine drops as conntrack-full.
  Flow* insert(const FlowKey& key, uint64_t hash, uint64_t now_ns);
  // Take a live flow out (sink with `why`).
  void remove(Flow* f, FinishReason why = FinishReason::Removed);
  // Look at up to `budget` pool records from where the last call stopped and
  // reclaim the expired ones. Returns how many were reclaimed.
  uint32_t expire_some(uint64_t now_ns, uint32_t budget);

  bool is_expired(const Flow& f, uint64_t now_ns) const {
    return static_cast<int64_t>(now_ns - f.last_ns) >= static_cast<int64_t>(timeout_ns_[f.timeout_slot]);
  }
  uint64_t expires_at_ns(const Flow& f) const { return f.last_ns + timeout_ns_[f.timeout_slot]; }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t i = 0; i < high_water_; ++i)
      if (flows_[i].flags & kFlowLive) fn(static_cast<const Flow&>(flows_[i]));
  }

  const FlowTableCounters& counters() const { return counters_; }
  uint32_t capacity() const { return max_flows_; }
  uint32_t slot_count() const { return mask_ + 1; }
  // Bytes allocated for the slots and the pool.
  size_t memory_bytes() const;
  // Slots a lookup of this hash walks past before an empty one (tests, stats).
  uint32_t probe_length(uint64_t hash) const;

 private:
  struct Slot {
    uint32_t tag;    // low 32 bits of the hash: home slot = tag & mask_
    uint32_t index;  // flow index + 1; 0 = empty
  };
  static_assert(sizeof(Slot) == 8);
  static constexpr uint32_t kNoFree = 0xffffffffu;

  void release();
  uint32_t slot_of(uint32_t flow_index) const;
  void reclaim(uint32_t slot, FinishReason why);
  void delete_slot(uint32_t slot);
  bool make_room(uint64_t hash, uint64_t now_ns);
  FinishReason expiry_reason(const Flow& f) const;

  Slot* slots_ = nullptr;
  Flow* flows_ = nullptr;
  size_t slots_bytes_ = 0;
  size_t flows_bytes_ = 0;
  uint32_t mask_ = 0;
  uint32_t max_flows_ = 0;
  uint32_t high_water_ = 0;   // pool records ever handed out
  uint32_t free_head_ = kNoFree;
  uint32_t sweep_cursor_ = 0;
  uint64_t seed_ = 0;
  uint64_t next_id_ = 0;
  uint64_t timeout_ns_[kTimeoutSlots] = {};
  FlowSink sink_ = nullptr;
  void* sink_ctx_ = nullptr;
  FlowTableCounters counters_;
};

// Bytes of table memory per flow for a given capacity (the < 128 budget).
double flow_table_bytes_per_flow(uint32_t max_flows);

}  // namespace sgfw::conntrack
