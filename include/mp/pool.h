// mp::Pool: a pool of worker processes, as multiprocessing.Pool.
//
//   int sq(int x) { return x * x; }
//   mp::Pool pool(4);
//   std::vector<int> r = pool.map(sq, std::vector<int>{1, 2, 3});
//
// Workers are started with the pool's start method (default: the
// process-wide one, forkserver) and named as in Python: ForkPoolWorker-N,
// SpawnPoolWorker-N, ForkServerPoolWorker-N. They run plain functions (or
// lambdas without captures), found by their offset in the program like
// mp::Process tasks; passing anything else (a lambda with captures, a
// std::function) is a compile-time error saying so. Arguments and results
// travel through mp::to_object / mp::from_object. Server-less shared
// objects (mp::Value, mp::Lock, mp::SharedMemory, ...) and mp::Connection
// ends are valid arguments, initargs and results under every start method:
// their descriptors travel with the task (SCM_RIGHTS), at most 200 per
// chunk (ValueError fails the task beyond).
//
// Errors: an exception in a worker reaches the caller as the same mp::Error
// subtype, or as RemoteError named after its C++ type; its traceback()
// names the worker and the task function. A worker that dies mid-task fails
// that task with ProcessError and is replaced - nothing hangs. Spawn and
// forkserver pools need mp::init(argc, argv) in main(), like Process: the
// constructor throws ProcessError without it.
//
// Callbacks, as Python's callback= and error_callback=: they run once, on a
// pool thread, before the result becomes ready (so whoever waits on it sees
// their effects); an exception thrown by one is swallowed.
//   pool.apply_async(f, x, y, mp::callback(on_value),
//                    mp::error_callback(on_error));       // keywords, last
//   pool.map_async(f, inputs, chunksize, on_values, on_error);  // positional
//   pool.map_async(f, inputs, mp::error_callback(on_error));
// Why keywords: Python passes the arguments as one tuple,
// `apply_async(f, (x, y), callback=cb)`; mp passes them directly,
// `apply_async(f, x, y)`, so whatever follows them could be one more
// argument - mp::callback() marks it as the keyword does in Python.
// map_async and starmap_async have a fixed shape and also take them
// positionally, in Python's order. `callback` takes `const R&` (map_async,
// starmap_async: `const std::vector<R>&`), `error_callback` takes
// `const mp::Error&` (of the error's own type: dynamic_cast to KeyError
// works); nullptr stands for none. apply_async_cb (callbacks first) is
// deprecated.
//
// Thread safety: a Pool may be used from several threads at once;
// AsyncResult copies may be waited on from any thread; an IMapResult is
// read by one thread at a time.
//
// Blocking: map, starmap and apply wait for their results (no timeout, as
// in Python; every task completes or fails - a dead worker fails its task).
// *_async return at once; AsyncResult::get/wait take an optional timeout.
// The constructor returns at once: workers start with the first tasks
// (each gets 30 s to start and connect, or its task fails with
// ProcessError).
//
// Destructor policy - ~Pool() is terminate(), as leaving Python's
// `with Pool() as p:` block: tasks not yet started fail with
// ProcessError("the pool was terminated"); workers get SIGTERM, and those
// still alive 2 s later SIGKILL, so the tasks they were running fail with
// ProcessError; it returns when every worker has exited. Results already obtained
// (AsyncResult, IMapResult) stay valid and hold their value or that error.
// Call close() and join() first to let queued work finish.
#ifndef MP_POOL_H_
#define MP_POOL_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/detail/pool_callbacks.h"
#include "mp/detail/pool_function.h"
#include "mp/detail/pool_results.h"
#include "mp/errors.h"
#include "mp/object.h"
#include "mp/process.h"

namespace mp {

// Python's keyword arguments callback=f and error_callback=f of
// apply_async, map_async and starmap_async (see the top of this header).
template <class F>
CallbackArg<std::decay_t<F>> callback(F&& fn) {
  return {std::forward<F>(fn)};
}
template <class F>
ErrorCallbackArg<std::decay_t<F>> error_callback(F&& fn) {
  return {std::forward<F>(fn)};
}

struct PoolOptions {
  int processes = 0;                // 0: cpu_count()
  void (*initializer)() = nullptr;  // run once in each worker
  int maxtasksperchild = 0;         // 0: workers live as long as the pool
  std::string context{};            // start method; "" = get_start_method()

