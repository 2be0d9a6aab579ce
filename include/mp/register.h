// Copyright 2026 The mp Authors.
//
// Custom types: Python's BaseManager.register for C++ classes. A registered
// class lives in a manager server; clients create instances and call its
// registered methods through proxies (mp/custom_proxy.h).
//
//   static const auto kMaths = mp::register_type<Maths>("Maths")
//                                  .constructor<int64_t>()
//                                  .method("add", &Maths::add)
//                                  .method("mul", &Maths::mul);
//
// Where: at namespace scope (a static initializer) or in main() before
// mp::init and before any server starts. The registry is process-wide and
// not meant to change while a server runs: registering concurrently with
// calls is not supported. A program that registers types links mp::server
// (it serves them); a shared library loaded with `mp-manager --load` does
// not link mp at all - it resolves mp's symbols from mp-manager.
//
// Methods: member functions (const or not) of T, and free functions or
// lambdas whose first parameter is T& (or const T&). Arguments and results
// convert through mp::to_object / mp::from_object (mp/object.h); a method
// returning void gives None; a method returning a registered type (by value
// or std::shared_ptr) hands the caller a proxy to a new server object.
// Registering the same name twice replaces the first registration.
//
// Execution (server side): at most ServerOptions::custom_threads methods
// run at once, on the server's pool threads. On the local transport the
// thread that read a call runs it, its event loop parked meanwhile; a
// method still running after 1 ms loses that loop to an idle pool thread,
// so a method that blocks holds up other sessions for about 1 ms at most.
// Calls on one object run one at a time, in arrival order, unless the type
// says .concurrent() (then the class synchronises itself). An mp::Error a
// method throws reaches the caller as that type; any other std::exception
// as RemoteError naming the C++ type and what(). A method that crashes its
// process (a segfault, an abort) takes the server down with it, as in
// Python. Constructors run on that pool too (a slow constructor does not
// stall other clients either).
#ifndef MP_REGISTER_H_
#define MP_REGISTER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mp/errors.h"
#include "mp/object.h"

namespace mp {

namespace internal {

// What a method returned: a value, or a new instance of a registered type
// (`instance` set, of C++ type `type`), which the server makes an object of.
struct CustomValue {
  Object value;
  std::shared_ptr<void> instance;
  const std::type_info* type = nullptr;
};

struct CustomMethod {
  std::string name;
  size_t arity = 0;
  // Runs the method on `self` (a T*). Arguments are checked and converted
  // first: TypeError naming the method and the argument otherwise.
  std::function<CustomValue(void* self, const Object::List& args)> call;
};

struct CustomConstructor {
  size_t arity = 0;
  std::function<std::shared_ptr<void>(const Object::List& args)> make;
};

// A registered type, type-erased.
struct CustomTypeInfo {
  std::string name;
  const std::type_info* type = nullptr;
  bool concurrent = false;
  // The default constructor, taken until .constructor<...>() is called.
  bool implicit_default = false;
  std::vector<CustomConstructor> constructors;
  std::vector<CustomMethod> methods;

