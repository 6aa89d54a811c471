#include "tests/support/fault_injecting_transport.h"

#include <utility>

namespace countersign::testing {

void FaultPlan::FailNext(int count, When when, std::string method, ErrorKind kind) {
  if (count <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  planned_.push_back({count, when, std::move(method), kind});
}

int FaultPlan::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& p : planned_) n += p.count;
  return n;
}

int FaultPlan::sends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sends_;
}

int FaultPlan::inner_sends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inner_sends_;
}

bool FaultPlan::Take(const fhir::HttpRequest& request, Fault* fault) {
  std::lock_guard<std::mutex> lock(mu_);
  ++sends_;
  for (auto it = planned_.begin(); it != planned_.end(); ++it) {
    if (!it->method.empty() && it->method != request.method) continue;
    *fault = {it->when, it->kind};
    if (--it->count == 0) planned_.erase(it);
    return true;
  }
  return false;
}

void FaultPlan::CountInner() {
  std::lock_guard<std::mutex> lock(mu_);
  ++inner_sends_;
}

FaultInjectingTransport::FaultInjectingTransport(std::unique_ptr<fhir::HttpTransport> inner,
                                                 std::shared_ptr<FaultPlan> plan)
    : inner_(std::move(inner)), plan_(std::move(plan)) {}

Result<fhir::HttpResponse> FaultInjectingTransport::Send(const fhir::HttpRequest& request) {
  FaultPlan::Fault fault{};
  if (!plan_->Take(request, &fault)) {
    plan_->CountInner();
    return inner_->Send(request);
  }
  if (fault.when == FaultPlan::When::kAfterSend) {
    plan_->CountInner();
    (void)inner_->Send(request);  // applied by the server; its answer is lost
  }
  // Like the libcurl transport's messages: method and URL, never headers.
  std::string what = request.method + " " + request.url + ": ";
  if (fault.kind == ErrorKind::kTimeout) return Status::Timeout(what + "no answer (injected)");
  return Status::Error(fault.kind, what + "connection reset by peer (injected)");
}

std::unique_ptr<fhir::FhirClient> MakeFaultInjectingClient(const fhir::ClientOptions& options,
                                                           std::shared_ptr<FaultPlan> plan) {
  return fhir::FhirClient::CreateWithTransport(options, [options, plan] {
    return std::make_unique<FaultInjectingTransport>(fhir::MakeCurlTransport(options), plan);
  });
}

}  // namespace countersign::testing
