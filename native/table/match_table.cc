// MatchTable members that are not inline.
#include "table/match_table.h"

namespace sgfw::table {

size_t MatchTable::classifier_bytes() const {
  const detail::TreeStore& s = trees_;
  return hot_.size() * sizeof(detail::HotEntry) + s.nodes.size() * sizeof(detail::Node4) +
         s.leaf4.size() * sizeof(detail::Leaf4) + s.leaf4_ids.size() * sizeof(uint32_t) +
         s.leaf6.size() * sizeof(detail::Leaf6) + s.leaf_ids.size() * sizeof(uint32_t) +
         s.parts.size() * sizeof(detail::Part) + s.roots.size() * sizeof(uint32_t) + runs_.size() * sizeof(Run);
}

}  // namespace sgfw::table
