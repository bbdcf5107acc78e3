#include "source/control_plane/store/json_object.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace portico::control_plane::json {
namespace {

absl::Status bad(absl::string_view what) {
  return absl::InvalidArgumentError(std::string("malformed JSON: ") + std::string(what));
}

void skipSpace(absl::string_view s, size_t& i) {
  while (i < s.size() && absl::ascii_isspace(static_cast<unsigned char>(s[i]))) i++;
}

// Moves `i` past one string starting at s[i] == '"'.
bool skipString(absl::string_view s, size_t& i) {
  for (i++; i < s.size(); i++) {
    if (s[i] == '\\') {
      i++;
    } else if (s[i] == '"') {
      i++;
      return true;
    }
  }
  return false;
}

// Moves `i` past one value (any type); nesting is tracked, strings are skipped whole.
bool skipValue(absl::string_view s, size_t& i) {
  skipSpace(s, i);
  if (i >= s.size()) return false;
  if (s[i] == '"') return skipString(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
           !absl::ascii_isspace(static_cast<unsigned char>(s[i]))) {
      i++;
    }
    return true;
  }
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      if (!skipString(s, i)) return false;
      continue;
    }
    if (c == '{' || c == '[') depth++;
    if (c == '}' || c == ']') depth--;
    i++;
    if (depth == 0) return true;
  }
  return false;
}

void appendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

absl::StatusOr<std::string> decodeString(absl::string_view raw) {
  raw = absl::StripAsciiWhitespace(raw);
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return bad("not a string");
  std::string out;
  for (size_t i = 1; i + 1 < raw.size(); i++) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i + 1 > raw.size() - 1) return bad("dangling escape");
    switch (raw[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (i + 4 >= raw.size() || !absl::SimpleHexAtoi(raw.substr(i + 1, 4), &cp)) {
          return bad("bad \\u escape");
        }
        i += 4;
        // A surrogate pair: \ud83d\ude00.
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < raw.size() && raw[i + 1] == '\\' &&
            raw[i + 2] == 'u') {
          uint32_t lo = 0;
          if (absl::SimpleHexAtoi(raw.substr(i + 3, 4), &lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        appendUtf8(cp, out);
        break;
      }
      default:  // \" \\ \/
        out += raw[i];
    }
  }
  return out;
}

absl::StatusOr<std::vector<Member>> splitObject(absl::string_view s) {
  std::vector<Member> out;
  size_t i = 0;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '{') return bad("not an object");
  i++;
  skipSpace(s, i);
  if (i < s.size() && s[i] == '}') return out;
  while (i < s.size()) {
    skipSpace(s, i);
    size_t key_start = i;
    if (i >= s.size() || s[i] != '"' || !skipString(s, i)) return bad("expected a key");
    auto key = decodeString(s.substr(key_start, i - key_start));
    if (!key.ok()) return key.status();
    skipSpace(s, i);
    if (i >= s.size() || s[i] != ':') return bad("expected ':'");
    i++;
    skipSpace(s, i);
    size_t value_start = i;
    if (!skipValue(s, i)) return bad("unterminated value");
    out.push_back({*key, std::string(s.substr(value_start, i - value_start))});
    skipSpace(s, i);
    if (i < s.size() && s[i] == ',') {
      i++;
      continue;
    }
    if (i < s.size() && s[i] == '}') return out;
    return bad("expected ',' or '}'");
  }
  return bad("unterminated object");
}

}  // namespace portico::control_plane::json
