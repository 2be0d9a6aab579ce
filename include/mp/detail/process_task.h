// Internal to mp (included by mp/process.h): how mp::Process packages its
// function and arguments for the new process.
#ifndef MP_DETAIL_PROCESS_TASK_H_
#define MP_DETAIL_PROCESS_TASK_H_

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mp/detail/function_pointer.h"
#include "mp/errors.h"
#include "mp/object.h"

namespace mp::internal {

// How a task runs in a new process: `trampoline(fn, args)` converts the
// arguments back and calls `fn`; returns the exit code.
using Trampoline = int (*)(void* fn, const Object& args);

struct Task {
  void* fn = nullptr;  // plain function; null for closures
  Trampoline trampoline = nullptr;
  Object args;                    // a tuple
  std::function<void()> closure;  // fork only: any callable
};

template <class Fn, class... A>
int RunTrampoline(void* fn, const Object& args) {
  const Object::List& items = args.as_list();
  if (items.size() != sizeof...(A)) {
    throw TypeError("the task takes " + std::to_string(sizeof...(A)) +
                    " arguments, got " + std::to_string(items.size()));
  }
  auto call = [&]<size_t... I>(std::index_sequence<I...>) {
    reinterpret_cast<Fn>(fn)(from_object<std::decay_t<A>>(items[I])...);
  };
  call(std::index_sequence_for<A...>{});
  return 0;
}

// An argument as the parameter type it converts to; one of that very type
// is not copied (a move-only mp::Connection can be an argument).
template <class P, class A>
decltype(auto) AsParameter(A&& a) {
  if constexpr (std::is_same_v<std::decay_t<A>, P>) {
    return static_cast<const P&>(a);
  } else {
    return static_cast<P>(std::forward<A>(a));
  }
}

template <class R, class... P, class... Args>
Task MakeTask(R (*fn)(P...), Args&&... args) {
  static_assert(sizeof...(P) == sizeof...(Args),
                "mp::Process: wrong number of arguments for the function");
  Task task;
  task.fn = reinterpret_cast<void*>(fn);
  task.trampoline = &RunTrampoline<R (*)(P...), P...>;
  task.args = Object::tuple(
      {to_object(AsParameter<std::decay_t<P>>(std::forward<Args>(args)))...});
  return task;
}

template <class F, class... Args>
Task MakeTask(F&& f, Args&&... args) {
  if constexpr (DecaysToFunctionPointer<std::remove_reference_t<F>>) {
    using Plain =
        typename FunctionPointerTraits<decltype(+f)>::Plain;  // drops noexcept
    return MakeTask(static_cast<Plain>(+f), std::forward<Args>(args)...);
  } else {
    Task task;
    task.args = Object::tuple({to_object(args)...});  // checks convertibility
    task.closure = [f = std::forward<F>(f),
                    tup = std::make_tuple(std::decay_t<Args>(
                        args)...)]() mutable { std::apply(f, tup); };
    return task;
  }
}

}  // namespace mp::internal

#endif  // MP_DETAIL_PROCESS_TASK_H_
