// Internal to mp (included by mp/pool.h): how a Pool call's function
// reaches a worker - its address and a typed trampoline, both found again
// in the worker by their offsets in the program (process/pool_worker.cc) -
// and the compile-time rules on what may be sent.
#ifndef MP_DETAIL_POOL_FUNCTION_H_
#define MP_DETAIL_POOL_FUNCTION_H_

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "mp/detail/function_pointer.h"
#include "mp/errors.h"
#include "mp/object.h"

namespace mp::internal {

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

struct FunctionRef {
  void* fn = nullptr;
  CallTrampoline trampoline = nullptr;  // takes an argument tuple
  CallTrampoline unary = nullptr;  // one-parameter functions: the bare item
};

template <class R, class... P>
FunctionRef RefOfPointer(R (*fn)(P...)) {
  FunctionRef ref{reinterpret_cast<void*>(fn), &CallAndConvert<R, P...>};
  if constexpr (sizeof...(P) == 1) ref.unary = &CallUnaryAndConvert<R, P...>;
  return ref;
}
template <class F>
requires DecaysToFunctionPointer<std::remove_reference_t<F>> FunctionRef
RefOf(F&& f) {
  using Plain = typename FunctionPointerTraits<decltype(+f)>::Plain;
  return RefOfPointer(static_cast<Plain>(+f));
}

// What a Pool can send to its workers.
template <class F>
concept SendableFunction = DecaysToFunctionPointer<std::remove_cvref_t<F>>;

// The misuse's one compile error: the static_assert fires once, and callers
// test the result in `if constexpr` so that nothing else is instantiated
// for a function that cannot be sent.
template <class F>
constexpr bool RequireSendable() {
  constexpr bool sendable = SendableFunction<F>;  // no notes on the concept
  static_assert(sendable,
                "mp::Pool needs a plain function or a lambda without "
                "captures: a worker finds the function by its address in the "
                "program, so a lambda with captures, a std::function or a "
                "function object cannot be sent (pass what it captures as "
                "arguments instead)");
  return sendable;
}

// The function's result type, and what map-like calls collect per item:
// the result, or mp::NoneType for a function returning void (Python's map
// gives [None, None, ...]). Also defined for functions that cannot be sent,
// so that the signatures hold while RequireSendable reports the misuse.
template <class F>
using ResultOf = CallResultT<F>;
template <class F>
using ItemOf =
    std::conditional_t<std::is_void_v<ResultOf<F>>, NoneType, ResultOf<F>>;

template <class F>
constexpr size_t ArityOf() {
  using D = std::remove_cvref_t<F>;
  return FunctionPointerTraits<decltype(+std::declval<D&>())>::kArity;
}

}  // namespace mp::internal

#endif  // MP_DETAIL_POOL_FUNCTION_H_
