#pragma once

// Inside the libtorch backend module: the dispatched-inference session (session.cpp).

#include "runtime/session.h"

#include <memory>

namespace mizan::runtime {

std::unique_ptr<Session> createDispatchSession(const RunRequest &request);

} // namespace mizan::runtime
