// The keyset cursor of ListProposals ("created_at:id"), shared by every Store backend so a
// cursor reads the same whichever one wrote it.
#pragma once

#include <cstdint>
#include <string>

namespace countersign::core {

std::string EncodePageCursor(int64_t created_at, const std::string& id);
// False when cursor is not one EncodePageCursor made.
bool DecodePageCursor(const std::string& cursor, int64_t& created_at, std::string& id);

}  // namespace countersign::core
