#include "source/xds/tls_client.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"

#ifndef OPENSSL_IS_BORINGSSL
#error "the data plane links BoringSSL only (see BUILD_FACTS.md)"
#endif

namespace portico::xds {

namespace {
std::string lastError() {
  uint32_t e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}
}  // namespace

absl::StatusOr<std::unique_ptr<TlsClient>> TlsClient::create(const TlsOptions& options) {
  std::unique_ptr<TlsClient> client(new TlsClient());
  client->ctx_ = SSL_CTX_new(TLS_method());
  if (client->ctx_ == nullptr) return absl::InternalError(lastError());
  SSL_CTX_set_min_proto_version(client->ctx_, TLS1_2_VERSION);
  if (options.ca_file.empty() ||
      SSL_CTX_load_verify_locations(client->ctx_, options.ca_file.c_str(), nullptr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load CA file '", options.ca_file, "': ", lastError()));
  }
  SSL_CTX_set_verify(client->ctx_, SSL_VERIFY_PEER, nullptr);
  static const uint8_t kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(client->ctx_, kAlpn, sizeof(kAlpn));

  client->ssl_ = SSL_new(client->ctx_);
  if (client->ssl_ == nullptr) return absl::InternalError(lastError());
  if (!options.server_name.empty()) {
    // SNI, and the name the certificate must match (DNS name or IP address).
    SSL_set_tlsext_host_name(client->ssl_, options.server_name.c_str());
    X509_VERIFY_PARAM* param = SSL_get0_param(client->ssl_);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, options.server_name.c_str()) != 1) {
      ERR_clear_error();
      if (X509_VERIFY_PARAM_set1_host(param, options.server_name.c_str(),
                                      options.server_name.size()) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid server name '", options.server_name, "': ", lastError()));
      }
    }
  }
  SSL_set_bio(client->ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_connect_state(client->ssl_);
  return client;
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

void TlsClient::drain(std::string& out) {
  BIO* wbio = SSL_get_wbio(ssl_);
  char buf[16 * 1024];
  int n;
  while ((n = BIO_read(wbio, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
}

absl::Status TlsClient::sslError(int rc, absl::string_view what) {
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return absl::OkStatus();
  const uint32_t first = ERR_peek_error();
  std::string error = lastError();
  // BoringSSL's queue says only CERTIFICATE_VERIFY_FAILED; the chain check's own result says
  // which: an unknown CA, an expired certificate, a name that does not match. Only then: before
  // the check ran, the result holds a placeholder.
  if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    absl::StrAppend(&error, " (", X509_verify_cert_error_string(SSL_get_verify_result(ssl_)), ")");
  }
  return absl::UnavailableError(absl::StrCat("TLS ", what, ": ", error));
}

absl::Status TlsClient::handshake(std::string& out) {
  if (handshake_done_) return absl::OkStatus();
  int rc = SSL_do_handshake(ssl_);
  drain(out);
  if (rc == 1) {
    const uint8_t* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn_len != 2 || alpn[0] != 'h' || alpn[1] != '2') {
      return absl::UnavailableError("TLS: the control plane did not select ALPN h2");
    }
    handshake_done_ = true;
    return absl::OkStatus();
  }
  return sslError(rc, "handshake");
}

absl::Status TlsClient::onNetworkData(absl::string_view cipher, std::string& plain,
                                      std::string& out) {
  BIO_write(SSL_get_rbio(ssl_), cipher.data(), static_cast<int>(cipher.size()));
  if (!handshake_done_) {
    absl::Status st = handshake(out);
    if (!st.ok() || !handshake_done_) return st;
  }
  char buf[16 * 1024];
  while (true) {
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      plain.append(buf, static_cast<size_t>(n));
      continue;
    }
    drain(out);  // e.g. key updates
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_ZERO_RETURN) return absl::UnavailableError("TLS: peer closed");
    return sslError(n, "read");
  }
}

absl::Status TlsClient::write(absl::string_view plain, std::string& out) {
  while (!plain.empty()) {
    int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) return sslError(n, "write");
    plain.remove_prefix(static_cast<size_t>(n));
  }
  drain(out);
  return absl::OkStatus();
}

}  // namespace portico::xds
