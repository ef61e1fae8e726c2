// Fuzz target: the git helper's parsers and URL rules (protocol/git.hpp).
//
// Input: any bytes, read as `git status` output, `git branch` output, git's
// stderr, a remote URL and a shell argument. The parsers never throw.
// Property: shell_quote's output, read back as /bin/sh would, is the input.
#include "fuzz_common.hpp"

#include <wrenn/protocol/git.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

using namespace wrenn::protocol::git;

namespace {

// The POSIX shell's reading of one word made of unquoted characters,
// '...' (literal) and "..." (here only ever holding quotes, no $ ` \).
std::optional<std::string> sh_unquote(std::string_view w) {
    std::string out;
    std::size_t i = 0;
    while (i < w.size()) {
        char c = w[i];
        if (c == '\'' || c == '"') {
            auto end = w.find(c, i + 1);
            if (end == std::string_view::npos) return std::nullopt;
            auto inner = w.substr(i + 1, end - i - 1);
            if (c == '"' && inner.find_first_of("$`\\") != std::string_view::npos) return std::nullopt;
            out += inner;
            i = end + 1;
        } else {
            // unquoted: only the bytes shell_quote documents as safe
            bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
            if (!safe) return std::nullopt;
            out += c;
            ++i;
        }
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    auto st = parse_status(text);
    (void)st.is_clean();
    (void)parse_branches(text);
    (void)is_auth_error(text);

    auto stripped = strip_credentials(text);
    // stripping twice changes nothing more
    fuzz::check(strip_credentials(stripped) == stripped, "strip_credentials is not idempotent");
    if (auto dir = repo_dir_from_url(text))
        fuzz::check(!dir->empty() && *dir != "." && *dir != "..", "repo_dir_from_url returned an empty or dot dir");
    (void)clone_repo_dir(text, {}, "/home/user");

    // embed_credentials: a URL or a usage_error.
    fuzz::expect_wrenn_error_only([&] { (void)embed_credentials(text, "user", "p@ss:w/rd"); });

    auto q = shell_quote(text);
    fuzz::check(!q.empty(), "shell_quote returned nothing");
    auto back = sh_unquote(q);
    fuzz::check(back.has_value(), "shell_quote produced a word the shell reads differently");
    fuzz::check(*back == text, "shell_quote does not round-trip");
    (void)shell_join({std::string(text), std::string(text)});
    return 0;
}
