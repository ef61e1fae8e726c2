// wrenn-local: the multipart uploads (see file_upload.hpp): the body is
// parsed as it arrives (multipart.hpp) and written through the capsule's
// confinement (capsule_paths.hpp).
#include "api_errors.hpp"
#include "file_upload.hpp"
#include "capsule_paths.hpp"
#include "front.hpp"
#include "multipart.hpp"

#include <cerrno>
#include <cstdlib>
#include <vector>

#include <fcntl.h>

namespace wl {

namespace {

constexpr std::uint64_t write_limit = 100ULL * 1024 * 1024;  // /files/write body, plus:
constexpr std::uint64_t framing_allowance = 64 * 1024;       // multipart framing around the file
constexpr std::size_t max_path_field = max_path_length;

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        auto n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw sys_error{errno, "write"};
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Opens (creating or truncating) the file a write goes to; parents are made.
unique_fd open_for_write(const fs::path& root, const std::string& shown) {
    auto loc = locate(root, shown, shown, true, true, "open");
    if (loc.node) {
        if (S_ISDIR(loc.st.st_mode)) throw sys_error{EISDIR, "open"};
        if (loc.ro) throw sys_error{EROFS, "open"};
        if (!S_ISREG(loc.st.st_mode)) throw sys_error{EINVAL, "open", "not a regular file"};
        return reopen(loc.node, O_WRONLY | O_TRUNC, "open");
    }
    if (loc.ro) throw sys_error{EROFS, "open"};
    int fd = ::openat(loc.parent.get(), loc.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) throw sys_error{errno, "open"};
    return unique_fd(fd);
}

// An anonymous temporary file in `dir` (next to the capsule root, outside it).
unique_fd spool_file(const fs::path& dir) {
    unique_fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd) return fd;
    std::string tmpl = (dir / "upload-XXXXXX").string();  // no O_TMPFILE on this file system
    fd = unique_fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd) throw sys_error{errno, "open"};
    ::unlink(tmpl.c_str());
    return fd;
}

// Copies the whole of `from` (from its start) to `to`.
void copy_all(int from, int to) {
    if (::lseek(from, 0, SEEK_SET) != 0) throw sys_error{errno, "write"};
    for (;;) {
        auto n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
        if (n == 0) return;
        if (n > 0) continue;
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            throw sys_error{errno, "write"};
        break;
    }
    std::vector<char> buf(64 * 1024);
    for (;;) {
        auto n = ::read(from, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw sys_error{errno, "write"};
        if (n == 0) return;
        write_all(to, std::string_view(buf.data(), static_cast<std::size_t>(n)));
    }
}

} // namespace

asio::awaitable<answer> upload(const capsule& c, request& req, bool streaming) {
    auto ct = parse_form_content_type(req.content_type);
    if (!ct.multipart || ct.boundary.empty())
        co_return invalid(streaming ? "expected multipart/form-data with boundary" : "expected multipart/form-data");
    const std::uint64_t cap = write_limit + framing_allowance;
    if (!streaming && req.content_length && *req.content_length > cap)
        co_return error_answer(413, "too_large", "file exceeds 100 MB limit");

    multipart_parser mp(ct.boundary);
    std::vector<multipart_parser::event> events;
    enum class part { none, path, file, skip } cur = part::none;
    std::string path, shown;
    bool path_seen = false, file_seen = false, file_done = false, finished = false;
    unique_fd out;
    std::uint64_t total = 0;
    const char* what = streaming ? "failed to stream file chunk" : "failed to write file";
    try {
        for (;;) {
            body_piece piece = co_await req.read_body();
            if (piece.failed) co_return invalid("failed to read request body");  // not sent: the connection is gone
            total += piece.data.size();
            if (!streaming && total > cap) co_return error_answer(413, "too_large", "file exceeds 100 MB limit");
            if (!finished) {
                if (!mp.feed(piece.data, events)) co_return invalid("failed to parse multipart");
                for (auto& ev : events) {
                    if (finished) break;
                    switch (ev.kind) {
                    case multipart_parser::event::part_begin:
                        if (ev.name == "path" && !path_seen) {
                            cur = part::path;
                        } else if (ev.name == "file" && !file_seen) {
                            file_seen = true;
                            cur = part::file;
                            if (streaming) {
                                if (path.empty()) co_return errors::missing_field("path", "path field is required");
                                out = open_for_write(c.root, shown);
                            } else {
                                out = spool_file(c.dir);
                            }
                        } else {
                            cur = part::skip;
                        }
                        break;
                    case multipart_parser::event::data:
                        if (cur == part::path) {
                            path.append(ev.bytes);
                            if (path.size() > max_path_field) co_return invalid("path field is too long");
                        } else if (cur == part::file) {
                            write_all(out.get(), ev.bytes);
                        }
                        break;
                    case multipart_parser::event::part_end:
                        if (cur == part::path) {
                            path_seen = true;
                            if (!path.empty()) {
                                std::string why;
                                auto full = check_upload_path(path, why);
                                if (!full) co_return invalid(why);
                                shown = std::move(*full);
                            }
                        } else if (cur == part::file) {
                            file_done = true;
                            // stream/write stops at the end of the file part
                            if (streaming) finished = true;
                        }
                        cur = part::none;
                        break;
                    case multipart_parser::event::done:
                        finished = true;
                        break;
                    }
                }
            }
            if (piece.end) break;
        }
        if (!finished) co_return invalid("failed to parse multipart");
        if (path.empty()) co_return errors::missing_field("path", "path field is required");
        if (!file_done) co_return errors::missing_field("file", "file field is required");
        if (!streaming) {
            auto dest = open_for_write(c.root, shown);
            copy_all(out.get(), dest.get());
        }
    } catch (const sys_error& e) {
        co_return agent_failure(what, shown.empty() ? path : shown, e);
    } catch (const file_error& e) {
        co_return error_answer(e.status, e.code, e.message);
    }
    co_return empty_answer(204);
}

} // namespace wl
