// Helpers shared by the GoogleTest suites: fixture paths, temp files, TSVs.
#ifndef TP_TESTS_TESTUTIL_H
#define TP_TESTS_TESTUTIL_H

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace tu
{

// Reads a whole file (binary).
inline std::string slurp(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Writes bytes to a fresh file under TEST_TMPDIR and returns its path.
inline std::string temp_file(const std::string &name, const std::string &bytes)
{
    const char *dir = getenv("TEST_TMPDIR");
    std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << bytes;
    return path;
}

// Splits a TSV file into rows of cells, skipping the header line.
inline std::vector<std::vector<std::string>> read_tsv(const std::string &path)
{
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(slurp(path));
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (header) {
            header = false;
            continue;
        }
        if (line.empty())
            continue;
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream ls(line);
        while (std::getline(ls, cell, '\t'))
            cells.push_back(cell);
        rows.push_back(cells);
    }
    return rows;
}

} // namespace tu

#endif
