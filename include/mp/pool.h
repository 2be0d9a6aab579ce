// mp::Pool: a pool of worker processes, as multiprocessing.Pool.
//
//   int sq(int x) { return x * x; }
//   mp::Pool pool(4);
//   std::vector<int> r = pool.map(sq, std::vector<int>{1, 2, 3});
//
// Workers are started with the pool's start method (default: the
// process-wide one, forkserver) and run plain functions (or lambdas without
// captures), found by their offset in the program like mp::Process tasks.
// Arguments and results travel through mp::to_object / mp::from_object.
// An exception in a worker reaches the caller as the same mp::Error subtype
// or as RemoteError; a worker that dies mid-task fails that task with
// ProcessError and is replaced - nothing hangs.
//
// Thread safety: a Pool may be used from several threads. ~Pool()
// terminates the workers, like leaving Python's `with Pool() as p:` block.
#ifndef MP_POOL_H_
#define MP_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/errors.h"
#include "mp/object.h"
#include "mp/process.h"

namespace mp {

namespace internal {

// Calls `fn` on one argument tuple and converts the result.
using CallTrampoline = Object (*)(void* fn, const Object& args);

template <class R, class... P>
Object CallAndConvert(void* fn, const Object& args) {
  const Object::List& items = args.as_list();
  if (items.size() != sizeof...(P)) {
    throw TypeError("the function takes " + std::to_string(sizeof...(P)) +
                    " arguments, got " + std::to_string(items.size()));
  }
  auto call = [&]<size_t... I>(std::index_sequence<I...>)->Object {
    auto f = reinterpret_cast<R (*)(P...)>(fn);
    if constexpr (std::is_void_v<R>) {
      f(from_object<std::decay_t<P>>(items[I])...);
      return Object();
    } else {
      return to_object(f(from_object<std::decay_t<P>>(items[I])...));
    }
  };
  return call(std::index_sequence_for<P...>{});
}

// For one-parameter functions: calls `fn` on the argument itself, so map()
// need not wrap every item in a tuple.
template <class R, class P>
Object CallUnaryAndConvert(void* fn, const Object& arg) {
  auto f = reinterpret_cast<R (*)(P)>(fn);
  if constexpr (std::is_void_v<R>) {
    f(from_object<std::decay_t<P>>(arg));
    return Object();
  } else {
    return to_object(f(from_object<std::decay_t<P>>(arg)));
  }
}

// One outcome: a value or an error.
struct Outcome {
  bool ok = false;
  Object value;
  std::string error_type, error_message;
  // Where in the worker it happened (see RemoteError::traceback()).
  std::string error_traceback;
};

// Shared by an AsyncResult and the pool's threads.
struct ResultState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool completing = false;  // the first Complete() wins
  Outcome outcome;
  std::function<void(const Outcome&)> on_done;  // callbacks, run once
  void Complete(Outcome o);
};

// The pool's engine (process/pool.cc).
class PoolCore;

struct FunctionRef {
  void* fn = nullptr;
  CallTrampoline trampoline = nullptr;
  CallTrampoline unary = nullptr;  // one-parameter functions only
};

template <class R, class... P>
FunctionRef RefOf(R (*fn)(P...)) {
  FunctionRef ref{reinterpret_cast<void*>(fn), &CallAndConvert<R, P...>};
  if constexpr (sizeof...(P) == 1) ref.unary = &CallUnaryAndConvert<R, P...>;
  return ref;
}
template <class F>
requires DecaysToFunctionPointer<std::remove_reference_t<F>>
auto RefOf(F&& f) { return RefOf(+f); }

template <class F>
struct FnTraits;
template <class R, class... P>
struct FnTraits<R (*)(P...)> {
  using Result = R;
  static constexpr size_t arity = sizeof...(P);
};
template <class F>
using FnPtr = decltype(+std::declval<std::remove_reference_t<F>&>());
template <class F>
using ResultOf = typename FnTraits<FnPtr<F>>::Result;
// What map-like calls collect per item: the function's result, or mp::None
// for a function returning void (Python's map gives [None, None, ...]).
template <class F>
using ItemOf =
    std::conditional_t<std::is_void_v<ResultOf<F>>, NoneType, ResultOf<F>>;

}  // namespace internal

struct PoolOptions {
  int processes = 0;                // 0: cpu_count()
  void (*initializer)() = nullptr;  // run once in each worker
  int maxtasksperchild = 0;         // 0: workers live as long as the pool
  std::string context{};            // start method; "" = get_start_method()