  // Python's initializer + initargs: each worker runs fn(initargs...)
  // before its first task. fn is a plain function or a lambda without
  // captures (any start method); the arguments travel like task arguments.
  // Replaces `initializer`.
  //   mp::Pool pool(mp::PoolOptions{.processes = 4}.with_initializer(setup, d,
  //   7));
  template <class F, class... A>
  PoolOptions& with_initializer(F&& fn, A&&... initargs) {
    if constexpr (internal::RequireSendable<F>()) {
      static_assert(internal::ArityOf<F>() == sizeof...(A),
                    "with_initializer: wrong number of initargs");
      initializer = nullptr;
      initializer_with_args = internal::RefOf(fn);
      this->initargs = Object::tuple({to_object(std::forward<A>(initargs))...});
    }
    return *this;
  }
  // Set by with_initializer.
  std::optional<internal::FunctionRef> initializer_with_args{};
  Object initargs{};
};

// The result of an *_async call. Copies share one result.
template <class R>
class AsyncResult {
 public:
  // Waits for the result; throws the task's error. The form with a timeout
  // throws TimeoutError when the result is not ready by then.
  R get() const { return Convert(handle_.Get()); }
  R get(std::chrono::duration<double> timeout) const {
    return Convert(handle_.Get(timeout));
  }
  // Waits for the result; the form with a timeout returns whether it is
  // ready.
  void wait() const { handle_.Wait(); }
  bool wait(std::chrono::duration<double> timeout) const {
    return handle_.Wait(timeout);
  }
  // Non-blocking.
  bool ready() const { return handle_.Ready(); }
  // Whether the task succeeded; ValueError if not ready (as Python).
  bool successful() const { return handle_.Successful(); }

 private:
  friend class Pool;
  explicit AsyncResult(internal::ResultHandle handle)
      : handle_(std::move(handle)) {}
  static R Convert(const Object& value) {
    if constexpr (std::is_void_v<R>) {
      return;
    } else {
      return from_object<R>(value);
    }
  }
  internal::ResultHandle handle_;
};

// Results of imap / imap_unordered, produced lazily: at most 2 * processes
// chunks are in flight ahead of the consumer. Iterating blocks until the
// next result is ready and throws a failed chunk's error in its place.
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
      if (owner_ != nullptr && owner_->stream_.Next(next)) {
        current_ = from_object<R>(next);
      } else {
        current_.reset();
      }
    }
    IMapResult* owner_ = nullptr;
    std::optional<R> current_;
  };

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  friend class Pool;
  explicit IMapResult(internal::StreamHandle stream)
      : stream_(std::move(stream)) {}
  internal::StreamHandle stream_;
};

namespace internal {
class PoolCore;  // process/pool_core.h
}  // namespace internal

