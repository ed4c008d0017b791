// make_seeds OUTDIR [TRACE...]: writes the seed corpora of the three fuzz targets, in the
// input layouts of fuzz_checks.h, into OUTDIR/{parse_frame,pipeline,table_loader}/:
//   parse_frame   every byte fixture of test/native/fixtures_wire.h, every record of the traces
//                 (snapped ones with their real wire length)
//   pipeline      each trace as a packet sequence with its time gaps, under each cloud; the
//                 fixtures as one sequence with table swaps and sweeps
//   table_loader  the fuzz tables' blobs (fuzz_tables.h) under each classifier choice, plus
//                 blobs with a longer header and entry records (later format versions)
// Run at fuzz time (native/Makefile `fuzz`), so corpora never hold copies of ../shared.
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "capture/pcap_file.h"
#include "fixtures_wire.h"
#include "fuzz/fuzz_checks.h"
#include "fuzz/fuzz_tables.h"

using namespace sgfw;

namespace {

int g_written = 0;

bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    return false;
  }
  const bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) {
    std::perror(path.c_str());
    return false;
  }
  g_written++;
  return true;
}

std::string base_name(const std::string& p) {
  const size_t s = p.find_last_of('/');
  std::string b = s == std::string::npos ? p : p.substr(s + 1);
  const size_t dot = b.find_last_of('.');
  return dot == std::string::npos ? b : b.substr(0, dot);
}

void put_record(std::vector<uint8_t>& out, uint8_t ctl, uint8_t dt, const uint8_t* data, uint32_t len) {
  if (len > 0xffff) len = 0xffff;
  out.push_back(ctl);
  out.push_back(dt);
  out.push_back(static_cast<uint8_t>(len >> 8));
  out.push_back(static_cast<uint8_t>(len));
  out.insert(out.end(), data, data + len);
}

