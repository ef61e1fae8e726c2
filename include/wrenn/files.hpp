// capsule.files: the capsule's filesystem. Paths are as seen inside the
// capsule; relative ones resolve against the user's home.
#pragma once

#include <wrenn/completion.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/models.hpp>

#include <wrenn/detail/http.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

namespace detail {
class client_impl;
}

struct transfer_progress {
    std::uint64_t done = 0;                  // bytes of the file moved so far
    std::optional<std::uint64_t> total{};    // when known
};
using progress_callback = std::function<void(const transfer_progress&)>;

// Where an upload's bytes come from: each call gives the next piece; an empty
// string ends the file. A coroutine, so it may await its own I/O.
using chunk_source = std::function<boost::asio::awaitable<std::string>()>;

// A download read piece by piece, in constant memory.
class file_download {
public:
    file_download() = default;  // empty
    explicit file_download(detail::http_body_stream s) : s_(std::move(s)) {}
    boost::asio::any_io_executor get_executor() const { return s_.get_executor(); }
    // The next bytes (valid until the next call); empty once the file is done.
    boost::asio::awaitable<std::string_view> next();
    template <class CompletionToken>
    auto next(CompletionToken&& token) {
        return detail::complete_with(get_executor(), next(),
                                     std::forward<CompletionToken>(token));
    }
    std::uint64_t done() const noexcept { return done_; }
    std::optional<std::uint64_t> total() const { return s_.content_length(); }

private:
    detail::http_body_stream s_;
    std::uint64_t done_ = 0;
};

class files {
public:
    files(std::shared_ptr<detail::client_impl> c, std::string capsule_id)
        : c_(std::move(c)), id_(std::move(capsule_id)) {}
    boost::asio::any_io_executor get_executor() const;  // the client's

