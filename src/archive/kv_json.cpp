#include "archive/kv_json.hpp"

#include <array>
#include <cassert>
#include <charconv>
#include <optional>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "util/base64.hpp"
#include "util/json_stream.hpp"
#include "util/json_string.hpp"
#include "util/text.hpp"

namespace csnap::archive {

namespace {

constexpr std::size_t kFlushThreshold = std::size_t{64} * 1024;

std::string quoted_key(std::string_view key) {
  std::string out;
  if (!append_json_string(out, key))
    return "(key not valid UTF-8)";
  if (out.size() > 120)
    out = out.substr(0, 110) + "...\"";
  return out;
}

}  // namespace

Status KvJsonWriter::add(std::string_view key, std::string_view value, std::uint64_t flags) {
  assert(!finished_);
  std::size_t rollback = buffer_.size();
  buffer_ += count_ == 0 ? "[\n\t{\n\t\t\"key\": " : ",\n\t{\n\t\t\"key\": ";
  if (!append_json_string(buffer_, key)) {
    buffer_.resize(rollback);
    std::string hex;
    for (unsigned char c : key.substr(0, 64))
      hex += fmt::format("{:02x}", c);
    return Error(ErrorKind::invalid_argument,
                 fmt::format("key is not valid UTF-8 (hex {}{}); kv.json cannot hold it", hex,
                             key.size() > 64 ? "..." : ""));
  }
  std::array<char, 24> digits{};
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), flags);
  assert(ec == std::errc());
  buffer_ += ",\n\t\t\"flags\": ";
  buffer_.append(digits.data(), end);
  buffer_ += ",\n\t\t\"value\": \"";
  buffer_ += base64::encode(value);
  buffer_ += "\"\n\t}";
  ++count_;
  if (buffer_.size() >= kFlushThreshold)
    return flush();
  return {};
}

Status KvJsonWriter::finish() {
  assert(!finished_);
  finished_ = true;
  // Go's MarshalIndent writes an empty array as "[]"; consul kv export then adds a newline.
  buffer_ += count_ == 0 ? "[]\n" : "\n]\n";
  return flush();
}

Status KvJsonWriter::flush() {
  if (buffer_.empty())
    return {};
  CSNAP_TRY(out_->write(std::string_view(buffer_)));
  buffer_.clear();
  return {};
}

namespace {

enum class Field { none, key, flags, value, ignored };

class KvHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, KvHandler> {
 public:
  explicit KvHandler(const std::function<Status(KvRecord&&)>& on_record) : on_record_(on_record) {}

  bool Null() { return scalar("null", nullptr, 0); }
  bool Bool(bool) { return scalar("a boolean", nullptr, 0); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    return scalar("a number", text, length);
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    return scalar("a string", text, length);
  }
  bool StartObject() {
    if (depth_ == 1) {
      depth_ = 2;
      record_ = KvRecord{};
      have_key_ = have_flags_ = have_value_ = key_known_ = false;
      return true;
    }
    if (depth_ == 0)
      return fail("the document is not a JSON array");
    if (depth_ == 2 && field_ != Field::ignored)
      return wrong_type("an object");
    ++depth_;
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    if (depth_ > 2)
      return true;
    // Field names match without regard to case, as in Go's encoding/json (and so in
    // `consul kv import`): Consul's own {"Key", "Flags", "Value", ...} objects read too.
    const std::string name = to_lower(std::string_view(text, length));
    bool* seen = nullptr;
    if (name == "key") {
      field_ = Field::key;
      seen = &have_key_;
    } else if (name == "flags") {
      field_ = Field::flags;
      seen = &have_flags_;
    } else if (name == "value") {
      field_ = Field::value;
      seen = &have_value_;
    } else {
      // Later Consul versions may add fields (namespace, partition): skip them.
      field_ = Field::ignored;
      return true;
    }
    if (*seen)
      return fail(fmt::format("field \"{}\" appears twice", name));
    *seen = true;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (depth_ > 2) {
      --depth_;
      return true;
    }
    if (!have_key_)
      return fail("missing \"key\"");
    if (!have_flags_)
      return fail("missing \"flags\"");
    if (!have_value_)
      return fail("missing \"value\"");
    depth_ = 1;
    field_ = Field::none;
    if (auto status = on_record_(std::move(record_)); !status) {
      callback_error_ = std::move(status).error();
      return false;
    }
    ++index_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 1)
      return fail("an entry is an array, not an object");
    if (depth_ == 2 && field_ != Field::ignored)
      return wrong_type("an array");
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    if (depth_ == 1) {
      depth_ = 0;
      done_ = true;
      return true;
    }
    --depth_;
    return true;
  }

  std::optional<Error>& error() { return error_; }
  std::optional<Error>& callback_error() { return callback_error_; }
  bool done() const { return done_; }
  std::uint64_t index() const { return index_; }

