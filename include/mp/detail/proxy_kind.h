// Internal to mp (included by mp/proxy.h): the kinds of server objects and
// the checked unwrapping of a proxy Object, used by the proxies'
// from_object and by Manager's factories. Not part of the API.
#ifndef MP_DETAIL_PROXY_KIND_H_
#define MP_DETAIL_PROXY_KIND_H_

#include <memory>

#include "mp/object.h"

namespace mp::internal {

class ProxyHandle;
// The kinds of server objects; the values match mp.v1.ObjectType.
enum class Kind : int {
  kDict = 1,
  kList = 2,
  kNamespace = 3,
  kValue = 4,
  kArray = 5,
  kIterator = 6,
  kLock = 7,
  kRLock = 8,
  kSemaphore = 9,
  kBoundedSemaphore = 10,
  kCondition = 11,
  kEvent = 12,
  kBarrier = 13,
  kQueue = 14,
  kJoinableQueue = 15,
  kCustom = 16,  // a registered custom type (mp/register.h)
};
// The handle inside `object`, checked to be a proxy of `kind`
// (mp::TypeError otherwise).
std::shared_ptr<const ProxyHandle> HandleOfKind(const Object& object,
                                                Kind kind);

}  // namespace mp::internal

#endif  // MP_DETAIL_PROXY_KIND_H_
