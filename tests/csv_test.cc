// The csv tokenizer on the tricky RFC 4180 cases: quoting, line ends, BOM,
// line numbers across block boundaries, malformed rows, caps.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/err.h"
#include "parsers/csv.h"
#include "testutil.h"

namespace
{

struct Row {
    unsigned long line;
    std::vector<std::string> fields;
    size_t nfields;
    std::string problem;
};

struct Result {
    std::vector<Row> rows;
    int rc = 0; // last csv_next_row return: 0 end, -1 stopped
    err e;
};

// Tokenizes bytes (through a real file, so the FILE* path is the product's).
Result tokenize(const std::string &bytes, const csv_limits *lim = nullptr,
                const std::string &name = "t.csv")
{
    Result r;
    err_clear(&r.e);
    std::string path = tu::temp_file(name, bytes);
    csv *c = csv_open(path.c_str(), lim, &r.e);
    EXPECT_NE(c, nullptr);
    if (!c) {
        r.rc = -1;
        return r;
    }
    int rc;
    while ((rc = csv_next_row(c, &r.e)) == 1) {
        Row row;
        row.line = csv_row_line(c);
        row.nfields = csv_nfields(c);
        for (size_t i = 0; i < row.nfields; i++) {
            size_t n = 0;
            const char *s = csv_field(c, i, &n);
            if (!s)
                break;
            EXPECT_EQ(s[n], '\0'); // fields are NUL-terminated
            row.fields.emplace_back(s, n);
        }
        const char *p = csv_row_problem(c);
        row.problem = p ? p : "";
        r.rows.push_back(row);
    }
    r.rc = rc;
    // Sticky end.
    EXPECT_EQ(csv_next_row(c, &r.e), rc);
    csv_free(c);
    return r;
}

using Fields = std::vector<std::string>;

TEST(Csv, SimpleLfRows)
{
    Result r = tokenize("a,b,c\n1,2,3\n");
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[0].fields, (Fields{"a", "b", "c"}));
    EXPECT_EQ(r.rows[1].fields, (Fields{"1", "2", "3"}));
    EXPECT_EQ(r.rows[0].line, 1u);
    EXPECT_EQ(r.rows[1].line, 2u);
    EXPECT_EQ(r.rows[1].problem, "");
    EXPECT_FALSE(err_is_set(&r.e));
}

TEST(Csv, CrlfAndFinalRowWithoutLineEnd)
{
    Result r = tokenize("a,b\r\n1,2\r\nx,y");
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[1].fields, (Fields{"1", "2"}));
    EXPECT_EQ(r.rows[2].fields, (Fields{"x", "y"}));
    EXPECT_EQ(r.rows[2].line, 3u);
}

TEST(Csv, BareCrEndsRows)
{
    Result r = tokenize("a,b\r1,2\r3,4");
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[1].fields, (Fields{"1", "2"}));
    EXPECT_EQ(r.rows[2].line, 3u);
}

TEST(Csv, QuotedCommasDoubledQuotesEmptyQuoted)
{
    Result r = tokenize("\"a,b\",\"say \"\"hi\"\"\",\"\",\"\"\"\"\n");
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].fields, (Fields{"a,b", "say \"hi\"", "", "\""}));
    EXPECT_EQ(r.rows[0].problem, "");
}

TEST(Csv, MultiLineQuotedFieldKeepsBytesAndCountsLines)
{
    // Line breaks inside quotes are content, exactly as written (LF, CRLF).
    Result r = tokenize("h1,h2\r\n"
                        "x,\"line1\nline2\r\nline3\"\r\n"
                        "y,z\r\n");
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[1].fields, (Fields{"x", "line1\nline2\r\nline3"}));
    EXPECT_EQ(r.rows[1].line, 2u);
    EXPECT_EQ(r.rows[2].line, 5u); // the multi-line row took lines 2-4
}

TEST(Csv, EmptyLinesAreRowsWithoutFields)
{
    Result r = tokenize("a\n\n\r\n,\nb,\n");
    ASSERT_EQ(r.rows.size(), 5u);
    EXPECT_EQ(r.rows[1].nfields, 0u);
    EXPECT_EQ(r.rows[1].line, 2u);
    EXPECT_EQ(r.rows[2].nfields, 0u);
    EXPECT_EQ(r.rows[2].line, 3u);
    EXPECT_EQ(r.rows[3].fields, (Fields{"", ""}));
    EXPECT_EQ(r.rows[4].fields, (Fields{"b", ""}));
    EXPECT_EQ(r.rows[4].line, 5u);
}

