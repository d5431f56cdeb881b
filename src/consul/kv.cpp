#include "consul/kv.hpp"

#include <optional>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "util/base64.hpp"
#include "util/json_stream.hpp"

namespace csnap::consul {
namespace {

enum class Field {
  none,
  key,
  value,
  flags,
  create_index,
  modify_index,
  lock_index,
  session,
  other
};

Field field_for(std::string_view name) {
  if (name == "Key")
    return Field::key;
  if (name == "Value")
    return Field::value;
  if (name == "Flags")
    return Field::flags;
  if (name == "CreateIndex")
    return Field::create_index;
  if (name == "ModifyIndex")
    return Field::modify_index;
  if (name == "LockIndex")
    return Field::lock_index;
  if (name == "Session")
    return Field::session;
  return Field::other;
}

// SAX handler for [ {entry}, ... ]: anything nested deeper inside an entry is skipped. The
// method names are RapidJSON's handler concept (.clang-tidy exempts them from the naming rule).
class EntryHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EntryHandler> {
 public:
  explicit EntryHandler(const std::function<Status(KvEntry&&)>& on_entry) : on_entry_(on_entry) {}

  bool StartArray() {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 1)
      return fail("an entry is not an object");
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType /*count*/) {
    --depth_;
    if (depth_ == 0)
      done_ = true;
    return true;
  }
  bool StartObject() {
    if (depth_ == 0)
      return fail("the listing is not an array");
    if (depth_ == 1) {
      entry_ = KvEntry{};
      has_key_ = false;
      value_ = std::nullopt;
    }
    ++depth_;
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    if (depth_ == 2)
      field_ = field_for(std::string_view(text, length));
    return true;
  }
  bool EndObject(rapidjson::SizeType /*count*/) {
    --depth_;
    if (depth_ != 1)
      return true;
    if (!has_key_)
      return fail("an entry has no Key");
    if (value_) {
      auto decoded = base64::decode(*value_);
      if (!decoded)
        return fail(fmt::format("the Value of key {:?} is not base64", entry_.key));
      entry_.value = std::move(*decoded);
    }
    ++count_;
    auto status = on_entry_(std::move(entry_));
    if (!status.ok()) {
      callback_error_ = std::move(status).error();
      return false;
    }
    return true;
  }
  bool String(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    if (depth_ < 2)
      return fail("an entry is not an object");
    if (depth_ > 2)
      return true;
    std::string_view value(text, length);
    switch (field_) {
      case Field::key:
        entry_.key.assign(value);
        has_key_ = true;
        return true;
      case Field::value:
        value_ = std::string(value);
        return true;
      case Field::session:
        entry_.session.assign(value);
        return true;
      case Field::other:
        return true;
      default:
        return fail(fmt::format("field of key {:?} should be a number", entry_.key));
    }
  }
  bool Uint64(std::uint64_t value) {
    if (depth_ < 2)
      return fail("an entry is not an object");
    if (depth_ > 2)
      return true;
    switch (field_) {
      case Field::flags:
        entry_.flags = value;
        return true;
      case Field::create_index:
        entry_.create_index = value;
        return true;
      case Field::modify_index:
        entry_.modify_index = value;
        return true;
      case Field::lock_index:
        entry_.lock_index = value;
        return true;
      case Field::other:
        return true;
      default:
        return fail(fmt::format("a string field of key {:?} is a number", entry_.key));
    }
  }
  bool Uint(unsigned value) { return Uint64(value); }
  bool Int(int value) { return number_ok(value >= 0) && Uint64(static_cast<std::uint64_t>(value)); }
  bool Int64(std::int64_t value) {
    return number_ok(value >= 0) && Uint64(static_cast<std::uint64_t>(value));
  }
  bool Double(double /*value*/) { return number_ok(false); }
  bool Null() {
    if (depth_ < 2)
      return fail("an entry is not an object");
    if (depth_ == 2 && field_ == Field::key)
      return fail("an entry has a null Key");
    if (depth_ == 2 && field_ == Field::value)
      value_ = std::nullopt;
    return true;
  }
  bool Bool(bool /*value*/) {
    if (depth_ < 2)
      return fail("an entry is not an object");
    return depth_ > 2 || field_ == Field::other || fail("unexpected boolean");
  }
  bool Default() { return fail("unexpected value"); }

  std::optional<Error>& callback_error() { return callback_error_; }
  std::optional<std::string>& problem() { return problem_; }
  std::uint64_t count() const { return count_; }
  bool done() const { return done_; }

 private:
  bool fail(std::string problem) {
    problem_ = std::move(problem);
    return false;
  }
  bool number_ok(bool ok) {
    if (depth_ > 2 || (depth_ == 2 && field_ == Field::other))
      return true;
    return ok || fail(fmt::format("a field of key {:?} is not an unsigned integer", entry_.key));
  }

  const std::function<Status(KvEntry&&)>& on_entry_;
  int depth_ = 0;
  Field field_ = Field::none;
  KvEntry entry_;
  bool has_key_ = false;
  std::optional<std::string> value_;
  std::uint64_t count_ = 0;
  bool done_ = false;
  std::optional<Error> callback_error_;
  std::optional<std::string> problem_;
};

}  // namespace

Result<std::uint64_t> parse_kv_entries(ByteSource& source,
                                       const std::function<Status(KvEntry&&)>& on_entry) {
  JsonSourceStream stream(source);
  EntryHandler handler(on_entry);
  rapidjson::Reader reader;
  auto parsed = reader.Parse<rapidjson::kParseStopWhenDoneFlag>(stream, handler);
  if (handler.callback_error())
    return std::move(*handler.callback_error());
  if (stream.error())
    return std::move(stream.error()->add_context("reading the KV listing"));
  if (parsed.IsError() || !handler.done()) {
    std::string why = handler.problem().value_or(
        parsed.IsError() ? rapidjson::GetParseError_En(parsed.Code()) : "truncated");
    return Error(ErrorKind::corrupt,
                 fmt::format("bad KV listing from Consul at byte {}: {}", parsed.Offset(), why));
  }
  // Only whitespace may follow the array.
  while (stream.Peek() != '\0') {
    char c = stream.Take();
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      return Error(ErrorKind::corrupt, "bad KV listing from Consul: data after the array");
    }
  }
  return handler.count();
}

}  // namespace csnap::consul
