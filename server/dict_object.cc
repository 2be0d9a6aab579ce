#include "server/dict_object.h"

#include <utility>

#include "mp/errors.h"
#include "server/inplace.h"

namespace mp::server {
namespace {

[[noreturn]] void ThrowKeyError(const Object& key) {
  throw KeyError(key.repr());
}

}  // namespace

ObjectMaker DictObject::Prepare(CreateArgs& args) {
  Dict contents = args.InitialDict();
  args.ChargeInitial(contents);
  return [&args, contents](uint64_t id) {
    return std::make_shared<DictObject>(id, args.store, contents,
                                        std::move(args.stored));
  };
}

void DictObject::Apply(const v1::DictOp& op, const OpContext& ctx,
                       v1::Reply* reply) {
  // Arguments are decoded before taking the lock: decoding may consult the
  // session and hashing may throw, neither of which should happen under it.
  switch (op.op_case()) {
    case v1::DictOp::kGet: {
      Object key = ctx.Decode(op.get().key());
      std::optional<Object> dflt;
      if (op.get().has_default_value())
        dflt = ctx.Decode(op.get().default_value());
      absl::MutexLock lock(&mu_);
      if (const Object* v = dict_.find(key)) return ctx.Return(*v, reply);
      if (dflt) return ctx.Return(*dflt, reply);
      if (op.get().or_none()) return ctx.ReturnNone(reply);
      ThrowKeyError(key);
    }
    case v1::DictOp::kSet: {
      Object key = ctx.Decode(op.set().key());
      Object value = ctx.Decode(op.set().value());
      key.hash();  // unhashable keys fail before anything changes
      Object old;  // an overwritten value dies outside the lock
      {
        absl::MutexLock lock(&mu_);
        if (Object* slot = dict_.find(key)) {
          stored_.Change(stored_.SizeOf(value), stored_.SizeOf(*slot));
          old = std::exchange(*slot, std::move(value));
        } else {
          stored_.Change(stored_.SizeOf(key) + stored_.SizeOf(value), 0);
          dict_.set(std::move(key), std::move(value));
        }
      }
      return ctx.ReturnNone(reply);
    }
    case v1::DictOp::kDel: {
      Object key = ctx.Decode(op.del().key());
      Object old;
      {
        absl::MutexLock lock(&mu_);
        Object* v = dict_.find(key);
        if (v == nullptr) ThrowKeyError(key);
        stored_.Change(0, stored_.SizeOf(key) + stored_.SizeOf(*v));
        old = *v;
        dict_.erase(key);
      }
      return ctx.ReturnNone(reply);
    }
    case v1::DictOp::kContains: {
      Object key = ctx.Decode(op.contains().key());
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(dict_.contains(key)), reply);
    }
    case v1::DictOp::kLen: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(static_cast<int64_t>(dict_.size())), reply);
    }
    case v1::DictOp::kClear: {
      Dict old;
      {
        absl::MutexLock lock(&mu_);
        old = std::move(dict_);
        dict_.clear();
        stored_.Reset();
      }
      return ctx.ReturnNone(reply);
    }
    case v1::DictOp::kCopy: {
      Dict copy;
      {
        absl::MutexLock lock(&mu_);
        ctx.CheckReplySize(ReplyBytesLocked(ctx, true, true));
        copy = dict_;
      }
      return ctx.Return(Object::dict(std::move(copy)), reply);
    }
    case v1::DictOp::kKeys:
    case v1::DictOp::kValues:
    case v1::DictOp::kItems: {
      Object::List out;
      {
        absl::MutexLock lock(&mu_);
        ctx.CheckReplySize(
            ReplyBytesLocked(ctx, !op.has_values(), !op.has_keys()));
        out.reserve(dict_.size());
        for (const auto& [k, v] : dict_) {
          if (op.has_keys()) {
            out.push_back(k);
          } else if (op.has_values()) {
            out.push_back(v);
          } else {
            out.push_back(Object::tuple({k, v}));
          }
        }
      }
      return ctx.Return(Object::list(std::move(out)), reply);
    }
    case v1::DictOp::kPop: {
      Object key = ctx.Decode(op.pop().key());
      std::optional<Object> dflt;
      if (op.pop().has_default_value())
        dflt = ctx.Decode(op.pop().default_value());
      Object value;
      {
        absl::MutexLock lock(&mu_);
        Object* v = dict_.find(key);
        if (v == nullptr) {
          if (!dflt) ThrowKeyError(key);
          value = *dflt;
        } else {
          stored_.Change(0, stored_.SizeOf(key) + stored_.SizeOf(*v));
          value = *v;
          dict_.erase(key);
        }
      }
      return ctx.Return(value, reply);
    }
    case v1::DictOp::kPopitem: {
      std::optional<std::pair<Object, Object>> item;
      {
        absl::MutexLock lock(&mu_);
        item = dict_.pop_last();
        if (item) {
          stored_.Change(
              0, stored_.SizeOf(item->first) + stored_.SizeOf(item->second));
        }
      }
      if (!item) throw KeyError("'popitem(): dictionary is empty'");
      return ctx.Return(Object::tuple({item->first, item->second}), reply);
    }
    case v1::DictOp::kSetdefault: {
      Object key = ctx.Decode(op.setdefault().key());
      Object dflt = op.setdefault().has_default_value()
                        ? ctx.Decode(op.setdefault().default_value())
                        : Object();
      key.hash();
      absl::MutexLock lock(&mu_);
      if (const Object* v = dict_.find(key)) return ctx.Return(*v, reply);
      stored_.Change(stored_.SizeOf(key) + stored_.SizeOf(dflt), 0);
      dict_.set(key, dflt);
      return ctx.Return(dflt, reply);
    }
    case v1::DictOp::kUpdate: {
      v1::Value wrapped;
      *wrapped.mutable_dict_value() = op.update().entries();
      Object entries = ctx.Decode(wrapped);
      absl::MutexLock lock(&mu_);
      // All of it or nothing: the growth is charged before any entry goes in.
      size_t added = 0, removed = 0;
      for (const auto& [k, v] : entries.as_dict()) {
        const Object* old = dict_.find(k);
        added += stored_.SizeOf(v) + (old ? 0 : stored_.SizeOf(k));
        if (old) removed += stored_.SizeOf(*old);
      }
      stored_.Change(added, removed);
      for (const auto& [k, v] : entries.as_dict()) dict_.set(k, v);
      return ctx.ReturnNone(reply);
    }
    case v1::DictOp::kInplace: {
      Object key = ctx.Decode(op.inplace().key());
      Object operand = ctx.Decode(op.inplace().inplace().operand());
      Object old, result;
      {
        absl::MutexLock lock(&mu_);
        Object* slot = dict_.find(key);
        if (slot == nullptr) ThrowKeyError(key);
        result = ApplyInplaceLocked(op.inplace().inplace(), slot, operand,
                                    &stored_, &old);
      }
      return ctx.Return(result, reply);
    }
    case v1::DictOp::kIter:
    case v1::DictOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed dict operation: no operation set");
}

