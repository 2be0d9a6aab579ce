#include "server/array_object.h"

#include <string>

#include "mp/errors.h"
#include "server/inplace.h"
#include "server/slice.h"

namespace mp::server {

ObjectMaker ArrayObject::Prepare(CreateArgs& args) {
  const internal::TypeCode& tc = internal::GetTypeCode(args.request.typecode());
  std::string packed;
  if (args.has_init) {
    if (!args.init.is_list() && !args.init.is_tuple()) {
      throw TypeError(std::string("Array initial values must be a list, not ") +
                      args.init.type_name());
    }
    const Object::List& items = args.init.as_list();
    args.stored.Change(items.size() * tc.size, 0);
    packed.resize(items.size() * tc.size);
    for (size_t i = 0; i < items.size(); ++i) {
      internal::PackElement(tc, items[i], &packed[i * tc.size]);
    }
  } else {
    const int64_t size = args.request.size();
    if (size < 0) {
      throw ValueError("Array size must be non-negative, not " +
                       std::to_string(size));
    }
    if (static_cast<uint64_t>(size) > (uint64_t{1} << 40) / tc.size) {
      throw ValueError("Array of " + std::to_string(size) +
                       " elements is too large");
    }
    // Charged (and held to the cap) before a byte is allocated.
    args.stored.Change(size * tc.size, 0);
    packed.assign(size * tc.size, '\0');
  }
  return [&args, &tc, packed = std::move(packed)](uint64_t id) {
    return std::make_shared<ArrayObject>(id, args.store, tc, packed,
                                         std::move(args.stored));
  };
}

void ArrayObject::Apply(const v1::ArrayOp& op, const OpContext& ctx,
                        v1::Reply* reply) {
  const size_t width = typecode_.size;
  switch (op.op_case()) {
    case v1::ArrayOp::kLen: {
      absl::ReaderMutexLock lock(&mu_);
      return ctx.Return(Object(static_cast<int64_t>(size())), reply);
    }
    case v1::ArrayOp::kGetitem: {
      absl::ReaderMutexLock lock(&mu_);
      size_t i =
          CheckIndex(op.getitem().index(), size(), "array index out of range");
      return ctx.Return(internal::UnpackElement(typecode_, &data_[i * width]),
                        reply);
    }
    case v1::ArrayOp::kSetitem: {
      char packed[8];
      internal::PackElement(typecode_, ctx.Decode(op.setitem().value()),
                            packed);
      absl::MutexLock lock(&mu_);
      size_t i = CheckIndex(op.setitem().index(), size(),
                            "array assignment index out of range");
      data_.replace(i * width, width, packed, width);
      return ctx.ReturnNone(reply);
    }
    case v1::ArrayOp::kInplace: {
      Object operand = ctx.Decode(op.inplace().inplace().operand());
      // Numbers only: a 'c' element (one byte) has no compound assignment
      // that keeps it one byte, and a repetition must not allocate here.
      if (typecode_.kind == internal::TypeCode::kChar ||
          !(operand.is_int() || operand.is_bool() || operand.is_float())) {
        throw TypeError(std::string("unsupported operand type(s) for an "
                                    "Array('") +
                        typecode_.code + "') element: '" +
                        operand.type_name() + "'");
      }
      StoredBytes unmeasured;  // an element keeps its size
      absl::MutexLock lock(&mu_);
      size_t i = CheckIndex(op.inplace().index(), size(),
                            "array index out of range");
      Object result = InplaceResult(
          op.inplace().inplace(),
          internal::UnpackElement(typecode_, &data_[i * width]), operand,
          &unmeasured);
      char packed[8];
      internal::PackElement(typecode_, result, packed);  // range, type
      data_.replace(i * width, width, packed, width);
      return ctx.Return(internal::UnpackElement(typecode_, packed), reply);
    }
    case v1::ArrayOp::kRead: {
      const auto& s = op.read();
      v1::ArrayData* out = reply->mutable_array();
      out->set_typecode(std::string(1, typecode_.code));
      absl::ReaderMutexLock lock(&mu_);
      SliceRange r = AdjustSlice(OptionalOf(s.has_start(), s.start()),
                                 OptionalOf(s.has_stop(), s.stop()),
                                 std::nullopt, static_cast<int64_t>(size()));
      ctx.CheckReplySize(static_cast<size_t>(r.length) * width);
      out->set_data(data_.data() + r.start * width, r.length * width);
      return;
    }
    case v1::ArrayOp::kWrite: {
      const v1::ArrayData& in = op.write().data();
      if (in.typecode() != std::string(1, typecode_.code)) {
        throw TypeError("cannot write typecode '" + in.typecode() +
                        "' data into an Array of typecode '" + typecode_.code +
                        "'");
      }
      if (in.data().size() % width != 0) {
        throw ValueError("packed data of " + std::to_string(in.data().size()) +
                         " bytes is not a whole number of " +
                         std::to_string(width) + "-byte elements");
      }
      const int64_t n = static_cast<int64_t>(in.data().size() / width);
      const int64_t start = op.write().start();
      absl::MutexLock lock(&mu_);
      const int64_t len = static_cast<int64_t>(size());
      if (start < 0 || start > len || n > len - start) {
        throw ValueError("cannot write " + std::to_string(n) +
                         " elements at index " + std::to_string(start) +
                         " of an Array of length " + std::to_string(len) +
                         " (Arrays never change size)");
      }
      data_.replace(start * width, n * width, in.data());
      return ctx.ReturnNone(reply);
    }
    case v1::ArrayOp::kTypecode:
      return ctx.Return(Object(std::string(1, typecode_.code)), reply);
    case v1::ArrayOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Array operation: no operation set");
}

void ArrayObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(static_cast<int64_t>(data_.size() / typecode_.size));
  info->set_state(std::string("typecode '") + typecode_.code + "'");
}

}  // namespace mp::server
