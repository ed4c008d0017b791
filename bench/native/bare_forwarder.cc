// The ceiling for `sgfw run --inline`: the same AF_PACKET source (native/capture/
// afpacket_source.h: TPACKET_V2 rings, PACKET_VNET_HDR, sendmmsg) with no engine behind it.
// Every frame is accepted and forwarded out of the other port, in batches of 64 with the
// worker's 50 ms receive timeout (native/engine/worker.h), on one thread, as one sgfw worker.
//
//   bare-forwarder OUTSIDE INSIDE [--seconds N] [--no-vnet-hdr] [--ring-frames N] [--frame-size N]
//                  [--spin-us N] [--batch N]
//   (all but --seconds are for A/B experiments; the bench passes none: sgfw's defaults)
//
// Prints "forwarding OUTSIDE<->INSIDE" once both ports are open; stops on SIGINT/SIGTERM or
// after --seconds (default 600: a bound, never a daemon) and prints where the loop went
// (batches, frames per batch, empty receives, CPU time, context switches), then its per-port
// counters (last, one line per port: the bench quotes the last two lines).
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "capture/afpacket_source.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
double mono() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bare-forwarder OUTSIDE INSIDE [--seconds N] [--no-vnet-hdr] [--ring-frames N] [--frame-size N] "
                 "[--spin-us N] [--batch N]\n");
    return 2;
  }
  sgfw::capture::AfPacketConfig cfg;
  cfg.outside = argv[1];
  cfg.inside = argv[2];
  double seconds = 600;
  int batch = 64;
  for (int i = 3; i < argc; i++) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (std::strcmp(argv[i], "--no-vnet-hdr") == 0) cfg.vnet_hdr = sgfw::capture::AfPacketConfig::Off;
    else if (std::strcmp(argv[i], "--ring-frames") == 0 && i + 1 < argc) cfg.ring_frames = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--frame-size") == 0 && i + 1 < argc) cfg.frame_size = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--spin-us") == 0 && i + 1 < argc) cfg.spin_us = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sgfw::capture::AfPacketInline src;
  if (!src.open(cfg)) {
    std::fprintf(stderr, "bare-forwarder: %s\n", src.error().c_str());
    return 1;
  }
  std::fprintf(stderr, "forwarding %s<->%s (vnet header %s)\n", cfg.outside.c_str(), cfg.inside.c_str(),
               src.vnet_hdr() ? "on" : "off");
  sgfw::capture::Frame frames[sgfw::capture::AfPacketInline::kMaxBatch];
  uint8_t accept[sgfw::capture::AfPacketInline::kMaxBatch];
  std::memset(accept, 1, sizeof accept);
  const double end = mono() + seconds;
  // Where the loop goes: batches handed over, frames in them, receive() calls that found none.
  unsigned long long batches = 0, frames_total = 0, idle = 0;
  while (!g_stop && mono() < end) {
    const int n = src.receive(frames, batch, 50);
    if (n < 0) {
      std::fprintf(stderr, "bare-forwarder: %s\n", src.error().c_str());
      return 1;
    }
    if (n > 0) {
      src.complete(frames, accept, n);
      ++batches;
      frames_total += static_cast<unsigned long long>(n);
    } else {
      ++idle;
    }
  }
  sgfw::capture::SourceStats st;
  src.stats(st);
  // Before the per-port lines: the bench keeps the last two lines of the output.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::fprintf(stderr,
               "loop: batches %llu frames %llu (%.1f per batch) empty_receives %llu; cpu user %.2f s sys %.2f s; "
               "ctx switches voluntary %ld involuntary %ld; spins %llu (found frames %llu)\n",
               batches, frames_total, batches ? double(frames_total) / double(batches) : 0.0, idle,
               double(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec * 1e-6, double(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec * 1e-6,
               ru.ru_nvcsw, ru.ru_nivcsw, static_cast<unsigned long long>(st.busy_polls),
               static_cast<unsigned long long>(st.busy_poll_hits));
  for (int p = 0; p < st.ports; p++) {
    const auto& s = st.port[p];
    std::fprintf(stderr, "port %d: received %llu forwarded %llu kernel_drops %llu tx_errors %llu read_whole %llu\n", p,
                 static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(s.forwarded),
                 static_cast<unsigned long long>(s.kernel_drops), static_cast<unsigned long long>(s.tx_errors),
                 static_cast<unsigned long long>(src.extra(p).copied));
  }
  return 0;
}