size_t DictObject::ReplyBytesLocked(const OpContext& ctx, bool keys,
                                    bool values) const {
  // Each entry costs at least 2 bytes beyond its key and value (an item's
  // tuple, or a Mapping's two fields).
  size_t bytes = 0;
  for (const auto& [k, v] : dict_) {
    if (bytes > ctx.max_reply_bytes()) break;
    bytes +=
        2 + (keys ? ctx.ReplyBytes(k) : 0) + (values ? ctx.ReplyBytes(v) : 0);
  }
  return bytes;
}

uint64_t DictObject::version() const {
  absl::MutexLock lock(&mu_);
  return dict_.version();
}

void DictObject::IterNext(size_t* slot, uint64_t version,
                          v1::DictOp::Iter::Kind kind, size_t max,
                          const OpContext& ctx, Object::List* out) const {
  absl::MutexLock lock(&mu_);
  if (dict_.version() != version) {
    throw RuntimeError("dictionary changed size during iteration");
  }
  size_t bytes = 0;
  size_t i = dict_.next_slot(*slot);
  while (i != dict_.slot_end() && out->size() < max) {
    const auto& [k, v] = dict_.slot(i);
    switch (kind) {
      case v1::DictOp::Iter::VALUES:
        out->push_back(v);
        break;
      case v1::DictOp::Iter::ITEMS:
        out->push_back(Object::tuple({k, v}));
        break;
      default:
        out->push_back(k);
    }
    bytes += ctx.ReplyBytes(out->back());
    // Before the reply is built, and before the iterator moves on.
    ctx.CheckReplySize(bytes);
    i = dict_.next_slot(i + 1);
  }
  *slot = i;
}

void DictObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(static_cast<int64_t>(dict_.size()));
}

}  // namespace mp::server
