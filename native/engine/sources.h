// Opening the packet source of each live mode, from the options the CLI validated.
#pragma once
#include <memory>
#include <string>

#include "capture/packet_source.h"

namespace sgfw::engine {

enum class SourceMode : uint8_t { Monitor = 0, Inline = 1, Host = 2 };

struct SourceSpec {
  SourceMode mode = SourceMode::Monitor;
  std::string interface;          // monitor
  std::string outside, inside;    // inline
  uint16_t queue = 0;             // host: first NFQUEUE number; worker i uses queue + i
  uint16_t fanout_group = 0;      // inline with several workers
  bool vnet_hdr = true;           // inline: carry offload metadata (PACKET_VNET_HDR)
  int64_t spin_us = -1;           // inline: busy-poll time after a batch; < 0: the source's default
  bool fail_open = false;         // host: the kernel passes packets when the queue is full
  std::string bpf;                // monitor: optional capture filter
};

std::unique_ptr<capture::PacketSource> open_source(const SourceSpec& spec, int worker, int workers,
                                                   std::string* error);

}  // namespace sgfw::engine
