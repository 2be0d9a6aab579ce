// Copyright 2026 The mp Authors.
//
// The exceptions mp throws. They mirror Python's exception types so code
// translated from `multiprocessing` can catch the same things. Every one
// derives from mp::Error, which derives from std::runtime_error; what()
// returns "TypeName: message" the way Python prints an exception.
#ifndef MP_ERRORS_H_
#define MP_ERRORS_H_

#include <stdexcept>
#include <string>
#include <string_view>

namespace mp {

class Error : public std::runtime_error {
 public:
  Error(std::string_view type_name, std::string_view message,
        std::string_view traceback = {})
      : std::runtime_error(std::string(type_name) + ": " +
                           std::string(message)),
        type_name_(type_name),
        message_(message),
        traceback_(traceback) {}

  // Python's name for this exception type, e.g. "KeyError".
  const std::string& type_name() const noexcept { return type_name_; }
  // The message without the type prefix.
  const std::string& message() const noexcept { return message_; }
  // For an error raised in another process (a Pool worker's task): where it
  // happened, as text (see RemoteError); empty otherwise.
  const std::string& traceback() const noexcept { return traceback_; }

 private:
  std::string type_name_;
  std::string message_;
  std::string traceback_;
};

// Every type below is named in proto/mp/v1/session.proto's Error.Type, the
// table of names both sides of the wire share.
#define MP_DEFINE_ERROR_(Name)                                               \
  class Name : public Error {                                                \
   public:                                                                   \
    explicit Name(std::string_view message, std::string_view traceback = {}) \
        : Error(#Name, message, traceback) {}                                \
  }

MP_DEFINE_ERROR_(KeyError);
MP_DEFINE_ERROR_(IndexError);
MP_DEFINE_ERROR_(TypeError);
MP_DEFINE_ERROR_(ValueError);
MP_DEFINE_ERROR_(RuntimeError);
MP_DEFINE_ERROR_(TimeoutError);
MP_DEFINE_ERROR_(BrokenBarrierError);
MP_DEFINE_ERROR_(AuthenticationError);
MP_DEFINE_ERROR_(ConnectionError);
MP_DEFINE_ERROR_(ProcessError);
MP_DEFINE_ERROR_(AttributeError);  // a Namespace attribute that is not set
MP_DEFINE_ERROR_(EOFError);  // Connection::recv after the other end closed
// An operation on an object id the caller holds no reference to (released,
// never existed, or belonging to another server). Python's closest
// equivalent is the manager's "KeyError: 'xxx'" on an unknown ident.
MP_DEFINE_ERROR_(ReferenceError);
// A server limit was reached (ServerOptions::max_objects_per_session,
// max_stored_bytes_per_session, max_object_bytes).
MP_DEFINE_ERROR_(MemoryError);
// The server does not allow what was asked (a client's shutdown request
// without ServerOptions::allow_client_shutdown).
MP_DEFINE_ERROR_(PermissionError);
// Division or modulo by zero in a compound assignment (d[k] /= 0).
MP_DEFINE_ERROR_(ZeroDivisionError);

// queue.Empty and queue.Full.
MP_DEFINE_ERROR_(Empty);
MP_DEFINE_ERROR_(Full);

#undef MP_DEFINE_ERROR_

// An exception raised on the other side of the wire whose type has no
// mp::Error counterpart. Carries the remote type name, message and, where
// the remote side had one, its traceback text.
class RemoteError : public Error {
 public:
  RemoteError(std::string_view remote_type, std::string_view message,
              std::string_view traceback = {})
      : Error("RemoteError",
              std::string(remote_type) + ": " + std::string(message),
              traceback),
        remote_type_(remote_type),
        remote_message_(message) {}

  const std::string& remote_type() const noexcept { return remote_type_; }
  const std::string& remote_message() const noexcept { return remote_message_; }

 private:
  std::string remote_type_;
  std::string remote_message_;
};

// Throws the mp::Error subtype named `type_name` (as produced by
// Error::type_name()), or RemoteError when the name is not one of ours;
// either carries `traceback`.
[[noreturn]] void ThrowError(std::string_view type_name,
                             std::string_view message,
                             std::string_view traceback = {});

}  // namespace mp

#endif  // MP_ERRORS_H_
