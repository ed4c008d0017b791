#pragma once
#include <napi.h>

namespace sgfw::napi {
// crc32(bytes: Uint8Array): number, the table blob's checksum as the loader computes it.
Napi::Value JsCrc32(const Napi::CallbackInfo& info);
}