 private:
  bool scalar(const char* type, const char* text, rapidjson::SizeType length) {
    if (depth_ == 0)
      return fail("the document is not a JSON array");
    if (depth_ == 1)
      return fail(fmt::format("an entry is {}, not an object", type));
    if (depth_ > 2 || field_ == Field::ignored)
      return true;
    std::string_view data(text == nullptr ? "" : text, length);
    switch (field_) {
      case Field::key:
        if (text == nullptr || std::string_view(type) != "a string")
          return wrong_type(type);
        record_.key.assign(data);
        key_known_ = true;
        return true;
      case Field::value: {
        if (std::string_view(type) == "null") {
          record_.value.clear();
          return true;
        }
        if (text == nullptr || std::string_view(type) != "a string")
          return wrong_type(type);
        auto decoded = base64::decode(data);
        if (!decoded)
          return fail("\"value\" is not valid base64");
        record_.value = std::move(*decoded);
        return true;
      }
      case Field::flags:
        if (std::string_view(type) != "a number")
          return wrong_type(type);
        return parse_flags(data);
      case Field::none:
      case Field::ignored:
        break;
    }
    return true;
  }

  bool parse_flags(std::string_view digits) {
    for (char c : digits) {
      if (c < '0' || c > '9') {
        return fail(fmt::format("\"flags\" is {}, not an unsigned integer", digits));
      }
    }
    if (digits.size() > 1 && digits.front() == '0') {
      return fail("\"flags\" has a leading zero");
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), record_.flags);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return fail(fmt::format("\"flags\" {} does not fit in 64 bits", digits));
    }
    return true;
  }

  bool wrong_type(const char* type) {
    const char* name = field_ == Field::key ? "key" : field_ == Field::flags ? "flags" : "value";
    return fail(fmt::format("\"{}\" is {}", name, type));
  }

  bool fail(const std::string& what) {
    std::string where;
    if (depth_ >= 2 && key_known_) {
      where = fmt::format("entry {} (key {}): ", index_, quoted_key(record_.key));
    } else if (depth_ >= 1) {
      where = fmt::format("entry {}: ", index_);
    }
    error_ = Error(ErrorKind::corrupt, where + what);
    return false;
  }

  const std::function<Status(KvRecord&&)>& on_record_;
  int depth_ = 0;  // 0 outside, 1 in the array, 2 in an entry, more inside an ignored field
  Field field_ = Field::none;
  KvRecord record_;
  bool have_key_ = false;
  bool have_flags_ = false;
  bool have_value_ = false;
  bool key_known_ = false;
  bool done_ = false;
  std::uint64_t index_ = 0;
  std::optional<Error> error_;
  std::optional<Error> callback_error_;
};

// Counts nesting and nothing else.
class DepthHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthHandler> {
 public:
  explicit DepthHandler(int max_depth) : max_depth_(max_depth) {}
  bool StartObject() { return enter(); }
  bool EndObject(rapidjson::SizeType) { return leave(); }
  bool StartArray() { return enter(); }
  bool EndArray(rapidjson::SizeType) { return leave(); }
  bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_depth_;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }
  int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

// Runs rapidjson's iterative parser (it never recurses) over `stream` with `handler`.
template <typename Handler>
rapidjson::ParseResult parse_stream(JsonSourceStream& stream, Handler& handler) {
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseIterativeFlag;
  return reader.Parse<kFlags>(stream, handler);
}

}  // namespace

Status check_json(ByteSource& source, std::string_view name, int max_depth) {
  JsonSourceStream stream(source);
  DepthHandler handler(max_depth);
  rapidjson::ParseResult result = parse_stream(stream, handler);
  if (stream.error())
    return std::move(*stream.error());
  if (handler.too_deep()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("{}: JSON nested more than {} levels deep (at byte {})", name,
                             max_depth, result.Offset()));
  }
  if (result.IsError()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("{}: invalid JSON at byte {}: {}", name, result.Offset(),
                             rapidjson::GetParseError_En(result.Code())));
  }
  return {};
}

Status read_kv_json(ByteSource& source, const std::function<Status(KvRecord&&)>& on_record) {
  JsonSourceStream stream(source);
  KvHandler handler(on_record);
  rapidjson::ParseResult result = parse_stream(stream, handler);
  if (stream.error())
    return std::move(*stream.error());
  if (handler.callback_error())
    return std::move(*handler.callback_error());
  if (handler.error())
    return std::move(*handler.error());
  if (result.IsError()) {
    std::string where =
        handler.done() ? "" : fmt::format(" (in or after entry {})", handler.index());
    return Error(ErrorKind::corrupt,
                 fmt::format("invalid JSON at byte {}{}: {}", result.Offset(), where,
                             rapidjson::GetParseError_En(result.Code())));
  }
  return {};
}

}  // namespace csnap::archive