  const CustomMethod* FindMethod(const std::string& method) const {
    for (const CustomMethod& m : methods) {
      if (m.name == method) return &m;
    }
    return nullptr;
  }
};

// The process-wide registry (common/custom_registry.cc). Adds `info`,
// replacing a type registered under the same name.
void RegisterCustomType(std::shared_ptr<CustomTypeInfo> info);
// Defined by mp::server: makes this executable able to serve its types when
// mp::Manager starts a server from it (mp::init's server role). Calling it
// from register_type makes a program that registers types link mp::server.
void EnableCustomTypeServer();

template <class F>
struct MemberSig;
#define MP_MEMBER_SIG_(QUALS)              \
  template <class R, class C, class... A>  \
  struct MemberSig<R (C::*)(A...) QUALS> { \
    using Result = R;                      \
    using Params = std::tuple<A...>;       \
  };
MP_MEMBER_SIG_()
MP_MEMBER_SIG_(const)
MP_MEMBER_SIG_(noexcept)
MP_MEMBER_SIG_(const noexcept)
MP_MEMBER_SIG_(&)
MP_MEMBER_SIG_(const&)
#undef MP_MEMBER_SIG_

template <class Tuple>
struct DropFirst;
template <class First, class... Rest>
struct DropFirst<std::tuple<First, Rest...>> {
  using Type = std::tuple<Rest...>;
};

// Result and parameters (without the object) of a method-like callable.
template <class F>
struct CallSig;
template <class F>
requires std::is_member_function_pointer_v<F>
struct CallSig<F> : MemberSig<F> {
};
template <class R, class S, class... A>
struct CallSig<R (*)(S, A...)> {
  using Result = R;
  using Params = std::tuple<A...>;
};
template <class R, class S, class... A>
struct CallSig<R (*)(S, A...) noexcept> : CallSig<R (*)(S, A...)> {};
template <class F>
requires std::is_class_v<F>
struct CallSig<F> {
  using Result = typename MemberSig<decltype(&F::operator())>::Result;
  using Params = typename DropFirst<
      typename MemberSig<decltype(&F::operator())>::Params>::Type;
};

template <class T>
concept ConvertsToObject = requires(const T& v) {
  convert_internal::ToObjectBuiltin(v, convert_internal::BuiltinTag{});
}
|| convert_internal::adl::HasToObject<T>;

template <class T>
struct IsSharedPtr : std::false_type {};
template <class T>
struct IsSharedPtr<std::shared_ptr<T>> : std::true_type {
  using Element = T;
};

// `value` as what a method hands back.
template <class R>
CustomValue ToCustomValue(R&& value) {
  using D = std::decay_t<R>;
  CustomValue out;
  if constexpr (ConvertsToObject<D>) {
    out.value = mp::to_object(value);
  } else if constexpr (IsSharedPtr<D>::value) {
    out.instance = std::static_pointer_cast<void>(
        std::const_pointer_cast<
            std::remove_const_t<typename IsSharedPtr<D>::Element>>(value));
    out.type = &typeid(typename IsSharedPtr<D>::Element);
  } else {
    static_assert(std::is_class_v<D>,
                  "mp: a method's result must convert to mp::Object or be "
                  "a registered type");
    out.instance = std::make_shared<D>(std::forward<R>(value));
    out.type = &typeid(D);
  }
  return out;
}

// Argument `index` (0-based) of `where` converted to P; TypeError naming
// both when it does not convert.
template <class P>
std::decay_t<P> CustomArg(const std::string& where, size_t index,
                          const Object& arg) {
  try {
    return mp::from_object<std::decay_t<P>>(arg);
  } catch (const Error& e) {
    throw TypeError(where + " argument " + std::to_string(index + 1) + ": " +
                    e.message());
  }
}

[[noreturn]] void ThrowCustomArity(const std::string& where, size_t expected,
                                   size_t given);

template <class Params>
struct ArgCount;
template <class... A>
struct ArgCount<std::tuple<A...>> {
  static constexpr size_t value = sizeof...(A);
};

template <class T, class F, class R, class... A, size_t... I>
CustomValue InvokeCustom(const std::string& where, const F& f, T& self,
                         const Object::List& args, std::tuple<A...>*,
                         std::index_sequence<I...>) {
  if (args.size() != sizeof...(A)) {
    ThrowCustomArity(where, sizeof...(A), args.size());
  }
  // Converted before the call, left to right, so the first bad argument is
  // the one reported.
  std::tuple<std::decay_t<A>...> converted{CustomArg<A>(where, I, args[I])...};
  if constexpr (std::is_void_v<R>) {
    std::invoke(f, self, std::move(std::get<I>(converted))...);
    return CustomValue{};
  } else {
    return ToCustomValue(
        std::invoke(f, self, std::move(std::get<I>(converted))...));
  }
}

}  // namespace internal

// What register_type returns; each call adds to the registration (which is
// live at once) and returns the builder for chaining. Copies share one
// registration.
template <class T>
class TypeRegistration {
 public:
  explicit TypeRegistration(std::shared_ptr<internal::CustomTypeInfo> info)
      : info_(std::move(info)) {}

