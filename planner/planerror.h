#pragma once

// An error of plan() that every front end can show in its own language: the same text as
// structured messages (message() == toEnglish(messages())).

#include "error.h"
#include "message.h"

#include <vector>

namespace mizan::planner {

class PlanError : public Error {
public:
    PlanError(ErrorKind kind, std::vector<Message> messages);
    const std::vector<Message> &messages() const noexcept { return m_messages; }

private:
    std::vector<Message> m_messages;
};

} // namespace mizan::planner
