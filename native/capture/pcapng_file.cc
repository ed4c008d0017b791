// PcapFile, the pcapng half: sections, interfaces and packet blocks (pcap_file.h).
#include <cstdio>

#include "capture/pcap_file.h"
#include "capture/pcapng_file.h"

namespace sgfw::capture {

namespace {

constexpr uint64_t kNsPerSec = 1000000000u;
constexpr uint64_t kMicrosPerSec = 1000000u;

const char* block_kind(uint32_t type, char* buf, size_t size) {
  switch (type) {
    case kPcapngBlockShb: return "section header block";
    case kPcapngBlockIdb: return "interface description block";
    case kPcapngBlockEpb: return "enhanced packet block";
    case kPcapngBlockSpb: return "simple packet block";
    case kPcapngBlockOpb: return "packet block";
    default:
      std::snprintf(buf, size, "block of type 0x%08x", type);
      return buf;
  }
}

}  // namespace

uint32_t PcapFile::ng32(const uint8_t* p) const {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ng_swapped_ ? __builtin_bswap32(v) : v;
}

uint16_t PcapFile::ng16(const uint8_t* p) const {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return ng_swapped_ ? __builtin_bswap16(v) : v;
}

uint64_t PcapFile::to_ns(uint64_t ts, const Interface& itf) {
  uint64_t ns;
  if (itf.ns_mul != 0) {
    ns = ts * itf.ns_mul;
  } else {
    // Finer than a nanosecond, or a power of 2: split so that the product cannot overflow.
    const uint64_t sec = ts / itf.units, frac = ts % itf.units;
    ns = sec * kNsPerSec + static_cast<uint64_t>(static_cast<unsigned __int128>(frac) * kNsPerSec / itf.units);
  }
  return ns + static_cast<uint64_t>(itf.offset_s) * kNsPerSec;
}

bool PcapFile::open_pcapng() {
  format_ = TraceFormat::Pcapng;
  mode_ = Mode::Pcapng;
  // Read the section header and the interface blocks before the first packet, so that
  // link_type() is known right after open().
  walk_pcapng(nullptr);
  return !failed();
}

bool PcapFile::next_pcapng(Record& r) { return walk_pcapng(&r); }

// The length checks every block gets before its body is read.
bool PcapFile::check_length(const char* kind, uint64_t off, uint32_t total, uint64_t left) {
  if (total < kPcapngBlockOverhead || total % 4 != 0)
    return fail_block(kind, off, "block total length %u is not a multiple of 4 of at least %u", total,
                      kPcapngBlockOverhead);
  if (total > left)
    return fail_block(kind, off, "block total length %u runs past the end of the file (%llu bytes left)", total,
                      static_cast<unsigned long long>(left));
  return true;
}

bool PcapFile::check_trailer(const char* kind, uint64_t off, uint32_t total, const uint8_t* trailer) {
  const uint32_t copy = ng32(trailer);
  if (copy != total)
    return fail_block(kind, off, "block total length %u does not match its trailing copy %u", total, copy);
  return true;
}

bool PcapFile::read_section_header() {
  const uint64_t off = offset();
  const char* kind = "section header block";
  const uint64_t left = file_left();
  constexpr uint32_t kMinLen = kPcapngBlockOverhead + kPcapngShbBodyLen;
  if (left < kMinLen)
    return fail_block(kind, off, "truncated (%llu bytes left, at least %u needed)", static_cast<unsigned long long>(left),
                      kMinLen);
  if (fill(kMinLen) != Fill::Ok) return false;
  uint32_t bom;
  std::memcpy(&bom, cur_ + 8, 4);
  if (bom == kPcapngByteOrderMagic)
    ng_swapped_ = false;
  else if (bom == __builtin_bswap32(kPcapngByteOrderMagic))
    ng_swapped_ = true;
  else
    return fail_block(kind, off, "bad byte-order magic %02x%02x%02x%02x", cur_[8], cur_[9], cur_[10], cur_[11]);
  const uint32_t total = ng32(cur_ + 4);
  if (!check_length(kind, off, total, left)) return false;
  if (total < kMinLen) return fail_block(kind, off, "block total length %u is below the minimum %u", total, kMinLen);
  if (total > kMaxBlockLen)
    return fail_block(kind, off, "block total length %u exceeds the limit of %u bytes", total, kMaxBlockLen);
  if (fill(total) != Fill::Ok) return false;
  if (!check_trailer(kind, off, total, cur_ + total - 4)) return false;
  const uint16_t major = ng16(cur_ + 12), minor = ng16(cur_ + 14);
  if (major != kPcapngMajorVersion)
    return fail_block(kind, off, "unsupported pcapng version %u.%u (only 1.x is known)", major, minor);
  // A new section starts a new interface list (and may switch byte order).
  interfaces_.clear();
  link_type_ = snaplen_ = 0;
  cur_ += total;
  return true;
}

bool PcapFile::read_interface(const uint8_t* body, uint32_t body_len, uint64_t off) {
  const char* kind = "interface description block";
  if (body_len < kPcapngIdbBodyLen) return fail_block(kind, off, "body of %u bytes is too short", body_len);
  Interface itf{ng16(body), ng32(body + 4), kMicrosPerSec, kNsPerSec / kMicrosPerSec, 0};
  // Options: code u16, length u16, value padded to 4 bytes; walked by offset so nothing is
  // ever formed past the block.
  uint32_t pos = kPcapngIdbBodyLen;
  while (body_len - pos >= 4) {
    const uint16_t code = ng16(body + pos), len = ng16(body + pos + 2);
    if (code == kPcapngOptEnd) break;
    if (len > body_len - pos - 4)
      return fail_block(kind, off, "option %u of %u bytes runs past the end of its block", code, len);
    const uint8_t* value = body + pos + 4;
    if (code == kPcapngOptIfTsresol) {
      if (len != 1) return fail_block(kind, off, "if_tsresol of %u bytes (1 expected)", len);
      const uint8_t v = value[0];
      if (v & 0x80) {
        if ((v & 0x7f) > 63) return fail_block(kind, off, "unsupported if_tsresol 2^-%u", v & 0x7f);
        itf.units = uint64_t{1} << (v & 0x7f);
      } else {
        if (v > 19) return fail_block(kind, off, "unsupported if_tsresol 10^-%u", v);
        itf.units = 1;
        for (uint8_t i = 0; i < v; ++i) itf.units *= 10;
      }
      itf.ns_mul = (itf.units <= kNsPerSec && kNsPerSec % itf.units == 0) ? kNsPerSec / itf.units : 0;
    } else if (code == kPcapngOptIfTsoffset) {
      if (len != 8) return fail_block(kind, off, "if_tsoffset of %u bytes (8 expected)", len);
      uint64_t v;
      std::memcpy(&v, value, 8);
      itf.offset_s = static_cast<int64_t>(ng_swapped_ ? __builtin_bswap64(v) : v);
    }
    const uint32_t padded = (uint32_t{len} + 3) & ~uint32_t{3};
    if (padded > body_len - pos - 4) break;  // unpadded last option: nothing follows anyway
    pos += 4 + padded;
  }
  if (interfaces_.empty()) {
    link_type_ = itf.link_type;
    snaplen_ = itf.snaplen;
  }
  interfaces_.push_back(itf);
  return true;
}

// Walks blocks from cur_. With r: returns the next packet record, or false at the end of the file
// or on an error. Without r (from open): stops before the first packet block, consuming nothing of it.
bool PcapFile::walk_pcapng(Record* r) {
  for (;;) {
    const uint64_t left = file_left();
    if (left == 0) {
      if (r != nullptr) mode_ = Mode::Done;
      return false;
    }
    const uint64_t off = offset();
    if (left < kPcapngBlockOverhead)
      return fail_block("block", off, "truncated block header (%llu bytes left)", static_cast<unsigned long long>(left));
    if (fill(kPcapngBlockOverhead) != Fill::Ok) return false;  // refill deferred, or a read error
    const uint32_t type = ng32(cur_);
    if (type == kPcapngBlockShb) {
      if (!read_section_header()) return false;
      continue;
    }
    char kind_buf[40];
    const char* kind = block_kind(type, kind_buf, sizeof kind_buf);
    const uint32_t total = ng32(cur_ + 4);
    if (!check_length(kind, off, total, left)) return false;
    const bool wanted = type == kPcapngBlockEpb || type == kPcapngBlockOpb || type == kPcapngBlockSpb ||
                        type == kPcapngBlockIdb;
    if (!wanted) {  // name resolution, statistics, decryption secrets, custom...: not ours
      if (total > static_cast<size_t>(end_ - cur_) && no_refill_) return false;
      if (total <= kMaxBlockLen) {
        if (fill(total) != Fill::Ok) return false;
        if (!check_trailer(kind, off, total, cur_ + total - 4)) return false;
        cur_ += total;
      } else {  // too big to hold: jump to its trailer
        skip(total - 4);
        if (fill(4) != Fill::Ok) return false;
        if (!check_trailer(kind, off, total, cur_)) return false;
        cur_ += 4;
      }
      continue;
    }
    if (r == nullptr && type != kPcapngBlockIdb) return false;  // open(): stop before the first packet
    if (total > kMaxBlockLen)
      return fail_block(kind, off, "block total length %u exceeds the limit of %u bytes", total, kMaxBlockLen);
    if (fill(total) != Fill::Ok) return false;
    if (!check_trailer(kind, off, total, cur_ + total - 4)) return false;
    const uint8_t* body = cur_ + 8;
    const uint32_t body_len = total - kPcapngBlockOverhead;

    uint32_t itf_id, caplen, wirelen;
    uint64_t ts;
    const uint8_t* data;
    switch (type) {
      case kPcapngBlockEpb:
      case kPcapngBlockOpb:
        if (body_len < kPcapngEpbBodyLen) return fail_record(off, "%s body of %u bytes is too short", kind, body_len);
        itf_id = type == kPcapngBlockEpb ? ng32(body) : ng16(body);
        ts = (uint64_t{ng32(body + 4)} << 32) | ng32(body + 8);
        caplen = ng32(body + 12);
        wirelen = ng32(body + 16);
        data = body + kPcapngEpbBodyLen;
        if (caplen > body_len - kPcapngEpbBodyLen)
          return fail_record(off, "caplen %u runs past the end of its block (%u bytes of data)", caplen,
                             body_len - kPcapngEpbBodyLen);
        if (itf_id >= interfaces_.size())
          return fail_record(off, "interface id %u is not described (the section has %zu interface%s)", itf_id,
                             interfaces_.size(), interfaces_.size() == 1 ? "" : "s");
        last_ts_ns_ = to_ns(ts, interfaces_[itf_id]);
        break;
      case kPcapngBlockSpb: {
        if (body_len < kPcapngSpbBodyLen) return fail_record(off, "%s body of %u bytes is too short", kind, body_len);
        if (interfaces_.empty()) return fail_record(off, "simple packet block before any interface description");
        itf_id = 0;
        wirelen = ng32(body);
        // No caplen field: the packet is cut to the interface's snaplen, and the block may be
        // shorter still (its data is padded, so the block length alone cannot tell).
        const uint32_t room = body_len - kPcapngSpbBodyLen;
        const uint32_t snap = interfaces_[0].snaplen;
        caplen = wirelen < room ? wirelen : room;
        if (snap != 0 && caplen > snap) caplen = snap;
        data = body + kPcapngSpbBodyLen;
        break;  // no timestamp: the previous record's stands
      }
      default:  // kPcapngBlockIdb
        if (!read_interface(body, body_len, off)) return false;
        cur_ += total;
        continue;
    }
    if (caplen > kMaxCaplen) return fail_record(off, "caplen %u exceeds the limit of %u bytes", caplen, kMaxCaplen);
    r->data = data;
    r->caplen = caplen;
    r->wirelen = wirelen;
    r->ts_ns = last_ts_ns_;
    r->link_type = interfaces_[itf_id].link_type;
    r->index = index_++;
    cur_ += total;
    return true;
  }
}

}  // namespace sgfw::capture
