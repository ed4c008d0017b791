// The per-packet pipeline shared by every packet source (replay, monitor, inline, host):
// parse -> interface -> fragments -> related ICMP -> conntrack -> classify -> verdict.
// One Engine per worker thread: it owns its flow table and counters (one writer), and
// holds the current table by shared pointer. HOT: judge() never allocates, locks or throws.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "capture/packet_source.h"
#include "capture/pcap_file.h"
#include "conntrack/flow_table.h"
#include "conntrack/frag_table.h"
#include "core/packet_meta.h"
#include "engine/counters.h"
#include "engine/decision.h"
#include "table/match_table.h"
#include "wire/parse.h"

namespace sgfw::engine {

enum class OnConntrackFull : uint8_t { Drop = 0, Bypass = 1 };

struct EngineOptions {
  OnConntrackFull on_conntrack_full = OnConntrackFull::Drop;
  uint64_t hash_seed = 0;
  // Live modes run one engine per worker, each with a shard of the flow table: the
  // policy's conntrack.maxFlows is split evenly between them.
  uint32_t shards = 1;
  // Live workers pre-fault the flow table (the packet path must never page-fault); replay
  // lets the kernel hand out zeroed pages on first touch, so a 1M-flow table costs nothing
  // to set up for a short trace.
  conntrack::FlowTableMemory flow_memory = conntrack::FlowTableMemory::Prefault;
};

// A table generation with the counters that are indexed by its rule and interface numbers.
struct TableState {
  std::shared_ptr<const table::MatchTable> table;
  uint32_t generation = 0;
  std::vector<PacketCounters> rules;          // by rule index
  std::vector<InterfaceCounters> interfaces;  // by interface index
};

class Engine {
 public:
  explicit Engine(const EngineOptions& opts = {});

  // CONTROL: adopt a new table (between packets). The first table sizes the flow and
  // fragment tables; later ones keep every flow (spec: established-flow semantics are
  // applied lazily, per flow, at its next packet). Returns false with a message when the
  // flow table cannot be allocated.
  bool set_table(std::shared_ptr<const table::MatchTable> t, uint32_t generation, std::string* error);
  bool has_table() const { return current_.table != nullptr; }

  // HOT: judge one frame. `meta` receives the parse (callers that write pcaps or logs use it).
  Decision judge(const uint8_t* data, uint32_t caplen, uint32_t wirelen, wire::LinkType lt,
                 uint64_t now_ns, PacketMeta& meta);

  // HOT: judge frames[0..n) in order, exactly as n calls of judge() would (metas[i] and out[i]
  // receive each one's parse and decision), with the parsing, interface lookups and flow hashes
  // of the whole batch done first and the flow table's lines prefetched for them: the memory
  // waits of a batch overlap instead of following one another. The table must not change
  // within a batch (swap between batches).
  static constexpr uint32_t kMaxBatch = 64;
  void judge_batch(const capture::Frame* frames, uint32_t n, PacketMeta* metas, Decision* out);
  // The same over a trace reader's records (replay hands its records over without a copy).
  // `next_bytes`: what the caller hands over next (a mapped trace's following records), if it
  // knows; prefetched a few lines per packet while this batch is judged. Issued all at once, as
  // the reader's loop did, 64 line misses filled the core's line-fill buffers and stalled it on
  // every batch (~10 ns a packet of the bench replay); spread, they overlap the judging.
  void judge_batch(const capture::Record* records, uint32_t n, PacketMeta* metas, Decision* out,
                   std::span<const uint8_t> next_bytes = {});

  // Reclaim idle flows and fragment verdicts; call now and then with packet time.
  void expire(uint64_t now_ns, uint32_t budget);

  // The interface owning this address as judging finds it (family 4: bytes 4..15 zero, as a
  // parsed packet has them), or -1; the same answer as the table's find_interface (tests).
  int interface_of(uint8_t family, const uint8_t addr[16]) const {
    if (!t_) return -1;
    if (family == 6 && iface6_family_ == 6) return find_iface6(addr);
    if (family != 4 || iface4_family_ != 4) return t_->find_interface(family, addr);
    uint32_t a;
    std::memcpy(&a, addr, 4);
    return find_iface4(a);
  }

  void set_flow_sink(conntrack::FlowSink sink, void* ctx) { flows_.set_sink(sink, ctx); }
  conntrack::FlowTable& flows() { return flows_; }
  const conntrack::FlowTable& flows() const { return flows_; }
  const conntrack::FragTable& frags() const { return frags_; }
  const EngineCounters& counters() const { return counters_; }
  const TableState& current() const { return current_; }
  // Earlier generations, kept for their counters.
  const std::vector<TableState>& retired() const { return retired_; }
  // CONTROL: hand the earlier generations over (live workers fold them into totals so that
  // many reloads do not keep many tables alive).
  std::vector<TableState> take_retired() { return std::move(retired_); }

