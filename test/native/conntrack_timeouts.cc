// Idle timeouts per state and per cloud (native/conntrack/timeouts.h), as the
// flow table applies them, with the seconds given the way the controller gives
// them: in the table blob's conntrack section.
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>

#include "conntrack/flow_table.h"
#include "conntrack/timeouts.h"
#include "core/bytes.h"
#include "table/format.h"

using namespace sgfw;
using namespace sgfw::conntrack;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

FlowKey key(uint8_t proto, uint16_t port) {
  FlowKey k;
  k.family = 4;
  k.proto = proto;
  k.local_port = port;
  k.remote_port = 80;
  k.local[0] = 10;
  k.remote[0] = 192;
  return k;
}

// A conntrack section as src/table/format.ts writes it.
void write_section(uint8_t* p, uint32_t max_flows, const Timeouts& t, uint32_t max_frags) {
  std::memset(p, 0, table::kConntrackSectionSize);
  store_le32(p + table::conntrack::kMaxFlows.off, max_flows);
  for (int i = 0; i < kTimeoutSlots; ++i) store_le32(p + table::conntrack::kTimeouts.off + 4 * i, t.seconds[i]);
  store_le32(p + table::conntrack::kMaxFragments.off, max_frags);
}

// The flow is alive one ns before last + timeout and gone at it.
void check_lifetime(FlowTable& t, const FlowKey& k, uint64_t last, uint32_t seconds) {
  CAPTURE(seconds);
  CHECK(t.find(k, t.hash(k), last + seconds * kSec - 1) != nullptr);
  CHECK(t.find(k, t.hash(k), last + seconds * kSec) == nullptr);
}

}  // namespace

TEST_CASE("timeouts: the conntrack section is read little-endian, slot by slot") {
  uint8_t sec[table::kConntrackSectionSize];
  write_section(sec, 123456, kAlibabaTimeouts, 777);
  const ConntrackConfig c = read_conntrack_section(sec);
  CHECK(c.max_flows == 123456);
  CHECK(c.max_fragments == 777);
  for (int i = 0; i < kTimeoutSlots; ++i) CHECK(c.timeouts.seconds[i] == kAlibabaTimeouts.seconds[i]);
  CHECK(c.timeouts[TimeoutSlot::Udp] == 910);
  CHECK(kAwsTimeouts[TimeoutSlot::Udp] == 30);
  CHECK(kAwsTimeouts[TimeoutSlot::TcpEstablished] == 432000);
  CHECK(kAwsTimeouts[TimeoutSlot::UdpStream] == 180);
  CHECK(kAwsTimeouts[TimeoutSlot::Other] == 600);
  CHECK(kAwsTimeouts[TimeoutSlot::TcpClose] == 10);
}

TEST_CASE("timeouts: slot of each TCP state, UDP, UDP stream, ICMP and other protocols") {
  CHECK(timeout_slot(kProtoTcp, kTcpSynSent, false) == TimeoutSlot::TcpSynSent);
  CHECK(timeout_slot(kProtoTcp, kTcpSynSent2, false) == TimeoutSlot::TcpSynSent);
  CHECK(timeout_slot(kProtoTcp, kTcpSynRecv, false) == TimeoutSlot::TcpSynRecv);
  CHECK(timeout_slot(kProtoTcp, kTcpEstablished, false) == TimeoutSlot::TcpEstablished);
  CHECK(timeout_slot(kProtoTcp, kTcpFinWait, false) == TimeoutSlot::TcpFinWait);
  CHECK(timeout_slot(kProtoTcp, kTcpCloseWait, false) == TimeoutSlot::TcpCloseWait);
  CHECK(timeout_slot(kProtoTcp, kTcpLastAck, false) == TimeoutSlot::TcpLastAck);
  CHECK(timeout_slot(kProtoTcp, kTcpTimeWait, false) == TimeoutSlot::TcpTimeWait);
  CHECK(timeout_slot(kProtoTcp, kTcpClose, false) == TimeoutSlot::TcpClose);
  CHECK(timeout_slot(kProtoUdp, 0, false) == TimeoutSlot::Udp);
  CHECK(timeout_slot(kProtoUdp, 0, true) == TimeoutSlot::UdpStream);
  CHECK(timeout_slot(kProtoIcmp, 0, false) == TimeoutSlot::Icmp);
  CHECK(timeout_slot(kProtoIcmpv6, 0, false) == TimeoutSlot::Icmp);
  CHECK(timeout_slot(kProtoGre, 0, false) == TimeoutSlot::Other);
}

