// The public models of the code runner (WIRE.md §13.5; SDK_SURFACE.md §8.2):
// what one cell run in a Jupyter kernel produced — its rich results, its
// stdout and stderr, its error and its execution count.
#pragma once

#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wrenn {

// An exception raised inside the cell (Jupyter's `error` message). Cell errors
// never throw: they land in execution::error.
struct execution_error {
    std::string name;       // ename, e.g. "ZeroDivisionError"
    std::string value;      // evalue, e.g. "division by zero"
    std::string traceback;  // the traceback lines joined with "\n", ANSI colours kept

    friend bool operator==(const execution_error&, const execution_error&) = default;
};

enum class log_stream { out, err };

// One `stream` message: a piece of stdout or stderr exactly as it arrived.
struct log_chunk {
    log_stream stream = log_stream::out;
    std::string text;

    friend bool operator==(const log_chunk&, const log_chunk&) = default;
};

struct execution_logs {
    std::vector<log_chunk> chunks;  // stdout and stderr, in arrival order

    std::vector<std::string> stdout_chunks() const { return texts(log_stream::out); }
    std::vector<std::string> stderr_chunks() const { return texts(log_stream::err); }
    std::string stdout_text() const { return joined(log_stream::out); }  // the chunks concatenated
    std::string stderr_text() const { return joined(log_stream::err); }

    friend bool operator==(const execution_logs&, const execution_logs&) = default;

private:
    std::vector<std::string> texts(log_stream s) const {
        std::vector<std::string> out;
        for (auto& c : chunks)
            if (c.stream == s) out.push_back(c.text);
        return out;
    }
    std::string joined(log_stream s) const {
        std::string out;
        for (auto& c : chunks)
            if (c.stream == s) out += c.text;
        return out;
    }
};

// One rich output of a cell: a Jupyter MIME bundle (`execute_result` or
// `display_data`), one field per well-known MIME type.
struct result {
    std::optional<std::string> text;        // text/plain, verbatim ("'hi'" keeps its quotes)
    std::optional<std::string> html;        // text/html
    std::optional<std::string> markdown;    // text/markdown
    std::optional<std::string> svg;         // image/svg+xml
    std::optional<std::string> png;         // image/png, base64 as Jupyter sends it
    std::optional<std::string> jpeg;        // image/jpeg, base64
    std::optional<std::string> gif;         // image/gif, base64
    std::optional<std::string> pdf;         // application/pdf, base64
    std::optional<std::string> latex;       // text/latex
    std::optional<std::string> javascript;  // application/javascript
    std::optional<boost::json::value> json;    // application/json
    std::optional<boost::json::value> plotly;  // application/vnd.plotly.v1+json
    std::map<std::string, boost::json::value> extra;  // every other MIME type, by MIME type
    bool is_main_result = false;  // execute_result (the cell's value) rather than display_data

    // The names of the set fields — "text", "html", "markdown", "svg", "png",
    // "jpeg", "gif", "pdf", "latex", "json", "javascript", "plotly", in that
    // order — then the extra MIME types in key order.
    std::vector<std::string> formats() const {
        std::vector<std::string> out;
        auto add = [&out](const auto& field, const char* name) {
            if (field) out.emplace_back(name);
        };
        add(text, "text");
        add(html, "html");
        add(markdown, "markdown");
        add(svg, "svg");
        add(png, "png");
        add(jpeg, "jpeg");
        add(gif, "gif");
        add(pdf, "pdf");
        add(latex, "latex");
        add(json, "json");
        add(javascript, "javascript");
        add(plotly, "plotly");
        for (auto& kv : extra) out.push_back(kv.first);
        return out;
    }

    friend bool operator==(const result&, const result&) = default;
};

// What one run_code call produced. A cell that raised sets `error`; a cell
// still running at the deadline is returned partial with `timed_out`.
struct execution {
    std::vector<result> results;  // in arrival order
    execution_logs logs;
    std::optional<execution_error> error;
    std::optional<int> execution_count;
    bool timed_out = false;

    // text/plain of the main result (execute_result), verbatim; nullopt when
    // there is no main result or it has no text/plain.
    std::optional<std::string> text() const {
        for (auto& r : results)
            if (r.is_main_result) return r.text;
        return std::nullopt;
    }

    friend bool operator==(const execution&, const execution&) = default;
};

} // namespace wrenn
