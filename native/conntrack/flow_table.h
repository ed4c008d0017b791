// The flow table: a bounded hash table sized once at init (the only allocation)
// and then used per packet without allocating, locking or throwing. One writer
// (the worker that owns it).
//
// Layout: an index of 8-byte slots {hash tag, flow index + 1}, open addressing
// with linear probing, at most 75 % full; and a pool of max_flows records with a
// free list, split in two parallel arrays (flow.h): 64-byte hot records (Flow,
// one cache line, all the per-packet path touches) and 48-byte cold records
// (FlowCold: totals, id, rule, start). A hit reads one slot line (8 slots) and
// one hot line; both can be prefetched for a batch first (prefetch, then
// prefetch_flow, then find). Deletion is backward-shift, so probe chains stay
// exact without tombstones.
//
// Memory per flow: 64 + 48 + 8 bytes x slots/max_flows. The slot count is
// ceil(max_flows / 0.75), not a power of two (the home slot is a multiply-shift
// of the tag, Lemire's fastrange), so slots cost 10.7 bytes and a flow
// 122.7 bytes at any size from 3 flows up (124 at 2, 128 at 1).
//
// With lazily faulted memory (replay, tools) the index starts sized for
// kLazyIndexFlows and doubles as the flows fill it, up to the size max_flows
// needs: a 1M-flow table that a trace fills with 95k flows then walks 1.4 MB of
// slots instead of 10.7 MB, every page of which the kernel faults in and zeroes
// inside the replay's loop (measured: 4 % of the bench replay). A growth rehashes from
// the tags alone (home() needs no key), once per doubling. Live workers
// (prefaulted) get the whole index at init and never grow it: their packet
// path never allocates. A lazy table's index pages are written when allocated all the
// same (grow_index says why); only its pool is faulted in by the flows that use it.
//
// Expiry is driven by the caller's packet time: lazily on lookup (an expired
// flow is reclaimed and reported absent) and by an incremental sweep. Every
// flow that leaves the table goes to the sink, for the flow log.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
using FlowSink = void (*)(void* ctx, const FlowView& flow, FinishReason why);

struct FlowTableCounters {
  uint64_t entries = 0;  // flows in the table now
  uint64_t created = 0;  // successful inserts
  uint64_t expired = 0;  // reclaimed by idle timeout (lazily or by the sweep)
  uint64_t evicted = 0;  // early-dropped unreplied flows
  uint64_t full = 0;     // inserts refused: full and nothing evictable
  uint64_t removed = 0;  // remove() calls
};

// How FlowTable::init provides its memory. Both start zeroed (fresh anonymous pages).
enum class FlowTableMemory : uint8_t {
  Prefault = 0,  // every page faulted in at init: the packet path never page-faults (live workers)
  Lazy = 1,      // pages faulted in on first touch: init is O(1) (replay, tests, tools)
};

class FlowTable {
 public:
  static constexpr uint32_t kMaxFlowsLimit = 1u << 30;
  // Slots looked at for an evictable flow when the pool is full (Linux
  // early_drop scans a few buckets: NF_CT_EVICTION_RANGE = 8).
  static constexpr uint32_t kEarlyDropScan = 16;
  // Flows the first index of a lazily faulted table holds (see the top of this file).
  static constexpr uint32_t kLazyIndexFlows = 65536;

  FlowTable() = default;
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // CONTROL: allocate for max_flows (1..kMaxFlowsLimit); drops any previous
  // contents without reporting them. False if out of memory or out of range.
  bool init(uint32_t max_flows, uint64_t seed = 0, FlowTableMemory memory = FlowTableMemory::Prefault);
  // CONTROL: timeouts apply to every flow from the next check on.
  void set_timeouts(const Timeouts& t);
  void set_sink(FlowSink sink, void* ctx) { sink_ = sink; sink_ctx_ = ctx; }

  uint64_t hash(const FlowKey& k) const { return flow_hash(k, seed_); }
  // hash(k) of a key of family 4 (local and remote bytes 4..15 zero), in fewer instructions.
  uint64_t hash4(const FlowKey& k) const { return flow_hash4(k, hash4_); }
  uint64_t hash(const FlowKeyWords& k) const { return flow_hash(k, seed_); }
  uint64_t hash4(const FlowKeyWords& k) const { return flow_hash4(k, hash4_); }

