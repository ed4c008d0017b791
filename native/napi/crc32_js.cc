// crc32(): the controller's encoder checksums each blob with the loader's own CRC-32, so that a
// policy compile does not load node's zlib module (and the stream modules it pulls in) for
// one checksum: about 5 ms of a `sgfw replay --policy P.json` process (bench/README.md).
#include "napi/crc32_js.h"

#include "core/crc32.h"
#include "napi/js_errors.h"

namespace sgfw::napi {

Napi::Value JsCrc32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return throw_error(env, "ERR_INVALID_ARG", "crc32 takes a Uint8Array");
  }
  Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
  return Napi::Number::New(env, crc32(0, a.Data(), a.ByteLength()));
}

}  // namespace sgfw::napi
