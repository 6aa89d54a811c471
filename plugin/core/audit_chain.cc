#include "plugin/core/audit_chain.h"

#include <openssl/evp.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace countersign::core {

std::string CanonicalAuditRecord(const AuditRecord& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&w](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartArray();
  w.String("countersign-audit-v1");
  w.Int64(r.seq);
  w.Int64(r.at);
  str(r.actor);
  str(r.actor_role);
  str(r.action);
  str(r.proposal_id);
  str(r.patient);
  w.Int(r.outcome);
  str(r.detail_json);
  str(r.prev_hash);
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

std::string ComputeAuditHash(const AuditRecord& record) {
  return Sha256Hex(record.prev_hash + "\n" + CanonicalAuditRecord(record));
}

void SealAuditRecord(AuditRecord& record, int64_t head_count, const std::string& head_hash) {
  record.seq = head_count + 1;
  record.prev_hash = head_hash;
  record.hash = ComputeAuditHash(record);
}

Result<AuditVerification> VerifyAuditChain(
    const std::function<Result<std::vector<AuditRecord>>(int64_t after_seq, int limit)>& read,
    const std::optional<AuditHead>& head) {
  AuditVerification v;
  std::string prev_hash;
  int64_t expected_seq = 1;
  constexpr int kPage = 1000;
  auto broken = [&v](int64_t seq, std::string reason) {
    v.ok = false;
    v.first_broken = seq;
    v.reason = std::move(reason);
    return v;
  };
  for (;;) {
    auto page = read(expected_seq - 1, kPage);
    if (!page.ok()) return page.status();
    for (const AuditRecord& r : *page) {
      if (r.seq != expected_seq) {
        return broken(expected_seq, r.seq > expected_seq ? "record missing (gap in sequence)"
                                                         : "sequence out of order");
      }
      if (r.prev_hash != prev_hash) return broken(r.seq, "prev_hash does not match the previous record");
      if (ComputeAuditHash(r) != r.hash) return broken(r.seq, "hash does not match the record");
      prev_hash = r.hash;
      ++expected_seq;
      ++v.records;
    }
    if (page->size() < static_cast<size_t>(kPage)) break;
  }
  if (head) {
    if (head->count != v.records) {
      return broken(head->count > v.records ? v.records + 1 : head->count + 1,
                    "chain length differs from the recorded head");
    }
    if (head->hash != prev_hash) return broken(v.records, "last hash differs from the recorded head");
  }
  return v;
}

}  // namespace countersign::core