  // Batch helpers: call prefetch() on every packet of a batch, then prefetch_flow() on
  // every packet, keeping the hint it returns, then find(key, hash, now, hint).
  void prefetch(uint64_t hash) const {
    const Slot* s = slots_ + home(static_cast<uint32_t>(hash));
    __builtin_prefetch(s);
    __builtin_prefetch(s + kSlotPad);
  }
  // Prefetches the hot record named by the first of the eight slots from home whose tag
  // matches, and returns that record's index + 1 as a hint (0: none). Why eight: at the
  // table's 75 % load, 11 % of the flows sit four or more slots from home under linear
  // probing and 4.8 % eight or more (simulated, and callgrind counted the same share of
  // failed hints); a failed hint costs the full probe and a record read nobody prefetched.
  // Looking at eight instead of four: batched hits at 1M flows 1.35-1.65x (A/B harness,
  // both tables in one process, interleaved). The eight tags are compared with SSE2, without
  // a jump per slot (the early exits of a probe loop stalled on slot lines still in flight).
  // The slot array has kSlotPad spare empty slots at its end, so the reads never wrap; a
  // chain that wraps just gets no hint. An empty slot whose zero tag equals the hash's gives
  // hint 0 (none): the full probe then answers.
  uint32_t prefetch_flow(uint64_t hash) const {
    const uint32_t tag = static_cast<uint32_t>(hash);
    const Slot* s = slots_ + home(tag);
#if defined(__SSE2__)
    static_assert(kSlotPad == 7, "the SSE2 compare reads eight slots: home and kSlotPad more");
    const __m128i t = _mm_set1_epi32(static_cast<int>(tag));
    const __m128i* v = reinterpret_cast<const __m128i*>(s);
    const __m128i c0 = _mm_cmpeq_epi32(_mm_loadu_si128(v), t);
    const __m128i c1 = _mm_cmpeq_epi32(_mm_loadu_si128(v + 1), t);
    const __m128i c2 = _mm_cmpeq_epi32(_mm_loadu_si128(v + 2), t);
    const __m128i c3 = _mm_cmpeq_epi32(_mm_loadu_si128(v + 3), t);
    // The sixteen 0/-1 words narrowed to bytes in slot order (packs keeps 0 and -1), one
    // movemask: bit 2k is slot k's tag compare (the index words' bits are masked off).
    const __m128i b = _mm_packs_epi16(_mm_packs_epi32(c0, c1), _mm_packs_epi32(c2, c3));
    const uint32_t m = static_cast<uint32_t>(_mm_movemask_epi8(b)) & 0x5555u;
    const uint32_t hint = m ? s[std::countr_zero(m) >> 1].index : 0;
#else
    uint32_t hint = 0;
    for (int k = kSlotPad; k >= 0; --k) hint = (s[k].tag == tag && s[k].index != 0) ? s[k].index : hint;
#endif
    __builtin_prefetch(&flows_[hint ? hint - 1 : 0], 1);
    return hint;
  }
  // find() with prefetch_flow's hint: the hinted record when it is the live flow of this
  // key (keys are unique among live flows), else the full probe. A hint made stale by an
  // insert or removal since prefetch_flow only costs the full probe.
  __attribute__((always_inline)) Flow* find(const FlowKey& key, uint64_t hash, uint64_t now_ns, uint32_t hint) {
    if (hint != 0) {
      Flow& f = flows_[hint - 1];
      if ((f.flags & kFlowLive) && f.key == key && !is_expired(f, now_ns)) [[likely]]
        return &f;
    }
    return find(key, hash, now_ns);
  }

  // find() over a batch, staged so that the slot and flow cache misses of up to
  // kFindGroup packets overlap: prefetch all slot lines, then all flows, then find.
  // out[i] = find(keys[i], hashes[i], now_ns).
  static constexpr uint32_t kFindGroup = 64;
  void find_batch(const FlowKey* keys, const uint64_t* hashes, uint32_t n, uint64_t now_ns,
                  Flow** out);

  // The live flow with this key, or nullptr. Flow pointers stay valid until
  // that flow leaves the table (records never move). A flow found expired is reclaimed
  // (sink, `expired`) and reported absent. Reads only the slots and the hot record.
  Flow* find(const FlowKey& key, uint64_t hash, uint64_t now_ns);
  // Add a flow for a key that find() just missed. The flow comes back zeroed
  // except key, id, last_ns, start_s and kFlowLive; fill it with begin().
  // When the pool is full, an expired or else the oldest unreplied flow near
  // the key's slot makes room (`evicted`); a replied flow never does. nullptr
  // when nothing can go (`full`): the engine drops as conntrack-full. A lazily
  // faulted table may grow its index here (and count `full` if the memory for
  // that cannot be had).
  Flow* insert(const FlowKey& key, uint64_t hash, uint64_t now_ns);
  // Take a live flow out (sink with `why`).
  void remove(Flow* f, FinishReason why = FinishReason::Removed);
  // Look at up to `budget` pool records from where the last call stopped and
  // reclaim the expired ones. Returns how many were reclaimed.
  uint32_t expire_some(uint64_t now_ns, uint32_t budget);