TEST(Csv, TrailingCommaAtEndOfFile)
{
    Result r = tokenize("a,");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].fields, (Fields{"a", ""}));
}

TEST(Csv, EmptyInputAndBomOnly)
{
    EXPECT_EQ(tokenize("").rows.size(), 0u);
    Result r = tokenize("\xEF\xBB\xBF");
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.rows.size(), 0u);
}

TEST(Csv, LeadingBomSkippedOtherBomsKept)
{
    Result r = tokenize("\xEF\xBB\xBF"
                        "MAC,cert\n\xEF\xBB\xBFx,y\n");
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[0].fields, (Fields{"MAC", "cert"}));
    EXPECT_EQ(r.rows[0].line, 1u);
    EXPECT_EQ(r.rows[1].fields[0], "\xEF\xBB\xBFx");
}

TEST(Csv, BomBeforeQuotedField)
{
    Result r = tokenize("\xEF\xBB\xBF\"MAC\",cert\n");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].fields, (Fields{"MAC", "cert"}));
    EXPECT_EQ(r.rows[0].problem, "");
}

TEST(Csv, NulBytesAreContent)
{
    Result r = tokenize(std::string("a\0b,c\n", 6));
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].fields[0], std::string("a\0b", 3));
}

TEST(Csv, StrayQuoteInUnquotedFieldIsARowProblemAndReadingGoesOn)
{
    Result r = tokenize("a,b\nx,ab\"c\nd,e\n");
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_NE(r.rows[1].problem.find("stray quote"), std::string::npos)
        << r.rows[1].problem;
    EXPECT_NE(r.rows[1].problem.find("field 2"), std::string::npos) << r.rows[1].problem;
    EXPECT_NE(r.rows[1].problem.find("line 2"), std::string::npos) << r.rows[1].problem;
    EXPECT_EQ(r.rows[1].fields, (Fields{"x", "ab\"c"})); // kept literally
    EXPECT_EQ(r.rows[2].fields, (Fields{"d", "e"}));
    EXPECT_EQ(r.rows[2].problem, "");
}

TEST(Csv, TextAfterClosingQuoteIsARowProblem)
{
    Result r = tokenize("\"ab\"c,d\nok\n");
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_NE(r.rows[0].problem.find("after the closing quote"), std::string::npos)
        << r.rows[0].problem;
    EXPECT_EQ(r.rows[0].fields, (Fields{"abc", "d"}));
    EXPECT_EQ(r.rows[1].problem, "");
}

TEST(Csv, ProblemNamesThePhysicalLineInsideAMultiLineRow)
{
    Result r = tokenize("h\n\"multi\nline\"x\n");
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[1].line, 2u);
    EXPECT_NE(r.rows[1].problem.find("line 3"), std::string::npos) << r.rows[1].problem;
}

TEST(Csv, UnterminatedQuoteStopsNamingTheOpeningLine)
{
    Result r = tokenize("a,b\r\n1,2\r\n3,\"never\r\nclosed\r\n", nullptr, "unterm.csv");
    EXPECT_EQ(r.rc, -1);
    EXPECT_EQ(r.rows.size(), 2u); // the good rows before it came out
    EXPECT_EQ(r.e.code, ERR_FORMAT);
    EXPECT_EQ(r.e.line, 3u);
    EXPECT_NE(std::string(r.e.where).find("unterm.csv"), std::string::npos);
    EXPECT_NE(std::string(r.e.msg).find("unterminated quoted field"), std::string::npos)
        << r.e.msg;
}

TEST(Csv, QuoteThenEndOfFileIsUnterminated)
{
    Result r = tokenize("\"");
    EXPECT_EQ(r.rc, -1);
    EXPECT_EQ(r.e.line, 1u);
}

TEST(Csv, FieldCap)
{
    csv_limits lim = {8, 0, 0};
    Result r =
        tokenize("12345678,x\n123456789,\"quoted longer\nthan eight\"\nok,ok\n", &lim);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[0].problem, ""); // exactly at the cap is fine
    EXPECT_NE(r.rows[1].problem.find("field 1 on line 2 is longer than 8 bytes"),
              std::string::npos)
        << r.rows[1].problem;
    EXPECT_EQ(r.rows[1].nfields, 2u); // stayed in step through the quoted field
    EXPECT_EQ(r.rows[2].fields, (Fields{"ok", "ok"}));
    EXPECT_EQ(r.rows[2].line, 4u);
}

