// Replays the saved fuzz findings (test/fuzz/regressions/<target>/*) through the fuzz targets'
// own checks (native/fuzz/fuzz_checks.h), and checks that those checks hold on the byte
// fixtures and the fuzz tables and do catch a broken result. Under `make asan` the sanitizers
// see the replays too.
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <dirent.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fixtures_wire.h"
#include "fuzz/fuzz_checks.h"
#include "fuzz/fuzz_tables.h"

using namespace sgfw;

namespace {

// test/fuzz/regressions: $SGFW_FUZZ_REGRESSIONS, else seen from the checkout root or from
// native/ (where `make -C native test` runs).
std::string regressions_dir() {
  if (const char* env = std::getenv("SGFW_FUZZ_REGRESSIONS")) return env;
  for (const char* c : {"test/fuzz/regressions", "../test/fuzz/regressions", "../../test/fuzz/regressions"}) {
    const std::string probe = std::string(c) + "/README.md";
    if (FILE* f = std::fopen(probe.c_str(), "rb")) {
      std::fclose(f);
      return c;
    }
  }
  return "";
}

std::vector<std::string> inputs_of(const std::string& dir) {
  std::vector<std::string> v;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') v.push_back(dir + "/" + e->d_name);
    }
    closedir(d);
  }
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::vector<uint8_t> v;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    uint8_t buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
    std::fclose(f);
  }
  return v;
}

const fuzz::PipelineHarness& harness() {
  static const fuzz::PipelineHarness h;
  return h;
}

std::string why_or_ok(const char* why) { return why ? why : "ok"; }

}  // namespace

TEST_SUITE("fuzz regressions") {

TEST_CASE("test_fuzz_regressions_replay") {
  const std::string dir = regressions_dir();
  REQUIRE_MESSAGE(!dir.empty(), "test/fuzz/regressions not found (set SGFW_FUZZ_REGRESSIONS)");
  int replayed = 0;
  for (const char* target : {"parse_frame", "pipeline", "table_loader"}) {
    for (const std::string& path : inputs_of(dir + "/" + target)) {
      const std::vector<uint8_t> in = read_all(path);
      REQUIRE_MESSAGE(!in.empty(), path, ": empty or unreadable");
      const char* why = std::string(target) == "parse_frame" ? fuzz::check_parse_frame(in.data(), in.size())
                        : std::string(target) == "pipeline"  ? harness().run(in.data(), in.size())
                                                             : fuzz::check_table_loader(in.data(), in.size());
      CHECK_MESSAGE(why == nullptr, path, ": ", why_or_ok(why));
      replayed++;
    }
  }
  MESSAGE(replayed, " fuzz regression inputs replayed");
  CHECK(replayed > 0);
}

TEST_CASE("test_fuzz_checks_hold_on_fixtures") {
  using wire::fixtures::kValidFixtures;
  std::vector<uint8_t> run = {0};
  for (const wire::fixtures::Fixture& f : kValidFixtures) {
    const int sel = fuzz::link_selector(fuzz::kFrameLinkTypes, fuzz::kFrameLinkTypeCount, uint32_t(f.lt));
    REQUIRE(sel >= 0);
    for (uint8_t mode : {0, 1, 2}) {
      std::vector<uint8_t> in = {uint8_t(sel), mode, 0, 40};
      in.insert(in.end(), f.bytes, f.bytes + f.len);
      const char* why = fuzz::check_parse_frame(in.data(), in.size());
      CHECK_MESSAGE(why == nullptr, f.name, " mode ", int(mode), ": ", why_or_ok(why));
    }
    run.insert(run.end(), {uint8_t(sel), 5, 0, uint8_t(f.len)});
    run.insert(run.end(), f.bytes, f.bytes + f.len);
  }
  REQUIRE(harness().error().empty());
  for (uint8_t config : {0, 1, 2, 3}) {
    run[0] = config;
    int packets = 0;
    const char* why = harness().run(run.data(), run.size(), &packets);
    CHECK_MESSAGE(why == nullptr, "config ", int(config), ": ", why_or_ok(why));
    CHECK(packets == int(std::size(kValidFixtures)));
  }
}

TEST_CASE("test_fuzz_tables_load_and_classify") {
  for (int id = 0; id < fuzz::kTableCount; id++) {
    const std::vector<uint8_t> blob = fuzz::fuzz_table_blob(id);
    table::MatchTable t;
    const table::LoadResult r = table::load_table(blob.data(), blob.size(), t);
    REQUIRE_MESSAGE(r.ok(), "table ", id, ": ", r.message);
    CHECK(t.interface_count() == (id == fuzz::kAlibabaC ? 3u : 4u));
    // eni-srv's ingress run is long enough for the tree classifier, eni-doc's is linear.
    CHECK(t.classifier_kind(1, Direction::Ingress) == table::ClassifierKind::Tree);
    CHECK(t.classifier_kind(0, Direction::Ingress) == table::ClassifierKind::Linear);
    for (uint8_t flags : {0x00, 0x04, 0x05, 0x06}) {
      std::vector<uint8_t> in = {flags};
      in.insert(in.end(), blob.begin(), blob.end());
      const char* why = fuzz::check_table_loader(in.data(), in.size());
      CHECK_MESSAGE(why == nullptr, "table ", id, " flags ", int(flags), ": ", why_or_ok(why));
    }
  }
}

TEST_CASE("test_fuzz_checks_catch_broken_results") {
  // The invariants are not vacuous: hand-broken parse results are reported.
  PacketMeta m;
  m.kind = FrameKind::Ip;
  m.tuple.family = 5;
  m.ip_len = 20;
  CHECK(fuzz::meta_violation(m, 64, 64) != nullptr);
  m.tuple.family = 4;
  CHECK(fuzz::meta_violation(m, 64, 64) == nullptr);
  m.l3_offset = 50;  // a 20-byte IPv4 header cannot start at 50 of 64 captured bytes
  CHECK(fuzz::meta_violation(m, 64, 64) != nullptr);
  m.l3_offset = 14;
  m.frag = FragKind::Later;
  m.has_l4 = 1;
  CHECK(fuzz::meta_violation(m, 64, 64) != nullptr);
  PacketMeta mal;
  mal.kind = FrameKind::Malformed;
  mal.malformed = MalformedSub::None;
  CHECK(fuzz::meta_violation(mal, 64, 64) != nullptr);
}

}  // TEST_SUITE
