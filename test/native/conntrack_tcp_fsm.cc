// The TCP transition table (native/conntrack/tcp_fsm.h), driven through
// flow_update() the way the engine drives it: one case per cell that matters.
// The client sits behind the interface (egress = original), unless said otherwise.
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>

#include "conntrack/flow.h"
#include "conntrack/tcp_fsm.h"

using namespace sgfw;
using namespace sgfw::conntrack;

namespace {

constexpr Direction kOut = Direction::Egress;   // client -> server (original)
constexpr Direction kIn = Direction::Ingress;   // server -> client (reply)
constexpr uint8_t SYN = kTcpSyn, ACK = kTcpAck, FIN = kTcpFin, RST = kTcpRst, PSH = kTcpPsh,
                  URG = kTcpUrg;

// The FSM tests look at the hot record only; counts go to a scratch cold record.
FlowCold g_cold;

Flow tcp_flow(uint8_t first, Direction orig = kOut, uint64_t now = 1'000) {
  Flow f;
  f.key.proto = kProtoTcp;
  f.flags = kFlowLive;
  f.last_ns = now;
  const TcpNew n = tcp_new_flow(first);
  CHECK(n.action == TcpNewAction::Create);
  g_cold = FlowCold{};
  flow_begin(f, g_cold, orig, n.state, true, 7, 1, 60);
  return f;
}

TcpStep pkt(Flow& f, Direction d, uint8_t flags, uint64_t now = 2'000) {
  return flow_update(f, g_cold, d, flags, 60, now);
}

// Flow in a given state by a real packet sequence.
Flow established() {
  Flow f = tcp_flow(SYN);
  CHECK(pkt(f, kIn, SYN | ACK).state == kTcpSynRecv);
  CHECK(pkt(f, kOut, ACK).state == kTcpEstablished);
  return f;
}

void check_accept(const TcpStep& s, uint8_t state) {
  CHECK(s.action == TcpAction::Accept);
  CHECK(int(s.state) == int(state));
  CHECK(s.sub == InvalidSub::None);
}

}  // namespace

TEST_CASE("tcp: flag classes follow RST > SYN/SYNACK > FIN > ACK > NONE") {
  CHECK(flag_class(RST | SYN | ACK) == kClassRst);
  CHECK(flag_class(RST | ACK) == kClassRst);
  CHECK(flag_class(SYN) == kClassSyn);
  CHECK(flag_class(SYN | ACK | PSH) == kClassSynAck);
  CHECK(flag_class(FIN | ACK | PSH) == kClassFin);
  CHECK(flag_class(ACK | PSH) == kClassAck);
  CHECK(flag_class(PSH) == kClassNone);
  CHECK(flag_class(0) == kClassNone);
}

TEST_CASE("tcp: invalid flag combinations -> invalid/tcp-flags, with or without a flow") {
  const uint8_t bad[] = {
      SYN | FIN,                  // SYN+FIN
      SYN | RST,                  // SYN+RST
      SYN | FIN | ACK,
      FIN,                        // FIN without ACK
      FIN | PSH | URG,            // xmas
      0xff,                       // all flags
      0,                          // null scan
      PSH,                        // nothing but PSH
      URG,
      RST | FIN | ACK,
  };
  Flow f = established();
  for (uint8_t b : bad) {
    CAPTURE(int(b));
    CHECK_FALSE(tcp_flags_valid(b));
    const TcpNew n = tcp_new_flow(b);
    CHECK(n.action == TcpNewAction::Invalid);
    CHECK(n.sub == InvalidSub::TcpFlags);
    const TcpStep s = pkt(f, kOut, b);
    CHECK(s.action == TcpAction::Invalid);
    CHECK(s.sub == InvalidSub::TcpFlags);
    CHECK(f.state == kTcpEstablished);  // an invalid packet changes nothing
  }
  // PSH, ECE and CWR do not matter (Linux masks them off).
  CHECK(tcp_flags_valid(SYN | kTcpEce | kTcpCwr));
  CHECK(tcp_flags_valid(ACK | PSH));
  CHECK(tcp_flags_valid(FIN | ACK | PSH | URG));
  CHECK(tcp_flags_valid(RST | ACK));
  CHECK(tcp_flags_valid(SYN | URG));
}

TEST_CASE("tcp: new flows (mid-stream pickup, tcp_loose=1)") {
  CHECK(tcp_new_flow(SYN).action == TcpNewAction::Create);
  CHECK(tcp_new_flow(SYN).state == kTcpSynSent);
  CHECK(tcp_new_flow(ACK).state == kTcpEstablished);
  CHECK(tcp_new_flow(ACK | PSH).state == kTcpEstablished);
  CHECK(tcp_new_flow(ACK | URG).state == kTcpEstablished);
  CHECK(tcp_new_flow(FIN | ACK).action == TcpNewAction::Create);
  CHECK(tcp_new_flow(FIN | ACK).state == kTcpFinWait);
  // Judged by the rules, no state kept.
  CHECK(tcp_new_flow(SYN | ACK).action == TcpNewAction::NoCreate);
  CHECK(tcp_new_flow(RST).action == TcpNewAction::NoCreate);
  CHECK(tcp_new_flow(RST | ACK).action == TcpNewAction::NoCreate);
}

