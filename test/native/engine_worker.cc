// The live worker loop over a scripted in-memory source: verdicts per frame, on-error policy
// before any table, audit mode, table swaps between batches, counter snapshots.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/worker.h"
#include "table/loader.h"
#include "table_blob_builder.h"

using namespace sgfw;

namespace {

// Raw IPv4 + TCP header (link type 101), checksums left zero: the engine does not check them.
std::vector<uint8_t> tcp4(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport, uint8_t flags) {
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x45;
  p[3] = 40;
  p[8] = 64;
  p[9] = 6;
  for (int i = 0; i < 4; i++) p[12 + i] = src[i], p[16 + i] = dst[i];
  p[20] = sport >> 8, p[21] = sport & 0xff, p[22] = dport >> 8, p[23] = dport & 0xff;
  p[32] = 0x50;
  p[33] = flags;
  return p;
}

class ScriptedSource : public capture::PacketSource {
 public:
  void push(std::vector<uint8_t> frame) {
    {
      std::lock_guard<std::mutex> g(mu_);
      queue_.push_back(std::move(frame));
    }
    cv_.notify_all();
  }
  // Whether receive() is waiting for a frame now, as a live source blocked in poll().
  bool waiting() {
    std::lock_guard<std::mutex> g(mu_);
    return waiting_;
  }
  size_t verdicts() {
    std::lock_guard<std::mutex> g(mu_);
    return results_.size();
  }
  std::vector<uint8_t> results() {
    std::lock_guard<std::mutex> g(mu_);
    return results_;
  }
  // Waits up to timeout_ms for a frame, as a live source's poll() does.
  int receive(capture::Frame* frames, int max, int timeout_ms) override {
    std::unique_lock<std::mutex> g(mu_);
    waiting_ = true;
    cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return !queue_.empty(); });
    waiting_ = false;
    int n = 0;
    while (n < max && !queue_.empty()) {
      held_.push_back(std::move(queue_.front()));
      queue_.pop_front();
      capture::Frame& f = frames[n++];
      f.data = held_.back().data();
      f.caplen = f.wirelen = static_cast<uint32_t>(held_.back().size());
      f.link_type = 101;
      // Live sources stamp frames with the real-time clock, which idle sweeps use too.
      f.ts_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
      ++clock_;
    }
    return n;
  }
  void complete(const capture::Frame*, const uint8_t* accept, int n) override {
    std::lock_guard<std::mutex> g(mu_);
    results_.insert(results_.end(), accept, accept + n);
    held_.clear();
  }
  void stats(capture::SourceStats& out) override {
    out.ports = 1;
    out.port[0].received = clock_;
  }
  const std::string& error() const override { return error_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool waiting_ = false;
  std::deque<std::vector<uint8_t>> queue_;
  std::deque<std::vector<uint8_t>> held_;
  std::vector<uint8_t> results_;
  uint64_t clock_ = 0;
  std::string error_;
};

const uint8_t kServer[4] = {198, 18, 1, 10};
const uint8_t kClient[4] = {198, 19, 7, 7};

// eni-1: ingress accepts TCP 80 when allow80, else only the default drop; egress accepts all.
std::shared_ptr<const table::MatchTable> make_table(bool allow80) {
  test::BlobSpec s;
  s.rules = {{"sg:ingress:0", 0, 1}, {"default:ingress:drop", 1, 0}, {"default:egress:accept", 1, 1}};
  test::BIface i;
  i.name = "eni-1";
  i.addrs = {{4, test::ip4(198, 18, 1, 10)}};
  if (allow80) {
    test::BEntry e;
    e.rule = 0;
    e.dport_lo = e.dport_hi = 80;
    i.ingress.push_back(e);
  }
  test::BEntry drop;
  drop.rule = 1, drop.action = 0, drop.reason = 1, drop.family = 0, drop.proto = 0, drop.flags = table::kFlagProtoAny;
  i.ingress.push_back(drop);
  test::BEntry out;
  out.rule = 2, out.reason = 1, out.family = 0, out.proto = 0, out.flags = table::kFlagProtoAny;
  i.egress.push_back(out);
  s.ifaces.push_back(i);
  std::vector<uint8_t> blob = test::build_blob(s);
  auto t = std::make_shared<table::MatchTable>();
  table::LoadResult r = table::load_table(blob.data(), blob.size(), *t);
  REQUIRE_MESSAGE(r.ok(), r.message);
  return t;
}

void wait_for(ScriptedSource& src, size_t n) {
  for (int i = 0; i < 2000 && src.verdicts() < n; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(src.verdicts() == n);
}

}  // namespace

