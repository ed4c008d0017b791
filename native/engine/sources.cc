#include "engine/sources.h"

#include "capture/afpacket_source.h"
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
    case SourceMode::Inline: {
      // Workers join the fanout groups in index order (the runner opens them one by one),
      // so both interfaces' symmetric flow hashes pick the same worker for a flow.
      auto s = std::make_unique<capture::AfPacketInline>();
      capture::AfPacketConfig cfg;
      cfg.outside = spec.outside;
      cfg.inside = spec.inside;
      cfg.fanout_group = workers > 1 ? spec.fanout_group : 0;
      cfg.vnet_hdr = spec.vnet_hdr ? capture::AfPacketConfig::Auto : capture::AfPacketConfig::Off;
      if (spec.spin_us >= 0) cfg.spin_us = static_cast<uint32_t>(spec.spin_us);
      if (!s->open(cfg)) {
        if (error) *error = s->error();
        return nullptr;
      }
      return s;
    }
  }
  if (error) *error = "unknown source mode";
  return nullptr;
}

}  // namespace sgfw::engine
