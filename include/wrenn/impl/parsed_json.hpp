// A JSON text parsed into an arena of its own, for values that are read once
// and dropped (answers, stream messages): one stack buffer (more only for big
// texts) instead of an allocation per string, object and array, and nothing
// to free one by one (bench/NOTES.md: a third of the SDK's own cost per small
// request; ~1,300 instructions per stream event).
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string_view>

namespace wrenn::detail {

class parsed_json {
public:
    explicit parsed_json(std::string_view text)
        : value(boost::json::parse(text, error, boost::json::storage_ptr(&arena_))) {}
    parsed_json(const parsed_json&) = delete;
    parsed_json& operator=(const parsed_json&) = delete;

private:
    alignas(std::max_align_t) unsigned char buffer_[4096];
    boost::json::monotonic_resource arena_{buffer_, sizeof buffer_};  // before `value`, which lives in it

public:
    boost::json::error_code error;  // why the text is not JSON (then `value` is null); set before `value`
    const boost::json::value value;
};

} // namespace wrenn::detail
