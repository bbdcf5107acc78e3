#include "source/control_plane/cli/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace portico::control_plane::cli {
namespace {

// Decodes a chunked body; returns false when it is malformed.
bool dechunk(absl::string_view in, std::string& out) {
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == absl::string_view::npos) return false;
    absl::string_view size_text = in.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    size_t size = 0;
    if (!absl::SimpleHexAtoi(size_text, &size)) return false;
    in.remove_prefix(eol + 2);
    if (size == 0) return true;
    if (size > in.size() || in.size() - size < 2) return false;  // (size + 2 could wrap)
    out.append(in.data(), size);
    in.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<ClientResponse> httpRequest(const std::string& server, const std::string& method,
                                           const std::string& path, const std::string& token,
                                           const std::string& body, int timeout_seconds) {
  absl::string_view url = server;
  if (!absl::ConsumePrefix(&url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--server must be http://HOST:PORT, not '", server, "'"));
  }
  url = absl::StripSuffix(url, "/");
  size_t colon = url.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError("--server needs a port: http://HOST:PORT");
  }
  std::string host(url.substr(0, colon)), port(url.substr(colon + 1));
  if (absl::StartsWith(host, "[")) host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve '", host, "'"));
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{timeout_seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", server, ": ", strerror(err)));
  }
  std::string req = absl::StrCat(method, " ", path, " HTTP/1.1\r\nhost: ", url,
                                 "\r\nconnection: close\r\nuser-agent: portico-control\r\n");
  if (!token.empty()) absl::StrAppend(&req, "authorization: Bearer ", token, "\r\n");
  if (!body.empty() || method == "PUT" || method == "POST") {
    absl::StrAppend(&req, "content-type: application/yaml\r\ncontent-length: ", body.size(),
                    "\r\n");
  }
  absl::StrAppend(&req, "\r\n", body);
  for (size_t off = 0; off < req.size();) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("send to ", server, " failed"));
    }
    off += n;
  }
  std::string raw;
  char buf[16384];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("no answer from ", server));
    }
    if (n == 0) break;
    raw.append(buf, n);
  }
  close(fd);
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || !absl::StartsWith(raw, "HTTP/1.")) {
    return absl::UnavailableError(absl::StrCat("malformed answer from ", server));
  }
  ClientResponse out;
  absl::string_view head(raw.data(), head_end);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &out.status)) {
    return absl::UnavailableError("malformed status line");
  }
  bool chunked = false;
  for (size_t i = 1; i < lines.size(); i++) {
    std::string l = absl::AsciiStrToLower(lines[i]);
    if (absl::StartsWith(l, "transfer-encoding:") && absl::StrContains(l, "chunked")) {
      chunked = true;
    }
  }
  absl::string_view payload(raw.data() + head_end + 4, raw.size() - head_end - 4);
  if (chunked) {
    if (!dechunk(payload, out.body)) return absl::UnavailableError("malformed chunked body");
  } else {
    out.body = std::string(payload);
  }
  return out;
}

}  // namespace portico::control_plane::cli
