// TCP connection tracking as one transition table, after Linux
// net/netfilter/nf_conntrack_proto_tcp.c (tcp_conntracks[2][6][...]): the hot
// path is a single lookup `kTcpTransitions[dir][flag_class][old_state]`, and
// one switch in tcp_step() handles what a table cannot say (reopen, ignore).
// There is no sequence-window check (spec section 4), so Linux's window-driven
// exceptions (resync after ignored SYN, challenge ACK, RETRANS/UNACK clamps)
// are left out.
#pragma once
#include <cstdint>

#include "core/packet_meta.h"
#include "core/reason.h"

namespace sgfw::conntrack {

enum TcpState : uint8_t {
  kTcpNone = 0,
  kTcpSynSent = 1,
  kTcpSynRecv = 2,
  kTcpEstablished = 3,
  kTcpFinWait = 4,
  kTcpCloseWait = 5,
  kTcpLastAck = 6,
  kTcpTimeWait = 7,
  kTcpClose = 8,
  kTcpSynSent2 = 9,  // simultaneous open: SYN seen in both directions
  kTcpStateCount = 10,
  // Table results that are not states.
  kTcpIgnore = 10,   // pass, leave state and timer alone (Linux sIG)
  kTcpInvalid = 11,  // drop as invalid/tcp-state (Linux sIV)
};

inline constexpr const char* kTcpStateNames[kTcpStateCount] = {
    "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
    "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

// Rows of the table, as Linux's get_conntrack_index() orders them.
enum TcpFlagClass : uint8_t {
  kClassSyn = 0, kClassSynAck = 1, kClassFin = 2, kClassAck = 3, kClassRst = 4, kClassNone = 5,
  kTcpFlagClassCount = 6,
};

// Packet direction relative to the flow: original = the direction of the
// packet that created it.
enum FlowDir : uint8_t { kDirOriginal = 0, kDirReply = 1 };

// Precedence RST > SYN/SYNACK > FIN > ACK > NONE (Linux get_conntrack_index).
constexpr uint8_t flag_class(uint8_t flags) {
  if (flags & kTcpRst) return kClassRst;
  if (flags & kTcpSyn) return (flags & kTcpAck) ? kClassSynAck : kClassSyn;
  if (flags & kTcpFin) return kClassFin;
  if (flags & kTcpAck) return kClassAck;
  return kClassNone;
}

// Acceptable combinations of FIN/SYN/RST/ACK/URG (Linux tcp_valid_flags); PSH,
// ECE and CWR are ignored. Everything else is dropped as invalid/tcp-flags:
// SYN+FIN, SYN+RST, FIN without ACK, no flags (null scan), FIN+URG(+PSH) (xmas),
// all flags, ...
namespace detail {
inline constexpr uint8_t kFlagMask = kTcpFin | kTcpSyn | kTcpRst | kTcpAck | kTcpUrg;
constexpr bool valid_masked(uint8_t f) {
  switch (f) {
    case kTcpSyn:
    case kTcpSyn | kTcpUrg:
    case kTcpSyn | kTcpAck:
    case kTcpRst:
    case kTcpRst | kTcpAck:
    case kTcpFin | kTcpAck:
    case kTcpFin | kTcpAck | kTcpUrg:
    case kTcpAck:
    case kTcpAck | kTcpUrg:
      return true;
    default:
      return false;
  }
}
}  // namespace detail

constexpr bool tcp_flags_valid(uint8_t flags) {
  return detail::valid_masked(static_cast<uint8_t>(flags & detail::kFlagMask));
}

namespace detail {
inline constexpr uint8_t sNO = kTcpNone, sSS = kTcpSynSent, sSR = kTcpSynRecv,
                         sES = kTcpEstablished, sFW = kTcpFinWait, sCW = kTcpCloseWait,
                         sLA = kTcpLastAck, sTW = kTcpTimeWait, sCL = kTcpClose,
                         sS2 = kTcpSynSent2, sIG = kTcpIgnore, sIV = kTcpInvalid;
}  // namespace detail

// new_state = kTcpTransitions[dir][flag_class][old_state]. The NONE column of the
// ORIGINAL rows is what a packet of an unknown connection does (tcp_new_flow).
inline constexpr uint8_t kTcpTransitions[2][kTcpFlagClassCount][kTcpStateCount] = {
  {
/* ORIGINAL */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*syn*/    { detail::sSS, detail::sSS, detail::sIG, detail::sIG, detail::sIG,
             detail::sIG, detail::sIG, detail::sSS, detail::sSS, detail::sS2 },
/*
 *	sNO -> sSS	A new connection.
 *	sSS -> sSS	Retransmitted SYN.
 *	sSR -> sIG	SYN while the handshake is under way: a retransmission
 *	sES..sLA -> sIG	or a new connection on a port we still think busy; let it
 *			through and keep the state (no window to resync with).
 *	sTW -> sSS	Reopened connection (RFC 1122): tcp_step() reports Reopen.
 *	sCL -> sSS	Reopen after RST: likewise.
 *	sS2 -> sS2	Late retransmitted SYN.
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*synack*/ { detail::sIV, detail::sIV, detail::sSR, detail::sIV, detail::sIV,
             detail::sIV, detail::sIV, detail::sIV, detail::sIV, detail::sSR },
/*
 *	sNO -> sIV	A SYN/ACK cannot open a connection (see tcp_new_flow).
 *	sSS -> sIV	The client sent SYN and now SYN/ACK: not TCP.
 *	sSR -> sSR	Late retransmitted SYN/ACK in simultaneous open.
 *	sES..sCL -> sIV	SYN/ACK from the client after the handshake.
 *	sS2 -> sSR	SYN/ACK answering SYN2 in simultaneous open.
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*fin*/    { detail::sFW, detail::sIV, detail::sFW, detail::sFW, detail::sLA,
             detail::sLA, detail::sLA, detail::sTW, detail::sCL, detail::sIV },
/*
 *	sNO -> sFW	Mid-stream pickup of a closing connection (Decision,
 *			Linux says sIV): FIN always carries ACK here.
 *	sSS -> sIV	No FIN before the SYN/ACK came back.
 *	sSR -> sFW	Close started.
 *	sES -> sFW
 *	sFW -> sLA	FIN seen in both directions, waiting for the last ACK
 *			(or a retransmitted FIN: no window to tell).
 *	sCW -> sLA
 *	sLA -> sLA	Retransmitted FIN.
 *	sTW -> sTW
 *	sCL -> sCL
 *	sS2 -> sIV
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*ack*/    { detail::sES, detail::sIV, detail::sES, detail::sES, detail::sCW,
             detail::sCW, detail::sTW, detail::sTW, detail::sCL, detail::sIV },
/*
 *	sNO -> sES	Assumed: mid-stream pickup (tcp_loose=1).
 *	sSS -> sIV	ACK before any SYN/ACK was seen.
 *	sSR -> sES	Handshake complete.
 *	sES -> sES	:-)
 *	sFW -> sCW	Close request answered by ACK.
 *	sCW -> sCW
 *	sLA -> sTW	Last ACK.
 *	sTW -> sTW	Retransmitted last ACK.
 *	sCL -> sCL
 *	sS2 -> sIV
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*rst*/    { detail::sIV, detail::sCL, detail::sCL, detail::sCL, detail::sCL,
             detail::sCL, detail::sCL, detail::sCL, detail::sCL, detail::sCL },
/*	sNO -> sIV	RST never opens a connection (passes by the rules, no state).
 *	any -> sCL	Aborted (no window check, so any RST counts).
 */
/*none*/   { detail::sIV, detail::sIV, detail::sIV, detail::sIV, detail::sIV,
             detail::sIV, detail::sIV, detail::sIV, detail::sIV, detail::sIV },
  },
  {
/* REPLY */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*syn*/    { detail::sIV, detail::sS2, detail::sIV, detail::sIV, detail::sIV,
             detail::sIV, detail::sIV, detail::sSS, detail::sIV, detail::sS2 },
/*
 *	sNO -> sIV	Never reached (a flow is never in NONE).
 *	sSS -> sS2	Simultaneous open.
 *	sSR..sLA -> sIV	SYN from the server after the handshake started.
 *	sTW -> sSS	Reopened, the server now the client: Reopen.
 *	sCL -> sIV
 *	sS2 -> sS2	Retransmitted simultaneous SYN.
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*synack*/ { detail::sIV, detail::sSR, detail::sIG, detail::sIG, detail::sIG,
             detail::sIG, detail::sIG, detail::sIG, detail::sIG, detail::sSR },
/*
 *	sSS -> sSR	Standard open.
 *	sSR -> sIG	Retransmitted SYN/ACK.
 *	sES..sCL -> sIG	Late SYN/ACK, or one answering an ignored SYN.
 *	sS2 -> sSR	Simultaneous open.
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*fin*/    { detail::sIV, detail::sIV, detail::sFW, detail::sFW, detail::sLA,
             detail::sLA, detail::sLA, detail::sTW, detail::sCL, detail::sIV },
/*
 *	sSS -> sIV	The server cannot FIN before its SYN/ACK.
 *	sSR -> sFW	Close started.
 *	sES -> sFW
 *	sFW -> sLA	FIN seen in both directions.
 *	sCW -> sLA
 *	sLA -> sLA	Retransmitted FIN.
 *	sTW -> sTW
 *	sCL -> sCL
 *	sS2 -> sIV
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*ack*/    { detail::sIV, detail::sIG, detail::sSR, detail::sES, detail::sCW,
             detail::sCW, detail::sTW, detail::sTW, detail::sCL, detail::sIG },
/*
 *	sSS -> sIG	Might be a half-open connection the server still has.
 *	sSR -> sSR	Might answer a late resent SYN.
 *	sES -> sES	:-)
 *	sFW -> sCW	Close request answered by ACK.
 *	sCW -> sCW
 *	sLA -> sTW	Last ACK.
 *	sTW -> sTW	Retransmitted last ACK.
 *	sCL -> sCL
 *	sS2 -> sIG
 */
/*	     sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*rst*/    { detail::sIV, detail::sCL, detail::sCL, detail::sCL, detail::sCL,
             detail::sCL, detail::sCL, detail::sCL, detail::sCL, detail::sCL },
/*	sSS -> sCL	Connection refused.
 *	any -> sCL	Aborted.
 */
/*none*/   { detail::sIV, detail::sIV, detail::sIV, detail::sIV, detail::sIV,
             detail::sIV, detail::sIV, detail::sIV, detail::sIV, detail::sIV },
  },
};

// What the engine does with a TCP packet of an existing flow.
enum class TcpAction : uint8_t {
  Accept,  // state advanced (or kept); passes as `established`
  Ignore,  // passes as `established`; state and idle timer unchanged
  Invalid, // drop as `invalid`, sub-reason in `sub`
  Reopen,  // SYN on a TIME_WAIT/CLOSE flow: finish the old flow (closed) and
           // treat the packet as the first of a new connection (rules decide)
};

struct TcpStep {
  TcpAction action;
  uint8_t state;  // the new state when action == Accept, else the old one
  InvalidSub sub;
  uint8_t reserved = 0;  // four bytes: tcp_step's table is indexed without a multiply
};

// One packet of an existing flow, as the rules say it (the reference): the switch after the
// table lookup is the only place for exceptions, as in Linux tcp_packet(). tcp_step() below
// answers the same from one precomputed table; the tests compare them on every input.
constexpr TcpStep tcp_step_reference(uint8_t old_state, FlowDir dir, uint8_t flags) {
  if (!tcp_flags_valid(flags)) return {TcpAction::Invalid, old_state, InvalidSub::TcpFlags};
  if (old_state >= kTcpStateCount) return {TcpAction::Invalid, old_state, InvalidSub::TcpState};
  const uint8_t next = kTcpTransitions[dir][flag_class(flags)][old_state];
  switch (next) {
    case kTcpInvalid:
      return {TcpAction::Invalid, old_state, InvalidSub::TcpState};
    case kTcpIgnore:
      return {TcpAction::Ignore, old_state, InvalidSub::None};
    case kTcpSynSent:
      // RFC 1122 4.2.2.13: a SYN may reopen a connection from TIME-WAIT; Linux
      // also reopens from CLOSE. Kill and look up again (-NF_REPEAT).
      if (old_state == kTcpTimeWait || old_state == kTcpClose)
        return {TcpAction::Reopen, old_state, InvalidSub::None};
      return {TcpAction::Accept, next, InvalidSub::None};
    default:
      return {TcpAction::Accept, next, InvalidSub::None};
  }
}

namespace detail {
// A flags byte's row of kTcpSteps, times 16 (a row holds kTcpStateCount <= 16 states): its
// flag_class, or kStepFlagsInvalid when tcp_flags_valid refuses it (checked first, as in the
// reference).
inline constexpr uint8_t kStepFlagsInvalid = kTcpFlagClassCount;
inline constexpr int kStepRowShift = 4;
static_assert(kTcpStateCount <= (1 << kStepRowShift) && kTcpFlagClassCount + 1 <= 8);
inline constexpr struct StepRows {
  uint8_t row[256];
} kTcpStepRow = [] {
  StepRows r{};
  for (int f = 0; f < 256; ++f)
    r.row[f] = static_cast<uint8_t>(
        (tcp_flags_valid(static_cast<uint8_t>(f)) ? flag_class(static_cast<uint8_t>(f)) : kStepFlagsInvalid)
        << kStepRowShift);
  return r;
}();
// A flags byte of each row, to fill the table from the reference.
constexpr uint8_t step_row_flags(int row) {
  switch (row) {
    case kClassSyn: return kTcpSyn;
    case kClassSynAck: return kTcpSyn | kTcpAck;
    case kClassFin: return kTcpFin | kTcpAck;
    case kClassAck: return kTcpAck;
    case kClassRst: return kTcpRst;
    default: return 0;  // class none and invalid combinations: no valid flags byte is in either
  }
}
// kTcpSteps.step[dir * 128 + row * 16 + old_state] = tcp_step_reference(old_state, dir, any
// flags of row); the unused entries (row 7, states 10..15) are never read.
inline constexpr struct StepTable {
  TcpStep step[2 * 8 << kStepRowShift];
} kTcpSteps = [] {
  StepTable t{};
  for (int d = 0; d < 2; ++d)
    for (int row = 0; row <= kTcpFlagClassCount; ++row)
      for (int s = 0; s < kTcpStateCount; ++s)
        t.step[(d * 8 + row) << kStepRowShift | s] =
            tcp_step_reference(static_cast<uint8_t>(s), static_cast<FlowDir>(d), step_row_flags(row));
  return t;
}();
}  // namespace detail

// One packet of an existing flow: tcp_step_reference in two loads (the per-packet path; the
// reference's validity switch, class chain and exception switch were 35 instructions a packet).
constexpr TcpStep tcp_step(uint8_t old_state, FlowDir dir, uint8_t flags) {
  if (old_state >= kTcpStateCount) [[unlikely]] return tcp_step_reference(old_state, dir, flags);
  return detail::kTcpSteps.step[(static_cast<uint32_t>(dir) << (3 + detail::kStepRowShift)) +
                                detail::kTcpStepRow.row[flags] + old_state];
}

// A TCP packet that belongs to no flow (spec 4, Decision: mid-stream pickup as
// Linux tcp_loose=1). Create: the rules of the packet's own direction judge it
// and, if allowed, a flow is created in `state`. NoCreate: the rules judge it
// and it passes or not, but no state is kept. Invalid: dropped before the rules.
enum class TcpNewAction : uint8_t { Create, NoCreate, Invalid };

struct TcpNew {
  TcpNewAction action;
  uint8_t state;
  InvalidSub sub;
};

// Decisions where Linux differs or is silent:
//  - SYN          -> SYN_SENT (a new connection).
//  - ACK (+PSH, data, URG) -> ESTABLISHED (pickup: restarting sgfw keeps
//                   allowed connections alive).
//  - FIN+ACK      -> FIN_WAIT (pickup of a closing connection, so the peer's
//                   FIN and last ACK still pass as replies; Linux: invalid).
//  - SYN/ACK      -> NoCreate: it answers a SYN we did not see; the client's ACK
//                   creates the flow in the right orientation; a SYN/ACK alone
//                   must not open the reverse direction (backscatter, scans).
//  - RST          -> NoCreate (Linux: RST never creates a flow).
//  - invalid combinations -> Invalid (tcp-flags).
constexpr TcpNew tcp_new_flow(uint8_t flags) {
  if (!tcp_flags_valid(flags)) return {TcpNewAction::Invalid, kTcpNone, InvalidSub::TcpFlags};
  const uint8_t cls = flag_class(flags);
  if (cls == kClassSynAck || cls == kClassRst)
    return {TcpNewAction::NoCreate, kTcpNone, InvalidSub::None};
  const uint8_t next = kTcpTransitions[kDirOriginal][cls][kTcpNone];
  if (next >= kTcpStateCount) return {TcpNewAction::NoCreate, kTcpNone, InvalidSub::None};
  return {TcpNewAction::Create, next, InvalidSub::None};
}

static_assert(tcp_new_flow(kTcpSyn).state == kTcpSynSent);
static_assert(tcp_new_flow(kTcpAck | kTcpPsh).state == kTcpEstablished);
static_assert(tcp_new_flow(kTcpFin | kTcpAck).state == kTcpFinWait);
static_assert(tcp_new_flow(kTcpRst).action == TcpNewAction::NoCreate);
static_assert(tcp_new_flow(kTcpSyn | kTcpFin).action == TcpNewAction::Invalid);

}  // namespace sgfw::conntrack
