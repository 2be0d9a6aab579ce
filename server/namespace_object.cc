#include "server/namespace_object.h"

#include <string>
#include <utility>

#include "mp/errors.h"
#include "server/inplace.h"

namespace mp::server {
namespace {

const std::string& CheckName(const std::string& name) {
  if (name.empty()) throw ValueError("attribute name must not be empty");
  return name;
}

[[noreturn]] void ThrowNoAttribute(const std::string& name) {
  throw AttributeError("'Namespace' object has no attribute " +
                       Object(name).repr());
}

}  // namespace

ObjectMaker NamespaceObject::Prepare(CreateArgs& args) {
  Dict contents = args.InitialDict();
  for (const auto& [k, v] : contents) {
    if (!k.is_str()) {
      throw TypeError("Namespace attribute names must be str, not " +
                      std::string(k.type_name()));
    }
  }
  args.ChargeInitial(contents);
  return [&args, contents](uint64_t id) {
    return std::make_shared<NamespaceObject>(id, args.store, contents,
                                             std::move(args.stored));
  };
}

void NamespaceObject::Apply(const v1::NamespaceOp& op, const OpContext& ctx,
                            v1::Reply* reply) {
  Object dropped;
  switch (op.op_case()) {
    case v1::NamespaceOp::kGetattr: {
      Object name(CheckName(op.getattr().name()));
      absl::MutexLock lock(&mu_);
      if (const Object* v = attrs_.find(name)) return ctx.Return(*v, reply);
      ThrowNoAttribute(name.as_str());
    }
    case v1::NamespaceOp::kSetattr: {
      Object name(CheckName(op.setattr().name()));
      Object value = ctx.Decode(op.setattr().value());
      absl::MutexLock lock(&mu_);
      if (Object* slot = attrs_.find(name)) {
        stored_.Change(stored_.SizeOf(value), stored_.SizeOf(*slot));
        dropped = std::exchange(*slot, std::move(value));
      } else {
        stored_.Change(stored_.SizeOf(name) + stored_.SizeOf(value), 0);
        attrs_.set(std::move(name), std::move(value));
      }
      return ctx.ReturnNone(reply);
    }
    case v1::NamespaceOp::kDelattr: {
      Object name(CheckName(op.delattr().name()));
      absl::MutexLock lock(&mu_);
      Object* v = attrs_.find(name);
      if (v == nullptr) ThrowNoAttribute(name.as_str());
      stored_.Change(0, stored_.SizeOf(name) + stored_.SizeOf(*v));
      dropped = *v;
      attrs_.erase(name);
      return ctx.ReturnNone(reply);
    }
    case v1::NamespaceOp::kHasattr: {
      Object name(op.hasattr().name());
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(attrs_.contains(name)), reply);
    }
    case v1::NamespaceOp::kCopy: {
      Dict copy;
      {
        absl::MutexLock lock(&mu_);
        size_t bytes = 0;
        for (const auto& [k, v] : attrs_) {
          if (bytes > ctx.max_reply_bytes()) break;
          bytes += 2 + ctx.ReplyBytes(k) + ctx.ReplyBytes(v);
        }
        ctx.CheckReplySize(bytes);  // before copying
        copy = attrs_;
      }
      return ctx.Return(Object::dict(std::move(copy)), reply);
    }
    case v1::NamespaceOp::kInplace: {
      Object name(CheckName(op.inplace().name()));
      Object operand = ctx.Decode(op.inplace().inplace().operand());
      Object result;
      {
        absl::MutexLock lock(&mu_);
        Object* slot = attrs_.find(name);
        if (slot == nullptr) ThrowNoAttribute(name.as_str());
        result = ApplyInplaceLocked(op.inplace().inplace(), slot, operand,
                                    &stored_, &dropped);
      }
      return ctx.Return(result, reply);
    }
    case v1::NamespaceOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Namespace operation: no operation set");
}

void NamespaceObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(static_cast<int64_t>(attrs_.size()));
}

}  // namespace mp::server
