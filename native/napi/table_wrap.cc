#include "napi/table_wrap.h"

#include <cstring>
#include <string>

#include "napi/js_errors.h"
#include "table/loader.h"

namespace sgfw::napi {

std::shared_ptr<const table::MatchTable> load_table_or_throw(Napi::Env env, Napi::Value blob,
                                                             Napi::Value classifier) {
  if (!blob.IsTypedArray() || blob.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw_error(env, "ERR_INVALID_ARG", "table blob must be a Uint8Array");
    return nullptr;
  }
  Napi::Uint8Array a = blob.As<Napi::Uint8Array>();
  table::LoadOptions opts;
  if (classifier.IsString()) {
    std::string c = classifier.As<Napi::String>().Utf8Value();
    if (c == "linear") opts.classifier = table::ClassifierChoice::Linear;
    else if (c == "tree") opts.classifier = table::ClassifierChoice::Tree;
    else if (c != "auto") {
      throw_error(env, "ERR_INVALID_ARG", "classifier must be auto, linear or tree, not " + c);
      return nullptr;
    }
  }
  auto t = std::make_shared<table::MatchTable>();
  table::LoadResult r = table::load_table(a.Data(), a.ByteLength(), *t, opts);
  if (!r.ok()) {
    throw_error(env, table::kTableStatusCodes[static_cast<int>(r.status)], "table rejected: " + r.message);
    return nullptr;
  }
  return t;
}

Napi::Function TableWrap::Define(Napi::Env env) {
  return DefineClass(env, "Table",
                     {InstanceMethod("info", &TableWrap::JsInfo),
                      InstanceMethod("firstMatch", &TableWrap::JsFirstMatch),
                      InstanceMethod("firstMatchLinear", &TableWrap::JsFirstMatchLinear),
                      InstanceMethod("findInterface", &TableWrap::JsFindInterface),
                      InstanceMethod("close", &TableWrap::JsClose)});
}

TableWrap::TableWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TableWrap>(info) {
  table_ = load_table_or_throw(info.Env(), info[0], info[1]);
}

Napi::Value TableWrap::JsInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!table_) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("interfaces", table_->interface_count());
  o.Set("rules", table_->rule_count());
  o.Set("entries", table_->entry_count());
  Napi::Array kinds = Napi::Array::New(env);
  for (uint32_t i = 0; i < table_->interface_count(); i++) {
    for (int d = 0; d < 2; d++) {
      kinds.Set(kinds.Length(),
                table::kClassifierKindNames[static_cast<int>(table_->classifier_kind(i, static_cast<Direction>(d)))]);
    }
  }
  o.Set("classifiers", kinds);
  return o;
}

namespace {

// Reads a 16-byte address argument (Uint8Array of 4 or 16 bytes).
bool read_addr(Napi::Value v, uint8_t out[16]) {
  if (!v.IsTypedArray()) return false;
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  if (a.ByteLength() != 4 && a.ByteLength() != 16) return false;
  std::memset(out, 0, 16);
  std::memcpy(out, a.Data(), a.ByteLength());
  return true;
}

// A packet's address of `family`: the classifiers read an IPv4 address from bytes 0..3 and
// require the rest zero (packet_meta.h), so a non-zero tail is refused, not half-read.
const char* check_family_addr(uint32_t family, const uint8_t addr[16]) {
  if (family != 4 && family != 6) return "family must be 4 or 6";
  if (family == 4)
    for (int i = 4; i < 16; i++)
      if (addr[i] != 0) return "an IPv4 address is Uint8Array(4), or 16 bytes with bytes 4..15 zero";
  return nullptr;
}

}  // namespace

// firstMatch(iface, dir(0|1), family, proto, src, dst, sport, dport, icmpType, icmpCode) -> entry index or -1
static Napi::Value first_match(const Napi::CallbackInfo& info, const table::MatchTable* t, bool linear) {
  Napi::Env env = info.Env();
  if (!t) return env.Undefined();
  if (info.Length() < 10) return throw_error(env, "ERR_INVALID_ARG", "firstMatch takes 10 arguments");
  const uint32_t iface = info[0].As<Napi::Number>().Uint32Value();
  if (iface >= t->interface_count()) return throw_error(env, "ERR_INVALID_ARG", "no such interface index");
  const Direction dir = info[1].As<Napi::Number>().Uint32Value() ? Direction::Egress : Direction::Ingress;
  Tuple tu;
  const uint32_t family = info[2].As<Napi::Number>().Uint32Value();
  tu.family = static_cast<uint8_t>(family);
  tu.proto = static_cast<uint8_t>(info[3].As<Napi::Number>().Uint32Value());
  if (!read_addr(info[4], tu.src) || !read_addr(info[5], tu.dst))
    return throw_error(env, "ERR_INVALID_ARG", "addresses must be Uint8Array(4|16)");
  const char* bad = check_family_addr(family, tu.src);
  if (!bad) bad = check_family_addr(family, tu.dst);
  if (bad) return throw_error(env, "ERR_INVALID_ARG", std::string("firstMatch: ") + bad + " (family " + std::to_string(family) + ")");
  tu.sport = static_cast<uint16_t>(info[6].As<Napi::Number>().Uint32Value());
  tu.dport = static_cast<uint16_t>(info[7].As<Napi::Number>().Uint32Value());
  const uint8_t type = static_cast<uint8_t>(info[8].As<Napi::Number>().Uint32Value());
  const uint8_t code = static_cast<uint8_t>(info[9].As<Napi::Number>().Uint32Value());
  const int32_t e = linear ? t->first_match_linear(iface, dir, tu, type, code) : t->first_match(iface, dir, tu, type, code);
  return Napi::Number::New(env, e);
}

Napi::Value TableWrap::JsFirstMatch(const Napi::CallbackInfo& info) { return first_match(info, table_.get(), false); }
Napi::Value TableWrap::JsFirstMatchLinear(const Napi::CallbackInfo& info) {
  return first_match(info, table_.get(), true);
}

Napi::Value TableWrap::JsClose(const Napi::CallbackInfo& info) {
  table_.reset();
  return info.Env().Undefined();
}

Napi::Value TableWrap::JsFindInterface(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!table_) return env.Undefined();
  uint8_t a[16];
  if (info.Length() < 2 || !read_addr(info[1], a)) return throw_error(env, "ERR_INVALID_ARG", "findInterface(family, addr)");
  const uint32_t family = info[0].As<Napi::Number>().Uint32Value();
  if (const char* bad = check_family_addr(family, a))
    return throw_error(env, "ERR_INVALID_ARG", std::string("findInterface: ") + bad + " (family " + std::to_string(family) + ")");
  return Napi::Number::New(env, table_->find_interface(static_cast<uint8_t>(family), a));
}

}  // namespace sgfw::napi
