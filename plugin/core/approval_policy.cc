#include "plugin/core/approval_policy.h"

#include <rapidjson/pointer.h>

namespace countersign::core {

namespace {

Status ReadRoles(const json::Value& obj, const char* name, const std::string& at,
                 std::vector<std::string>& out, bool required) {
  const json::Value* v = json::Member(obj, name);
  if (!v) {
    return required ? Status::Invalid(at + "." + name + " is required") : Status::Ok();
  }
  if (!v->IsArray()) return Status::Invalid(at + "." + name + " must be an array of roles");
  out.clear();
  for (const auto& r : v->GetArray()) {
    if (!r.IsString()) return Status::Invalid(at + "." + name + " must be an array of roles");
    out.emplace_back(r.GetString(), r.GetStringLength());
  }
  return Status::Ok();
}

}  // namespace

Result<ApprovalPolicy> ApprovalPolicy::Parse(std::string_view text) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return Status::Invalid("approval policy: " + doc.status().message());
  const std::string root = "approval policy: $";
  if (!doc->IsObject()) return Status::Invalid(root + " must be an object");
  ApprovalPolicy p;
  p.submit_roles_ = {role::kAiAgent};
  p.view_roles_ = {role::kClinician, role::kFrontDesk, role::kAdmin};
  p.reassign_roles_ = {role::kAdmin};
  CS_RETURN_IF_ERROR(ReadRoles(*doc, "submit_roles", root, p.submit_roles_, false));
  CS_RETURN_IF_ERROR(ReadRoles(*doc, "view_roles", root, p.view_roles_, false));
  CS_RETURN_IF_ERROR(ReadRoles(*doc, "reassign_roles", root, p.reassign_roles_, false));
  if (const json::Value* rr = json::Member(*doc, "reject_reasons")) {
    if (!rr->IsArray()) return Status::Invalid(root + ".reject_reasons must be an array");
    for (rapidjson::SizeType i = 0; i < rr->Size(); ++i) {
      auto code = json::GetString((*rr)[i], "code");
      if (!code || code->empty()) {
        return Status::Invalid(root + ".reject_reasons[" + std::to_string(i) + "].code is required");
      }
      auto display = json::GetString((*rr)[i], "display");
      p.reject_reasons_.push_back({std::string(*code), std::string(display.value_or(*code))});
    }
  }
  if (p.reject_reasons_.empty()) {
    return Status::Invalid(root + ".reject_reasons must list at least one coded reason");
  }
  bool owner_only_default = false;
  if (const json::Value* o = json::Member(*doc, "owner_only")) {
    if (!o->IsBool()) return Status::Invalid(root + ".owner_only must be true or false");
    owner_only_default = o->GetBool();
  }
  const json::Value* kinds = json::Member(*doc, "kinds");
  if (!kinds || !kinds->IsObject() || kinds->MemberCount() == 0) {
    return Status::Invalid(root + ".kinds must be a non-empty object");
  }
  for (const auto& m : kinds->GetObject()) {
    std::string kind(m.name.GetString(), m.name.GetStringLength());
    std::string at = root + ".kinds." + kind;
    if (!m.value.IsObject()) return Status::Invalid(at + " must be an object");
    KindPolicy k;
    CS_RETURN_IF_ERROR(ReadRoles(m.value, "approver_roles", at, k.approver_roles, true));
    if (k.approver_roles.empty()) return Status::Invalid(at + ".approver_roles must not be empty");
    for (const auto& r : k.approver_roles) {
      if (r == role::kAiAgent) return Status::Invalid(at + ".approver_roles cannot name ai-agent");
    }
    k.two_approvers = json::GetBool(m.value, "two_approvers").value_or(false);
    k.owner_only = owner_only_default;
    if (const json::Value* o = json::Member(m.value, "owner_only")) {
      if (!o->IsBool()) return Status::Invalid(at + ".owner_only must be true or false");
      k.owner_only = o->GetBool();
    }
    CS_RETURN_IF_ERROR(ReadRoles(m.value, "owner", at, k.owner_rules, true));
    bool has_fallback = false;
    for (const auto& rule : k.owner_rules) {
      if (rule.rfind("queue:", 0) == 0 && rule.size() > 6) {
        has_fallback = true;
      } else if (rule.rfind("draft:", 0) == 0) {
        rapidjson::Pointer ptr(rule.c_str() + 6);
        if (!ptr.IsValid()) return Status::Invalid(at + ".owner: bad JSON pointer in " + rule);
      } else if (rule != "requested") {
        return Status::Invalid(at + ".owner: unknown rule " + rule);
      }
    }
    if (!has_fallback) return Status::Invalid(at + ".owner must end with a queue:<name> fallback");
    if (const json::Value* e = json::Member(m.value, "expiry_minutes")) {
      if (!e->IsInt64() || e->GetInt64() < 0) {
        return Status::Invalid(at + ".expiry_minutes must be a non-negative integer");
      }
      k.expiry_ms = e->GetInt64() * 60'000;
    }
    p.kinds_.emplace(kind, std::move(k));
  }
  return p;
}

