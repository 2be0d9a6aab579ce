#include "server/value_object.h"

#include <string>

#include "mp/errors.h"

namespace mp::server {

ObjectMaker ValueObject::Prepare(CreateArgs& args) {
  const internal::TypeCode& tc = internal::GetTypeCode(args.request.typecode());
  Object initial = args.has_init ? args.init
                   : tc.kind == internal::TypeCode::kChar
                       ? Object::bytes(std::string(1, '\0'))
                       : Object(0);
  Normalize(tc, initial);  // fail before naming anything
  return [&args, &tc, initial](uint64_t id) {
    return std::make_shared<ValueObject>(id, args.store, tc, initial);
  };
}

Object ValueObject::Normalize(const internal::TypeCode& tc, const Object& v) {
  char buf[8];
  internal::PackElement(tc, v, buf);
  return internal::UnpackElement(tc, buf);
}

ValueObject::ValueObject(uint64_t id, ObjectStore* store,
                         const internal::TypeCode& typecode,
                         const Object& initial)
    : ServerObject(v1::VALUE, id, store),
      typecode_(typecode),
      value_(Normalize(typecode, initial)) {}

void ValueObject::Apply(const v1::ValueOp& op, const OpContext& ctx,
                        v1::Reply* reply) {
  switch (op.op_case()) {
    case v1::ValueOp::kGet: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(value_, reply);
    }
    case v1::ValueOp::kSet: {
      Object v = Normalize(typecode_, ctx.Decode(op.set().value()));
      absl::MutexLock lock(&mu_);
      value_ = v;
      return ctx.ReturnNone(reply);
    }
    case v1::ValueOp::kFetchAdd: {
      Object delta = ctx.Decode(op.fetch_add().delta());
      absl::MutexLock lock(&mu_);
      Object sum;
      if (typecode_.kind == internal::TypeCode::kFloat) {
        if (!delta.is_int() && !delta.is_float() && !delta.is_bool()) {
          throw TypeError(std::string("fetch_add needs a number, not ") +
                          delta.type_name());
        }
        sum = Object(value_.as_float() + delta.as_float());
      } else if (typecode_.kind == internal::TypeCode::kChar) {
        throw TypeError("fetch_add is not supported for typecode 'c'");
      } else {
        if (!delta.is_int() && !delta.is_bool()) {
          throw TypeError(std::string("fetch_add on an integer Value needs an "
                                      "int, not ") +
                          delta.type_name());
        }
        int64_t result;
        if (__builtin_add_overflow(value_.as_int(), delta.as_int(), &result)) {
          throw ValueError("fetch_add overflows int64");
        }
        sum = Object(result);
      }
      Object next = Normalize(typecode_, sum);  // range error: no change
      Object previous = value_;
      value_ = next;
      return ctx.Return(previous, reply);
    }
    case v1::ValueOp::kCompareExchange: {
      Object expected = ctx.Decode(op.compare_exchange().expected());
      Object desired =
          Normalize(typecode_, ctx.Decode(op.compare_exchange().desired()));
      absl::MutexLock lock(&mu_);
      Object previous = value_;
      bool exchanged = value_ == expected;
      if (exchanged) value_ = desired;
      return ctx.Return(Object::tuple({Object(exchanged), previous}), reply);
    }
    case v1::ValueOp::kTypecode:
      return ctx.Return(Object(std::string(1, typecode_.code)), reply);
    case v1::ValueOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Value operation: no operation set");
}

}  // namespace mp::server
