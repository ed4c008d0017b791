// describeFormat(): the table layout constants as native code sees them, so that
// test/table-format.test.ts can check src/table/format.ts against native/table/format.h.
#include "napi/describe_format.h"

#include "core/reason.h"
#include "table/format.h"

namespace sgfw::napi {
namespace {

Napi::Object field(Napi::Env env, table::Field f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("off", f.off);
  o.Set("len", f.len);
  return o;
}

Napi::Array names(Napi::Env env, const char* const* list, int n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) a.Set(i, list[i]);
  return a;
}

}  // namespace

Napi::Value JsDescribeFormat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  using namespace table;
  Napi::Object out = Napi::Object::New(env);
  out.Set("magic", kMagic);
  out.Set("versionMajor", kVersionMajor);

  Napi::Object h = Napi::Object::New(env);
  h.Set("magic", field(env, header::kMagicField));
  h.Set("version", field(env, header::kVersion));
  h.Set("headerLen", field(env, header::kHeaderLen));
  h.Set("cloud", field(env, header::kCloud));
  h.Set("flags", field(env, header::kFlags));
  h.Set("entryRecordSize", field(env, header::kEntryRecordSize));
  h.Set("interfaceCount", field(env, header::kInterfaceCount));
  h.Set("addressCount", field(env, header::kAddressCount));
  h.Set("entryCount", field(env, header::kEntryCount));
  h.Set("ruleCount", field(env, header::kRuleCount));
  h.Set("stringsLen", field(env, header::kStringsLen));
  h.Set("interfacesOff", field(env, header::kInterfacesOff));
  h.Set("addressesOff", field(env, header::kAddressesOff));
  h.Set("entriesOff", field(env, header::kEntriesOff));
  h.Set("rulesOff", field(env, header::kRulesOff));
  h.Set("stringsOff", field(env, header::kStringsOff));
  h.Set("conntrackOff", field(env, header::kConntrackOff));
  h.Set("totalLen", field(env, header::kTotalLen));
  h.Set("crc32", field(env, header::kCrc32));
  h.Set("size", header::kSize);
  out.Set("header", h);

  Napi::Object i = Napi::Object::New(env);
  i.Set("nameOff", field(env, iface::kNameOff));
  i.Set("nameLen", field(env, iface::kNameLen));
  i.Set("nicType", field(env, iface::kNicType));
  i.Set("reserved", field(env, iface::kReserved));
  i.Set("addrFirst", field(env, iface::kAddrFirst));
  i.Set("addrCount", field(env, iface::kAddrCount));
  i.Set("ingressFirst", field(env, iface::kIngressFirst));
  i.Set("ingressCount", field(env, iface::kIngressCount));
  i.Set("egressFirst", field(env, iface::kEgressFirst));
  i.Set("egressCount", field(env, iface::kEgressCount));
  i.Set("size", iface::kSize);
  out.Set("iface", i);

  Napi::Object a = Napi::Object::New(env);
  a.Set("iface", field(env, address::kIface));
  a.Set("family", field(env, address::kFamily));
  a.Set("reserved", field(env, address::kReserved));
  a.Set("addr", field(env, address::kAddr));
  a.Set("size", address::kSize);
  out.Set("address", a);

  Napi::Object e = Napi::Object::New(env);
  e.Set("rule", field(env, entry::kRule));
  e.Set("iface", field(env, entry::kIface));
  e.Set("direction", field(env, entry::kDirection));
  e.Set("action", field(env, entry::kAction));
  e.Set("reason", field(env, entry::kReason));
  e.Set("family", field(env, entry::kFamily));
  e.Set("proto", field(env, entry::kProto));
  e.Set("flags", field(env, entry::kFlags));
  e.Set("sportLo", field(env, entry::kSportLo));
  e.Set("sportHi", field(env, entry::kSportHi));
  e.Set("dportLo", field(env, entry::kDportLo));
  e.Set("dportHi", field(env, entry::kDportHi));
  e.Set("icmpType", field(env, entry::kIcmpType));
  e.Set("icmpCode", field(env, entry::kIcmpCode));
  e.Set("srcLen", field(env, entry::kSrcLen));
  e.Set("dstLen", field(env, entry::kDstLen));
  e.Set("src", field(env, entry::kSrc));
  e.Set("dst", field(env, entry::kDst));
  e.Set("priority", field(env, entry::kPriority));
  e.Set("reserved", field(env, entry::kReserved));
  e.Set("order", field(env, entry::kOrder));
  e.Set("size", entry::kSize);
  out.Set("entry", e);

  Napi::Object r = Napi::Object::New(env);
  r.Set("idOff", field(env, rule::kIdOff));
  r.Set("idLen", field(env, rule::kIdLen));
  r.Set("reason", field(env, rule::kReason));
  r.Set("action", field(env, rule::kAction));
  r.Set("size", rule::kSize);
  out.Set("rule", r);

  Napi::Object c = Napi::Object::New(env);
  c.Set("maxFlows", field(env, conntrack::kMaxFlows));
  c.Set("timeouts", field(env, conntrack::kTimeouts));
  c.Set("maxFragments", field(env, conntrack::kMaxFragments));
  c.Set("reserved", field(env, conntrack::kReserved));
  c.Set("size", conntrack::kSize);
  out.Set("conntrack", c);

  Napi::Object flags = Napi::Object::New(env);
  flags.Set("protoAny", kFlagProtoAny);
  flags.Set("icmpTypeAny", kFlagIcmpTypeAny);
  flags.Set("icmpCodeAny", kFlagIcmpCodeAny);
  flags.Set("untrackedTcp", kFlagUntrackedTcp);
  flags.Set("untrackedUdp", kFlagUntrackedUdp);
  out.Set("flags", flags);

  out.Set("timeoutSlots", names(env, kTimeoutSlotNames, kTimeoutSlotCount));
  out.Set("reasons", names(env, kReasonNames, kReasonCount));
  out.Set("malformedSubs", names(env, kMalformedSubNames, kMalformedSubCount));
  out.Set("invalidSubs", names(env, kInvalidSubNames, kInvalidSubCount));
  return out;
}

}  // namespace sgfw::napi