TEST_CASE("tcp: three-way handshake SYN_SENT -> SYN_RECV -> ESTABLISHED") {
  Flow f = tcp_flow(SYN);
  CHECK(f.state == kTcpSynSent);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpSynSent));
  CHECK((f.flags & kFlowReplied) == 0);
  check_accept(pkt(f, kOut, SYN), kTcpSynSent);         // retransmitted SYN
  check_accept(pkt(f, kIn, SYN | ACK), kTcpSynRecv);    // standard open
  CHECK((f.flags & kFlowReplied) != 0);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpSynRecv));
  CHECK(pkt(f, kIn, SYN | ACK).action == TcpAction::Ignore);  // retransmitted SYN/ACK
  check_accept(pkt(f, kIn, ACK), kTcpSynRecv);          // might answer a late SYN
  check_accept(pkt(f, kOut, ACK), kTcpEstablished);     // handshake complete
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpEstablished));
  check_accept(pkt(f, kIn, ACK | PSH), kTcpEstablished);
  const FlowView v{f, g_cold};  // nothing flushed yet: the counts are all in the hot record
  CHECK(v.packets(kDirOriginal) == 3);
  CHECK(v.packets(kDirReply) == 4);
  CHECK(v.bytes(kDirReply) == 4 * 60);
  CHECK(count_packets(f.count[kDirReply]) == 4);
}

TEST_CASE("tcp: SYN_SENT rejects what only a server could answer") {
  Flow f = tcp_flow(SYN);
  TcpStep s = pkt(f, kOut, SYN | ACK);  // client sends SYN then SYN/ACK: not TCP
  CHECK(s.action == TcpAction::Invalid);
  CHECK(s.sub == InvalidSub::TcpState);
  CHECK(pkt(f, kOut, ACK).action == TcpAction::Invalid);       // ACK before SYN/ACK
  CHECK(pkt(f, kOut, FIN | ACK).action == TcpAction::Invalid); // FIN before SYN/ACK
  CHECK(pkt(f, kIn, FIN | ACK).action == TcpAction::Invalid);  // server FIN before SYN/ACK
  CHECK(f.state == kTcpSynSent);
  // A bare ACK from the server (half-open leftover) is let through, state kept,
  // idle timer not refreshed.
  const uint64_t before = f.last_ns;
  s = pkt(f, kIn, ACK, 99'000);
  CHECK(s.action == TcpAction::Ignore);
  CHECK(f.state == kTcpSynSent);
  CHECK(f.last_ns == before);
  // Connection refused.
  check_accept(pkt(f, kIn, RST | ACK), kTcpClose);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpClose));
}

TEST_CASE("tcp: simultaneous open through SYN_SENT2") {
  Flow f = tcp_flow(SYN);
  check_accept(pkt(f, kIn, SYN), kTcpSynSent2);          // both sides sent SYN
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpSynSent));
  check_accept(pkt(f, kIn, SYN), kTcpSynSent2);          // retransmitted
  check_accept(pkt(f, kOut, SYN), kTcpSynSent2);         // late retransmitted SYN
  CHECK(pkt(f, kOut, ACK).action == TcpAction::Invalid);
  CHECK(pkt(f, kIn, ACK).action == TcpAction::Ignore);
  check_accept(pkt(f, kOut, SYN | ACK), kTcpSynRecv);    // SYN/ACK to SYN2
  check_accept(pkt(f, kOut, SYN | ACK), kTcpSynRecv);    // late retransmission
  check_accept(pkt(f, kIn, ACK), kTcpSynRecv);
  check_accept(pkt(f, kOut, ACK), kTcpEstablished);

  Flow g = tcp_flow(SYN);
  check_accept(pkt(g, kIn, SYN), kTcpSynSent2);
  check_accept(pkt(g, kIn, SYN | ACK), kTcpSynRecv);     // the other side answers first
}

TEST_CASE("tcp: client closes first: FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT") {
  Flow f = established();
  check_accept(pkt(f, kOut, FIN | ACK), kTcpFinWait);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpFinWait));
  check_accept(pkt(f, kIn, ACK), kTcpCloseWait);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpCloseWait));
  check_accept(pkt(f, kIn, ACK | PSH), kTcpCloseWait);   // half-closed server still sends
  check_accept(pkt(f, kIn, FIN | ACK), kTcpLastAck);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpLastAck));
  check_accept(pkt(f, kIn, FIN | ACK), kTcpLastAck);     // retransmitted FIN
  check_accept(pkt(f, kOut, ACK), kTcpTimeWait);
  CHECK(f.timeout_slot == uint8_t(TimeoutSlot::TcpTimeWait));
  check_accept(pkt(f, kOut, ACK), kTcpTimeWait);          // retransmitted last ACK
  check_accept(pkt(f, kIn, FIN | ACK), kTcpTimeWait);
}

