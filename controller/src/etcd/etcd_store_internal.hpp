// EtcdStore::Stream, the watch's streaming POST. Here because the store's
// constructor (etcd_store.cpp) and the watch (etcd_watch.cpp) both need the
// complete type.
#pragma once

#include "migclock/controller/etcd_store.hpp"
#include "stream.hpp"

namespace migclock::controller {

struct EtcdStore::Stream {
  etcd::StreamingPost post;
};

}  // namespace migclock::controller
