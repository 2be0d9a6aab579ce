#include "mp/errors.h"

#include <string_view>

namespace mp {

void ThrowError(std::string_view type_name, std::string_view message,
                std::string_view traceback) {
#define MP_RETHROW_(Name) \
  if (type_name == #Name) throw Name(message, traceback)
  MP_RETHROW_(KeyError);
  MP_RETHROW_(IndexError);
  MP_RETHROW_(TypeError);
  MP_RETHROW_(ValueError);
  MP_RETHROW_(RuntimeError);
  MP_RETHROW_(TimeoutError);
  MP_RETHROW_(BrokenBarrierError);
  MP_RETHROW_(AuthenticationError);
  MP_RETHROW_(ConnectionError);
  MP_RETHROW_(ProcessError);
  MP_RETHROW_(AttributeError);
  MP_RETHROW_(EOFError);
  MP_RETHROW_(ReferenceError);
  MP_RETHROW_(Empty);
  MP_RETHROW_(Full);
  MP_RETHROW_(MemoryError);
#undef MP_RETHROW_
  throw RemoteError(type_name, message, traceback);
}

}  // namespace mp