TEST_CASE("tcp: server closes first, and simultaneous close") {
  Flow f = established();
  check_accept(pkt(f, kIn, FIN | ACK), kTcpFinWait);
  check_accept(pkt(f, kOut, ACK), kTcpCloseWait);
  check_accept(pkt(f, kOut, FIN | ACK | PSH), kTcpLastAck);
  check_accept(pkt(f, kIn, ACK), kTcpTimeWait);

  Flow g = established();
  check_accept(pkt(g, kOut, FIN | ACK), kTcpFinWait);
  check_accept(pkt(g, kIn, FIN | ACK), kTcpLastAck);     // FIN seen both ways
  check_accept(pkt(g, kOut, ACK), kTcpTimeWait);

  Flow h = tcp_flow(SYN);
  pkt(h, kIn, SYN | ACK);
  check_accept(pkt(h, kOut, FIN | ACK), kTcpFinWait);    // close from SYN_RECV
}

TEST_CASE("tcp: RST closes from any state, either side") {
  for (Direction d : {kOut, kIn}) {
    for (uint8_t rst : {uint8_t(RST), uint8_t(RST | ACK)}) {
      Flow f = established();
      check_accept(pkt(f, d, rst), kTcpClose);
      check_accept(pkt(f, d, rst), kTcpClose);
      check_accept(pkt(f, kOut, ACK), kTcpClose);          // stragglers stay closed
      check_accept(pkt(f, kIn, FIN | ACK), kTcpClose);
      CHECK(pkt(f, kIn, SYN | ACK).action == TcpAction::Ignore);
      CHECK(pkt(f, kIn, SYN).action == TcpAction::Invalid);
      Flow g = tcp_flow(SYN);
      check_accept(pkt(g, d, rst), kTcpClose);
      Flow h = established();
      pkt(h, kOut, FIN | ACK);
      pkt(h, kIn, ACK);
      check_accept(pkt(h, d, rst), kTcpClose);             // from CLOSE_WAIT
    }
  }
}

TEST_CASE("tcp: a SYN reopens TIME_WAIT and CLOSE (RFC 1122), never ESTABLISHED") {
  Flow f = established();
  pkt(f, kOut, FIN | ACK);
  pkt(f, kIn, FIN | ACK);
  pkt(f, kOut, ACK);
  CHECK(f.state == kTcpTimeWait);
  TcpStep s = pkt(f, kOut, SYN);
  CHECK(s.action == TcpAction::Reopen);
  CHECK(f.state == kTcpTimeWait);  // the engine finishes it and starts a new flow
  s = pkt(f, kIn, SYN);            // the server may have switched role
  CHECK(s.action == TcpAction::Reopen);

  Flow c = established();
  pkt(c, kIn, RST);
  CHECK(pkt(c, kOut, SYN).action == TcpAction::Reopen);

  Flow e = established();
  CHECK(pkt(e, kOut, SYN).action == TcpAction::Ignore);     // busy port: let through, keep
  CHECK(pkt(e, kIn, SYN | ACK).action == TcpAction::Ignore);
  s = pkt(e, kIn, SYN);
  CHECK(s.action == TcpAction::Invalid);                   // server SYN mid-connection
  CHECK(s.sub == InvalidSub::TcpState);
  s = pkt(e, kOut, SYN | ACK);
  CHECK(s.action == TcpAction::Invalid);                   // client SYN/ACK mid-connection
  CHECK(e.state == kTcpEstablished);
}

TEST_CASE("tcp: mid-stream pickup lets replies pass as the flow's replies") {
  Flow f = tcp_flow(ACK | PSH, kIn);  // an inbound data segment of a connection we missed
  CHECK(f.state == kTcpEstablished);
  CHECK(flow_orig_dir(f) == kIn);
  CHECK(flow_dir(f, kOut) == kDirReply);
  check_accept(pkt(f, kOut, ACK), kTcpEstablished);
  CHECK((f.flags & kFlowReplied) != 0);

  Flow g = tcp_flow(FIN | ACK);  // a closing connection we missed
  CHECK(g.state == kTcpFinWait);
  check_accept(pkt(g, kIn, FIN | ACK), kTcpLastAck);
  check_accept(pkt(g, kOut, ACK), kTcpTimeWait);
}

TEST_CASE("tcp: the table holds only states and IGNORE/INVALID; names cover every state") {
  for (int d = 0; d < 2; ++d)
    for (int c = 0; c < kTcpFlagClassCount; ++c)
      for (int s = 0; s < kTcpStateCount; ++s) {
        const uint8_t v = kTcpTransitions[d][c][s];
        CHECK(v <= kTcpInvalid);
        if (c == kClassNone) CHECK(v == kTcpInvalid);
        if (c == kClassRst && s != kTcpNone) CHECK(v == kTcpClose);
      }
  CHECK(std::strcmp(kTcpStateNames[kTcpTimeWait], "TIME_WAIT") == 0);
  CHECK(std::strcmp(kTcpStateNames[kTcpSynSent2], "SYN_SENT2") == 0);
  CHECK(std::strcmp(kTcpStateNames[kTcpNone], "NONE") == 0);
}
