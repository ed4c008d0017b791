// tcp_step (one precomputed table) against tcp_step_reference (the transition table and its
// exception switch, as Linux writes it) on every input: both directions, every flags byte,
// every state byte (valid and not). And flow_dir's arithmetic against its definition.
#include <doctest/doctest.h>

#include <initializer_list>

#include "conntrack/flow.h"
#include "conntrack/tcp_fsm.h"

using namespace sgfw;
using namespace sgfw::conntrack;

TEST_CASE("tcp_step equals tcp_step_reference on every direction, flags byte and state byte") {
  int differ = 0, accepts = 0, ignores = 0, invalids = 0, reopens = 0;
  for (int d = 0; d < 2; ++d) {
    for (int flags = 0; flags < 256; ++flags) {
      for (int state = 0; state < 256; ++state) {
        const TcpStep a = tcp_step(static_cast<uint8_t>(state), static_cast<FlowDir>(d), static_cast<uint8_t>(flags));
        const TcpStep b =
            tcp_step_reference(static_cast<uint8_t>(state), static_cast<FlowDir>(d), static_cast<uint8_t>(flags));
        if (a.action != b.action || a.state != b.state || a.sub != b.sub) {
          if (differ++ < 5)
            FAIL_CHECK("dir ", d, " flags ", flags, " state ", state, ": table ", int(a.action), "/", int(a.state),
                       "/", int(a.sub), ", reference ", int(b.action), "/", int(b.state), "/", int(b.sub));
        }
        switch (b.action) {
          case TcpAction::Accept: accepts++; break;
          case TcpAction::Ignore: ignores++; break;
          case TcpAction::Invalid: invalids++; break;
          case TcpAction::Reopen: reopens++; break;
        }
      }
    }
  }
  CHECK(differ == 0);
  // The inputs reach every action (the comparison is not between two constant answers).
  CHECK(accepts > 0);
  CHECK(ignores > 0);
  CHECK(invalids > 0);
  CHECK(reopens > 0);
}

TEST_CASE("tcp_step table spot checks") {
  // Handshake, reopen from TIME_WAIT, an invalid flags byte in an invalid state (flags first).
  CHECK(tcp_step(kTcpSynSent, kDirReply, kTcpSyn | kTcpAck).state == kTcpSynRecv);
  CHECK(tcp_step(kTcpSynRecv, kDirOriginal, kTcpAck | kTcpPsh).state == kTcpEstablished);
  CHECK(tcp_step(kTcpTimeWait, kDirOriginal, kTcpSyn).action == TcpAction::Reopen);
  const TcpStep s = tcp_step(200, kDirOriginal, kTcpSyn | kTcpFin);
  CHECK(s.action == TcpAction::Invalid);
  CHECK(s.sub == InvalidSub::TcpFlags);
  CHECK(s.state == 200);
  CHECK(tcp_step(200, kDirOriginal, kTcpAck).sub == InvalidSub::TcpState);
}

TEST_CASE("flow_dir: original when the packet goes the way of the flow's first packet") {
  for (uint8_t flags = 0; flags < 255; ++flags) {
    Flow f;
    f.flags = flags;
    for (Direction pkt : {Direction::Ingress, Direction::Egress}) {
      const FlowDir want = pkt == flow_orig_dir(f) ? kDirOriginal : kDirReply;
      CHECK(flow_dir(f, pkt) == want);
    }
  }
}
