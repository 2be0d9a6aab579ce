// mp::Value<T> and mp::Array<T>: a value or a fixed-size array in shared
// memory, as Python's top-level multiprocessing.Value and Array (and, with
// lock = false, RawValue and RawArray). No manager: an access is a load or
// a store in memory every process maps.
//
//   mp::Value<double> num(0.0);             // Value('d', 0.0)
//   mp::Array<int32_t> arr({0, 1, 2, 3});   // Array('i', range(4))
//   mp::Process p(f, num, arr);             // void f(mp::Value<double>,
//                                           //        mp::Array<int32_t>)
//   { std::lock_guard hold(num.get_lock()); num.set(num.get() + 1); }
//
// T is trivially copyable (and at most 64-byte aligned). Handles are cheap
// to copy; every copy, in any process, refers to the same memory, which is
// freed when the last handle anywhere is gone (also after SIGKILL).
//
// Locking: with lock = true (the default) the object carries a robust,
// process-shared RLock, get_lock(). As in Python, each get/set/slice/assign
// takes it for itself (so a whole-array read is consistent); a
// read-modify-write needs the caller to hold it across, or fetch_add /
// compare_exchange, which are atomic without it. operator[] and data() are
// the raw memory: no lock, no copy. With lock = false nothing is locked and
// get_lock() throws AttributeError (Python's RawValue has none).
//
// Thread safety: any thread may use a handle; the data is shared, so
// concurrent plain accesses race unless synchronised as above.
#ifndef MP_SHAREDCTYPES_H_
#define MP_SHAREDCTYPES_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "mp/detail/shared_segment.h"
#include "mp/errors.h"
#include "mp/object.h"
#include "mp/synchronize.h"

namespace mp {

namespace internal {
template <class T>
concept SharedCType =
    std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> &&
    alignof(T) <= 64 && std::is_default_constructible_v<T>;

// Takes the lock if there is one (an RLock: re-entry by its holder is fine).
class MaybeLocked {
 public:
  explicit MaybeLocked(const std::optional<RLock>& lock) : lock_(lock) {
    if (lock_) lock_->acquire();
  }
  ~MaybeLocked() {
    if (lock_) lock_->release();
  }
  MaybeLocked(const MaybeLocked&) = delete;
  MaybeLocked& operator=(const MaybeLocked&) = delete;

 private:
  const std::optional<RLock>& lock_;
};
}  // namespace internal

template <internal::SharedCType T>
class Value {
 public:
  explicit Value(T initial = T(), bool lock = true)
      : Value(internal::CreateDataSegment(internal::SegmentKind::kValue,
                                          sizeof(T), internal::ElementTag<T>(),
                                          1, lock)) {
    *data_ = initial;
  }
  Value(internal::AdoptSegment, std::shared_ptr<internal::Segment> segment)
      : Value(std::move(segment)) {}

  T get() const {
    internal::MaybeLocked hold(lock_);
    if constexpr (std::atomic_ref<T>::is_always_lock_free) {
      return std::atomic_ref<T>(*data_).load();
    } else {
      return *data_;
    }
  }
  void set(T value) const {
    internal::MaybeLocked hold(lock_);
    if constexpr (std::atomic_ref<T>::is_always_lock_free) {
      std::atomic_ref<T>(*data_).store(value);
    } else {
      *data_ = value;
    }
  }
  // Atomic whether or not there is a lock; returns the previous value.
  T fetch_add(T delta) const
      requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    return std::atomic_ref<T>(*data_).fetch_add(delta);
  }
  bool compare_exchange(T& expected, T desired)
      const requires std::atomic_ref<T>::is_always_lock_free {
    return std::atomic_ref<T>(*data_).compare_exchange_strong(expected,
                                                              desired);
  }

  // AttributeError for a lock = false Value.
  const RLock& get_lock() const {
    if (!lock_)
      throw AttributeError("a Value made with lock=false has no lock");
    return *lock_;
  }
  bool has_lock() const { return lock_.has_value(); }
  // The shared memory itself.
  T* data() const { return data_; }

  const std::shared_ptr<internal::Segment>& segment() const { return segment_; }

 private:
  explicit Value(std::shared_ptr<internal::Segment> segment)
      : segment_(std::move(segment)),
        data_(static_cast<T*>(internal::SegmentData(*segment_))) {
    if (internal::SegmentHasLock(*segment_)) {
      lock_.emplace(internal::AdoptSegment{}, segment_);
    }
  }

  std::shared_ptr<internal::Segment> segment_;
  T* data_;
  std::optional<RLock> lock_;
};

