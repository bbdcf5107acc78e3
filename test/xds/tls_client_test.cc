#include "source/xds/tls_client.h"

#include <openssl/bio.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// These tests must build against BoringSSL's headers and load only BoringSSL (the data plane
// never links OpenSSL).
#ifndef OPENSSL_IS_BORINGSSL
#error "tls_client_test must be compiled against BoringSSL (-isystem /usr/include/android)"
#endif

namespace portico::xds {
namespace {

using ::testing::HasSubstr;

constexpr char kAlpnH2[] = "h2";

bssl::UniquePtr<EVP_PKEY> newKey() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EXPECT_TRUE(ec != nullptr && EC_KEY_generate_key(ec.get()) == 1);
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  EXPECT_EQ(EVP_PKEY_assign_EC_KEY(key.get(), ec.release()), 1);
  return key;
}

struct Identity {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  ASSERT_NE(ext, nullptr) << value;
  ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1) << value;
}

// A certificate for a fresh key named `common_name`, signed by `issuer` (self-signed when
// null). `subject_alt_names` (e.g. "IP:127.0.0.1,DNS:cp.test") makes it a server certificate;
// without it, it is a CA.
Identity makeIdentity(const std::string& common_name, const Identity* issuer,
                      const char* subject_alt_names = nullptr) {
  static long serial = 1;
  Identity id{newKey(), bssl::UniquePtr<X509>(X509_new())};
  X509* cert = id.cert.get();
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key.get() : id.key.get();
  EXPECT_EQ(X509_set_version(cert, 2), 1);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  EXPECT_EQ(X509_set_pubkey(cert, id.key.get()), 1);
  if (subject_alt_names == nullptr) {
    addExtension(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExtension(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert, issuer_cert, NID_ext_key_usage, "serverAuth");
    addExtension(cert, issuer_cert, NID_subject_alt_name, subject_alt_names);
  }
  EXPECT_GT(X509_sign(cert, issuer_key, EVP_sha256()), 0);
  return id;
}

std::string tempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void writeFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// Writes `cert` as PEM to a temp file; returns its path.
std::string writePem(const std::string& name, X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_X509(bio.get(), cert), 1);
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  const std::string path = tempPath(name);
  writeFile(path, std::string(reinterpret_cast<const char*>(data), len));
  return path;
}