class Pool {
 public:
  // ValueError for a negative number of processes or maxtasksperchild, or
  // an unknown start method; ProcessError for spawn or forkserver without
  // mp::init(argc, argv) in main().
  explicit Pool(int processes = 0);
  explicit Pool(PoolOptions options);
  // terminate() (see "Destructor policy" above).
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // fn(item) for each input, in order: a std::vector of fn's result type
  // (mp::NoneType for a void fn). chunksize 0: Python's default,
  // ceil(len / (4 * processes)).
  template <class F, class T>
  auto map(F&& fn, const std::vector<T>& inputs, size_t chunksize = 0) {
    return map_async(std::forward<F>(fn), inputs, chunksize).get();
  }
  // -> AsyncResult<std::vector<R>>. Optional callback and error_callback
  // (see the top of this header).
  template <class F, class T, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto map_async(F&& fn, const std::vector<T>& inputs, size_t chunksize = 0,
                 Callback callback = nullptr,
                 ErrorCallback error_callback = nullptr) {
    using Items = std::vector<internal::ItemOf<F>>;
    if constexpr (internal::RequireSendable<F>()) {
      internal::FunctionRef ref = internal::RefOf(fn);
      return AsyncResult<Items>(
          SubmitMap(ref, ToItems(ref, inputs), chunksize,
                    internal::MakeCompletion<Items>(
                        std::move(callback), std::move(error_callback))));
    } else {
      return AsyncResult<Items>(internal::ResultHandle());
    }
  }
  template <class F, class T, class C, class ErrorCallback = std::nullptr_t>
  auto map_async(F&& fn, const std::vector<T>& inputs, CallbackArg<C> callback,
                 ErrorCallback error_callback = nullptr) {
    return map_async(std::forward<F>(fn), inputs, 0, std::move(callback),
                     std::move(error_callback));
  }
  template <class F, class T, class E, class Callback = std::nullptr_t>
  auto map_async(F&& fn, const std::vector<T>& inputs,
                 ErrorCallbackArg<E> error_callback,
                 Callback callback = nullptr) {
    return map_async(std::forward<F>(fn), inputs, 0, std::move(error_callback),
                     std::move(callback));
  }

  // fn(a, b, ...) for each tuple of arguments, in order.
  template <class F, class... A>
  auto starmap(F&& fn, const std::vector<std::tuple<A...>>& inputs,
               size_t chunksize = 0) {
    return starmap_async(std::forward<F>(fn), inputs, chunksize).get();
  }
  // -> AsyncResult<std::vector<R>>, with callbacks as map_async.
  template <class F, class... A, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto starmap_async(F&& fn, const std::vector<std::tuple<A...>>& inputs,
                     size_t chunksize = 0, Callback callback = nullptr,
                     ErrorCallback error_callback = nullptr) {
    using Items = std::vector<internal::ItemOf<F>>;
    if constexpr (internal::RequireSendable<F>()) {
      Object::List tuples;
      tuples.reserve(inputs.size());
      for (const auto& t : inputs) tuples.push_back(to_object(t));
      internal::FunctionRef ref = internal::RefOf(fn);
      ref.unary = nullptr;  // the items are argument tuples
      return AsyncResult<Items>(
          SubmitMap(ref, std::move(tuples), chunksize,
                    internal::MakeCompletion<Items>(
                        std::move(callback), std::move(error_callback))));
    } else {
      return AsyncResult<Items>(internal::ResultHandle());
    }
  }
  template <class F, class... A, class C, class ErrorCallback = std::nullptr_t>
  auto starmap_async(F&& fn, const std::vector<std::tuple<A...>>& inputs,
                     CallbackArg<C> callback,
                     ErrorCallback error_callback = nullptr) {
    return starmap_async(std::forward<F>(fn), inputs, 0, std::move(callback),
                         std::move(error_callback));
  }
  template <class F, class... A, class E, class Callback = std::nullptr_t>
  auto starmap_async(F&& fn, const std::vector<std::tuple<A...>>& inputs,
                     ErrorCallbackArg<E> error_callback,
                     Callback callback = nullptr) {
    return starmap_async(std::forward<F>(fn), inputs, 0,
                         std::move(error_callback), std::move(callback));
  }

