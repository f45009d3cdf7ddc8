#pragma once

// The fixtures in tests/data/ (see tests/data/README.md). A missing, unreadable or malformed
// file is returned as an error naming the file, never thrown, so a test can fail with QVERIFY2.

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace mizan::testdata {

// The absolute path of tests/data/<relative> in this source tree.
inline std::string path(const std::string &relative)
{
    return std::string(MIZAN_SOURCE_DIR "/tests/data/") + relative;
}

struct JsonFile {
    std::string path;
    nlohmann::json value; // null when `error` is set
    std::string error;    // "cannot read /…/cases.json: …" or "… is not valid JSON: …"
    bool ok() const { return error.empty(); }
};

inline JsonFile readJson(const std::string &relative)
{
    JsonFile file;
    file.path = path(relative);
    std::ifstream in(file.path, std::ios::binary);
    if (!in) {
        file.error = "cannot read test data " + file.path + " (missing or unreadable; see tests/data/README.md)";
        return file;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        file.error = "cannot read test data " + file.path + " (read error)";
        return file;
    }
    try {
        file.value = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception &e) {
        file.error = "test data " + file.path + " is not valid JSON: " + e.what();
        file.value = nullptr;
    }
    return file;
}

// tests/data/parity/cases.json (real Accelerate's results, see tests/data/README.md), read once;
// a missing or malformed file is an error naming it, reported by the test that needs it.
inline const JsonFile &parityFile()
{
    static const JsonFile file = [] {
        JsonFile f = readJson("parity/cases.json");
        if (f.ok() && !(f.value.is_object() && f.value.contains("cases") && f.value["cases"].is_array())) {
            f.error = "test data " + f.path + " has no \"cases\" list";
            f.value = nullptr;
        }
        return f;
    }();
    return file;
}

} // namespace mizan::testdata
