#include "expr_p.h"

#include "planner/error.h"

#include <cctype>
#include <cmath>
#include <string>

namespace mizan::models::detail {

namespace {

class Parser {
public:
    Parser(std::string_view text, const Env &env) : m_text(text), m_env(env) {}

    double parse()
    {
        const double v = parseOr();
        skipSpace();
        if (m_pos != m_text.size())
            fail("unexpected \"" + std::string(m_text.substr(m_pos)) + "\"");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string &what) const
    {
        throw Error(ErrorKind::InvalidConfig, {},
                    "registry expression \"" + std::string(m_text) + "\": " + what);
    }

    void skipSpace()
    {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos])))
            ++m_pos;
    }

    bool accept(std::string_view op)
    {
        skipSpace();
        if (m_text.substr(m_pos, op.size()) != op)
            return false;
        // "<" must not swallow the first char of "<=", "!" not of "!=".
        if (op.size() == 1 && m_pos + 1 < m_text.size() && m_text[m_pos + 1] == '='
            && (op == "<" || op == ">" || op == "!" || op == "="))
            return false;
        m_pos += op.size();
        return true;
    }

    double parseOr()
    {
        double v = parseAnd();
        while (accept("||")) {
            const double r = parseAnd();
            v = (v != 0 || r != 0) ? 1 : 0;
        }
        return v;
    }

    double parseAnd()
    {
        double v = parseCompare();
        while (accept("&&")) {
            const double r = parseCompare();
            v = (v != 0 && r != 0) ? 1 : 0;
        }
        return v;
    }

    double parseCompare()
    {
        const double v = parseAdd();
        if (accept("=="))
            return v == parseAdd() ? 1 : 0;
        if (accept("!="))
            return v != parseAdd() ? 1 : 0;
        if (accept("<="))
            return v <= parseAdd() ? 1 : 0;
        if (accept(">="))
            return v >= parseAdd() ? 1 : 0;
        if (accept("<"))
            return v < parseAdd() ? 1 : 0;
        if (accept(">"))
            return v > parseAdd() ? 1 : 0;
        return v;
    }

    double parseAdd()
    {
        double v = parseMul();
        for (;;) {
            if (accept("+"))
                v += parseMul();
            else if (accept("-"))
                v -= parseMul();
            else
                return v;
        }
    }

    double parseMul()
    {
        double v = parseUnary();
        for (;;) {
            if (accept("*")) {
                v *= parseUnary();
            } else if (accept("/")) {
                const double d = parseUnary();
                if (d == 0)
                    fail("division by zero");
                v /= d;
            } else if (accept("%")) {
                const double d = parseUnary();
                if (d == 0)
                    fail("modulo by zero");
                v = std::fmod(v, d);
            } else {
                return v;
            }
        }
    }

    double parseUnary()
    {
        if (accept("!"))
            return parseUnary() == 0 ? 1 : 0;
        if (accept("-"))
            return -parseUnary();
        return parsePrimary();
    }

    double parsePrimary()
    {
        skipSpace();
        if (m_pos >= m_text.size())
            fail("unexpected end");
        const char c = m_text[m_pos];
        if (c == '(') {
            ++m_pos;
            const double v = parseOr();
            if (!accept(")"))
                fail("missing \")\"");
            return v;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            const std::size_t start = m_pos;
            while (m_pos < m_text.size()
                   && (std::isdigit(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '.'))
                ++m_pos;
            return std::stod(std::string(m_text.substr(start, m_pos - start)));
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const std::size_t start = m_pos;
            while (m_pos < m_text.size()
                   && (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_'))
                ++m_pos;
            const std::string_view name = m_text.substr(start, m_pos - start);
            if (accept("(")) {
                const double a = parseOr();
                double b = 0;
                const bool two = name == "max" || name == "min";
                if (two) {
                    if (!accept(","))
                        fail("expected \",\" in " + std::string(name) + "()");
                    b = parseOr();
                }
                if (!accept(")"))
                    fail("missing \")\" after " + std::string(name) + "(");
                if (name == "floor")
                    return std::floor(a);
                if (name == "ceil")
                    return std::ceil(a);
                if (name == "max")
                    return std::max(a, b);
                if (name == "min")
                    return std::min(a, b);
                fail("unknown function \"" + std::string(name) + "\"");
            }
            auto it = m_env.find(name);
            if (it == m_env.end())
                fail("unknown name \"" + std::string(name) + "\"");
            return it->second;
        }
        fail(std::string("unexpected character '") + c + "'");
    }

    std::string_view m_text;
    const Env &m_env;
    std::size_t m_pos = 0;
};

} // namespace

double evaluate(std::string_view expression, const Env &env)
{
    return Parser(expression, env).parse();
}

} // namespace mizan::models::detail
