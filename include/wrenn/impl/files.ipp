#pragma once

#include <wrenn/impl/client_impl.hpp>
#include <wrenn/error.hpp>
#include <wrenn/files.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/multipart.hpp>

#include <boost/json/serialize.hpp>

#include <fstream>

namespace wrenn {

namespace asio = boost::asio;

namespace detail {

inline std::string quoted_op(std::string_view op, std::string_view path) {
    std::string s(op);
    s += "('";
    s += path;
    s += "')";
    return s;
}

// POST /v1/capsules/{id}/files/<what> with {"path": path, ...}.
inline http_request path_request(std::string_view capsule_id, std::string_view what, std::string_view op,
                                 const std::string& path, boost::json::object extra = {}) {
    extra["path"] = path;
    http_request r;
    r.method = http_method::post;
    r.target = client_impl::capsule_path(capsule_id, std::string("/files/") + std::string(what));
    r.body = boost::json::serialize(extra);
    r.content_type = "application/json";
    r.operation = quoted_op(op, path);
    r.path_operation = true;
    return r;
}

// dirname / basename with trailing slashes ignored; "/" has no parent.
inline std::pair<std::string, std::string> split_path(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    if (slash == 0) return {"/", path.substr(1)};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

} // namespace detail

WRENN_DECL asio::any_io_executor files::get_executor() const { return c_->executor; }

WRENN_DECL asio::awaitable<std::string> files::read(std::string path) const {
    return detail::rest_call<std::string>(c_, detail::path_request(id_, "read", "files.read", path), detail::body_of);
}

WRENN_DECL asio::awaitable<std::vector<std::uint8_t>> files::read_bytes(std::string path) const {
    detail::answer_decoder<std::vector<std::uint8_t>> bytes = [](detail::http_response& r, std::string_view) {
        return std::vector<std::uint8_t>(r.body.begin(), r.body.end());
    };
    return detail::rest_call(c_, detail::path_request(id_, "read", "files.read_bytes", path), bytes);
}

WRENN_DECL asio::awaitable<void> files::write(std::string path, std::string_view data) const {
    auto frame = protocol::make_upload_frame(path);
    detail::http_request r;
    r.method = detail::http_method::post;
    r.target = detail::client_impl::capsule_path(id_, "/files/write");
    r.content_type = frame.content_type();
    r.body.reserve(frame.head.size() + data.size() + frame.tail.size());
    r.body = std::move(frame.head);
    r.body += data;
    r.body += frame.tail;
    r.operation = detail::quoted_op("files.write", path);
    r.path_operation = true;
    return detail::rest_call<void>(c_, std::move(r));
}

WRENN_DECL asio::awaitable<void> files::write(std::string path, std::span<const std::uint8_t> data) const {
    return write(std::move(path), std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

WRENN_DECL asio::awaitable<std::vector<file_entry>> files::list(std::string path, unsigned depth) const {
    auto req = detail::path_request(id_, "list", "files.list", path, {{"depth", depth == 0 ? 1u : depth}});
    return detail::rest_call<std::vector<file_entry>>(c_, std::move(req), detail::from_body<protocol::decode_file_list>);
}

WRENN_DECL asio::awaitable<bool> files::exists(std::string path) const {
    // No endpoint: list the parent and look for the name (WIRE.md §10.4). A
    // missing parent answers 404 or 502: the path does not exist either.
    return [](files self, std::string path) -> asio::awaitable<bool> {
        auto [parent, name] = detail::split_path(path);
        std::vector<file_entry> entries;
        try {
            entries = co_await self.list(parent, 1);
        } catch (const not_found_error&) {
            co_return false;
        } catch (const agent_error&) {
            co_return false;
        }
        if (name.empty() || name == "/") co_return true;  // "/" itself
        for (auto& e : entries)
            if (e.name == name) co_return true;
        co_return false;
    }(*this, std::move(path));
}

WRENN_DECL asio::awaitable<file_entry> files::make_dir(std::string path) const {
    return [](files self, std::shared_ptr<detail::client_impl> c, detail::http_request req,
              std::string path) -> asio::awaitable<file_entry> {
        std::exception_ptr conflict;
        try {
            auto resp = co_await c->call(std::move(req));
            co_return protocol::decode_make_dir(resp.body);
        } catch (const conflict_error& e) {
            if (e.code() != "conflict") throw;
            conflict = std::current_exception();
        }
        // Already there: answer its entry, as if we had made it (idempotent).
        auto [parent, name] = detail::split_path(path);
        auto entries = co_await self.list(parent, 1);
        for (auto& e : entries)
            if (e.name == name && e.is_dir()) co_return e;
        std::rethrow_exception(conflict);
    }(*this, c_, detail::path_request(id_, "mkdir", "files.make_dir", path), path);
}

WRENN_DECL asio::awaitable<void> files::remove(std::string path) const {
    return detail::rest_call<void>(c_, detail::path_request(id_, "remove", "files.remove", path));
}

WRENN_DECL asio::awaitable<std::string_view> file_download::next() {
    auto piece = co_await s_.next();
    done_ += piece.size();
    co_return piece;
}

WRENN_DECL asio::awaitable<void> files::upload_stream(std::string path, chunk_source source,
                                                      progress_callback progress,
                                                      std::optional<std::uint64_t> total) const {
    auto frame = protocol::make_upload_frame(path);
    detail::http_request head;
    head.method = detail::http_method::post;
    head.target = detail::client_impl::capsule_path(id_, "/files/stream/write");
    head.content_type = frame.content_type();
    head.operation = detail::quoted_op("files.upload_stream", path);
    head.path_operation = true;
    // The multipart head, then the source's pieces, then the tail, then "".
    struct feed {
        protocol::multipart_frame frame;
        chunk_source source;
        progress_callback progress;
        std::optional<std::uint64_t> total;
        std::uint64_t done = 0;
        int stage = 0;  // 0 head, 1 data, 2 tail, 3 end
    };
    auto st = std::make_shared<feed>(feed{std::move(frame), std::move(source), std::move(progress), total});
    detail::body_chunks chunks = [st]() -> asio::awaitable<std::string> {
        switch (st->stage) {
        case 0: st->stage = 1; co_return std::move(st->frame.head);
        case 1: {
            auto piece = co_await st->source();
            if (!piece.empty()) {
                st->done += piece.size();
                if (st->progress) st->progress({st->done, st->total});
                co_return piece;
            }
            st->stage = 3;
            co_return std::move(st->frame.tail);
        }
        default: co_return std::string{};
        }
    };
    return [](std::shared_ptr<detail::client_impl> c, detail::http_request head,
              detail::body_chunks chunks) -> asio::awaitable<void> {
        co_await c->call_streaming(std::move(head), std::move(chunks));
    }(c_, std::move(head), std::move(chunks));
}

WRENN_DECL asio::awaitable<void> files::upload_stream(std::string path, std::filesystem::path local,
                                                      progress_callback progress) const {
    std::error_code ec;
    auto size = std::filesystem::file_size(local, ec);
    auto in = std::make_shared<std::ifstream>(local, std::ios::binary);
    if (ec || !*in)
        throw usage_error("unreadable_file", "files.upload_stream: cannot read local file '" + local.string() +
                                                 "'" + (ec ? ": " + ec.message() : std::string{}));
    chunk_source source = [in, local]() -> asio::awaitable<std::string> {
        std::string buf(64 * 1024, '\0');
        in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in->bad()) throw usage_error("unreadable_file", "files.upload_stream: reading '" + local.string() + "' failed");
        buf.resize(static_cast<std::size_t>(in->gcount()));
        co_return buf;
    };
    return upload_stream(std::move(path), std::move(source), std::move(progress), size);
}

WRENN_DECL asio::awaitable<file_download> files::download_stream(std::string path) const {
    auto req = detail::path_request(id_, "stream/read", "files.download_stream", path);
    return [](std::shared_ptr<detail::client_impl> c, detail::http_request req) -> asio::awaitable<file_download> {
        auto body = co_await c->open(std::move(req));
        co_return file_download(std::move(body));
    }(c_, std::move(req));
}

WRENN_DECL asio::awaitable<std::uint64_t> files::download_stream(std::string path, std::filesystem::path local,
                                                                 progress_callback progress) const {
    return [](files self, std::string path, std::filesystem::path local,
              progress_callback progress) -> asio::awaitable<std::uint64_t> {
        auto d = co_await self.download_stream(path);
        std::ofstream out(local, std::ios::binary | std::ios::trunc);
        if (!out)
            throw usage_error("unwritable_file",
                              "files.download_stream: cannot write local file '" + local.string() + "'");
        for (auto piece = co_await d.next(); !piece.empty(); piece = co_await d.next()) {
            out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
            if (!out)
                throw usage_error("unwritable_file",
                                  "files.download_stream: writing '" + local.string() + "' failed (disk full?)");
            if (progress) progress({d.done(), d.total()});
        }
        co_return d.done();
    }(*this, std::move(path), std::move(local), std::move(progress));
}

} // namespace wrenn