 private:
  // What judging a parsed packet needs before it touches a flow: its interfaces and the key
  // and hash of the first flow it looks up (the sender's egress, else the receiver's ingress).
  struct Prep {
    int32_t src_if = -1, dst_if = -1;
    bool keyed = false;
    // keyed, not a fragment, and one protected interface: judge_established may take it.
    bool short_way = false;
    Direction dir = Direction::Ingress;  // the keyed lookup's (its interface is key.iface)
    // judge_established's find missed: the general path's find for this key, with nothing
    // changed in between, would miss too.
    bool absent = false;
    uint32_t hint = 0;  // FlowTable::prefetch_flow's, in batches; 0 = none
    uint64_t hash = 0;
    conntrack::FlowKey key;
  };
  // IPv4 address -> interface in one load and one compare: set_table() places every IPv4
  // address of the table in a slot of its own (a multiplier under which none collide), so no
  // lookup probes. The table's find_interface probes an open-addressing table and checks the
  // padding a parsed packet always has zero (packet_meta.h). A fixed size (2 KB) keeps the
  // shift a constant (a variable one spilled in judge_batch's loop); tables with too many
  // IPv4 addresses for it (over 64, or no collision-free multiplier in 128 tries: from a few
  // dozen on) keep the table's lookup. callgrind, replay of the bench's trace: with the
  // IPv4 flow hash (flow_hash4) that the same test enables, 527 -> 494 instructions a packet.
  static constexpr uint32_t kIface4Bits = 8;
  struct Iface4Slot {
    uint32_t addr;   // the four bytes as they lie in the packet
    int32_t iface;   // -1: empty (whatever addr holds)
  };
  static uint32_t iface4_home(uint32_t a, uint64_t mult) {
    return static_cast<uint32_t>((a * mult) >> (64 - kIface4Bits));
  }
  int find_iface4(uint32_t a) const {
    const Iface4Slot s = iface4_slots_[iface4_home(a, iface4_mult_)];
    // Which of a packet's two addresses is the table's is a coin toss: a select, not a branch
    // (the empty asm keeps GCC from folding the select into the caller's tests as jumps).
    int32_t r = s.addr == a ? s.iface : -1;
    asm("" : "+r"(r));
    return r;
  }
  // The same for IPv6 addresses, as two words (the bytes as they lie): 64 slots of 24 bytes,
  // for tables of up to 16 IPv6 addresses (callgrind: 13 instructions a packet fewer on the
  // bench's trace, a fifth of it IPv6).
  static constexpr uint32_t kIface6Bits = 6;
  struct Iface6Slot {
    uint64_t w0, w1;
    int32_t iface;  // -1: empty
  };
  static uint32_t iface6_home(uint64_t w0, uint64_t w1, uint64_t mult) {
    return static_cast<uint32_t>(((w0 + w1 * 0x9E3779B97F4A7C15ull) * mult) >> (64 - kIface6Bits));
  }
  int find_iface6(const uint8_t addr[16]) const {
    uint64_t w0, w1;
    std::memcpy(&w0, addr, 8);
    std::memcpy(&w1, addr + 8, 8);
    const Iface6Slot& s = iface6_slots_[iface6_home(w0, w1, iface6_mult_)];
    int32_t r = ((s.w0 ^ w0) | (s.w1 ^ w1)) == 0 ? s.iface : -1;
    asm("" : "+r"(r));  // a select, as in find_iface4
    return r;
  }
  void build_iface_maps();
  template <class FrameT>
  void judge_batch_of(const FrameT* frames, uint32_t n, PacketMeta* metas, Decision* out,
                      std::span<const uint8_t> next_bytes);
  void prepare(const uint8_t* data, uint32_t caplen, uint32_t wirelen, wire::LinkType lt, PacketMeta& m,
               Prep& p);
  Decision finish(const PacketMeta& m, uint32_t wirelen, uint64_t now_ns, const Prep& p);
  bool judge_established(const PacketMeta& m, uint32_t wirelen, uint64_t now_ns, Prep& p, Decision& d);
  Decision judge_ip(const PacketMeta& m, uint32_t bytes, uint64_t now_ns, const Prep& p);
  Decision judge_on(uint32_t iface, Direction dir, const PacketMeta& m, uint32_t bytes, uint64_t now_ns,
                    const Prep* keyed);
  bool related_error(uint32_t iface, Direction dir, const PacketMeta& m, uint64_t now_ns);
  bool reply_of_untracked(uint32_t iface, Direction dir, const PacketMeta& m) const;
  bool cut_by_rule_change(conntrack::Flow& f, int32_t* drop_entry) const;
  void count(const Decision& d, uint32_t bytes);

  EngineOptions opts_;
  TableState current_;
  std::vector<TableState> retired_;
  const table::MatchTable* t_ = nullptr;  // current_.table.get(), for the hot path
  conntrack::FlowTable flows_;
  conntrack::FragTable frags_;
  EngineCounters counters_;
  bool frags_ready_ = false;
  uint32_t prev_generation_ = 0;
  std::vector<int32_t> rule_renumber_;  // previous table's rule index -> current one (or -1)
  // In the engine itself: a lookup addresses them from `this`, no pointer to keep.
  Iface4Slot iface4_slots_[1u << kIface4Bits] = {};
  uint64_t iface4_mult_ = 0;
  // 4 when iface4_slots_ hold every IPv4 address of the table; 0 (no family) sends every
  // lookup to the table's find_interface.
  uint8_t iface4_family_ = 0;
  Iface6Slot iface6_slots_[1u << kIface6Bits] = {};
  uint64_t iface6_mult_ = 0;
  uint8_t iface6_family_ = 0;  // 6 when iface6_slots_ hold every IPv6 address of the table
  // judge_batch's scratch, a member so that no batch pays for constructing it.
  Prep preps_[kMaxBatch];
};

}  // namespace sgfw::engine