Result<ApprovalPolicy> ApprovalPolicy::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto p = Parse(*text);
  if (!p.ok()) return Status::Invalid(path + ": " + p.status().message());
  return p;
}

const KindPolicy* ApprovalPolicy::For(std::string_view kind) const {
  auto it = kinds_.find(kind);
  return it == kinds_.end() ? nullptr : &it->second;
}

Status ApprovalPolicy::CheckSubmit(const Principal& p, std::string* role) const {
  *role = p.FirstRoleIn(submit_roles_);
  if (role->empty()) return Status::Forbidden(p.id + " may not submit drafts");
  return Status::Ok();
}

Status ApprovalPolicy::CheckDecide(const Principal& p, std::string_view kind,
                                   std::string* role) const {
  role->clear();
  if (p.IsAiAgent()) {
    return Status::Forbidden(p.id + " is an ai-agent: it can never approve, amend or reject");
  }
  const KindPolicy* k = For(kind);
  if (!k) return Status::Forbidden("no approval policy for kind " + std::string(kind));
  *role = p.FirstRoleIn(k->approver_roles);
  if (role->empty()) {
    std::string roles;
    for (const auto& r : k->approver_roles) roles += (roles.empty() ? "" : ", ") + r;
    return Status::Forbidden(p.id + " lacks a role that may decide " + std::string(kind) +
                             " proposals (" + roles + ")");
  }
  return Status::Ok();
}

Status ApprovalPolicy::CheckDecide(const Principal& p, std::string_view kind,
                                   std::string_view owner, std::string* role) const {
  CS_RETURN_IF_ERROR(CheckDecide(p, kind, role));
  const KindPolicy* k = For(kind);
  if (k->owner_only && !p.Owns(owner)) {
    role->clear();
    return Status::Forbidden(p.id + " does not own this proposal (owner " + std::string(owner) +
                             "); only its owner may decide it: reassign it first");
  }
  return Status::Ok();
}

Status ApprovalPolicy::CheckView(const Principal& p, std::string* role) const {
  *role = p.IsAiAgent() ? std::string() : p.FirstRoleIn(view_roles_);
  if (role->empty()) return Status::Forbidden(p.id + " may not view proposals");
  return Status::Ok();
}

Status ApprovalPolicy::CheckReassign(const Principal& p, std::string_view current_owner,
                                     std::string* role) const {
  role->clear();
  if (p.IsAiAgent()) return Status::Forbidden(p.id + " is an ai-agent: it cannot reassign");
  *role = p.FirstRoleIn(reassign_roles_);
  if (role->empty() && p.id == current_owner && !p.roles.empty()) *role = p.roles.front();
  if (role->empty()) return Status::Forbidden(p.id + " may not reassign this proposal");
  return Status::Ok();
}

bool ApprovalPolicy::IsValidOwner(std::string_view owner, const PrincipalDirectory& principals) {
  if (owner.rfind("queue:", 0) == 0) return owner.size() > 6;
  const Principal* p = principals.Find(owner);
  return p && !p->IsAiAgent();
}

Result<std::string> ApprovalPolicy::ChooseOwner(std::string_view kind,
                                                std::string_view requested_owner,
                                                const json::Value& draft,
                                                const PrincipalDirectory& principals) const {
  const KindPolicy* k = For(kind);
  if (!k) return Status::Invalid("no approval policy for kind " + std::string(kind));
  // A queue, or a person who may decide this kind: an item given to someone who cannot act on
  // it would only wait for its expiry.
  auto acceptable = [&](std::string_view owner) {
    if (!IsValidOwner(owner, principals)) return false;
    if (owner.rfind("queue:", 0) == 0) return true;
    std::string role;
    return CheckDecide(*principals.Find(owner), kind, &role).ok();
  };
  for (const std::string& rule : k->owner_rules) {
    if (rule == "requested") {
      if (!requested_owner.empty() && acceptable(requested_owner)) {
        return std::string(requested_owner);
      }
    } else if (rule.rfind("draft:", 0) == 0) {
      rapidjson::Pointer ptr(rule.c_str() + 6);
      const json::Value* v = ptr.Get(draft);
      std::optional<std::string_view> ref;
      if (v && v->IsString()) ref = std::string_view(v->GetString(), v->GetStringLength());
      if (v && v->IsObject()) ref = json::GetString(*v, "reference");
      if (ref && acceptable(*ref)) return std::string(*ref);
    } else if (rule.rfind("queue:", 0) == 0) {
      return rule;
    }
  }
  return Status::Internal("owner rules without a fallback");
}

const RejectReasonCode* ApprovalPolicy::FindRejectReason(std::string_view code) const {
  for (const auto& r : reject_reasons_) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

}  // namespace countersign::core
