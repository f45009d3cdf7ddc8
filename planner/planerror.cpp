#include "planerror.h"

namespace mizan::planner {

PlanError::PlanError(ErrorKind kind, std::vector<Message> messages)
    : Error(kind, {}, toEnglish(messages))
    , m_messages(std::move(messages))
{
}

} // namespace mizan::planner