    // The file's bytes, exactly (std::string as a byte container).
    boost::asio::awaitable<std::string> read(std::string path) const;
    template <class CompletionToken>
    auto read(std::string path, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), read(std::move(path)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<std::vector<std::uint8_t>> read_bytes(std::string path) const;
    template <class CompletionToken>
    auto read_bytes(std::string path, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), read_bytes(std::move(path)),
                                     std::forward<CompletionToken>(token));
    }

    // Creates or replaces the file, and its parent directories. Up to 100 MiB
    // (the server's limit for this call); larger files: upload_stream.
    boost::asio::awaitable<void> write(std::string path, std::string_view data) const;
    template <class CompletionToken>
    auto write(std::string path, std::string_view data, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), write(std::move(path), data),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> write(std::string path, std::span<const std::uint8_t> data) const;
    template <class CompletionToken>
    auto write(std::string path, std::span<const std::uint8_t> data, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), write(std::move(path), data),
                                     std::forward<CompletionToken>(token));
    }

    // Entries under `path`, `depth` levels deep (1 = its children).
    boost::asio::awaitable<std::vector<file_entry>> list(std::string path, unsigned depth = 1) const;
    template <class CompletionToken>
    auto list(std::string path, unsigned depth, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), list(std::move(path), depth),
                                     std::forward<CompletionToken>(token));
    }

    // false for a missing path, also when its parent is missing.
    boost::asio::awaitable<bool> exists(std::string path) const;
    template <class CompletionToken>
    auto exists(std::string path, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), exists(std::move(path)),
                                     std::forward<CompletionToken>(token));
    }

    // Creates the directory and its parents; an existing directory is fine.
    boost::asio::awaitable<file_entry> make_dir(std::string path) const;
    template <class CompletionToken>
    auto make_dir(std::string path, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), make_dir(std::move(path)),
                                     std::forward<CompletionToken>(token));
    }

    // Removes a file or a whole directory tree.
    boost::asio::awaitable<void> remove(std::string path) const;
    template <class CompletionToken>
    auto remove(std::string path, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), remove(std::move(path)),
                                     std::forward<CompletionToken>(token));
    }

    // Streaming upload, in constant memory whatever the size, from a chunk
    // source, a local file, or any Asio AsyncReadStream. `progress` is called
    // after every piece. A failed upload is not retried (the source is spent).
    boost::asio::awaitable<void> upload_stream(std::string path, chunk_source source, progress_callback progress = {},
                                               std::optional<std::uint64_t> total = {}) const;
    template <class CompletionToken>
    auto upload_stream(std::string path, chunk_source source, progress_callback progress, std::optional<std::uint64_t> total, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), upload_stream(std::move(path), std::move(source), std::move(progress), std::move(total)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> upload_stream(std::string path, std::filesystem::path local,
                                               progress_callback progress = {}) const;
    template <class CompletionToken>
    auto upload_stream(std::string path, std::filesystem::path local, progress_callback progress, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), upload_stream(std::move(path), std::move(local), std::move(progress)),
                                     std::forward<CompletionToken>(token));
    }
    template <class AsyncReadStream>
        requires requires { typename AsyncReadStream::executor_type; }
    boost::asio::awaitable<void> upload_stream(std::string path, AsyncReadStream& stream,
                                               progress_callback progress = {}) const;
    template <class AsyncReadStream, class CompletionToken>
        requires requires { typename AsyncReadStream::executor_type; }
    auto upload_stream(std::string path, AsyncReadStream& stream, progress_callback progress,
                       CompletionToken&& token) const {
        return detail::complete_with(get_executor(), upload_stream(std::move(path), stream, std::move(progress)),
                                     std::forward<CompletionToken>(token));
    }

    // Streaming download: piece by piece (`co_await d.next()`), into a local
    // file, or into any Asio AsyncWriteStream. Returns the bytes written.
    boost::asio::awaitable<file_download> download_stream(std::string path) const;
    template <class CompletionToken>
    auto download_stream(std::string path, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), download_stream(std::move(path)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<std::uint64_t> download_stream(std::string path, std::filesystem::path local,
                                                          progress_callback progress = {}) const;
    template <class CompletionToken>
    auto download_stream(std::string path, std::filesystem::path local, progress_callback progress, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), download_stream(std::move(path), std::move(local), std::move(progress)),
                                     std::forward<CompletionToken>(token));
    }
    template <class AsyncWriteStream>
        requires requires { typename AsyncWriteStream::executor_type; }
    boost::asio::awaitable<std::uint64_t> download_stream(std::string path, AsyncWriteStream& stream,
                                                          progress_callback progress = {}) const;
    template <class AsyncWriteStream, class CompletionToken>
        requires requires { typename AsyncWriteStream::executor_type; }
    auto download_stream(std::string path, AsyncWriteStream& stream, progress_callback progress,
                         CompletionToken&& token) const {
        return detail::complete_with(get_executor(), download_stream(std::move(path), stream, std::move(progress)),
                                     std::forward<CompletionToken>(token));
    }

private:
    std::shared_ptr<detail::client_impl> c_;
    std::string id_;
};

// ---- templates: adapt Asio streams to the chunk interfaces ----
template <class AsyncReadStream>
    requires requires { typename AsyncReadStream::executor_type; }
boost::asio::awaitable<void> files::upload_stream(std::string path, AsyncReadStream& stream,
                                                  progress_callback progress) const {
    chunk_source source = [&stream]() -> boost::asio::awaitable<std::string> {
        std::string buf(64 * 1024, '\0');
        auto [ec, n] = co_await stream.async_read_some(boost::asio::buffer(buf),
                                                       boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec && ec != boost::asio::error::eof) throw boost::system::system_error(ec);
        buf.resize(n);
        co_return buf;  // empty at the end of the stream
    };
    return upload_stream(std::move(path), std::move(source), std::move(progress));
}

template <class AsyncWriteStream>
    requires requires { typename AsyncWriteStream::executor_type; }
boost::asio::awaitable<std::uint64_t> files::download_stream(std::string path, AsyncWriteStream& stream,
                                                             progress_callback progress) const {
    auto d = co_await download_stream(std::move(path));
    for (auto piece = co_await d.next(); !piece.empty(); piece = co_await d.next()) {
        co_await boost::asio::async_write(stream, boost::asio::buffer(piece), boost::asio::use_awaitable);
        if (progress) progress({d.done(), d.total()});
    }
    co_return d.done();
}

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/files.ipp>
#endif
