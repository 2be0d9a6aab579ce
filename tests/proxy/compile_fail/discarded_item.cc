// Must not compile (with the project's -Werror): `d["missing"];` as a
// statement reads nothing - Python would raise KeyError there - so the
// lazy ItemRef is [[nodiscard]].
#include "mp/dict_proxy.h"

void Misuse(const mp::DictProxy& d) { d["missing"]; }
