#include "mp/dict_proxy.h"

#include <utility>

#include "proxy/proxy_op.h"

namespace mp {

using internal::ProxyOp;

Object DictProxy::getitem(const Object& key) const {
  ProxyOp op(*this);
  op.Put(key, op.call().mutable_dict()->mutable_get()->mutable_key());
  return op.Run();
}

Object DictProxy::get(const Object& key) const {
  ProxyOp op(*this);
  auto* get = op.call().mutable_dict()->mutable_get();
  op.Put(key, get->mutable_key());
  get->set_or_none(true);
  return op.Run();
}

Object DictProxy::get(const Object& key, const Object& dflt) const {
  ProxyOp op(*this);
  auto* get = op.call().mutable_dict()->mutable_get();
  op.Put(key, get->mutable_key());
  op.Put(dflt, get->mutable_default_value());
  return op.Run();
}

void DictProxy::set(const Object& key, const Object& value) const {
  ProxyOp op(*this);
  auto* set = op.call().mutable_dict()->mutable_set();
  op.Put(key, set->mutable_key());
  op.Put(value, set->mutable_value());
  op.RunRaw();
}

Object DictProxy::inplace(const Object& key, InplaceOp how,
                          const Object& operand) const {
  ProxyOp op(*this);
  auto* item = op.call().mutable_dict()->mutable_inplace();
  op.Put(key, item->mutable_key());
  internal::SetInplace(op, how, operand, item->mutable_inplace());
  return op.Run();
}

PendingReply DictProxy::set_async(const Object& key,
                                  const Object& value) const {
  ProxyOp op(*this);
  auto* set = op.call().mutable_dict()->mutable_set();
  op.Put(key, set->mutable_key());
  op.Put(value, set->mutable_value());
  return BaseProxyAccess::MakePending(handle_, op.RunAsync());
}

void DictProxy::erase(const Object& key) const {
  ProxyOp op(*this);
  op.Put(key, op.call().mutable_dict()->mutable_del()->mutable_key());
  op.RunRaw();
}

bool DictProxy::contains(const Object& key) const {
  ProxyOp op(*this);
  op.Put(key, op.call().mutable_dict()->mutable_contains()->mutable_key());
  return op.Run().as_bool();
}

size_t DictProxy::size() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_len();
  return static_cast<size_t>(op.Run().as_int());
}

void DictProxy::clear() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_clear();
  op.RunRaw();
}

Object DictProxy::copy() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_copy();
  return op.Run();
}

std::vector<Object> DictProxy::keys() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_keys();
  return op.Run().as_list();
}

std::vector<Object> DictProxy::values() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_values();
  return op.Run().as_list();
}

std::vector<std::pair<Object, Object>> DictProxy::items() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_items();
  std::vector<std::pair<Object, Object>> out;
  const Object result = op.Run();  // outlives the loop (C++20 range-for)
  for (const Object& item : result.as_list()) {
    out.emplace_back(item.as_list()[0], item.as_list()[1]);
  }
  return out;
}

Object DictProxy::pop(const Object& key) const {
  ProxyOp op(*this);
  op.Put(key, op.call().mutable_dict()->mutable_pop()->mutable_key());
  return op.Run();
}

Object DictProxy::pop(const Object& key, const Object& dflt) const {
  ProxyOp op(*this);
  auto* pop = op.call().mutable_dict()->mutable_pop();
  op.Put(key, pop->mutable_key());
  op.Put(dflt, pop->mutable_default_value());
  return op.Run();
}

std::pair<Object, Object> DictProxy::popitem() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_popitem();
  Object item = op.Run();
  return {item.as_list()[0], item.as_list()[1]};
}

Object DictProxy::setdefault(const Object& key, const Object& dflt) const {
  ProxyOp op(*this);
  auto* sd = op.call().mutable_dict()->mutable_setdefault();
  op.Put(key, sd->mutable_key());
  op.Put(dflt, sd->mutable_default_value());
  return op.Run();
}

void DictProxy::update(const Object& dict) const {
  if (!dict.is_dict()) {
    throw TypeError(std::string("update() needs a dict, not ") +
                    dict.type_name());
  }
  ProxyOp op(*this);
  v1::Value encoded;
  op.Put(dict, &encoded);
  *op.call().mutable_dict()->mutable_update()->mutable_entries() =
      std::move(*encoded.mutable_dict_value());
  op.RunRaw();
}

void DictProxy::update(
    std::initializer_list<std::pair<Object, Object>> items) const {
  update(Object::dict(items));
}

ProxyIterator DictProxy::begin() const {
  ProxyOp op(*this);
  op.call().mutable_dict()->mutable_iter()->set_kind(v1::DictOp::Iter::KEYS);
  return BaseProxyAccess::MakeIterator(op.Run(), 64);
}

Object to_object(const DictProxy& proxy) { return proxy.object(); }

void from_object(const Object& object, DictProxy& proxy) {
  proxy = DictProxy(internal::HandleOf(object, v1::DICT));
}

}  // namespace mp
