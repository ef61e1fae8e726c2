// capsule.files: the capsule's filesystem. Paths are as seen inside the
// capsule; relative ones resolve against the user's home.
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/models.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

namespace detail {
class client_impl;
}

class files {
public:
    files(std::shared_ptr<detail::client_impl> c, std::string capsule_id)
        : c_(std::move(c)), id_(std::move(capsule_id)) {}

    // The file's bytes, exactly (std::string as a byte container).
    boost::asio::awaitable<std::string> read(std::string path) const;
    boost::asio::awaitable<std::vector<std::uint8_t>> read_bytes(std::string path) const;

    // Creates or replaces the file, and its parent directories. Up to 100 MiB
    // (the server's limit for this call); larger files: upload_stream.
    boost::asio::awaitable<void> write(std::string path, std::string_view data) const;
    boost::asio::awaitable<void> write(std::string path, std::span<const std::uint8_t> data) const;

    // Entries under `path`, `depth` levels deep (1 = its children).
    boost::asio::awaitable<std::vector<file_entry>> list(std::string path, unsigned depth = 1) const;

    // false for a missing path, also when its parent is missing.
    boost::asio::awaitable<bool> exists(std::string path) const;

    // Creates the directory and its parents; an existing directory is fine.
    boost::asio::awaitable<file_entry> make_dir(std::string path) const;

    // Removes a file or a whole directory tree.
    boost::asio::awaitable<void> remove(std::string path) const;

private:
    std::shared_ptr<detail::client_impl> c_;
    std::string id_;
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/files.ipp>
#endif
