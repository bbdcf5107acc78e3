#include "source/control_plane/store/resource_parser.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/json_escape.h"
#include "source/common/common/utf8.h"
#include "source/common/config/yaml_to_json.h"
#include "source/control_plane/store/json.h"
#include "source/control_plane/store/json_object.h"

namespace portico::control_plane {
namespace {

absl::Status docError(absl::string_view where, absl::string_view field, absl::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, ": ", msg));
}

bool isObject(absl::string_view raw) {
  raw = absl::StripLeadingAsciiWhitespace(raw);
  return !raw.empty() && raw[0] == '{';
}

// Targets are matched against a node's cluster and metadata (protobuf strings: UTF-8). Control
// characters are refused too, so a target reads the same in files, logs and the CLI. Label
// names are at most 253 bytes (Kubernetes' limit), which also keeps them YAML implicit keys
// (those end at 1024 characters) when the store writes them back.
constexpr size_t kMaxLabelNameBytes = 253;

absl::StatusOr<Targets> parseTargets(absl::string_view raw, absl::string_view where) {
  Targets t;
  auto members = json::splitObject(raw);
  if (!isObject(raw) || !members.ok()) {
    return docError(where, "targets", "must be an object {cluster: ..., labels: {...}}");
  }
  for (const json::Member& m : *members) {
    if (m.key == "cluster") {
      auto v = json::decodeString(m.raw);
      if (!v.ok()) return docError(where, "targets.cluster", "must be a string");
      if (!utf8::isPrintableText(*v)) {
        return docError(where, "targets.cluster", "must be UTF-8 without control characters");
      }
      t.cluster = *v;
    } else if (m.key == "labels") {
      auto labels = json::splitObject(m.raw);
      if (!isObject(m.raw) || !labels.ok()) {
        return docError(where, "targets.labels", "must be a map of strings");
      }
      for (const json::Member& l : *labels) {
        auto v = json::decodeString(l.raw);
        if (l.key.empty() || l.key.size() > kMaxLabelNameBytes || !utf8::isPrintableText(l.key)) {
          return docError(where, "targets.labels",
                          absl::StrCat("label name ", jsonString(l.key.substr(0, 64)),
                                       l.key.size() > 64 ? "..." : "",
                                       " must be 1-253 bytes of UTF-8 without control characters"));
        }
        if (!v.ok())
          return docError(where, absl::StrCat("targets.labels.", l.key), "must be a string");
        if (!utf8::isPrintableText(*v)) {
          return docError(where, absl::StrCat("targets.labels.", l.key),
                          "must be UTF-8 without control characters");
        }
        t.labels[l.key] = *v;
      }
    } else {
      return docError(where, absl::StrCat("targets.", m.key), "unknown field (cluster, labels)");
    }
  }
  return t;
}

// One document already converted to JSON. `kind_hint`: the kind the caller expects, or null.
absl::StatusOr<ResourceConstSharedPtr> parseDocument(const std::string& json, const Kind* kind_hint,
                                                     absl::string_view where) {
  auto members = json::splitObject(json);
  if (!isObject(json) || !members.ok()) {
    return docError(where, "(document)", "must be an object {kind, targets, spec}");
  }
  const std::string* kind_raw = nullptr;
  const std::string* targets_raw = nullptr;
  const std::string* spec_raw = nullptr;
  for (const json::Member& m : *members) {
    const std::string** slot = m.key == "kind"      ? &kind_raw
                               : m.key == "targets" ? &targets_raw
                               : m.key == "spec"    ? &spec_raw
                                                    : nullptr;
    if (slot == nullptr) return docError(where, m.key, "unknown field (kind, targets, spec)");
    if (*slot != nullptr) return docError(where, m.key, "given twice");
    *slot = &m.raw;
  }
  Kind kind;
  if (kind_raw != nullptr) {
    auto text = json::decodeString(*kind_raw);
    if (!text.ok()) return docError(where, "kind", "must be a string");
    auto k = parseKind(*text);
    if (!k.ok()) return docError(where, "kind", k.status().message());
    if (kind_hint != nullptr && *k != *kind_hint) {
      return docError(
          where, "kind",
          absl::StrCat("is ", kindName(*k), " but the path says ", kindName(*kind_hint)));
    }
    kind = *k;
  } else if (kind_hint != nullptr) {
    kind = *kind_hint;
  } else {
    return docError(where, "kind", "must be set");
  }
  Targets targets;
  if (targets_raw != nullptr) {
    auto t = parseTargets(*targets_raw, where);
    if (!t.ok()) return t.status();
    targets = std::move(*t);
  }
  if (spec_raw == nullptr) return docError(where, "spec", "must be set");
  if (!isObject(*spec_raw)) return docError(where, "spec", "must be an object");
  std::shared_ptr<google::protobuf::Message> spec = newMessage(kind);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(*spec_raw, spec.get(), options);
  if (!st.ok()) return docError(where, "spec", std::string(st.message()));
  if (specName(kind, *spec).empty()) {
    return docError(where, kind == Kind::kClusterLoadAssignment ? "spec.cluster_name" : "spec.name",
                    "must not be empty");
  }
  return makeResource(kind, std::move(targets), std::move(spec), std::string(where));
}

