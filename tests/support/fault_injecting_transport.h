// FaultInjectingTransport: an HttpTransport decorator over a real transport (libcurl to the
// loopback FHIR server) that produces the faults a real server cannot: a connection that fails
// before the request leaves, or one that is reset after the server applied the request (the
// answer is lost), as kNetwork or kTimeout.
//
// Faults are planned on a FaultPlan shared by every transport of one FhirClient (the client pools
// several transports), so "the next N sends fail" holds whichever pooled transport sends them.
//
// Threading: FaultPlan is thread-safe; each FaultInjectingTransport is used by one thread at a
// time, like the transport it wraps.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhir/client.h"
#include "fhir/http_transport.h"

namespace countersign::testing {

class FaultPlan {
 public:
  enum class When {
    kBeforeSend,  // the inner transport is not called: the server never sees the request
    kAfterSend,   // the inner transport sends it (the server applies it), the answer is dropped
  };
  // The next `count` sends whose method equals `method` ("" = any) fail with `kind` (kNetwork:
  // "connection reset by peer"; kTimeout: "no answer"). Faults queue in the order added.
  void FailNext(int count, When when, std::string method = {},
                ErrorKind kind = ErrorKind::kNetwork);
  // Planned faults not yet used.
  int pending() const;
  // Sends seen by any transport of this plan (faulted or not), and those that reached the inner
  // transport.
  int sends() const;
  int inner_sends() const;

  // For FaultInjectingTransport: the fault to apply to this send, if any (consumes one).
  struct Fault { When when; ErrorKind kind; };
  bool Take(const fhir::HttpRequest& request, Fault* fault);
  void CountInner();

 private:
  struct Planned { int count; When when; std::string method; ErrorKind kind; };
  mutable std::mutex mu_;
  std::vector<Planned> planned_;
  int sends_ = 0;
  int inner_sends_ = 0;
};

class FaultInjectingTransport : public fhir::HttpTransport {
 public:
  FaultInjectingTransport(std::unique_ptr<fhir::HttpTransport> inner,
                          std::shared_ptr<FaultPlan> plan);
  Result<fhir::HttpResponse> Send(const fhir::HttpRequest& request) override;

 private:
  std::unique_ptr<fhir::HttpTransport> inner_;
  std::shared_ptr<FaultPlan> plan_;
};

// A FhirClient whose every pooled transport is a FaultInjectingTransport over a libcurl
// transport built from options, all sharing plan.
std::unique_ptr<fhir::FhirClient> MakeFaultInjectingClient(const fhir::ClientOptions& options,
                                                           std::shared_ptr<FaultPlan> plan);

}  // namespace countersign::testing