  // Python's initializer + initargs: each worker runs fn(initargs...)
  // before its first task. fn is a plain function (any start method); the
  // arguments travel like task arguments. Replaces `initializer`.
  //   mp::Pool pool(mp::PoolOptions{.processes = 4}.with_initializer(setup, d,
  //   7));
  template <class... P, class... A>
  PoolOptions& with_initializer(void (*fn)(P...), A&&... initargs) {
    static_assert(sizeof...(P) == sizeof...(A),
                  "with_initializer: wrong number of initargs");
    initializer = nullptr;
    initializer_with_args = internal::RefOf(fn);
    this->initargs = Object::tuple({to_object(std::forward<A>(initargs))...});
    return *this;
  }
  // Set by with_initializer.
  std::optional<internal::FunctionRef> initializer_with_args{};
  Object initargs{};
};

// The result of an *_async call.
template <class R>
class AsyncResult {
 public:
  explicit AsyncResult(std::shared_ptr<internal::ResultState> state)
      : state_(std::move(state)) {}

  // Waits for the result; throws the task's error. TimeoutError on timeout.
  R get() const {
    wait();
    return Value();
  }
  R get(std::chrono::duration<double> timeout) const {
    if (!wait(timeout)) throw TimeoutError("result not ready within timeout");
    return Value();
  }
  void wait() const {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->done; });
  }
  bool wait(std::chrono::duration<double> timeout) const {
    std::unique_lock<std::mutex> lock(state_->mu);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->done; });
  }
  bool ready() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->done;
  }
  // ValueError if not ready (as Python).
  bool successful() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->done) throw ValueError("result is not ready");
    return state_->outcome.ok;
  }

 private:
  R Value() const {
    const internal::Outcome& o = state_->outcome;
    if (!o.ok) ThrowError(o.error_type, o.error_message, o.error_traceback);
    if constexpr (std::is_void_v<R>) {
      return;
    } else {
      return from_object<R>(o.value);
    }
  }
  std::shared_ptr<internal::ResultState> state_;
};

// Results of imap / imap_unordered, produced lazily: at most a bounded
// number of chunks are in flight ahead of the consumer.
template <class R>
class IMapResult {
 public:
  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;
    iterator() = default;
    explicit iterator(IMapResult* owner) : owner_(owner) { Advance(); }
    const R& operator*() const { return *current_; }
    iterator& operator++() {
      Advance();
      return *this;
    }
    void operator++(int) { Advance(); }
    friend bool operator==(const iterator& a, const iterator& b) {
      return !a.current_ == !b.current_;
    }

   private:
    void Advance() {
      Object next;
      if (owner_ != nullptr && owner_->next_(next)) {
        current_ = from_object<R>(next);
      } else {
        current_.reset();
      }
    }
    IMapResult* owner_ = nullptr;
    std::optional<R> current_;
  };

  explicit IMapResult(std::function<bool(Object&)> next)
      : next_(std::move(next)) {}
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  std::function<bool(Object&)> next_;  // false at the end; throws errors
};

class Pool {
 public:
  explicit Pool(int processes = 0);
  explicit Pool(PoolOptions options);
  ~Pool();  // terminate()
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Python's default chunksize: ceil(len / (4 * processes)).
  template <class F, class T>
  auto map(F&& fn, const std::vector<T>& inputs, size_t chunksize = 0) {
    return map_async(std::forward<F>(fn), inputs, chunksize).get();
  }
  template <class F, class T>
  AsyncResult<std::vector<internal::ItemOf<F>>> map_async(
      F&& fn, const std::vector<T>& inputs, size_t chunksize = 0,
      std::function<void(const std::vector<internal::ItemOf<F>>&)> callback =
          {},
      std::function<void(const Error&)> error_callback = {}) {
    using R = internal::ItemOf<F>;
    internal::FunctionRef ref = internal::RefOf(std::forward<F>(fn));
    return AsyncResult<std::vector<R>>(Submit(
        ref, ToArgs(ref, inputs), chunksize,
        Wrap<std::vector<R>>(std::move(callback), std::move(error_callback))));
  }
  template <class F, class... A>
  auto starmap(F&& fn, const std::vector<std::tuple<A...>>& inputs,
               size_t chunksize = 0) {
    return starmap_async(std::forward<F>(fn), inputs, chunksize).get();
  }
  template <class F, class... A>
  AsyncResult<std::vector<internal::ItemOf<F>>> starmap_async(
      F&& fn, const std::vector<std::tuple<A...>>& inputs,
      size_t chunksize = 0) {
    Object::List tuples;
    for (const auto& t : inputs) tuples.push_back(to_object(t));
    internal::FunctionRef ref = internal::RefOf(std::forward<F>(fn));
    ref.unary = nullptr;  // the items are argument tuples
    return AsyncResult<std::vector<internal::ItemOf<F>>>(
        Submit(ref, std::move(tuples), chunksize, {}));
  }
  template <class F, class... A>
  auto apply(F&& fn, A&&... args) {
    return apply_async(std::forward<F>(fn), std::forward<A>(args)...).get();
  }
  template <class F, class... A>
  AsyncResult<internal::ResultOf<F>> apply_async(F&& fn, A&&... args) {
    internal::FunctionRef ref = internal::RefOf(std::forward<F>(fn));
    ref.unary = nullptr;
    return AsyncResult<internal::ResultOf<F>>(
        SubmitOne(ref, Object::tuple({to_object(args)...}), {}));
  }
  // With callbacks (run on a pool thread): callback(result) on success,
  // error_callback(error) on failure.
  template <class F, class... A>
  AsyncResult<internal::ResultOf<F>> apply_async_cb(
      std::function<void(const internal::ItemOf<F>&)> callback,
      std::function<void(const Error&)> error_callback, F&& fn, A&&... args) {
    internal::FunctionRef ref = internal::RefOf(std::forward<F>(fn));
    ref.unary = nullptr;
    return AsyncResult<internal::ResultOf<F>>(
        SubmitOne(ref, Object::tuple({to_object(args)...}),
                  Wrap<internal::ItemOf<F>>(std::move(callback),
                                            std::move(error_callback))));
  }