  // fn(args...) in one worker; waits for its result.
  template <class F, class... A>
  auto apply(F&& fn, A&&... args) {
    return apply_async(std::forward<F>(fn), std::forward<A>(args)...).get();
  }
  // -> AsyncResult<R>. The arguments may be followed by mp::callback(f)
  // and/or mp::error_callback(f).
  template <class F, class... A>
  auto apply_async(F&& fn, A&&... args) {
    using R = internal::ResultOf<F>;
    if constexpr (internal::RequireSendable<F>() &&
                  internal::RequireKeywordsLast<A...>()) {
      constexpr size_t kArgs = internal::FirstKeyword<A...>();
      auto all = std::forward_as_tuple(std::forward<A>(args)...);
      Object call_args = [&]<size_t... I>(std::index_sequence<I...>) {
        return Object::tuple({to_object(std::get<I>(all))...});
      }
      (std::make_index_sequence<kArgs>{});
      internal::CompletionCallback done = [&]<size_t... K>(
          std::index_sequence<K...>) {
        return internal::MakeCompletion<internal::ItemOf<F>>(
            std::get<kArgs + K>(std::move(all))...);
      }
      (std::make_index_sequence<sizeof...(A) - kArgs>{});
      return AsyncResult<R>(SubmitApply(internal::RefOf(fn),
                                        std::move(call_args), std::move(done)));
    } else {
      return AsyncResult<R>(internal::ResultHandle());
    }
  }
  // Deprecated: apply_async(fn, args..., mp::callback(callback),
  // mp::error_callback(error_callback)) says the same in Python's order.
  template <class F, class... A>
  [[deprecated(
      "use apply_async(fn, args..., mp::callback(cb), "
      "mp::error_callback(err))")]] auto
  apply_async_cb(std::function<void(const internal::ItemOf<F>&)> callback,
                 std::function<void(const Error&)> error_callback, F&& fn,
                 A&&... args) {
    return apply_async(std::forward<F>(fn), std::forward<A>(args)...,
                       mp::callback(std::move(callback)),
                       mp::error_callback(std::move(error_callback)));
  }

  // Lazy: results come in input order (imap) or completion order
  // (imap_unordered) while later chunks are still being computed. `inputs`
  // is any input range (a vector, a std::views generator - even an
  // unbounded one); it is kept (moved or copied) by the result and read
  // only as far as 2 * processes chunks ahead of the consumer (CPython
  // gh-84291 reads all of it first). -> IMapResult<R>.
  template <class F, class Range>
  auto imap(F&& fn, Range&& inputs, size_t chunksize = 1) {
    return Imap<F>(fn, std::forward<Range>(inputs), chunksize,
                   /*ordered=*/true);
  }
  template <class F, class Range>
  auto imap_unordered(F&& fn, Range&& inputs, size_t chunksize = 1) {
    return Imap<F>(fn, std::forward<Range>(inputs), chunksize,
                   /*ordered=*/false);
  }

  // No more tasks; workers exit when the queue is empty. Non-blocking.
  void close();
  // Waits for the workers to exit, after close() (once the queued tasks
  // are done) or terminate(). ValueError before either. No timeout, as in
  // Python: the queued tasks decide how long it takes.
  void join();
  // Stops the workers now (see "Destructor policy" above); blocks until
  // they have exited (at most about 2 s after the signal).
  void terminate();
  int processes() const;

 private:
  template <class F, class Range>
  auto Imap(F& fn, Range&& inputs, size_t chunksize, bool ordered) {
    using R = internal::ItemOf<F>;
    if constexpr (internal::RequireSendable<F>()) {
      internal::FunctionRef ref = internal::RefOf(fn);
      return IMapResult<R>(SubmitStream(
          ref, Reader(ref, std::forward<Range>(inputs)), chunksize, ordered));
    } else {
      return IMapResult<R>(internal::StreamHandle());
    }
  }
  // The items of map/imap: bare arguments for one-parameter functions
  // (see FunctionRef::unary), one-element tuples otherwise.
  template <class T>
  static Object::List ToItems(const internal::FunctionRef& ref,
                              const std::vector<T>& inputs) {
    Object::List items;
    items.reserve(inputs.size());
    for (const T& x : inputs) {
      items.push_back(ref.unary ? to_object(x) : Object::tuple({to_object(x)}));
    }
    return items;
  }
  // Reads `inputs` one item at a time, as map items (see ToItems).
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

  internal::ResultHandle SubmitMap(const internal::FunctionRef& fn,
                                   Object::List items, size_t chunksize,
                                   internal::CompletionCallback done);
  internal::ResultHandle SubmitApply(const internal::FunctionRef& fn,
                                     Object args,
                                     internal::CompletionCallback done);
  internal::StreamHandle SubmitStream(const internal::FunctionRef& fn,
                                      std::function<bool(Object&)> next_input,
                                      size_t chunksize, bool ordered);

  std::shared_ptr<internal::PoolCore> core_;
};

}  // namespace mp

#endif  // MP_POOL_H_
