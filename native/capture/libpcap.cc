// libpcap loaded at run time (libpcap.h says why).
#include "capture/libpcap.h"

#include <dlfcn.h>

namespace sgfw::capture {

namespace {

struct Loaded {
  Libpcap lib;
  bool ok = false;
  std::string why;
};

Loaded load() {
  Loaded l;
  // Debian's soname first, then upstream's, then the development link.
  void* h = nullptr;
  for (const char* name : {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"}) {
    h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h) break;
  }
  if (!h) {
    const char* e = dlerror();
    l.why = std::string("cannot load libpcap (install libpcap0.8): ") + (e ? e : "not found");
    return l;
  }
#define SGFW_LIBPCAP_BIND(name)                                                         \
  l.lib.name = reinterpret_cast<decltype(l.lib.name)>(dlsym(h, "pcap_" #name));         \
  if (!l.lib.name) {                                                                    \
    l.why = "libpcap has no pcap_" #name " (too old a libpcap?)";                       \
    return l;                                                                           \
  }
  SGFW_LIBPCAP_FUNCTIONS(SGFW_LIBPCAP_BIND)
#undef SGFW_LIBPCAP_BIND
  l.ok = true;  // the handle stays open for the life of the process
  return l;
}

}  // namespace

const Libpcap* libpcap(std::string* why) {
  static const Loaded loaded = load();
  if (!loaded.ok) {
    if (why) *why = loaded.why;
    return nullptr;
  }
  return &loaded.lib;
}

}  // namespace sgfw::capture
