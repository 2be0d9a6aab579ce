// mp: Python's multiprocessing Manager for C++.
//
// The umbrella header. See README.md for a tour; each included header
// states its own contract.
#ifndef MP_MP_H_
#define MP_MP_H_

#include "mp/array_proxy.h"
#include "mp/custom_proxy.h"
#include "mp/dict_proxy.h"
#include "mp/errors.h"
#include "mp/list_proxy.h"
#include "mp/manager.h"
#include "mp/namespace_proxy.h"
#include "mp/object.h"
#include "mp/pipe.h"
#include "mp/pool.h"
#include "mp/process.h"
#include "mp/proxy.h"
#include "mp/queue_proxy.h"
#include "mp/register.h"
#include "mp/shared_memory.h"
#include "mp/sharedctypes.h"
#include "mp/sync_proxy.h"
#include "mp/synchronize.h"
#include "mp/value_proxy.h"

#endif  // MP_MP_H_
