#include "mp/list_proxy.h"

#include "mp/errors.h"
#include "proxy/proxy_op.h"

namespace mp {

using internal::ProxyOp;

namespace {

void SetOptional(std::optional<int64_t> v, v1::OptionalIndex* out) {
  if (v) out->set_value(*v);
}

const Object::List& SequenceOf(const Object& values, const char* what) {
  if (!values.is_list() && !values.is_tuple()) {
    throw TypeError(std::string(what) + " needs a list or tuple, not " +
                    values.type_name());
  }
  return values.as_list();
}

void PutSequence(ProxyOp& op, const Object& values, const char* what,
                 v1::Sequence* out) {
  SequenceOf(values, what);
  v1::Value encoded;
  op.Put(values, &encoded);
  *out = std::move(values.is_list() ? *encoded.mutable_list_value()
                                    : *encoded.mutable_tuple_value());
}

}  // namespace

Object ListProxy::inplace(int64_t index, InplaceOp how,
                          const Object& operand) const {
  ProxyOp op(*this);
  auto* item = op.call().mutable_list()->mutable_inplace();
  item->set_index(index);
  internal::SetInplace(op, how, operand, item->mutable_inplace());
  return op.Run();
}

Object ListProxy::getitem(int64_t index) const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_getitem()->set_index(index);
  return op.Run();
}

void ListProxy::set(int64_t index, const Object& value) const {
  ProxyOp op(*this);
  auto* set = op.call().mutable_list()->mutable_setitem();
  set->set_index(index);
  op.Put(value, set->mutable_value());
  op.RunRaw();
}

void ListProxy::erase(int64_t index) const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_delitem()->set_index(index);
  op.RunRaw();
}

void ListProxy::append(const Object& value) const {
  ProxyOp op(*this);
  op.Put(value, op.call().mutable_list()->mutable_append()->mutable_value());
  op.RunRaw();
}

void ListProxy::extend(const Object& values) const {
  ProxyOp op(*this);
  PutSequence(op, values, "extend()",
              op.call().mutable_list()->mutable_extend()->mutable_values());
  op.RunRaw();
}

void ListProxy::insert(int64_t index, const Object& value) const {
  ProxyOp op(*this);
  auto* insert = op.call().mutable_list()->mutable_insert();
  insert->set_index(index);
  op.Put(value, insert->mutable_value());
  op.RunRaw();
}

Object ListProxy::pop() const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_pop();
  return op.Run();
}

Object ListProxy::pop(int64_t index) const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_pop()->mutable_index()->set_value(index);
  return op.Run();
}

void ListProxy::remove(const Object& value) const {
  ProxyOp op(*this);
  op.Put(value, op.call().mutable_list()->mutable_remove()->mutable_value());
  op.RunRaw();
}

int64_t ListProxy::index(const Object& value) const {
  ProxyOp op(*this);
  op.Put(value, op.call().mutable_list()->mutable_index()->mutable_value());
  return op.Run().as_int();
}

int64_t ListProxy::count(const Object& value) const {
  ProxyOp op(*this);
  op.Put(value, op.call().mutable_list()->mutable_count()->mutable_value());
  return op.Run().as_int();
}

void ListProxy::reverse() const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_reverse();
  op.RunRaw();
}

void ListProxy::sort(bool reverse) const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_sort()->set_reverse(reverse);
  op.RunRaw();
}

void ListProxy::clear() const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_clear();
  op.RunRaw();
}

bool ListProxy::contains(const Object& value) const {
  ProxyOp op(*this);
  op.Put(value, op.call().mutable_list()->mutable_contains()->mutable_value());
  return op.Run().as_bool();
}

size_t ListProxy::size() const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_len();
  return static_cast<size_t>(op.Run().as_int());
}

Object ListProxy::copy() const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_copy();
  return op.Run();
}

Object ListProxy::slice(std::optional<int64_t> start,
                        std::optional<int64_t> stop,
                        std::optional<int64_t> step) const {
  ProxyOp op(*this);
  auto* s = op.call().mutable_list()->mutable_getslice();
  if (start) SetOptional(start, s->mutable_start());
  if (stop) SetOptional(stop, s->mutable_stop());
  if (step) SetOptional(step, s->mutable_step());
  return op.Run();
}

void ListProxy::set_slice(std::optional<int64_t> start,
                          std::optional<int64_t> stop,
                          const Object& values) const {
  ProxyOp op(*this);
  auto* s = op.call().mutable_list()->mutable_setslice();
  if (start) s->mutable_start()->set_value(*start);
  if (stop) s->mutable_stop()->set_value(*stop);
  PutSequence(op, values, "slice assignment", s->mutable_values());
  op.RunRaw();
}

void ListProxy::erase_slice(std::optional<int64_t> start,
                            std::optional<int64_t> stop) const {
  ProxyOp op(*this);
  auto* s = op.call().mutable_list()->mutable_delslice();
  if (start) s->mutable_start()->set_value(*start);
  if (stop) s->mutable_stop()->set_value(*stop);
  op.RunRaw();
}

const ListProxy& ListProxy::operator*=(int64_t times) const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_inplace_repeat()->set_times(times);
  op.RunRaw();
  return *this;
}

Object ListProxy::operator+(const Object& values) const {
  Object::List items = copy().as_list();
  const Object::List& more = SequenceOf(values, "list +");
  items.insert(items.end(), more.begin(), more.end());
  return Object::list(std::move(items));
}

ProxyIterator ListProxy::begin() const {
  ProxyOp op(*this);
  op.call().mutable_list()->mutable_iter();
  return BaseProxyAccess::MakeIterator(op.Run(), 64);
}

Object to_object(const ListProxy& proxy) { return proxy.object(); }

void from_object(const Object& object, ListProxy& proxy) {
  proxy = ListProxy(internal::HandleOf(object, v1::LIST));
}

}  // namespace mp
