// load_table(): the control-path half of the table (DPDK acl's build). Validates a blob of
// native/table/format.h completely (it may come from anywhere: fuzzers, a corrupted file)
// and builds the immutable MatchTable. Allocates; not for the packet path. Not thread-safe
// for a given `out`: build into a fresh MatchTable, then swap a pointer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "table/match_table.h"

namespace sgfw::table {

enum class TableStatus : uint8_t {
  Ok = 0,
  Truncated,    // shorter than its header or total_len says
  BadMagic,     // not a table blob
  BadVersion,   // unknown major version
  BadChecksum,  // crc32 mismatch
  BadLayout,    // header_len, record size, section offsets/lengths, counts
  BadRecord,    // a record's field out of range or inconsistent
};
inline constexpr int kTableStatusCount = 7;
// Error codes as the controller shows them (DataplaneError.code).
inline constexpr const char* kTableStatusCodes[kTableStatusCount] = {
    "OK", "ERR_TABLE_TRUNCATED", "ERR_TABLE_MAGIC", "ERR_TABLE_VERSION",
    "ERR_TABLE_CHECKSUM", "ERR_TABLE_LAYOUT", "ERR_TABLE_RECORD",
};

struct LoadResult {
  TableStatus status = TableStatus::Ok;
  std::string message;  // names the field: "entry 12: src_len 40 > 32 for IPv4"
  bool ok() const { return status == TableStatus::Ok; }
};

enum class ClassifierChoice : uint8_t {
  Auto = 0,    // Tree for runs of kTreeMinEntries or more, else Linear
  Linear = 1,  // every run linear (reference, benchmarks)
  Tree = 2,    // every non-empty run a tree (tests)
};

struct LoadOptions {
  ClassifierChoice classifier = ClassifierChoice::Auto;
  // Runs with the very same entries keep one copy of them (MatchTable::Run::hot_first). False
  // keeps a copy per run: the fuzzers' reference for the shared loads.
  bool share_runs = true;
};

// Validates blob[0, len) and, when valid, replaces `out` with the table it describes.
// On rejection `out` is left untouched.
LoadResult load_table(const uint8_t* blob, size_t len, MatchTable& out, const LoadOptions& opts = {});

}  // namespace sgfw::table