// The nearest time-gap code of the pipeline layout for a gap in nanoseconds.
uint8_t dt_code(uint64_t gap_ns) {
  const uint64_t ms = gap_ns / 1'000'000ull;
  if (ms < 128) return static_cast<uint8_t>(ms);
  const uint64_t s = gap_ns / 1'000'000'000ull;
  if (s <= 64) return static_cast<uint8_t>(127 + (s ? s : 1));
  const uint64_t units = gap_ns / (3ull * 3600 * 1'000'000'000ull);
  return static_cast<uint8_t>(191 + (units < 1 ? 1 : units > 64 ? 64 : units));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_seeds OUTDIR [TRACE...]\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::string dir_frame = out + "/parse_frame", dir_pipe = out + "/pipeline", dir_table = out + "/table_loader";
  for (const std::string& d : {out, dir_frame, dir_pipe, dir_table}) mkdir(d.c_str(), 0755);

  // ---- Fixtures.
  std::vector<uint8_t> fixture_run = {0};  // AWS
  int k = 0;
  for (const wire::fixtures::Fixture& f : wire::fixtures::kValidFixtures) {
    const int sel = fuzz::link_selector(fuzz::kFrameLinkTypes, fuzz::kFrameLinkTypeCount, static_cast<uint32_t>(f.lt));
    std::vector<uint8_t> in = {static_cast<uint8_t>(sel), 0, 0, 0};
    in.insert(in.end(), f.bytes, f.bytes + f.len);
    if (!write_file(dir_frame + "/fixture-" + f.name, in)) return 1;
    // Snapped at the end of the headers, as a capture with a short snaplen would hold it.
    in = {static_cast<uint8_t>(sel), 1, 0, static_cast<uint8_t>(f.len - f.hdr_end)};
    in.insert(in.end(), f.bytes, f.bytes + f.hdr_end);
    if (!write_file(dir_frame + "/fixture-snapped-" + f.name, in)) return 1;
    const uint8_t ctl = static_cast<uint8_t>(sel | ((k % 5 == 4) ? 0x08 | ((k & 0x30)) : 0) | (k % 7 == 6 ? 0x40 : 0));
    put_record(fixture_run, ctl, static_cast<uint8_t>(k * 37 % 200), f.bytes, f.len);
    k++;
  }
  {
    const uint8_t tcpdump_sel = 0;  // Ethernet
    std::vector<uint8_t> in = {tcpdump_sel, 0, 0, 0};
    const auto& b = wire::fixtures::kTcpdumpIpv4InvalidHdrLength;
    in.insert(in.end(), b, b + sizeof b);
    if (!write_file(dir_frame + "/fixture-kTcpdumpIpv4InvalidHdrLength", in)) return 1;
  }
  if (!write_file(dir_pipe + "/fixtures-aws", fixture_run)) return 1;
  fixture_run[0] = 1;  // the same under Alibaba
  if (!write_file(dir_pipe + "/fixtures-alibaba", fixture_run)) return 1;

  // ---- Traces.
  for (int a = 2; a < argc; a++) {
    const std::string path = argv[a];
    capture::PcapFile trace;
    if (!trace.open(path.c_str())) {
      std::fprintf(stderr, "make_seeds: skipping %s: %s\n", path.c_str(), trace.error().c_str());
      continue;
    }
    const std::string name = base_name(path);
    std::vector<uint8_t> seq = {0};
    int chunk = 0, in_seq = 0;
    uint64_t prev_ts = 0;
    capture::Record r;
    while (trace.next(r)) {
      const int fsel = fuzz::link_selector(fuzz::kFrameLinkTypes, fuzz::kFrameLinkTypeCount, r.link_type);
      const int psel = fuzz::link_selector(fuzz::kPipelineLinkTypes, 8, r.link_type);
      if (fsel < 0 || psel < 0) continue;
      if (r.index < 400) {
        const uint32_t extra = r.wirelen > r.caplen ? r.wirelen - r.caplen : 0;
        std::vector<uint8_t> in = {static_cast<uint8_t>(fsel), static_cast<uint8_t>(extra ? 1 : 0),
                                   static_cast<uint8_t>(extra > 0xffff ? 0xff : extra >> 8),
                                   static_cast<uint8_t>(extra > 0xffff ? 0xff : extra)};
        in.insert(in.end(), r.data, r.data + r.caplen);
        if (!write_file(dir_frame + "/" + name + "-" + std::to_string(r.index), in)) return 1;
      }
      const uint8_t dt = in_seq == 0 ? 0 : dt_code(r.ts_ns > prev_ts ? r.ts_ns - prev_ts : 0);
      prev_ts = r.ts_ns;
      put_record(seq, static_cast<uint8_t>(psel | (r.wirelen > r.caplen ? 0x80 : 0)), dt, r.data, r.caplen);
      if (++in_seq == 128) {
        for (uint8_t cloud : {0, 1}) {
          seq[0] = cloud;
          if (!write_file(dir_pipe + "/" + name + "-" + std::to_string(chunk) + (cloud ? "-alibaba" : "-aws"), seq))
            return 1;
        }
        seq.assign(1, 0);
        chunk++;
        in_seq = 0;
      }
    }
    if (trace.failed()) std::fprintf(stderr, "make_seeds: %s: %s\n", path.c_str(), trace.error().c_str());
    if (in_seq > 0) {
      for (uint8_t cloud : {0, 1}) {
        seq[0] = cloud;
        if (!write_file(dir_pipe + "/" + name + "-" + std::to_string(chunk) + (cloud ? "-alibaba" : "-aws"), seq))
          return 1;
      }
    }
  }

  // ---- Table blobs.
  for (int id = 0; id < fuzz::kTableCount; id++) {
    const std::vector<uint8_t> blob = fuzz::fuzz_table_blob(id);
    for (uint8_t flags : {0x04, 0x05, 0x06}) {
      std::vector<uint8_t> in = {flags};
      in.insert(in.end(), blob.begin(), blob.end());
      if (!write_file(dir_table + "/table" + std::to_string(id) + "-flags" + std::to_string(flags), in)) return 1;
    }
  }
  {
    test::BlobSpec s = fuzz::fuzz_table_spec(fuzz::kAlibabaA);
    s.header_len = 72;
    s.entry_record_size = 72;
    std::vector<uint8_t> in = {0x06};
    const std::vector<uint8_t> blob = test::build_blob(s);
    in.insert(in.end(), blob.begin(), blob.end());
    if (!write_file(dir_table + "/table-longer-records", in)) return 1;
    test::BlobSpec empty;
    const std::vector<uint8_t> eblob = test::build_blob(empty);
    in = {0x04};
    in.insert(in.end(), eblob.begin(), eblob.end());
    if (!write_file(dir_table + "/table-empty", in)) return 1;
    // A run stored once and named by two interfaces (format.h): eni-v6's ingress entries are
    // eni-doc's.
    test::BlobSpec shared = fuzz::fuzz_table_spec(fuzz::kAlibabaA);
    shared.ifaces[3].shares[0] = 0;
    const std::vector<uint8_t> sblob = test::build_blob(shared);
    for (uint8_t flags : {0x04, 0x06}) {
      in = {flags};
      in.insert(in.end(), sblob.begin(), sblob.end());
      if (!write_file(dir_table + "/table-shared-run-flags" + std::to_string(flags), in)) return 1;
    }
  }
  std::printf("make_seeds: %d seed files in %s\n", g_written, out.c_str());
  return 0;
}
