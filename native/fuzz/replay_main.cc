// sgfw-replay-asan: the core's replay (engine::run_replay) as a small CLI, built with
// -fsanitize=address,undefined (native/Makefile `asan-replay`) to replay every trace of
// ../shared/traces under sanitizers (test/fuzz/asan-replay.sh).
//
//   sgfw-replay-asan [--swap-every N --swap-blob BLOB2] [--no-outputs] BLOB TRACE...
//   sgfw-replay-asan --list-addresses TRACE...
//
// Each trace is replayed with every output on (verdicts, accepted/dropped pcaps, flow log,
// flow summary) into a temporary directory, so the output writers run under the sanitizers
// too; the verdicts file must hold one line per packet. With --swap-every, the table swaps to
// BLOB2 and back every N packets (reload paths). --list-addresses prints the IP addresses the
// traces hold, most frequent first ("4 192.0.2.10"), for a permissive policy (make-blob.mjs).
// Exit: 0 all traces replayed (a trace the reader rejects as input is reported, not failed),
// 1 an internal failure or a broken check, 2 usage or an unreadable blob.
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "capture/pcap_file.h"
#include "engine/replay.h"
#include "table/loader.h"
#include "wire/parse.h"

using namespace sgfw;

namespace {

bool read_file(const char* path, std::vector<uint8_t>& out) {
  FILE* f = std::fopen(path, "rb");
  if (!f) return false;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

std::shared_ptr<const table::MatchTable> load_blob(const char* path) {
  std::vector<uint8_t> blob;
  if (!read_file(path, blob)) {
    std::fprintf(stderr, "sgfw-replay-asan: cannot read %s: %s\n", path, std::strerror(errno));
    return nullptr;
  }
  auto t = std::make_shared<table::MatchTable>();
  const table::LoadResult r = table::load_table(blob.data(), blob.size(), *t);
  if (!r.ok()) {
    std::fprintf(stderr, "sgfw-replay-asan: %s: %s: %s\n", path, table::kTableStatusCodes[int(r.status)],
                 r.message.c_str());
    return nullptr;
  }
  return t;
}

uint64_t count_lines(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return ~uint64_t{0};
  uint64_t n = 0;
  int c;
  while ((c = std::fgetc(f)) != EOF) n += c == '\n';
  std::fclose(f);
  return n;
}

int list_addresses(int argc, char** argv, int first) {
  std::map<std::string, uint64_t> seen;
  for (int a = first; a < argc; a++) {
    capture::PcapFile trace;
    if (!trace.open(argv[a])) {
      std::fprintf(stderr, "sgfw-replay-asan: %s\n", trace.error().c_str());
      continue;
    }
    capture::Record r;
    PacketMeta m;
    while (trace.next(r)) {
      if (!wire::link_type_supported(r.link_type)) break;
      wire::parse_frame(r.data, r.caplen, r.wirelen, static_cast<wire::LinkType>(r.link_type), m);
      if (m.kind != FrameKind::Ip) continue;
      for (const uint8_t* addr : {m.tuple.src, m.tuple.dst}) {
        char text[INET6_ADDRSTRLEN + 4];
        const int af = m.tuple.family == 4 ? AF_INET : AF_INET6;
        if (!inet_ntop(af, addr, text, sizeof text)) continue;
        seen[text]++;
      }
    }
  }
  std::vector<std::pair<std::string, uint64_t>> v(seen.begin(), seen.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  for (const auto& [addr, n] : v) std::printf("%llu %s\n", static_cast<unsigned long long>(n), addr.c_str());
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: sgfw-replay-asan [--swap-every N --swap-blob BLOB2] [--no-outputs] BLOB TRACE...\n"
               "       sgfw-replay-asan --list-addresses TRACE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int a = 1;
  uint64_t swap_every = 0;
  const char* swap_blob = nullptr;
  bool outputs = true;
  for (; a < argc && std::strncmp(argv[a], "--", 2) == 0; a++) {
    const std::string opt = argv[a];
    if (opt == "--list-addresses") return list_addresses(argc, argv, a + 1);
    if (opt == "--no-outputs") {
      outputs = false;
    } else if (opt == "--swap-every" && a + 1 < argc) {
      swap_every = std::strtoull(argv[++a], nullptr, 10);
    } else if (opt == "--swap-blob" && a + 1 < argc) {
      swap_blob = argv[++a];
    } else {
      return usage();
    }
  }
  if (argc - a < 2 || (swap_every != 0) != (swap_blob != nullptr)) return usage();
  const std::shared_ptr<const table::MatchTable> main_table = load_blob(argv[a]);
  if (!main_table) return 2;
  std::shared_ptr<const table::MatchTable> other;
  if (swap_blob && !(other = load_blob(swap_blob))) return 2;

  char tmpl[] = "/tmp/sgfw-replay-asan-XXXXXX";
  const char* dir = outputs ? mkdtemp(tmpl) : nullptr;
  if (outputs && !dir) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string d = dir ? dir : "";
  int failures = 0;
  for (int t = a + 1; t < argc; t++) {
    engine::ReplayOptions o;
    o.trace = argv[t];
    o.tables.push_back({0, main_table});
    if (other) {
      // Far more swaps than any shared trace has packets; those past the end never apply.
      for (uint64_t k = 1; k <= 4096; k++) o.tables.push_back({k * swap_every, k % 2 ? other : main_table});
    }
    if (outputs) {
      o.verdicts_path = d + "/verdicts.jsonl";
      o.accepted_path = d + "/accepted.pcap";
      o.dropped_path = d + "/dropped.pcap";
      o.flow_log_path = d + "/flow.log";
      o.flow_summary = true;
    }
    engine::ReplayResult r;
    engine::run_replay(o, r);
    const char* name = std::strrchr(argv[t], '/') ? std::strrchr(argv[t], '/') + 1 : argv[t];
    if (!r.ok) {
      std::printf("%-40s %s: %s\n", name, r.input_error ? "rejected input" : "FAILED", r.error.c_str());
      if (!r.input_error) failures++;
      continue;
    }
    if (outputs) {
      const uint64_t lines = count_lines(o.verdicts_path);
      if (lines != r.counters.packets) {
        std::printf("%-40s FAILED: %llu verdict lines for %llu packets\n", name,
                    static_cast<unsigned long long>(lines), static_cast<unsigned long long>(r.counters.packets));
        failures++;
        continue;
      }
    }
    if (r.counters.accepted + r.counters.dropped != r.counters.packets) {
      std::printf("%-40s FAILED: accepted + dropped != packets\n", name);
      failures++;
      continue;
    }
    // The rate is the replay loop's (reading + judging): a profiling aid, meaningless under sanitizers.
    std::printf("%-40s ok: %llu packets, %llu accepted, %llu dropped, %llu flows, %llu swaps, %.2f M packets/s\n",
                name, static_cast<unsigned long long>(r.counters.packets),
                static_cast<unsigned long long>(r.counters.accepted), static_cast<unsigned long long>(r.counters.dropped),
                static_cast<unsigned long long>(r.conntrack.created), static_cast<unsigned long long>(r.counters.table_swaps),
                r.elapsed_ns ? static_cast<double>(r.counters.packets) * 1e3 / static_cast<double>(r.elapsed_ns) : 0.0);
  }
  if (outputs) {
    for (const char* f : {"/verdicts.jsonl", "/accepted.pcap", "/dropped.pcap", "/flow.log"}) unlink((d + f).c_str());
    rmdir(d.c_str());
  }
  return failures ? 1 : 0;
}
