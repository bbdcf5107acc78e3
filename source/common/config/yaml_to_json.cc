#include "source/common/config/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "source/common/common/json_escape.h"
#include "source/common/common/utf8.h"

namespace portico::config {
namespace {

// A JSON number exactly (RFC 8259 6): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// Anything else ("+5", ".5", "007", "0x1f", "inf") stays a string.
bool looksNumeric(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  auto digits = [&] {
    size_t start = i;
    while (i < n && absl::ascii_isdigit(s[i])) i++;
    return i > start;
  };
  if (i < n && s[i] == '-') i++;
  if (i < n && s[i] == '0') {
    i++;
  } else if (!digits()) {
    return false;
  }
  if (i < n && s[i] == '.') {
    i++;
    if (!digits()) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (!digits()) return false;
  }
  return i == n;
}

// Protobuf's JSON form of a Duration is seconds only ("0.25s"). For fields named like durations
// (…timeout, …interval) we also accept "250ms", "100us", "2m", "1h" and rewrite them.
bool isDurationKey(absl::string_view key) {  // snake_case or protobuf JSON's lowerCamelCase
  return absl::EndsWith(key, "timeout") || absl::EndsWith(key, "interval") ||
         absl::EndsWith(key, "Timeout") || absl::EndsWith(key, "Interval");
}

// The field a schema key names: protobuf's JSON parser takes "connectTimeout" for
// "connect_timeout", so the two spellings are one key.
std::string fieldKey(absl::string_view key) {
  std::string out;
  out.reserve(key.size() + 4);
  for (char c : key) {
    if (absl::ascii_isupper(c)) {
      out.push_back('_');
      out.push_back(absl::ascii_tolower(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool rewriteDuration(const std::string& s, std::string& out) {
  static const std::pair<absl::string_view, double> kUnits[] = {
      {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}, {"m", 60}, {"h", 3600}};
  for (const auto& [suffix, factor] : kUnits) {
    if (!absl::EndsWith(s, suffix)) continue;
    double v;
    if (!absl::SimpleAtod(absl::string_view(s).substr(0, s.size() - suffix.size()), &v) || v < 0) {
      return false;
    }
    out += absl::StrFormat("\"%.9fs\"", v * factor);
    return true;
  }
  return false;
}

// `key`: the mapping key `node` is the value of. `rewrite_durations`: off inside free-form
// string maps (node metadata, target labels), where "session_timeout: 30m" is a value.
absl::Status convert(const YAML::Node& node, std::string& out, size_t budget, int depth,
                     absl::string_view key = "", bool rewrite_durations = true) {
  if (depth > 64) return absl::InvalidArgumentError("YAML nested too deeply");
  // Aliases repeat what they name: a few lines of anchors can stand for billions of nodes
  // ("billion laughs"). Every node adds to the output, so bounding it bounds the work too.
  if (out.size() > budget) {
    return absl::InvalidArgumentError(absl::StrCat("YAML expands to more than ", budget,
                                                   " bytes of JSON (aliases repeating aliases?)"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out += "null";
      return absl::OkStatus();
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (rewrite_durations && isDurationKey(key) && rewriteDuration(s, out)) {
        return absl::OkStatus();
      }
      if (node.Tag() == "!") {  // quoted
        appendJsonString(s, out);
      } else if (s == "true" || s == "false") {
        out += s;
      } else if (s == "null" || s == "~") {
        out += "null";
      } else if (looksNumeric(s)) {
        out += s;
      } else {
        appendJsonString(s, out);
      }
      return absl::OkStatus();
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const YAML::Node& item : node) {
        if (!first) out += ',';
        first = false;
        absl::Status st = convert(item, out, budget, depth + 1, "", rewrite_durations);
        if (!st.ok()) return st;
      }
      out += ']';
      return absl::OkStatus();
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      // Free-form string maps (node metadata, target labels) keep their values as written:
      // both sides of a label match must see the same text.
      const bool rewrite_inside = rewrite_durations && key != "metadata" && key != "labels";
      // yaml-cpp keeps both of a repeated key, and protobuf's parser would take the last one
      // silently (or join two lists): YAML says keys are unique, so a repeat is an error, and
      // so is a field written both in snake_case and in lowerCamelCase.
      absl::flat_hash_map<std::string, std::string> keys;  // field -> the key as written
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return absl::InvalidArgumentError(absl::StrCat("line ", kv.first.Mark().line + 1,
                                                         ": mapping keys must be plain strings"));
        }
        const std::string& written = kv.first.Scalar();
        auto [it, inserted] =
            keys.try_emplace(rewrite_inside ? fieldKey(written) : written, written);
        if (!inserted) {
          return absl::InvalidArgumentError(absl::StrCat(
              "line ", kv.first.Mark().line + 1, ": duplicate key '", written, "'",
              it->second == written ? "" : absl::StrCat(" (the field '", it->second, "')")));
        }
        if (!first) out += ',';
        first = false;
        appendJsonString(kv.first.Scalar(), out);
        out += ':';
        absl::Status st =
            convert(kv.second, out, budget, depth + 1, kv.first.Scalar(), rewrite_inside);
        if (!st.ok()) return st;
      }
      out += '}';
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace

size_t maxJsonBytes(size_t yaml_bytes) {
  // JSON of YAML without aliases is at most a few times its size (quotes, escapes); anchors
  // reused a handful of times stay far below this.
  return std::max<size_t>(16 * 1024 * 1024, 16 * yaml_bytes);
}

namespace {

// Whether a line is a document marker: "---" or "..." at column 0, alone or before a space.
bool isMarker(absl::string_view line, absl::string_view marker) {
  return absl::StartsWith(line, marker) &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// YAML::Load reads the first document and drops any after it without a word; LoadAll keeps
// every document, and with fuzzed input it ran for seconds and past 2 GiB. So a second
// document is found here, on the text: content after a "---" or "..." line that follows
// content (document markers sit at column 0 and cannot occur inside a scalar).
bool hasSecondDocument(absl::string_view yaml) {
  bool content = false, ended = false;
  for (absl::string_view line : absl::StrSplit(yaml, '\n')) {
    const bool start = isMarker(line, "---");
    if (start || isMarker(line, "...")) {
      if (content) ended = true;
      line.remove_prefix(3);  // "--- |" or "--- {a: 1}" carries content
    } else if (!content && absl::StartsWith(line, "%")) {
      continue;  // a directive before the first document
    }
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    if (ended) return true;
    content = true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::string> yamlToJson(const std::string& yaml) {
  // A YAML stream is Unicode text (YAML 1.2, 5.2); bytes that are not UTF-8 would otherwise
  // pass through yaml-cpp and become other characters (each byte read as Latin-1), so a route
  // would match a path nobody wrote. UTF-16 and UTF-32 streams (with their byte order mark)
  // are yaml-cpp's to decode.
  const bool utf16_or_32 = absl::StartsWith(yaml, "\xff\xfe") ||
                           absl::StartsWith(yaml, "\xfe\xff") ||
                           absl::StartsWith(yaml, absl::string_view("\0\0\xfe\xff", 4));
  for (size_t i = 0, line = 1; !utf16_or_32 && i < yaml.size();) {
    const size_t n = utf8::sequenceLength(yaml, i);
    if (n == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line, ": bytes that are not UTF-8 (YAML and JSON are UTF-8 text)"));
    }
    if (yaml[i] == '\n') line++;
    i += n;
  }
  if (hasSecondDocument(yaml)) {
    return absl::InvalidArgumentError(
        "more than one YAML document (\"---\"); one document is expected here");
  }
  YAML::Node root;
  try {
    // yaml-cpp reports errors by exception; they stop here.
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML syntax error at line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
  std::string out;
  absl::Status st = convert(root, out, maxJsonBytes(yaml.size()), 0);
  if (!st.ok()) return st;
  return out;
}

}  // namespace portico::config