TEST_CASE("timeouts: every TCP state expires after its own timeout (AWS and Alibaba values)") {
  for (const Timeouts* tv : {&kAwsTimeouts, &kAlibabaTimeouts}) {
    uint8_t sec[table::kConntrackSectionSize];
    write_section(sec, 64, *tv, 16);
    const ConntrackConfig cfg = read_conntrack_section(sec);
    FlowTable t;
    CHECK(t.init(cfg.max_flows));
    t.set_timeouts(cfg.timeouts);
    // Packet sequences (dir, flags) that leave a flow in each state; the client is egress.
    struct Path {
      uint8_t state;
      int n;
      struct { Direction d; uint8_t flags; } p[4];
    };
    const Direction O = Direction::Egress, I = Direction::Ingress;
    const uint8_t S = kTcpSyn, A = kTcpAck, F = kTcpFin | kTcpAck, R = kTcpRst;
    const Path paths[] = {
        {kTcpSynSent, 0, {}},
        {kTcpSynSent2, 1, {{I, S}}},
        {kTcpSynRecv, 1, {{I, S | A}}},
        {kTcpEstablished, 2, {{I, S | A}, {O, A}}},
        {kTcpFinWait, 3, {{I, S | A}, {O, A}, {O, F}}},
        {kTcpCloseWait, 4, {{I, S | A}, {O, A}, {O, F}, {I, A}}},
        {kTcpLastAck, 4, {{I, S | A}, {O, A}, {O, F}, {I, F}}},
        {kTcpClose, 3, {{I, S | A}, {O, A}, {I, R}}},
    };
    uint16_t port = 1000;
    for (const Path& path : paths) {
      CAPTURE(int(path.state));
      const FlowKey k = key(kProtoTcp, port++);
      const uint64_t t0 = 1000 * kSec;
      Flow* f = t.insert(k, t.hash(k), t0);
      t.begin(*f, O, kTcpSynSent, true, 0, 0, 60);
      uint64_t now = t0;
      for (int i = 0; i < path.n; ++i) {
        now += kSec / 2;
        CHECK(t.update(*f, path.p[i].d, path.p[i].flags, 60, now).action == TcpAction::Accept);
      }
      CHECK(int(f->state) == int(path.state));
      check_lifetime(t, k, now, tv->seconds[int(kTcpStateSlot[path.state])]);
    }
    // TIME_WAIT.
    const FlowKey k = key(kProtoTcp, 2000);
    Flow* f = t.insert(k, t.hash(k), 0);
    t.begin(*f, O, kTcpEstablished, true, 0, 0, 60);
    t.update(*f, O, F, 60, kSec);
    t.update(*f, I, F, 60, kSec);
    t.update(*f, O, A, 60, 2 * kSec);
    CHECK(f->state == kTcpTimeWait);
    check_lifetime(t, k, 2 * kSec, (*tv)[TimeoutSlot::TcpTimeWait]);
  }
}

TEST_CASE("timeouts: UDP is `udp` until a reply and then an original packet make it a stream") {
  for (const Timeouts* tv : {&kAwsTimeouts, &kAlibabaTimeouts}) {
    FlowTable t;
    CHECK(t.init(16));
    t.set_timeouts(*tv);
    const uint32_t udp = (*tv)[TimeoutSlot::Udp], stream = (*tv)[TimeoutSlot::UdpStream];
    const FlowKey k = key(kProtoUdp, 5353);
    Flow* f = t.insert(k, t.hash(k), 0);
    t.begin(*f, Direction::Egress, 0, true, 0, 0, 80);
    check_lifetime(t, k, 0, udp);  // AWS 30 s, Alibaba 910 s; the flow is gone after

    f = t.insert(k, t.hash(k), 0);
    t.begin(*f, Direction::Egress, 0, true, 0, 0, 80);
    t.update(*f, Direction::Egress, 0, 80, 1 * kSec);   // original again, no reply yet
    CHECK((f->flags & kFlowStream) == 0);
    t.update(*f, Direction::Ingress, 0, 80, 2 * kSec);  // the reply
    CHECK((f->flags & kFlowReplied) != 0);
    CHECK((f->flags & kFlowStream) == 0);
    CHECK(f->timeout_slot == uint8_t(TimeoutSlot::Udp));
    t.update(*f, Direction::Ingress, 0, 80, 3 * kSec);  // more replies: still udp
    CHECK((f->flags & kFlowStream) == 0);
    t.update(*f, Direction::Egress, 0, 80, 4 * kSec);   // original after a reply: stream
    CHECK((f->flags & kFlowStream) != 0);
    CHECK(f->timeout_slot == uint8_t(TimeoutSlot::UdpStream));
    check_lifetime(t, k, 4 * kSec, stream);
  }
  // AWS: a reply-only flow dies at 30 s, a stream lives past it.
  FlowTable t;
  CHECK(t.init(16));
  const FlowKey a = key(kProtoUdp, 1), b = key(kProtoUdp, 2);
  Flow* fa = t.insert(a, t.hash(a), 0);
  t.begin(*fa, Direction::Ingress, 0, true, 0, 0, 80);
  t.update(*fa, Direction::Egress, 0, 80, kSec);
  Flow* fb = t.insert(b, t.hash(b), 0);
  t.begin(*fb, Direction::Ingress, 0, true, 0, 0, 80);
  t.update(*fb, Direction::Egress, 0, 80, kSec);
  t.update(*fb, Direction::Ingress, 0, 80, kSec);
  CHECK(t.find(a, t.hash(a), 40 * kSec) == nullptr);
  CHECK(t.find(b, t.hash(b), 40 * kSec) != nullptr);
}

TEST_CASE("timeouts: ICMP and other protocols; new timeouts apply to existing flows") {
  FlowTable t;
  CHECK(t.init(16));
  const FlowKey icmp = key(kProtoIcmp, 7), gre = key(kProtoGre, 0), v6 = key(kProtoIcmpv6, 9);
  for (const FlowKey* k : {&icmp, &gre, &v6}) {
    Flow* f = t.insert(*k, t.hash(*k), 0);
    t.begin(*f, Direction::Egress, 0, true, 0, 0, 84);
  }
  CHECK(t.find(icmp, t.hash(icmp), 30 * kSec - 1) != nullptr);
  CHECK(t.find(v6, t.hash(v6), 30 * kSec) == nullptr);
  CHECK(t.find(icmp, t.hash(icmp), 30 * kSec) == nullptr);
  CHECK(t.find(gre, t.hash(gre), 599 * kSec) != nullptr);
  t.set_timeouts(kAlibabaTimeouts);  // a table swap to Alibaba values: 910 s now
  CHECK(t.find(gre, t.hash(gre), 909 * kSec) != nullptr);
  CHECK(t.find(gre, t.hash(gre), 910 * kSec) == nullptr);
}