  // Adds a constructor taking Args (converted with from_object). Several
  // may be registered; Create picks the one with as many parameters as it
  // was given arguments. Without any, T's default constructor is used.
  template <class... Args>
  TypeRegistration& constructor() {
    static_assert(std::is_constructible_v<T, Args...>,
                  "mp: T has no constructor taking these arguments");
    if (info_->implicit_default) {
      info_->implicit_default = false;
      info_->constructors.clear();
    }
    const std::string where = info_->name + "()";
    info_->constructors.push_back(internal::CustomConstructor{
        sizeof...(Args), [where](const Object::List& args) {
          return MakeWith<Args...>(where, args,
                                   std::index_sequence_for<Args...>{});
        }});
    return *this;
  }

  // Registers `f` as method `name`: a pointer to a member function of T
  // (const or not), or a function or lambda taking T& (or const T&) first.
  template <class F>
  TypeRegistration& method(std::string name, F f) {
    using Sig = internal::CallSig<F>;
    using Params = typename Sig::Params;
    using R = typename Sig::Result;
    const std::string where = info_->name + "." + name + "()";
    internal::CustomMethod m;
    m.name = std::move(name);
    m.arity = internal::ArgCount<Params>::value;
    m.call = [where, f](void* self, const Object::List& args) {
      return internal::InvokeCustom<T, F, R>(
          where, f, *static_cast<T*>(self), args, static_cast<Params*>(nullptr),
          std::make_index_sequence<internal::ArgCount<Params>::value>{});
    };
    for (internal::CustomMethod& existing : info_->methods) {
      if (existing.name == m.name) {
        existing = std::move(m);
        return *this;
      }
    }
    info_->methods.push_back(std::move(m));
    return *this;
  }

  // Calls on one object may run at the same time (on different pool
  // threads): T synchronises itself.
  TypeRegistration& concurrent() {
    info_->concurrent = true;
    return *this;
  }

  const std::string& name() const { return info_->name; }

 private:
  template <class... Args, size_t... I>
  static std::shared_ptr<void> MakeWith(const std::string& where,
                                        const Object::List& args,
                                        std::index_sequence<I...>) {
    if (args.size() != sizeof...(Args)) {
      internal::ThrowCustomArity(where, sizeof...(Args), args.size());
    }
    std::tuple<std::decay_t<Args>...> converted{
        internal::CustomArg<Args>(where, I, args[I])...};
    return std::make_shared<T>(std::move(std::get<I>(converted))...);
  }

  std::shared_ptr<internal::CustomTypeInfo> info_;
};

// Registers T under `name` (what clients pass to Manager::create). Not
// thread-safe against running servers: register first, then serve.
template <class T>
TypeRegistration<T> register_type(std::string name) {
  static_assert(std::is_class_v<T>, "mp: register_type needs a class type");
  internal::EnableCustomTypeServer();
  auto info = std::make_shared<internal::CustomTypeInfo>();
  info->name = std::move(name);
  info->type = &typeid(T);
  if constexpr (std::is_default_constructible_v<T>) {
    info->implicit_default = true;
    info->constructors.push_back(internal::CustomConstructor{
        0, [where = info->name + "()"](const Object::List& args) {
          if (!args.empty()) internal::ThrowCustomArity(where, 0, args.size());
          return std::static_pointer_cast<void>(std::make_shared<T>());
        }});
  }
  internal::RegisterCustomType(info);
  return TypeRegistration<T>(std::move(info));
}

}  // namespace mp

#endif  // MP_REGISTER_H_
