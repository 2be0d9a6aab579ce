// Internal to mp (included by mp/pool.h): the callback and error_callback
// of apply_async, map_async and starmap_async - which argument is which,
// the compile-time rules on them, and their type-erased form.
#ifndef MP_DETAIL_POOL_CALLBACKS_H_
#define MP_DETAIL_POOL_CALLBACKS_H_

#include <array>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mp/detail/pool_results.h"
#include "mp/errors.h"
#include "mp/object.h"

namespace mp {

// Python's keyword arguments callback= and error_callback= (mp/pool.h).
template <class F>
struct CallbackArg {
  F fn;
};
template <class F>
struct ErrorCallbackArg {
  F fn;
};

namespace internal {

template <class T>
inline constexpr bool kIsCallbackKeyword = false;
template <class F>
inline constexpr bool kIsCallbackKeyword<CallbackArg<F>> = true;
template <class T>
inline constexpr bool kIsErrorCallbackKeyword = false;
template <class F>
inline constexpr bool kIsErrorCallbackKeyword<ErrorCallbackArg<F>> = true;

template <class T>
concept CallbackKeyword = kIsCallbackKeyword<std::remove_cvref_t<T>> ||
    kIsErrorCallbackKeyword<std::remove_cvref_t<T>>;

inline constexpr size_t kNone = static_cast<size_t>(-1);

template <class... A>
constexpr std::array<bool, sizeof...(A) + 1> KeywordFlags() {
  return {CallbackKeyword<A>..., true};
}

// Where the keywords begin among `A...`: everything before is a task
// argument.
template <class... A>
constexpr size_t FirstKeyword() {
  constexpr auto keyword = KeywordFlags<A...>();
  size_t i = 0;
  while (!keyword[i]) ++i;
  return i;
}

template <size_t N>
constexpr bool AllSetFrom(const std::array<bool, N>& flags, size_t first) {
  for (size_t i = first; i < N; ++i) {
    if (!flags[i]) return false;
  }
  return true;
}

template <class... A>
constexpr bool RequireKeywordsLast() {
  constexpr bool ok = AllSetFrom(KeywordFlags<A...>(), FirstKeyword<A...>());
  static_assert(ok,
                "mp::Pool: mp::callback(f) and mp::error_callback(f) come "
                "after all the function's arguments");
  return ok;
}

// Per option: 0 a positional callable, 1 mp::callback(f), 2
// mp::error_callback(f), 3 nullptr (none: positional, or the default of an
// unused slot after a keyword).
template <class O>
inline constexpr int kOptionKind =
    std::is_null_pointer_v<std::remove_cvref_t<O>>    ? 3
    : kIsCallbackKeyword<std::remove_cvref_t<O>>      ? 1
    : kIsErrorCallbackKeyword<std::remove_cvref_t<O>> ? 2
                                                      : 0;

template <size_t N>
constexpr bool ValidCallbackOptions(const std::array<int, N>& kinds) {
  size_t positional = 0, callbacks = 0, error_callbacks = 0;
  bool keyword_seen = false;
  for (size_t i = 0; i + 1 < N; ++i) {  // the last entry is a sentinel
    switch (kinds[i]) {
      case 0:
        if (keyword_seen) return false;
        if (positional++ == 0) {
          ++callbacks;
        } else {
          ++error_callbacks;
        }
        break;
      case 1:
        keyword_seen = true;
        ++callbacks;
        break;
      case 2:
        keyword_seen = true;
        ++error_callbacks;
        break;
      default:  // nullptr
        if (!keyword_seen) ++positional;
    }
  }
  return positional <= 2 && callbacks <= 1 && error_callbacks <= 1;
}

// Where the option of `kind` is: its keyword, else the positional one at
// `position`, else kNone.
template <size_t N>
constexpr size_t FindOption(const std::array<int, N>& kinds, int kind,
                            size_t position) {
  for (size_t i = 0; i + 1 < N; ++i) {
    if (kinds[i] == kind) return i;
  }
  return position + 1 < N && kinds[position] == 0 ? position : kNone;
}

// The callback options of one call: positional ones first (callback, then
// error_callback, as in Python; nullptr for none), then keywords in any
// order, each callback given once.
template <class... O>
constexpr bool RequireCallbackOptions() {
  constexpr bool ok = ValidCallbackOptions(
      std::array<int, sizeof...(O) + 1>{kOptionKind<O>..., -1});
  static_assert(ok,
                "mp::Pool: after the inputs come at most a callback and an "
                "error_callback, in that order (nullptr for none), or "
                "mp::callback(f) / mp::error_callback(f), each once");
  return ok;
}

template <class... O>
constexpr size_t IndexOfCallback() {
  return FindOption(std::array<int, sizeof...(O) + 1>{kOptionKind<O>..., -1}, 1,
                    0);
}
template <class... O>
constexpr size_t IndexOfErrorCallback() {
  return FindOption(std::array<int, sizeof...(O) + 1>{kOptionKind<O>..., -1}, 2,
                    1);
}

// The callable of an option: a keyword's function, or the option itself.
template <class O>
auto&& Unwrap(O&& option) {
  if constexpr (CallbackKeyword<O>) {
    return std::forward<O>(option).fn;
  } else {
    return std::forward<O>(option);
  }
}

template <size_t I, class Tuple>
auto Pick(Tuple& options) {
  if constexpr (I == kNone) {
    return nullptr;
  } else {
    return std::decay_t<decltype(Unwrap(std::get<I>(options)))>(
        Unwrap(std::get<I>(options)));
  }
}

template <class T>
inline constexpr bool kIsStdFunction = false;
template <class S>
inline constexpr bool kIsStdFunction<std::function<S>> = true;

// False for nullptr, an empty std::function and a null function pointer.
template <class C>
bool IsSet(const C& c) {
  if constexpr (std::is_null_pointer_v<C>) {
    return false;
  } else if constexpr (std::is_pointer_v<C> || kIsStdFunction<C>) {
    return static_cast<bool>(c);
  } else {
    return true;
  }
}

template <class R, class C>
constexpr bool RequireCallback() {
  constexpr bool ok =
      std::is_null_pointer_v<C> || std::is_invocable_v<C&, const R&>;
  static_assert(ok,
                "mp::Pool: the callback must take the result: "
                "callback(const R&) for apply_async, callback(const "
                "std::vector<R>&) for map_async and starmap_async (R is "
                "mp::NoneType for a function returning void)");
  return ok;
}
template <class C>
constexpr bool RequireErrorCallback() {
  constexpr bool ok =
      std::is_null_pointer_v<C> || std::is_invocable_v<C&, const Error&>;
  static_assert(ok,
                "mp::Pool: the error_callback must take the error: "
                "error_callback(const mp::Error&)");
  return ok;
}

// The callbacks among `options` as one CompletionCallback converting the
// value to R; empty when there are none.
template <class R, class... O>
CompletionCallback MakeCompletion(O&&... options) {
  if constexpr (RequireCallbackOptions<O...>()) {
    auto all = std::forward_as_tuple(std::forward<O>(options)...);
    auto callback = Pick<IndexOfCallback<O...>()>(all);
    auto error_callback = Pick<IndexOfErrorCallback<O...>()>(all);
    using C = decltype(callback);
    using E = decltype(error_callback);
    constexpr bool callback_ok = RequireCallback<R, C>();
    constexpr bool error_callback_ok = RequireErrorCallback<E>();
    if constexpr (callback_ok && error_callback_ok) {
      if (!IsSet(callback) && !IsSet(error_callback)) return {};
      return [callback = std::move(callback),
              error_callback = std::move(error_callback)](
                 const Object* value, const Error* error) mutable {
        if (value != nullptr) {
          if constexpr (!std::is_null_pointer_v<C>) {
            if (IsSet(callback)) callback(from_object<R>(*value));
          }
        } else if constexpr (!std::is_null_pointer_v<E>) {
          if (IsSet(error_callback)) error_callback(*error);
        }
      };
    }
  }
  return {};
}

}  // namespace internal
}  // namespace mp

#endif  // MP_DETAIL_POOL_CALLBACKS_H_