TEST(Csv, FieldCountCap)
{
    csv_limits lim = {0, 3, 0};
    Result r = tokenize("a,b,c\na,b,c,d,e\nx\n", &lim);
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[0].problem, "");
    EXPECT_EQ(r.rows[1].nfields, 5u);
    EXPECT_EQ(r.rows[1].fields.size(), 3u); // only the first 3 stored
    EXPECT_NE(r.rows[1].problem.find("more than 3 fields"), std::string::npos)
        << r.rows[1].problem;
    EXPECT_EQ(r.rows[2].fields, (Fields{"x"}));
}

TEST(Csv, RowCap)
{
    csv_limits lim = {8, 0, 10};
    Result r = tokenize("12345,12345,12345\nok\n", &lim);
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_NE(r.rows[0].problem.find("row starting on line 1 is longer than 10"),
              std::string::npos)
        << r.rows[0].problem;
    EXPECT_EQ(r.rows[0].nfields, 3u);
    EXPECT_EQ(r.rows[1].problem, "");
}

TEST(Csv, HugeFieldIsNotBuffered)
{
    // 8 MiB in one quoted field with a 1 KiB cap: one row with a problem, and
    // the reader stays in step for the next row.
    std::string big = "h\n\"" + std::string(8u << 20, 'A') + "\"\nnext\n";
    csv_limits lim = {1024, 0, 0};
    Result r = tokenize(big, &lim);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_NE(r.rows[1].problem.find("longer than 1024 bytes"), std::string::npos);
    EXPECT_LE(r.rows[1].fields[0].size(), 1024u);
    EXPECT_EQ(r.rows[2].fields, (Fields{"next"}));
}

TEST(Csv, LineEndsAndQuotesAcrossBlockBoundaries)
{
    // The reader's block is 64 KiB: put a CRLF, a doubled quote, and a closing
    // quote across that boundary (and a few neighbours) and check nothing
    // shifts.
    for (size_t pad = 65530; pad < 65540; pad++) {
        std::string first(pad, 'x');
        std::string bytes = first + "\r\n\"q\"\"q\",\"multi\r\nline\"\r\nlast\r\n";
        Result r = tokenize(bytes);
        ASSERT_EQ(r.rc, 0) << pad;
        ASSERT_EQ(r.rows.size(), 3u) << pad;
        EXPECT_EQ(r.rows[0].fields[0].size(), pad);
        EXPECT_EQ(r.rows[1].fields, (Fields{"q\"q", "multi\r\nline"})) << pad;
        EXPECT_EQ(r.rows[1].line, 2u);
        EXPECT_EQ(r.rows[2].fields, (Fields{"last"})) << pad;
        EXPECT_EQ(r.rows[2].line, 4u) << pad;
    }
}

TEST(Csv, FromBorrowedFile)
{
    std::string path = tu::temp_file("borrowed.csv", "a,b\n");
    FILE *f = fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    csv *c = csv_from_file(f, "borrowed", nullptr);
    err e;
    err_clear(&e);
    ASSERT_EQ(csv_next_row(c, &e), 1);
    EXPECT_EQ(csv_nfields(c), 2u);
    EXPECT_EQ(csv_field(c, 2, nullptr), nullptr);
    EXPECT_EQ(csv_next_row(c, &e), 0);
    csv_free(c);
    EXPECT_EQ(fclose(f), 0); // still ours
}

TEST(Csv, OpenErrors)
{
    err e;
    err_clear(&e);
    EXPECT_EQ(csv_open("/nonexistent/dir/x.csv", nullptr, &e), nullptr);
    EXPECT_EQ(e.code, ERR_IO);
    EXPECT_NE(std::string(e.where).find("x.csv"), std::string::npos);

    // A directory opens as a FILE* on Linux but cannot be read: an I/O error,
    // not a silent empty file.
    err_clear(&e);
    const char *dir = getenv("TEST_TMPDIR");
    csv *c = csv_open(dir ? dir : "/tmp", nullptr, &e);
    if (c) {
        EXPECT_EQ(csv_next_row(c, &e), -1);
        EXPECT_EQ(e.code, ERR_IO);
        csv_free(c);
    } else {
        EXPECT_EQ(e.code, ERR_IO);
    }
}

} // namespace
