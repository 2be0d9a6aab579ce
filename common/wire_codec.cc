#include "common/wire_codec.h"

#include <string>
#include <utility>

#include "mp/errors.h"

namespace mp::internal {
namespace {

constexpr std::pair<v1::ObjectType, std::string_view> kTypeNames[] = {
    {v1::DICT, "dict"},
    {v1::LIST, "list"},
    {v1::NAMESPACE, "Namespace"},
    {v1::VALUE, "Value"},
    {v1::ARRAY, "Array"},
    {v1::ITERATOR, "iterator"},
    {v1::LOCK, "Lock"},
    {v1::RLOCK, "RLock"},
    {v1::SEMAPHORE, "Semaphore"},
    {v1::BOUNDED_SEMAPHORE, "BoundedSemaphore"},
    {v1::CONDITION, "Condition"},
    {v1::EVENT, "Event"},
    {v1::BARRIER, "Barrier"},
    {v1::QUEUE, "Queue"},
    {v1::JOINABLE_QUEUE, "JoinableQueue"},
    {v1::CUSTOM, "custom"},
};

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF):
// what protobuf requires of a `string` field, and what Python's str holds.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

std::string_view ObjectTypeName(v1::ObjectType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "unknown";
}

v1::ObjectType ObjectTypeFromName(std::string_view name) {
  for (const auto& [t, n] : kTypeNames) {
    if (n == name) return t;
  }
  return v1::OBJECT_TYPE_UNSPECIFIED;
}

namespace {

[[noreturn]] void ThrowTooDeep(int max_depth) {
  throw ValueError("value nests lists, tuples and dicts more than " +
                   std::to_string(max_depth) + " levels deep, the limit");
}

// `levels` : how many more containers may nest here.
void Encode(const Object& value, v1::Value* out, ProxyEncoder encode_proxy,
            int levels, int max_depth);

void EncodeSequence(const Object::List& items, v1::Sequence* out,
                    ProxyEncoder encode_proxy, int levels, int max_depth) {
  out->mutable_items()->Reserve(static_cast<int>(items.size()));
  for (const Object& item : items) {
    Encode(item, out->add_items(), encode_proxy, levels, max_depth);
  }
}

void Encode(const Object& value, v1::Value* out, ProxyEncoder encode_proxy,
            int levels, int max_depth) {
  switch (value.type()) {
    case Object::Type::kNone:
      out->mutable_none();
      return;
    case Object::Type::kBool:
      out->set_bool_value(value.as_bool());
      return;
    case Object::Type::kInt:
      out->set_int_value(value.as_int());
      return;
    case Object::Type::kFloat:
      out->set_float_value(value.as_float());
      return;
    case Object::Type::kStr:
      // An invalid string would make the receiver reject the whole message
      // (and with it the session): refuse it here, naming the fix.
      if (!IsValidUtf8(value.as_str())) {
        throw ValueError(
            "str value is not valid UTF-8 (use mp::Object::bytes for binary "
            "data)");
      }
      out->set_str_value(value.as_str());
      return;
    case Object::Type::kBytes:
      out->set_bytes_value(value.as_bytes());
      return;
    case Object::Type::kList:
    case Object::Type::kTuple:
    case Object::Type::kDict:
      break;
    case Object::Type::kProxy:
      encode_proxy(*value.as_proxy(), out->mutable_proxy());
      return;
  }
  if (levels == 0) ThrowTooDeep(max_depth);
  if (value.is_list()) {
    EncodeSequence(value.as_list(), out->mutable_list_value(), encode_proxy,
                   levels - 1, max_depth);
  } else if (value.is_tuple()) {
    EncodeSequence(value.as_list(), out->mutable_tuple_value(), encode_proxy,
                   levels - 1, max_depth);
  } else {
    v1::Mapping* m = out->mutable_dict_value();
    const Dict& dict = value.as_dict();
    m->mutable_keys()->Reserve(static_cast<int>(dict.size()));
    m->mutable_values()->Reserve(static_cast<int>(dict.size()));
    for (const auto& [k, v] : dict) {
      Encode(k, m->add_keys(), encode_proxy, levels - 1, max_depth);
      Encode(v, m->add_values(), encode_proxy, levels - 1, max_depth);
    }
  }
}

Object Decode(const v1::Value& value, ProxyDecoder decode_proxy, int levels,
              int max_depth);

Object::List DecodeSequence(const v1::Sequence& seq, ProxyDecoder decode_proxy,
                            int levels, int max_depth) {
  Object::List items;
  items.reserve(seq.items_size());
  for (const v1::Value& item : seq.items()) {
    items.push_back(Decode(item, decode_proxy, levels, max_depth));
  }
  return items;
}

Object Decode(const v1::Value& value, ProxyDecoder decode_proxy, int levels,
              int max_depth) {
  switch (value.kind_case()) {
    case v1::Value::kNone:
      return Object();
    case v1::Value::kBoolValue:
      return Object(value.bool_value());
    case v1::Value::kIntValue:
      return Object(static_cast<int64_t>(value.int_value()));
    case v1::Value::kFloatValue:
      return Object(value.float_value());
    case v1::Value::kStrValue:
      return Object(value.str_value());
    case v1::Value::kBytesValue:
      return Object::bytes(value.bytes_value());
    case v1::Value::kListValue:
      if (levels == 0) ThrowTooDeep(max_depth);
      return Object::list(DecodeSequence(value.list_value(), decode_proxy,
                                         levels - 1, max_depth));
    case v1::Value::kTupleValue:
      if (levels == 0) ThrowTooDeep(max_depth);
      return Object::tuple(DecodeSequence(value.tuple_value(), decode_proxy,
                                          levels - 1, max_depth));
    case v1::Value::kDictValue: {
      if (levels == 0) ThrowTooDeep(max_depth);
      const v1::Mapping& m = value.dict_value();
      if (m.keys_size() != m.values_size()) {
        throw ValueError(
            "malformed dict value: " + std::to_string(m.keys_size()) +
            " keys but " + std::to_string(m.values_size()) + " values");
      }
      Dict dict;
      for (int i = 0; i < m.keys_size(); ++i) {
        dict.set(Decode(m.keys(i), decode_proxy, levels - 1, max_depth),
                 Decode(m.values(i), decode_proxy, levels - 1, max_depth));
      }
      return Object::dict(std::move(dict));
    }
    case v1::Value::kProxy:
      return decode_proxy(value.proxy());
    case v1::Value::KIND_NOT_SET:
      break;
  }
  throw ValueError("malformed value: no kind set");
}

}  // namespace

void EncodeValue(const Object& value, v1::Value* out, ProxyEncoder encode_proxy,
                 int max_depth) {
  Encode(value, out, encode_proxy, max_depth, max_depth);
}

Object DecodeValue(const v1::Value& value, ProxyDecoder decode_proxy,
                   int max_depth) {
  return Decode(value, decode_proxy, max_depth, max_depth);
}

size_t WireSizeAtLeast(const Object& value, size_t stop_after) {
  size_t total = 2;
  switch (value.type()) {
    case Object::Type::kStr:
      return total + value.as_str().size();
    case Object::Type::kBytes:
      return total + value.as_bytes().size();
    case Object::Type::kFloat:
      return total + 8;
    case Object::Type::kList:
    case Object::Type::kTuple:
      for (const Object& item : value.as_list()) {
        if (total > stop_after) break;
        total += WireSizeAtLeast(item, stop_after - total);
      }
      return total;
    case Object::Type::kDict:
      for (const auto& [k, v] : value.as_dict()) {
        if (total > stop_after) break;
        total += WireSizeAtLeast(k, stop_after - total);
        if (total > stop_after) break;
        total += WireSizeAtLeast(v, stop_after - total);
      }
      return total;
    default:
      return total;
  }
}

void ThrowWireError(const v1::Error& error) {
  ThrowError(error.type().empty() ? "RemoteError" : error.type(),
             error.message(), error.traceback());
}

}  // namespace mp::internal
