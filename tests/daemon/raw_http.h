// Test support: a raw TCP connection to a loopback port, for requests no well-behaved client
// sends (a 1 MB URL, 10,000 headers, a negative Content-Length, half a header, a chunked body
// that never ends), and a reader for the answer that needs no HTTP library.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace countersign::daemon::testing {

struct RawAnswer {
  int status = 0;        // 0: no answer (closed or timed out first)
  std::string headers;   // the header block, as received
  std::string body;
  bool Has(std::string_view header_line) const;  // "Name: value" (case-insensitive name)
};

class RawConn {
 public:
  // Connects to 127.0.0.1:port; timeout_ms bounds every later send and read.
  explicit RawConn(int port, int timeout_ms = 5000);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends all of data; false when the peer closed or the send timed out.
  bool Send(std::string_view data);
  // Reads one answer (headers, then Content-Length bytes of body).
  RawAnswer Read();
  // Whether the server closes the connection within timeout_ms (read returns end of stream or
  // a reset; data that arrives first is dropped).
  bool ClosedWithin(int timeout_ms);

 private:
  int fd_ = -1;
  std::string pending_;
};

// Resident set peak of this process in KiB (VmHWM), and a reset of that peak.
long PeakRssKib();
void ResetPeakRss();

}  // namespace countersign::daemon::testing