  // Lazy: results come in input order (imap) or completion order
  // (imap_unordered) while later chunks are still being computed. `inputs`
  // is any input range (a vector, a std::views generator - even an
  // unbounded one); it is kept (moved or copied) by the result and read
  // only as far as 2 * processes chunks ahead of the consumer (CPython
  // gh-84291 reads all of it first).
  template <class F, class Range>
  IMapResult<internal::ItemOf<F>> imap(F&& fn, Range&& inputs,
                                       size_t chunksize = 1) {
    internal::FunctionRef ref = internal::RefOf(std::forward<F>(fn));
    return IMapResult<internal::ItemOf<F>>(
        Stream(ref, Reader(ref, std::forward<Range>(inputs)), chunksize,
               /*ordered=*/true));
  }
  template <class F, class Range>
  IMapResult<internal::ItemOf<F>> imap_unordered(F&& fn, Range&& inputs,
                                                 size_t chunksize = 1) {
    internal::FunctionRef ref = internal::RefOf(std::forward<F>(fn));
    return IMapResult<internal::ItemOf<F>>(
        Stream(ref, Reader(ref, std::forward<Range>(inputs)), chunksize,
               /*ordered=*/false));
  }

  // No more tasks; workers exit when the queue is empty.
  void close();
  // Waits for the workers to exit (after close() or terminate()).
  void join();
  // Stops the workers now; unfinished tasks fail with ProcessError.
  void terminate();
  int processes() const;

 private:
  // The items of map/imap: bare arguments for one-parameter functions
  // (see FunctionRef::unary), one-element tuples otherwise.
  template <class T>
  static Object::List ToArgs(const internal::FunctionRef& ref,
                             const std::vector<T>& inputs) {
    Object::List args;
    args.reserve(inputs.size());
    for (const T& x : inputs) {
      args.push_back(ref.unary ? to_object(x) : Object::tuple({to_object(x)}));
    }
    return args;
  }
  template <class R, class CB, class ECB>
  static std::function<void(const internal::Outcome&)> Wrap(
      CB callback, ECB error_callback) {
    if (!callback && !error_callback) return {};
    return [callback, error_callback](const internal::Outcome& o) {
      if (o.ok) {
        if constexpr (!std::is_void_v<R>) {
          if (callback) callback(from_object<R>(o.value));
        }
      } else if (error_callback) {
        error_callback(Error(o.error_type, o.error_message, o.error_traceback));
      }
    };
  }
  std::shared_ptr<internal::ResultState> Submit(
      internal::FunctionRef fn, Object::List tuples, size_t chunksize,
      std::function<void(const internal::Outcome&)> on_done);
  std::shared_ptr<internal::ResultState> SubmitOne(
      internal::FunctionRef fn, Object args,
      std::function<void(const internal::Outcome&)> on_done);
  // Reads `inputs` one item at a time, as map items (see ToArgs).
  template <class Range>
  static std::function<bool(Object&)> Reader(const internal::FunctionRef& ref,
                                             Range&& inputs) {
    using Held = std::decay_t<Range>;
    struct Cursor {
      Held range;
      decltype(std::ranges::begin(std::declval<Held&>())) it;
      bool started = false;
    };
    auto cursor =
        std::make_shared<Cursor>(Cursor{std::forward<Range>(inputs), {}});
    const bool unary = ref.unary != nullptr;
    return [cursor, unary](Object& out) {
      if (!cursor->started) {
        cursor->it = std::ranges::begin(cursor->range);
        cursor->started = true;
      }
      if (cursor->it == std::ranges::end(cursor->range)) return false;
      out = unary ? to_object(*cursor->it)
                  : Object::tuple({to_object(*cursor->it)});
      ++cursor->it;
      return true;
    };
  }
  std::function<bool(Object&)> Stream(internal::FunctionRef fn,
                                      std::function<bool(Object&)> next_input,
                                      size_t chunksize, bool ordered);

  std::shared_ptr<internal::PoolCore> core_;
};

}  // namespace mp

#endif  // MP_POOL_H_
