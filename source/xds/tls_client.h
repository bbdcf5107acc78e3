#pragma once

// TlsClient: a TLS 1.2/1.3 client session (BoringSSL) over memory buffers, for the control
// plane stream. Ciphertext in and out goes through our own connection; this class only turns
// bytes into bytes. The peer must present a certificate chaining to `ca_file` for
// `server_name` and must select ALPN "h2".

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace portico::xds {

struct TlsOptions {
  std::string ca_file;
  std::string server_name;
};

class TlsClient {
 public:
  // Refuses an unreadable CA file or a CA file without certificates.
  static absl::StatusOr<std::unique_ptr<TlsClient>> create(const TlsOptions& options);
  ~TlsClient();

  // Starts (or continues) the handshake; ciphertext to send is appended to `out`.
  absl::Status handshake(std::string& out);
  // Ciphertext from the network: handshake messages are processed (replies appended to `out`),
  // application data is appended to `plain`.
  absl::Status onNetworkData(absl::string_view cipher, std::string& plain, std::string& out);
  // Encrypts `plain`; ciphertext appended to `out`. Only after handshakeDone().
  absl::Status write(absl::string_view plain, std::string& out);
  bool handshakeDone() const { return handshake_done_; }

 private:
  TlsClient() = default;
  void drain(std::string& out);
  absl::Status sslError(int rc, absl::string_view what);

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
};

}  // namespace portico::xds
