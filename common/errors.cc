#include "mp/errors.h"

#include <string>
#include <string_view>

#include "mp/v1/session.pb.h"

namespace mp {

void ThrowError(std::string_view type_name, std::string_view message,
                std::string_view traceback) {
  // The names are proto/mp/v1/session.proto's Error.Type, the one table
  // the C++ and Python sides share. The switch has no default, so a name
  // added there without a class here fails to compile (-Werror=switch).
  v1::Error::Type type = v1::Error::TYPE_UNSPECIFIED;
  v1::Error::Type_Parse(std::string(type_name), &type);
  switch (type) {
    case v1::Error::KeyError:
      throw KeyError(message, traceback);
    case v1::Error::IndexError:
      throw IndexError(message, traceback);
    case v1::Error::TypeError:
      throw TypeError(message, traceback);
    case v1::Error::ValueError:
      throw ValueError(message, traceback);
    case v1::Error::RuntimeError:
      throw RuntimeError(message, traceback);
    case v1::Error::TimeoutError:
      throw TimeoutError(message, traceback);
    case v1::Error::BrokenBarrierError:
      throw BrokenBarrierError(message, traceback);
    case v1::Error::AuthenticationError:
      throw AuthenticationError(message, traceback);
    case v1::Error::ConnectionError:
      throw ConnectionError(message, traceback);
    case v1::Error::ProcessError:
      throw ProcessError(message, traceback);
    case v1::Error::AttributeError:
      throw AttributeError(message, traceback);
    case v1::Error::EOFError:
      throw EOFError(message, traceback);
    case v1::Error::ReferenceError:
      throw ReferenceError(message, traceback);
    case v1::Error::MemoryError:
      throw MemoryError(message, traceback);
    case v1::Error::Empty:
      throw Empty(message, traceback);
    case v1::Error::Full:
      throw Full(message, traceback);
    case v1::Error::PermissionError:
      throw PermissionError(message, traceback);
    case v1::Error::ZeroDivisionError:
      throw ZeroDivisionError(message, traceback);
    case v1::Error::TYPE_UNSPECIFIED:
    case v1::Error_Type_Error_Type_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::Error_Type_Error_Type_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  throw RemoteError(type_name, message, traceback);
}

}  // namespace mp