// The control plane's side: a BoringSSL server session over memory BIOs.
class TestServer {
 public:
  TestServer(const Identity& identity, bool offer_h2, uint16_t max_version) {
    ctx_.reset(SSL_CTX_new(TLS_method()));
    EXPECT_EQ(SSL_CTX_use_certificate(ctx_.get(), identity.cert.get()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_.get(), identity.key.get()), 1);
    EXPECT_EQ(SSL_CTX_set_max_proto_version(ctx_.get(), max_version), 1);
    if (offer_h2) SSL_CTX_set_alpn_select_cb(ctx_.get(), selectH2, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_bio(ssl_.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_accept_state(ssl_.get());
  }

  // Ciphertext from the client: continues the handshake, then decrypts for takeReceived().
  void onNetworkData(const std::string& cipher) {
    if (!cipher.empty()) {
      BIO_write(SSL_get_rbio(ssl_.get()), cipher.data(), static_cast<int>(cipher.size()));
    }
    if (!SSL_is_init_finished(ssl_.get()) && SSL_do_handshake(ssl_.get()) != 1) {
      ERR_clear_error();  // waiting for more, or refused by the client: the client reports it
      return;
    }
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_.get(), buf, sizeof(buf))) > 0) {
      received_.append(buf, static_cast<size_t>(n));
    }
    ERR_clear_error();
  }
  void write(const std::string& plain) {
    ASSERT_EQ(SSL_write(ssl_.get(), plain.data(), static_cast<int>(plain.size())),
              static_cast<int>(plain.size()));
  }
  void close() { SSL_shutdown(ssl_.get()); }
  // Ciphertext for the client.
  std::string takeOutput() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(SSL_get_wbio(ssl_.get()), buf, sizeof(buf))) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  bool handshakeDone() const { return SSL_is_init_finished(ssl_.get()); }
  std::string alpn() const {
    const uint8_t* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
  }
  std::string sni() const {
    const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : "";
  }
  uint16_t version() const { return SSL_version(ssl_.get()); }
  std::string takeReceived() { return std::exchange(received_, std::string()); }

 private:
  static int selectH2(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in,
                      unsigned in_len, void*) {
    for (unsigned i = 0; i < in_len;) {
      const uint8_t len = in[i];
      if (i + 1 + len > in_len) break;
      if (std::string(reinterpret_cast<const char*>(in + i + 1), len) == kAlpnH2) {
        *out = in + i + 1;
        *out_len = len;
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
    return SSL_TLSEXT_ERR_NOACK;
  }

  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
  std::string received_;
};

// Splits `cipher` into pieces of at most `chunk` bytes, as a network would.
template <class Fn>
void inChunks(const std::string& cipher, size_t chunk, Fn fn) {
  for (size_t i = 0; i < cipher.size(); i += chunk) fn(cipher.substr(i, chunk));
}

class TlsClientTest : public ::testing::Test {
 protected:
  TlsClientTest()
      : ca_(makeIdentity("Test CA", nullptr)),
        other_ca_(makeIdentity("Other CA", nullptr)),
        server_identity_(makeIdentity("cp.test", &ca_, "IP:127.0.0.1,DNS:cp.test")),
        ca_file_(writePem("ca.pem", ca_.cert.get())),
        other_ca_file_(writePem("other_ca.pem", other_ca_.cert.get())) {}

  std::unique_ptr<TlsClient> newClient(const std::string& server_name, const std::string& ca_file) {
    auto client = TlsClient::create({ca_file, server_name});
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // Pumps the handshake between `client` and `server` until the client is done or fails;
  // then hands the client's last flight to the server. Returns the client's status.
  absl::Status handshake(TlsClient& client, TestServer& server) {
    std::string to_server;
    absl::Status status = client.handshake(to_server);
    for (int round = 0; round < 10 && status.ok() && !client.handshakeDone(); round++) {
      server.onNetworkData(to_server);
      to_server.clear();
      std::string plain;
      status = client.onNetworkData(server.takeOutput(), plain, to_server);
      EXPECT_EQ(plain, "");
    }
    server.onNetworkData(to_server);
    if (status.ok()) {
      EXPECT_TRUE(client.handshakeDone());
    }
    return status;
  }

  // The client's handshake error against the test server.
  std::string handshakeError(const std::string& server_name, const std::string& ca_file,
                             bool offer_h2 = true) {
    auto client = newClient(server_name, ca_file);
    if (client == nullptr) return "";
    TestServer server(server_identity_, offer_h2, TLS1_3_VERSION);
    absl::Status status = handshake(*client, server);
    EXPECT_FALSE(status.ok());
    EXPECT_FALSE(client->handshakeDone());
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    return std::string(status.message());
  }

  // Sends `data` client -> server and server -> client over an established session, feeding
  // the ciphertext in `chunk`-byte pieces.
  void exchange(TlsClient& client, TestServer& server, const std::string& data, size_t chunk) {
    std::string cipher;
    ASSERT_TRUE(client.write(data, cipher).ok());
    EXPECT_GT(cipher.size(), data.size());
    inChunks(cipher, chunk, [&](const std::string& piece) { server.onNetworkData(piece); });
    const std::string received = server.takeReceived();
    EXPECT_TRUE(received == data) << received.size() << " of " << data.size();

    server.write(data);
    std::string plain;
    std::string replies;
    inChunks(server.takeOutput(), chunk, [&](const std::string& piece) {
      absl::Status status = client.onNetworkData(piece, plain, replies);
      EXPECT_TRUE(status.ok()) << status;
    });
    EXPECT_TRUE(plain == data) << plain.size() << " of " << data.size();
  }

  Identity ca_, other_ca_, server_identity_;
  std::string ca_file_, other_ca_file_;
};

TEST_F(TlsClientTest, HandshakeSelectsH2) {
  for (uint16_t version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    auto client = newClient("cp.test", ca_file_);
    ASSERT_NE(client, nullptr);
    TestServer server(server_identity_, true, version);
    EXPECT_FALSE(client->handshakeDone());
    absl::Status status = handshake(*client, server);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_TRUE(server.handshakeDone());
    EXPECT_EQ(server.version(), version);
    EXPECT_EQ(server.alpn(), "h2");
    EXPECT_EQ(server.sni(), "cp.test");
    // Done: further handshake() calls are no-ops.
    std::string out;
    EXPECT_TRUE(client->handshake(out).ok());
    EXPECT_EQ(out, "");
  }
}

TEST_F(TlsClientTest, ApplicationDataBothWays) {
  for (uint16_t version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    auto client = newClient("127.0.0.1", ca_file_);
    ASSERT_NE(client, nullptr);
    TestServer server(server_identity_, true, version);
    ASSERT_TRUE(handshake(*client, server).ok());

    exchange(*client, server, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 1 << 20);
    // More than 64 KiB, in pieces that split records.
    std::string big(200 * 1024 + 7, '\0');
    for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
    exchange(*client, server, big, 1000);
  }
}

TEST_F(TlsClientTest, ServerNotSelectingH2IsRefused) {
  EXPECT_THAT(handshakeError("cp.test", ca_file_, /*offer_h2=*/false), HasSubstr("ALPN"));
}

// The error says why (reviewer: every verification failure read the same).
TEST_F(TlsClientTest, CertificateFromAnotherCaIsRefused) {
  const std::string error = handshakeError("cp.test", other_ca_file_);
  EXPECT_THAT(error, HasSubstr("CERTIFICATE_VERIFY_FAILED"));
  EXPECT_THAT(error, HasSubstr("(unable to get local issuer certificate)"));
}

TEST_F(TlsClientTest, WrongServerNameIsRefused) {
  for (const char* name : {"other.test", "cp.test.evil"}) {
    SCOPED_TRACE(name);
    const std::string error = handshakeError(name, ca_file_);
    EXPECT_THAT(error, HasSubstr("CERTIFICATE_VERIFY_FAILED"));
    EXPECT_THAT(error, HasSubstr("(Hostname mismatch)"));
  }
  for (const char* name : {"127.0.0.2", "::1"}) {
    SCOPED_TRACE(name);
    const std::string error = handshakeError(name, ca_file_);
    EXPECT_THAT(error, HasSubstr("CERTIFICATE_VERIFY_FAILED"));
    EXPECT_THAT(error, HasSubstr("(IP address mismatch)"));
  }
}

TEST_F(TlsClientTest, IpAndDnsNamesAreBothVerified) {
  for (const char* name : {"127.0.0.1", "cp.test", "CP.TEST"}) {
    SCOPED_TRACE(name);
    auto client = newClient(name, ca_file_);
    ASSERT_NE(client, nullptr);
    TestServer server(server_identity_, true, TLS1_3_VERSION);
    absl::Status status = handshake(*client, server);
    EXPECT_TRUE(status.ok()) << status;
  }
}

TEST_F(TlsClientTest, PeerCloseIsReported) {
  auto client = newClient("cp.test", ca_file_);
  ASSERT_NE(client, nullptr);
  TestServer server(server_identity_, true, TLS1_3_VERSION);
  ASSERT_TRUE(handshake(*client, server).ok());
  server.close();
  std::string plain, out;
  absl::Status status = client->onNetworkData(server.takeOutput(), plain, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("peer closed"));
}

TEST_F(TlsClientTest, UnusableCaFileIsRefusedAtCreate) {
  const std::string no_certs = tempPath("no_certs.pem");
  writeFile(no_certs, "not a certificate\n");
  const std::string empty = tempPath("empty.pem");
  writeFile(empty, "");
  for (const std::string& ca_file :
       {tempPath("does_not_exist.pem"), std::string(), no_certs, empty}) {
    SCOPED_TRACE(ca_file);
    auto client = TlsClient::create({ca_file, "cp.test"});
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(client.status().message()),
                HasSubstr("cannot load CA file '" + ca_file + "'"));
  }
}

// The data plane never loads OpenSSL: only the BoringSSL snapshot's libssl/libcrypto.
TEST(TlsClientLinkTest, OnlyBoringSslIsLoaded) {
  std::ifstream maps("/proc/self/maps");
  ASSERT_TRUE(maps.good());
  std::string line;
  bool boringssl = false;
  while (std::getline(maps, line)) {
    if (line.find("libssl") == std::string::npos && line.find("libcrypto") == std::string::npos) {
      continue;
    }
    EXPECT_THAT(line, HasSubstr("/android/")) << "a non-BoringSSL TLS library is loaded";
    boringssl = true;
  }
  EXPECT_TRUE(boringssl);
}

}  // namespace
}  // namespace portico::xds
