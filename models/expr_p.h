#pragma once

// Tiny arithmetic/boolean expressions for the registry tables ("NH*HD", "!V5", "i==0",
// "floor(HD*PRF)"). Values are doubles; booleans are 0/1. Internal to models/.

#include <map>
#include <string>
#include <string_view>

namespace mizan::models::detail {

using Env = std::map<std::string, double, std::less<>>;

// Evaluates `expression` over `env`. Operators: || && ! == != < <= > >= + - * / % ( ),
// functions floor() ceil() max(a,b) min(a,b). Throws mizan::Error(InvalidConfig) naming the
// expression for syntax errors and unknown names.
double evaluate(std::string_view expression, const Env &env);

} // namespace mizan::models::detail
