// Blocking process streams and terminals: the same objects as the awaitable
// API, each call run to completion on the client's private io_context.
//
//     for (const auto& ev : cap.commands.stream("make"))
//         if (ev.is_stdout()) std::cout << ev.data;
#pragma once

#include <wrenn/process_stream.hpp>
#include <wrenn/pty.hpp>
#include <wrenn/sync/runner.hpp>

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

namespace wrenn::sync {

namespace detail {

// Range-for over any source with `std::optional<E> next()`.
template <class Source, class Event>
class event_iterator {
public:
    using value_type = Event;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;

    event_iterator() = default;
    explicit event_iterator(Source* s) : s_(s) { ++*this; }
    const Event& operator*() const { return *current_; }
    const Event* operator->() const { return &*current_; }
    event_iterator& operator++() {
        current_ = s_->next();
        return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !current_; }

private:
    Source* s_ = nullptr;
    std::optional<Event> current_;
};

} // namespace detail

class process_stream {
public:
    process_stream(std::shared_ptr<runner> r, wrenn::process_stream s) : r_(std::move(r)), s_(std::move(s)) {}
    process_stream(process_stream&&) noexcept = default;
    process_stream& operator=(process_stream&&) noexcept = default;
    ~process_stream() {
        if (!r_ || s_.done()) return;
        try {
            r_->run(s_.close());
        } catch (...) {
        }
    }

    std::optional<stream_event> next() { return r_->run(s_.next()); }
    detail::event_iterator<process_stream, stream_event> begin() { return detail::event_iterator<process_stream, stream_event>(this); }
    std::default_sentinel_t end() const { return {}; }

    int pid() const noexcept { return s_.pid(); }
    bool done() const noexcept { return s_.done(); }
    std::optional<int> exit_code() const noexcept { return s_.exit_code(); }
    void close() { r_->run(s_.close()); }

    wrenn::process_stream& async() noexcept { return s_; }

private:
    std::shared_ptr<runner> r_;
    wrenn::process_stream s_;
};

class pty_session {
public:
    pty_session(std::shared_ptr<runner> r, wrenn::pty_session s) : r_(std::move(r)), s_(std::move(s)) {}
    pty_session(pty_session&&) noexcept = default;
    pty_session& operator=(pty_session&&) noexcept = default;
    ~pty_session() {
        if (!r_ || s_.done()) return;
        try {
            r_->run(s_.close());
        } catch (...) {
        }
    }

    std::optional<pty_event> next() { return r_->run(s_.next()); }
    detail::event_iterator<pty_session, pty_event> begin() { return detail::event_iterator<pty_session, pty_event>(this); }
    std::default_sentinel_t end() const { return {}; }

    void write(std::string_view bytes) { r_->run(s_.write(bytes)); }
    void resize(unsigned cols, unsigned rows) { r_->run(s_.resize(cols, rows)); }
    void kill() { r_->run(s_.kill()); }
    void close() { r_->run(s_.close()); }

    const std::string& tag() const noexcept { return s_.tag(); }
    int pid() const noexcept { return s_.pid(); }
    bool done() const noexcept { return s_.done(); }
    std::optional<int> exit_code() const noexcept { return s_.exit_code(); }

    wrenn::pty_session& async() noexcept { return s_; }

private:
    std::shared_ptr<runner> r_;
    wrenn::pty_session s_;
};

} // namespace wrenn::sync