template <internal::SharedCType T>
class Array {
 public:
  // `size` zero-filled elements (value-initialised T).
  explicit Array(size_t size = 0, bool lock = true)
      : Array(internal::CreateDataSegment(internal::SegmentKind::kArray,
                                          sizeof(T), internal::ElementTag<T>(),
                                          size, lock)) {
    std::fill(data_, data_ + size_, T());
  }
  Array(std::initializer_list<T> values, bool lock = true)
      : Array(std::vector<T>(values), lock) {}
  explicit Array(const std::vector<T>& values, bool lock = true)
      : Array(values.size(), lock) {
    std::copy(values.begin(), values.end(), data_);
  }
  Array(internal::AdoptSegment, std::shared_ptr<internal::Segment> segment)
      : Array(std::move(segment)) {}

  size_t size() const { return size_; }
  size_t length() const { return size_; }

  // Python indexing: negative i counts from the end; IndexError outside.
  T get(int64_t i) const {
    internal::MaybeLocked hold(lock_);
    return data_[Index(i)];
  }
  void set(int64_t i, T value) const {
    internal::MaybeLocked hold(lock_);
    data_[Index(i)] = value;
  }
  // The raw element (no lock): IndexError outside.
  T& operator[](int64_t i) const { return data_[Index(i)]; }

  // Python's a[start:stop] (clamped, negative from the end).
  std::vector<T> slice(int64_t start, int64_t stop) const {
    internal::MaybeLocked hold(lock_);
    const auto [a, b] = Clamp(start, stop);
    return std::vector<T>(data_ + a, data_ + b);
  }
  // a[start:start + values.size()] = values; ValueError if it does not fit
  // (Python cannot resize a shared Array either).
  void assign(int64_t start, const std::vector<T>& values) const {
    internal::MaybeLocked hold(lock_);
    const size_t a = Clamp(start, static_cast<int64_t>(size_)).first;
    if (values.size() > size_ - a) {
      throw ValueError("can only assign " + std::to_string(size_ - a) +
                       " elements at " + std::to_string(a) + ", got " +
                       std::to_string(values.size()));
    }
    std::copy(values.begin(), values.end(), data_ + a);
  }
  std::vector<T> to_vector() const {
    internal::MaybeLocked hold(lock_);
    return std::vector<T>(data_, data_ + size_);
  }
  // The shared memory itself.
  std::span<T> data() const { return {data_, size_}; }

  const RLock& get_lock() const {
    if (!lock_) {
      throw AttributeError("an Array made with lock=false has no lock");
    }
    return *lock_;
  }
  bool has_lock() const { return lock_.has_value(); }

  const std::shared_ptr<internal::Segment>& segment() const { return segment_; }

 private:
  explicit Array(std::shared_ptr<internal::Segment> segment)
      : segment_(std::move(segment)),
        data_(static_cast<T*>(internal::SegmentData(*segment_))),
        size_(static_cast<size_t>(internal::SegmentCount(*segment_))) {
    if (internal::SegmentHasLock(*segment_)) {
      lock_.emplace(internal::AdoptSegment{}, segment_);
    }
  }

  size_t Index(int64_t i) const {
    const auto n = static_cast<int64_t>(size_);
    if (i < 0) i += n;
    if (i < 0 || i >= n) throw IndexError("array index out of range");
    return static_cast<size_t>(i);
  }
  std::pair<size_t, size_t> Clamp(int64_t start, int64_t stop) const {
    const auto n = static_cast<int64_t>(size_);
    auto clamp = [n](int64_t i) {
      if (i < 0) i += n;
      return static_cast<size_t>(std::clamp<int64_t>(i, 0, n));
    };
    const size_t a = clamp(start);
    return {a, std::max(a, clamp(stop))};
  }

  std::shared_ptr<internal::Segment> segment_;
  T* data_;
  size_t size_;
  std::optional<RLock> lock_;
};

template <class T>
Object to_object(const Value<T>& value) {
  return internal::SegmentToObject(value.segment());
}
template <class T>
void from_object(const Object& object, Value<T>& value) {
  value = Value<T>(
      internal::AdoptSegment{},
      internal::SegmentFromObject(object, internal::SegmentKind::kValue,
                                  internal::ElementTag<T>(), "mp::Value"));
}
template <class T>
Object to_object(const Array<T>& array) {
  return internal::SegmentToObject(array.segment());
}
template <class T>
void from_object(const Object& object, Array<T>& array) {
  array = Array<T>(
      internal::AdoptSegment{},
      internal::SegmentFromObject(object, internal::SegmentKind::kArray,
                                  internal::ElementTag<T>(), "mp::Array"));
}

}  // namespace mp

#endif  // MP_SHAREDCTYPES_H_