bool blank(absl::string_view doc) {
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!line.empty() && line[0] != '#') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<ResourceConstSharedPtr>> parseResources(const std::string& text,
                                                                   absl::string_view origin) {
  // Split on "---" lines ourselves so that each document keeps its index and first line.
  std::vector<std::pair<std::string, int>> docs;  // text, first line (1-based)
  std::string current;
  int line_no = 0, first = 1;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line_no++;
    absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(line);
    if (trimmed == "---" || absl::StartsWith(trimmed, "--- ")) {
      docs.emplace_back(std::move(current), first);
      current.clear();
      first = line_no + 1;
      // "--- {kind: Cluster, ...}": the document may begin on the marker's line.
      absl::string_view rest = absl::StripLeadingAsciiWhitespace(trimmed.substr(3));
      if (!rest.empty()) {
        absl::StrAppend(&current, rest, "\n");
        first = line_no;
      }
      continue;
    }
    if (trimmed == "...") continue;
    absl::StrAppend(&current, line, "\n");
  }
  docs.emplace_back(std::move(current), first);

  std::vector<ResourceConstSharedPtr> out;
  int index = 0;
  for (const auto& [doc, first_line] : docs) {
    if (blank(doc)) continue;
    index++;
    const std::string where = absl::StrCat(origin, "#", index);
    auto json = config::yamlToJson(doc);
    if (!json.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, " (document starting at line ",
                                                     first_line, "): ", json.status().message()));
    }
    auto r = parseDocument(*json, nullptr, where);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

absl::StatusOr<ResourceConstSharedPtr> parseResourceWithKind(const std::string& text, Kind kind,
                                                             absl::string_view origin) {
  auto json = config::yamlToJson(text);
  if (!json.ok())
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", json.status().message()));
  return parseDocument(*json, &kind, origin);
}

std::string specToJson(const google::protobuf::Message& spec, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(spec, &out, options);
  if (pretty && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string resourceToJson(const Resource& r, bool pretty) {
  json::ObjectWriter w(pretty);
  w.string("kind", kindName(r.kind));
  if (!r.targets.empty()) {
    json::ObjectWriter t(pretty, 2);
    if (!r.targets.cluster.empty()) t.string("cluster", r.targets.cluster);
    if (!r.targets.labels.empty()) {
      json::ObjectWriter l(pretty, 4);
      for (const auto& [k, v] : r.targets.labels) l.string(k, v);
      t.raw("labels", l.finish());
    }
    w.raw("targets", t.finish());
  }
  std::string spec = specToJson(*r.spec, pretty);
  if (pretty) spec = json::indent(spec, 2);
  w.raw("spec", spec);
  return w.finish();
}

std::string resourcesToFileText(const std::vector<ResourceConstSharedPtr>& resources) {
  std::string out = "# Written by portico-control; edits are welcome (any YAML works).\n";
  for (size_t i = 0; i < resources.size(); i++) {
    if (i > 0) out += "---\n";
    absl::StrAppend(&out, resourceToJson(*resources[i], true), "\n");
  }
  return out;
}

}  // namespace portico::control_plane
