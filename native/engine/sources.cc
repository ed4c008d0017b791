#include "engine/sources.h"

#include "capture/nfqueue_source.h"
#include "capture/pcap_live_source.h"

namespace sgfw::engine {

std::unique_ptr<capture::PacketSource> open_source(const SourceSpec& spec, int worker, int workers,
                                                   std::string* error) {
  switch (spec.mode) {
    case SourceMode::Monitor: {
      auto s = std::make_unique<capture::PcapLiveSource>();
      capture::PcapLiveConfig cfg;
      cfg.filter = spec.bpf;
      if (!s->open(spec.interface, cfg)) {
        if (error) *error = s->error();
        return nullptr;
      }
      return s;
    }
    case SourceMode::Host: {
      // Worker i reads queue first + i; the rules' --queue-balance spreads flows over them.
      auto s = std::make_unique<capture::NfqueueSource>();
      capture::NfqueueConfig cfg;
      cfg.fail_open = spec.fail_open;
      if (!s->open(static_cast<uint16_t>(spec.queue + worker), cfg)) {
        if (error) *error = s->error();
        return nullptr;
      }
      return s;
    }
    case SourceMode::Inline:
      break;
  }
  // The AF_PACKET source is being written (issue 4).
  if (error) *error = "sgfw run --inline is not in this build yet";
  return nullptr;
}

}  // namespace sgfw::engine