  // Per-packet state updates on a live flow of this table (flow.h's flow_begin and
  // flow_update with the flow's cold record; update writes it only on a counter flush).
  void begin(Flow& f, Direction orig, uint8_t tcp_state, bool tracked, uint32_t rule, uint32_t generation,
             uint32_t ip_bytes) {
    flow_begin(f, cold(f), orig, tcp_state, tracked, rule, generation, ip_bytes);
  }
  // Forced inline: as a call, its register saves and argument moves cost more than its fast path.
  __attribute__((always_inline)) TcpStep update(Flow& f, Direction pkt, uint8_t tcp_flags, uint32_t ip_bytes,
                                                uint64_t now_ns) {
    return flow_update_with(f, [this, &f]() -> FlowCold& { return cold(f); }, pkt, tcp_flags, ip_bytes, now_ns);
  }

  // What moved to the cold record, for a flow of this table.
  FlowCold& cold(const Flow& f) { return colds_[&f - flows_]; }
  const FlowCold& cold(const Flow& f) const { return colds_[&f - flows_]; }
  FlowView view(const Flow& f) const { return FlowView{f, cold(f)}; }
  uint64_t packets(const Flow& f, FlowDir d) const { return view(f).packets(d); }
  uint64_t bytes(const Flow& f, FlowDir d) const { return view(f).bytes(d); }
  uint64_t id(const Flow& f) const { return cold(f).id; }
  uint32_t rule(const Flow& f) const { return cold(f).rule; }
  uint32_t start_s(const Flow& f) const { return cold(f).start_s; }

  bool is_expired(const Flow& f, uint64_t now_ns) const {
    return static_cast<int64_t>(now_ns - f.last_ns) >= static_cast<int64_t>(timeout_ns_[f.timeout_slot]);
  }
  uint64_t expires_at_ns(const Flow& f) const { return f.last_ns + timeout_ns_[f.timeout_slot]; }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t i = 0; i < high_water_; ++i)
      if (flows_[i].flags & kFlowLive) fn(static_cast<const Flow&>(flows_[i]));
  }
  template <class Fn>
  void for_each_view(Fn&& fn) const {
    for (uint32_t i = 0; i < high_water_; ++i)
      if (flows_[i].flags & kFlowLive) fn(FlowView{flows_[i], colds_[i]});
  }

  const FlowTableCounters& counters() const { return counters_; }
  uint32_t capacity() const { return max_flows_; }
  // Slots of the index now (a lazily faulted table's grows up to that of capacity()).
  uint32_t slot_count() const { return nslots_; }
  // Bytes allocated for the slots and the pool (hot and cold).
  size_t memory_bytes() const;
  // Slots a lookup of this hash walks past before an empty one (tests, stats).
  uint32_t probe_length(uint64_t hash) const;

 private:
  struct Slot {
    uint32_t tag;    // low 32 bits of the hash: home slot = home(tag)
    uint32_t index;  // flow index + 1; 0 = empty
  };
  static_assert(sizeof(Slot) == 8);
  static constexpr uint32_t kNoFree = 0xffffffffu;
  // Empty slots past the last one, read (never written) by prefetch_flow.
  static constexpr int kSlotPad = 7;

  // Home slot of a tag: multiply-shift onto [0, nslots_) (any slot count).
  uint32_t home(uint32_t tag) const { return static_cast<uint32_t>((uint64_t{tag} * nslots_) >> 32); }
  uint32_t next(uint32_t pos) const { return pos + 1 == nslots_ ? 0 : pos + 1; }
  void release();
  uint32_t slot_of(uint32_t flow_index) const;
  void reclaim(uint32_t slot, FinishReason why);
  void delete_slot(uint32_t slot);
  bool make_room(uint64_t hash, uint64_t now_ns);
  void place(Slot s);
  bool grow_index();
  FinishReason expiry_reason(const Flow& f) const;

  Slot* slots_ = nullptr;
  Flow* flows_ = nullptr;
  FlowCold* colds_ = nullptr;
  size_t slots_bytes_ = 0;
  size_t flows_bytes_ = 0;
  size_t colds_bytes_ = 0;
  uint32_t nslots_ = 0;
  uint32_t index_flows_ = 0;  // flows the index holds at 75 % load (max_flows_ once grown)
  uint32_t max_flows_ = 0;
  uint32_t high_water_ = 0;   // pool records ever handed out
  uint32_t free_head_ = kNoFree;
  uint32_t sweep_cursor_ = 0;
  uint64_t seed_ = 0;
  FlowHash4 hash4_ = FlowHash4::of(0);  // seed_'s
  uint64_t next_id_ = 0;
  uint64_t timeout_ns_[kTimeoutSlots] = {};
  FlowSink sink_ = nullptr;
  void* sink_ctx_ = nullptr;
  FlowTableCounters counters_;
};

// Bytes of table memory per flow for a given capacity (the < 128 budget).
double flow_table_bytes_per_flow(uint32_t max_flows);

}  // namespace sgfw::conntrack