TEST_CASE("worker: before any table, on_error decides; then the table judges; swaps keep tracked flows") {
  engine::TableSlot slot;
  auto owned = std::make_unique<ScriptedSource>();
  ScriptedSource& src = *owned;
  engine::WorkerConfig cfg;
  cfg.on_error = engine::OnError::Closed;
  cfg.timeout_ms = 5;
  engine::Worker w(std::move(owned), slot, cfg);
  std::atomic<bool> stop{false};
  std::thread th([&] { w.run(stop); });

  src.push(tcp4(kClient, kServer, 40000, 80, 0x02));
  wait_for(src, 1);
  CHECK(src.results()[0] == 0);  // closed: no table, no pass

  CHECK(slot.publish(make_table(true)) == 1);
  src.push(tcp4(kClient, kServer, 40000, 80, 0x02));  // SYN to 80: rule
  src.push(tcp4(kServer, kClient, 80, 40000, 0x12));  // SYN/ACK: established
  src.push(tcp4(kClient, kServer, 40001, 81, 0x02));  // SYN to 81: default drop
  wait_for(src, 4);
  CHECK(src.results() == std::vector<uint8_t>{0, 1, 1, 0});

  CHECK(slot.publish(make_table(false)) == 2);  // reload: port 80 no longer allowed
  src.push(tcp4(kClient, kServer, 40000, 80, 0x10));  // tracked flow survives (AWS)
  src.push(tcp4(kClient, kServer, 40002, 80, 0x02));  // new connection: dropped
  wait_for(src, 6);
  CHECK(src.results() == std::vector<uint8_t>{0, 1, 1, 0, 1, 0});

  engine::WorkerSnapshot s = w.snapshot(500);
  CHECK(s.generation == 2);
  CHECK(s.unjudged == 1);
  CHECK(s.counters.packets == 5);
  CHECK(s.counters.reasons[static_cast<int>(Reason::Established)] == 2);
  CHECK(s.rules["sg:ingress:0"].packets == 1);
  CHECK(s.rules["default:ingress:drop"].packets == 2);  // one per generation, folded by id
  CHECK(s.interfaces["eni-1"].dropped[0].packets == 2);
  CHECK(s.conntrack.created == 1);
  stop = true;
  th.join();
  CHECK_FALSE(w.failed());
}

TEST_CASE("worker: audit forwards everything and counts what it would have dropped; on_error open passes") {
  engine::TableSlot slot;
  auto owned = std::make_unique<ScriptedSource>();
  ScriptedSource& src = *owned;
  engine::WorkerConfig cfg;
  cfg.audit = true;
  cfg.on_error = engine::OnError::Open;
  cfg.timeout_ms = 5;
  engine::Worker w(std::move(owned), slot, cfg);
  std::atomic<bool> stop{false};
  std::thread th([&] { w.run(stop); });
  src.push(tcp4(kClient, kServer, 40000, 22, 0x02));
  wait_for(src, 1);
  slot.publish(make_table(true));
  src.push(tcp4(kClient, kServer, 40000, 22, 0x02));
  src.push(tcp4(kClient, kServer, 40000, 80, 0x02));
  wait_for(src, 3);
  CHECK(src.results() == std::vector<uint8_t>{1, 1, 1});
  engine::WorkerSnapshot s = w.snapshot(500);
  CHECK(s.audit_would_drop == 1);
  CHECK(s.unjudged == 1);
  CHECK(s.counters.dropped == 1);  // the engine's verdict is kept in the counters
  stop = true;
  th.join();
}

// A reload's log line says the new table is in force: a frame that arrives after the publish
// must be judged by it, even when the worker was already waiting in receive() (an idle port).
TEST_CASE("worker: a frame that arrives while the worker waits is judged by the table published meanwhile") {
  engine::TableSlot slot;
  auto owned = std::make_unique<ScriptedSource>();
  ScriptedSource& src = *owned;
  engine::WorkerConfig cfg;
  cfg.timeout_ms = 2000;  // long: the worker is surely inside receive() when the table changes
  slot.publish(make_table(true));
  engine::Worker w(std::move(owned), slot, cfg);
  std::atomic<bool> stop{false};
  std::thread th([&] { w.run(stop); });
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 2000 && !src.waiting(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(src.waiting());
    const bool allow = round % 2 == 1;
    slot.publish(make_table(allow));
    src.push(tcp4(kClient, kServer, static_cast<uint16_t>(41000 + round), 80, 0x02));
    wait_for(src, static_cast<size_t>(round + 1));
    CHECK_MESSAGE(src.results().back() == (allow ? 1 : 0), "round ", round);
  }
  stop = true;
  src.push(tcp4(kClient, kServer, 42000, 22, 0x02));  // wakes the worker so that it sees stop
  th.join();
  CHECK(w.snapshot(0).generation == 5);
}
