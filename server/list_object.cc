#include "server/list_object.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>

#include "mp/errors.h"
#include "server/inplace.h"
#include "server/slice.h"

namespace mp::server {
namespace {

Object::List DecodeAll(const v1::Sequence& seq, const OpContext& ctx) {
  Object::List out;
  out.reserve(seq.items_size());
  for (const v1::Value& v : seq.items()) out.push_back(ctx.Decode(v));
  return out;
}

}  // namespace

ObjectMaker ListObject::Prepare(CreateArgs& args) {
  Object::List items = args.InitialList();
  args.ChargeInitial(items);
  return [&args, items](uint64_t id) {
    return std::make_shared<ListObject>(id, args.store, items,
                                        std::move(args.stored));
  };
}

void ListObject::Apply(const v1::ListOp& op, const OpContext& ctx,
                       v1::Reply* reply) {
  // Replaced or removed elements are moved into `dropped` so that they are
  // destroyed after the lock is released (a dropped proxy may be the last
  // reference to another object).
  Object::List dropped;
  switch (op.op_case()) {
    case v1::ListOp::kGetitem: {
      absl::MutexLock lock(&mu_);
      size_t i = CheckIndex(op.getitem().index(), items_.size(),
                            "list index out of range");
      return ctx.Return(items_[i], reply);
    }
    case v1::ListOp::kSetitem: {
      Object value = ctx.Decode(op.setitem().value());
      absl::MutexLock lock(&mu_);
      size_t i = CheckIndex(op.setitem().index(), items_.size(),
                            "list assignment index out of range");
      stored_.Change(stored_.SizeOf(value), stored_.SizeOf(items_[i]));
      dropped.push_back(std::exchange(items_[i], std::move(value)));
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kDelitem: {
      absl::MutexLock lock(&mu_);
      size_t i = CheckIndex(op.delitem().index(), items_.size(),
                            "list assignment index out of range");
      stored_.Change(0, stored_.SizeOf(items_[i]));
      dropped.push_back(std::move(items_[i]));
      items_.erase(items_.begin() + i);
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kGetslice: {
      const auto& s = op.getslice();
      Object::List out;
      {
        absl::MutexLock lock(&mu_);
        SliceRange r = AdjustSlice(OptionalOf(s.has_start(), s.start()),
                                   OptionalOf(s.has_stop(), s.stop()),
                                   OptionalOf(s.has_step(), s.step()),
                                   static_cast<int64_t>(items_.size()));
        size_t bytes = 0;
        for (int64_t k = 0, i = r.start;
             k < r.length && bytes <= ctx.max_reply_bytes(); ++k, i += r.step) {
          bytes += ctx.ReplyBytes(items_[i]);
        }
        ctx.CheckReplySize(bytes);  // before copying anything
        out.reserve(r.length);
        for (int64_t k = 0, i = r.start; k < r.length; ++k, i += r.step) {
          out.push_back(items_[i]);
        }
      }
      return ctx.Return(Object::list(std::move(out)), reply);
    }
    case v1::ListOp::kSetslice: {
      const auto& s = op.setslice();
      Object::List values = DecodeAll(s.values(), ctx);
      absl::MutexLock lock(&mu_);
      const int64_t start = CutLocked(OptionalOf(s.has_start(), s.start()),
                                      OptionalOf(s.has_stop(), s.stop()),
                                      stored_.SizeOfAll(values), &dropped);
      items_.insert(items_.begin() + start,
                    std::make_move_iterator(values.begin()),
                    std::make_move_iterator(values.end()));
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kDelslice: {
      const auto& s = op.delslice();
      absl::MutexLock lock(&mu_);
      CutLocked(OptionalOf(s.has_start(), s.start()),
                OptionalOf(s.has_stop(), s.stop()), 0, &dropped);
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kAppend: {
      Object value = ctx.Decode(op.append().value());
      absl::MutexLock lock(&mu_);
      stored_.Change(stored_.SizeOf(value), 0);
      items_.push_back(std::move(value));
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kExtend: {
      Object::List values = DecodeAll(op.extend().values(), ctx);
      absl::MutexLock lock(&mu_);
      stored_.Change(stored_.SizeOfAll(values), 0);
      items_.insert(items_.end(), std::make_move_iterator(values.begin()),
                    std::make_move_iterator(values.end()));
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kInsert: {
      Object value = ctx.Decode(op.insert().value());
      absl::MutexLock lock(&mu_);
      int64_t n = static_cast<int64_t>(items_.size());
      int64_t i = op.insert().index();
      if (i < 0) i = std::max<int64_t>(0, i + n);
      i = std::min(i, n);
      stored_.Change(stored_.SizeOf(value), 0);
      items_.insert(items_.begin() + i, std::move(value));
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kPop: {
      Object value;
      {
        absl::MutexLock lock(&mu_);
        if (items_.empty()) throw IndexError("pop from empty list");
        size_t i = op.pop().has_index()
                       ? CheckIndex(op.pop().index().value(), items_.size(),
                                    "pop index out of range")
                       : items_.size() - 1;
        stored_.Change(0, stored_.SizeOf(items_[i]));
        value = std::move(items_[i]);
        items_.erase(items_.begin() + i);
      }
      return ctx.Return(value, reply);
    }
    case v1::ListOp::kRemove: {
      Object value = ctx.Decode(op.remove().value());
      absl::MutexLock lock(&mu_);
      auto it = std::find(items_.begin(), items_.end(), value);
      if (it == items_.end()) throw ValueError("list.remove(x): x not in list");
      stored_.Change(0, stored_.SizeOf(*it));
      dropped.push_back(std::move(*it));
      items_.erase(it);
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kIndex: {
      const auto& s = op.index();
      Object value = ctx.Decode(s.value());
      absl::MutexLock lock(&mu_);
      SliceRange r =
          AdjustSlice(OptionalOf(s.has_start(), s.start()),
                      OptionalOf(s.has_stop(), s.stop()), std::nullopt,
                      static_cast<int64_t>(items_.size()));
      for (int64_t i = r.start; i < r.stop; ++i) {
        if (items_[i] == value) return ctx.Return(Object(i), reply);
      }
      throw ValueError(value.repr() + " is not in list");
    }
    case v1::ListOp::kCount: {
      Object value = ctx.Decode(op.count().value());
      absl::MutexLock lock(&mu_);
      int64_t n = std::count(items_.begin(), items_.end(), value);
      return ctx.Return(Object(n), reply);
    }
    case v1::ListOp::kReverse: {
      absl::MutexLock lock(&mu_);
      std::reverse(items_.begin(), items_.end());
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kSort: {
      bool reverse = op.sort().reverse();
      absl::MutexLock lock(&mu_);
      // Sort a copy: a comparison may throw TypeError part way, and Python
      // users expect the list unchanged then rather than half sorted.
      Object::List sorted = items_;
      std::stable_sort(sorted.begin(), sorted.end(),
                       [reverse](const Object& a, const Object& b) {
                         return reverse ? Object::less(b, a)
                                        : Object::less(a, b);
                       });
      items_.swap(sorted);
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kClear: {
      absl::MutexLock lock(&mu_);
      dropped.swap(items_);
      stored_.Reset();
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kLen: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(static_cast<int64_t>(items_.size())), reply);
    }
    case v1::ListOp::kCopy: {
      Object::List copy;
      {
        absl::MutexLock lock(&mu_);
        ctx.CheckReplySize(ctx.ReplyBytesOfAll(items_));
        copy = items_;
      }
      return ctx.Return(Object::list(std::move(copy)), reply);
    }
    case v1::ListOp::kContains: {
      Object value = ctx.Decode(op.contains().value());
      absl::MutexLock lock(&mu_);
      bool found =
          std::find(items_.begin(), items_.end(), value) != items_.end();
      return ctx.Return(Object(found), reply);
    }
    case v1::ListOp::kInplaceRepeat: {
      int64_t times = op.inplace_repeat().times();
      absl::MutexLock lock(&mu_);
      if (times <= 0) {
        dropped.swap(items_);
        stored_.Reset();
        return ctx.ReturnNone(reply);
      }
      constexpr size_t kMaxElements = size_t{1} << 28;
      if (items_.size() != 0 &&
          static_cast<uint64_t>(times) > kMaxElements / items_.size()) {
        throw ValueError("list *= " + std::to_string(times) +
                         " would exceed the server's element limit");
      }
      const size_t held = stored_.bytes();
      const size_t copies = static_cast<size_t>(times - 1);
      stored_.Change(
          held != 0 && copies > SIZE_MAX / held ? SIZE_MAX : held * copies, 0);
      size_t n = items_.size();
      items_.reserve(n * times);
      for (int64_t t = 1; t < times; ++t) {
        for (size_t i = 0; i < n; ++i) items_.push_back(items_[i]);
      }
      return ctx.ReturnNone(reply);
    }
    case v1::ListOp::kInplace: {
      Object operand = ctx.Decode(op.inplace().inplace().operand());
      Object old, result;
      {
        absl::MutexLock lock(&mu_);
        size_t i = CheckIndex(op.inplace().index(), items_.size(),
                              "list index out of range");
        result = ApplyInplaceLocked(op.inplace().inplace(), &items_[i],
                                    operand, &stored_, &old);
      }
      return ctx.Return(result, reply);
    }
    case v1::ListOp::kIter:
    case v1::ListOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed list operation: no operation set");
}

int64_t ListObject::CutLocked(std::optional<int64_t> start,
                              std::optional<int64_t> stop, size_t added_bytes,
                              Object::List* dropped) {
  SliceRange r = AdjustSlice(start, stop, std::nullopt,
                             static_cast<int64_t>(items_.size()));
  const int64_t end = std::max(r.start, r.stop);
  stored_.Change(added_bytes,
                 stored_.SizeOfAll(std::span<const Object>(
                     items_.data() + r.start, items_.data() + end)));
  dropped->assign(std::make_move_iterator(items_.begin() + r.start),
                  std::make_move_iterator(items_.begin() + end));
  items_.erase(items_.begin() + r.start, items_.begin() + end);
  return r.start;
}

void ListObject::IterNext(size_t* index, size_t max, const OpContext& ctx,
                          Object::List* out) const {
  absl::MutexLock lock(&mu_);
  const size_t end = std::min(items_.size(), *index + max);
  size_t bytes = 0;
  for (size_t i = *index; i < end && bytes <= ctx.max_reply_bytes(); ++i) {
    bytes += ctx.ReplyBytes(items_[i]);
  }
  ctx.CheckReplySize(bytes);  // before copying, and before moving on
  while (*index < end) out->push_back(items_[(*index)++]);
}

void ListObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(static_cast<int64_t>(items_.size()));
}

}  // namespace mp::server
