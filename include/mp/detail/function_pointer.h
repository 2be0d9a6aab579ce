// Internal to mp (included by mp/process.h and mp/pool.h): which callables
// can run in a process started with spawn or forkserver, or in a Pool
// worker. Those are found again in the other process by their address in
// the program, so only code with an address of its own qualifies: a plain
// function, or a lambda without captures (which converts to one).
#ifndef MP_DETAIL_FUNCTION_POINTER_H_
#define MP_DETAIL_FUNCTION_POINTER_H_

#include <cstddef>
#include <type_traits>
#include <utility>

namespace mp::internal {

// A function, a function pointer, or a lambda without captures (anything
// with a unary + giving a function pointer).
template <class F>
concept DecaysToFunctionPointer = requires(F& f) {
  +f;
}
&&std::is_pointer_v<decltype(+std::declval<F&>())>&&
    std::is_function_v<std::remove_pointer_t<decltype(+std::declval<F&>())>>;

// The result and parameters of a function pointer type; noexcept functions
// are called through the plain pointer type (a function pointer conversion,
// which is well defined).
template <class T>
struct FunctionPointerTraits;
template <class R, class... P>
struct FunctionPointerTraits<R (*)(P...)> {
  using Result = R;
  using Plain = R (*)(P...);
  static constexpr size_t kArity = sizeof...(P);
};
template <class R, class... P>
struct FunctionPointerTraits<R (*)(P...) noexcept>
    : FunctionPointerTraits<R (*)(P...)> {};

// The same for anything else with one non-template operator() (a lambda
// with captures, a std::function, a function object): only to name the
// result type in a signature while a static_assert reports the misuse.
template <class T>
struct CallOperatorTraits {
  using Result = void;
  static constexpr bool kKnown = false;
};
template <class R, class C, class... P>
struct CallOperatorTraits<R (C::*)(P...)> {
  using Result = R;
  static constexpr bool kKnown = true;
};
template <class R, class C, class... P>
struct CallOperatorTraits<R (C::*)(P...) const>
    : CallOperatorTraits<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct CallOperatorTraits<R (C::*)(P...) noexcept>
    : CallOperatorTraits<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct CallOperatorTraits<R (C::*)(P...) const noexcept>
    : CallOperatorTraits<R (C::*)(P...)> {};

// What calling an F returns, for any F this can tell; void otherwise.
template <class F>
struct CallResult {
  using D = std::remove_cvref_t<F>;
  static auto Pick() {
    if constexpr (DecaysToFunctionPointer<D>) {
      return std::type_identity<typename FunctionPointerTraits<
          decltype(+std::declval<D&>())>::Result>{};
    } else if constexpr (requires { &D::operator(); }) {
      return std::type_identity<
          typename CallOperatorTraits<decltype(&D::operator())>::Result>{};
    } else {
      return std::type_identity<void>{};
    }
  }
  using type = typename decltype(Pick())::type;
};
template <class F>
using CallResultT = typename CallResult<F>::type;

}  // namespace mp::internal

#endif  // MP_DETAIL_FUNCTION_POINTER_H_
