#pragma once

#include <wrenn/error.hpp>
#include <wrenn/protocol/git.hpp>
#include <wrenn/impl/git_text.hpp>

#include <climits>
#include <string>

namespace wrenn::protocol::git {

namespace detail {

// ---- URLs, the way Python's urllib.parse.urlsplit splits them ----

struct url_parts {
    std::string scheme;  // lower-cased; empty when there is none
    bool has_authority = false;
    std::string_view authority;  // between "//" and the first of "/?#"
    std::string_view rest;       // everything after the authority (or after "scheme:")
};

inline url_parts split_url(std::string_view url) {
    url_parts p;
    auto colon = url.find(':');
    if (colon != std::string_view::npos && colon > 0 && is_alpha(url[0])) {
        bool ok = true;
        for (char c : url.substr(0, colon))
            if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) ok = false;
        if (ok) {
            p.scheme = ascii_lower(url.substr(0, colon));
            url.remove_prefix(colon + 1);
        }
    }
    if (url.substr(0, 2) == "//") {
        url.remove_prefix(2);
        auto end = url.find_first_of("/?#");
        p.has_authority = true;
        p.authority = url.substr(0, end);
        p.rest = end == std::string_view::npos ? std::string_view{} : url.substr(end);
    } else {
        p.rest = url;
    }
    return p;
}

inline bool is_http(const url_parts& p) { return p.scheme == "http" || p.scheme == "https"; }

// The host and port of an authority (after any userinfo), normalised as
// Python's .hostname/.port are: host lower-cased, port an integer, a port of
// 0 or an empty port dropped. An IPv6 host keeps its brackets.
struct host_port {
    std::string text;   // "host[:port]", empty host possible
    std::string error;  // non-empty when the host or port cannot be read
};

inline host_port normalize_host(std::string_view hostinfo) {
    host_port r;
    std::string_view host, port;
    bool bracketed = false;
    if (!hostinfo.empty() && hostinfo.front() == '[') {
        auto close = hostinfo.find(']');
        if (close == std::string_view::npos) {
            r.error = "the IPv6 host has no closing ']'";
            return r;
        }
        host = hostinfo.substr(1, close - 1);
        auto after = hostinfo.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                r.error = "unexpected text after the IPv6 host";
                return r;
            }
            port = after.substr(1);
        }
        bracketed = true;
    } else if (hostinfo.find_first_of("[]") != std::string_view::npos) {
        r.error = "the host holds '[' or ']'";
        return r;
    } else {
        auto colon = hostinfo.find(':');
        host = hostinfo.substr(0, colon);
        if (colon != std::string_view::npos) port = hostinfo.substr(colon + 1);
    }
    long n = 0;
    for (char c : port) {
        if (!is_digit(c)) {
            r.error = "the port '" + std::string(port) + "' is not a number";
            return r;
        }
        n = n * 10 + (c - '0');
        if (n > 65535) {
            r.error = "the port '" + std::string(port) + "' is out of range 0-65535";
            return r;
        }
    }
    r.text = bracketed ? "[" + ascii_lower(host) + "]" : ascii_lower(host);
    if (n != 0) r.text += ":" + std::to_string(n);
    return r;
}

// RFC 3986 unreserved and sub-delims pass; everything else is %XX.
inline std::string encode_userinfo(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (is_alpha(ch) || is_digit(ch) || std::string_view("-._~!$&'()*+,;=").find(ch) != std::string_view::npos) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// The first "<word><digits>" in `text`, as a saturating int.
inline int find_count(std::string_view text, std::string_view word) {
    for (auto pos = text.find(word); pos != std::string_view::npos; pos = text.find(word, pos + 1)) {
        auto i = pos + word.size();
        if (i >= text.size() || !is_digit(text[i])) continue;
        long long n = 0;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            n = n * 10 + (text[i] - '0');
            if (n > INT_MAX) n = INT_MAX;
        }
        return static_cast<int>(n);
    }
    return 0;
}

inline void parse_branch_header(std::string_view info, git_status& st) {
    auto bracket = info.find(" [");
    std::string_view part = info.substr(0, bracket), tracking;
    if (bracket != std::string_view::npos && info.size() - 1 > bracket + 2)
        tracking = info.substr(bracket + 2, info.size() - 1 - (bracket + 2));  // up to the final char (']')

    constexpr std::string_view detached_at = "HEAD (detached at ";
    if (part.substr(0, detached_at.size()) == detached_at) {
        st.detached = true;
        auto rest = part.substr(detached_at.size());
        if (!rest.empty() && rest.back() == ')') rest.remove_suffix(1);
        if (!rest.empty()) st.branch = std::string(rest);
    } else if (part == "HEAD" || part.substr(0, 6) == "HEAD (") {
        // "HEAD (no branch)" in porcelain v1; "HEAD (detached from ...)".
        st.detached = true;
    } else {
        for (std::string_view prefix : {std::string_view("No commits yet on "), std::string_view("Initial commit on ")})
            if (part.substr(0, prefix.size()) == prefix) {
                part.remove_prefix(prefix.size());
                break;
            }
        auto dots = part.find("...");
        if (dots != std::string_view::npos) {
            auto local = part.substr(0, dots), remote = part.substr(dots + 3);
            if (!local.empty()) st.branch = std::string(local);
            if (!remote.empty()) st.upstream = std::string(remote);
        } else if (!part.empty()) {
            st.branch = std::string(part);
        }
    }
    if (!tracking.empty()) {
        st.ahead = find_count(tracking, "ahead ");
        st.behind = find_count(tracking, "behind ");
    }
}

// "<from> -> <to>" of a rename or copy. A C-quoted source ("a -> b") may
// itself hold " -> ", so a quoted source is skipped as a whole.
inline void split_rename(std::string_view text, git_file_status& f) {
    constexpr std::string_view arrow = " -> ";
    std::size_t at = std::string_view::npos;
    if (!text.empty() && text.front() == '"') {
        for (std::size_t i = 1; i < text.size(); ++i) {
            if (text[i] == '\\') {
                ++i;
            } else if (text[i] == '"') {
                if (text.substr(i + 1, arrow.size()) == arrow) at = i + 1;
                break;
            }
        }
    }
    if (at == std::string_view::npos) at = text.find(arrow);
    if (at == std::string_view::npos) {
        f.path = std::string(text);
        return;
    }
    f.renamed_from = std::string(text.substr(0, at));
    f.path = std::string(text.substr(at + arrow.size()));
}

inline void parse_file_line(std::string_view line, git_status& st) {
    if (line.substr(0, 3) == "?? ") {
        git_file_status f;
        f.path = std::string(line.substr(3));
        f.index_status = f.work_tree_status = '?';
        st.files.push_back(std::move(f));
        return;
    }
    if (line.size() < 4) return;
    git_file_status f;
    f.index_status = line[0];
    f.work_tree_status = line[1];
    auto rest = line.substr(3);
    bool rename = f.index_status == 'R' || f.index_status == 'C' || f.work_tree_status == 'R' ||
                  f.work_tree_status == 'C';
    if (rename) split_rename(rest, f);
    else f.path = std::string(rest);
    st.files.push_back(std::move(f));
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
    while (true) {
        auto nl = text.find('\n');
        f(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}


} // namespace detail

WRENN_DECL std::string_view strip(std::string_view s) { return detail::strip(s); }

// ---- shell quoting ----

WRENN_DECL std::string shell_quote(std::string_view arg) {
    if (arg.empty()) return "''";
    bool safe = true;
    for (char c : arg)
        if (!(detail::is_alpha(c) || detail::is_digit(c) ||
              std::string_view("_@%+=:,./-").find(c) != std::string_view::npos)) {
            safe = false;
            break;
        }
    if (safe) return std::string(arg);
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'') out += "'\"'\"'";
        else out += c;
    }
    out += '\'';
    return out;
}

WRENN_DECL std::string shell_join(const std::vector<std::string>& argv) {
    std::string out;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        if (i) out += ' ';
        out += shell_quote(argv[i]);
    }
    return out;
}

// ---- results ----

WRENN_DECL bool is_auth_error(std::string_view stderr_text) {
    static constexpr std::string_view patterns[] = {
        "authentication failed", "terminal prompts disabled", "could not read username",
        "invalid username or password", "access denied", "permission denied", "not authorized",
    };
    auto lower = detail::ascii_lower(stderr_text);
    for (auto p : patterns)
        if (lower.find(p) != std::string::npos) return true;
    return false;
}

WRENN_DECL std::string auth_failure_message(std::string_view op) {
    return "git " + std::string(op) + ": authentication failed";
}

WRENN_DECL std::string failure_message(std::string_view op, std::string_view stdout_text,
                                       std::string_view stderr_text, int exit_code) {
    if (auto e = detail::strip(stderr_text); !e.empty()) return std::string(e);
    if (auto o = detail::strip(stdout_text); !o.empty()) return std::string(o);
    return "git " + std::string(op) + " failed (exit " + std::to_string(exit_code) + ")";
}

// ---- URLs and credentials ----

WRENN_DECL std::string embed_credentials(std::string_view url, std::string_view username,
                                         std::string_view password) {
    auto p = detail::split_url(url);
    if (!detail::is_http(p)) throw usage_error("invalid_argument", "Only http(s) URLs support embedded credentials.");
    auto at = p.authority.rfind('@');
    auto hostinfo = at == std::string_view::npos ? p.authority : p.authority.substr(at + 1);
    auto hp = detail::normalize_host(hostinfo);
    if (!hp.error.empty())
        throw usage_error("invalid_argument", "Cannot embed credentials in the URL: " + hp.error + ".");
    if (!p.has_authority || hp.text.empty() || hp.text.front() == ':' || hp.text == "[]")
        throw usage_error("invalid_argument", "Cannot embed credentials in the URL: it has no host.");
    return p.scheme + "://" + detail::encode_userinfo(username) + ":" + detail::encode_userinfo(password) + "@" +
           hp.text + std::string(p.rest);
}

WRENN_DECL std::string strip_credentials(std::string_view url) {
    auto p = detail::split_url(url);
    if (!detail::is_http(p) || !p.has_authority) return std::string(url);
    auto at = p.authority.rfind('@');
    if (at == std::string_view::npos) return std::string(url);
    auto userinfo = p.authority.substr(0, at);
    auto colon = userinfo.find(':');
    auto user = userinfo.substr(0, colon);
    auto pass = colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1);
    if (user.empty() && pass.empty()) return std::string(url);  // Python: neither username nor password
    auto hostinfo = p.authority.substr(at + 1);
    auto hp = detail::normalize_host(hostinfo);
    std::string host = hp.error.empty() ? hp.text : std::string(hostinfo);
    return p.scheme + "://" + host + std::string(p.rest);
}

WRENN_DECL std::optional<std::string> repo_dir_from_url(std::string_view url) {
    auto p = detail::split_url(url);
    if (!detail::is_http(p)) return std::nullopt;
    auto path = p.rest.substr(0, p.rest.find_first_of("?#"));
    // ";params" of the last segment (urlparse splits them off the path).
    auto slash = path.rfind('/');
    auto semi = path.find(';', slash == std::string_view::npos ? 0 : slash);
    path = path.substr(0, semi);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.empty()) return std::nullopt;
    auto last = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
    if (last.size() >= 4 && last.substr(last.size() - 4) == ".git") last.remove_suffix(4);
    if (last.empty() || last == "." || last == "..") return std::nullopt;
    return std::string(last);
}

WRENN_DECL std::string posix_join(std::string_view base, std::string_view path) {
    if (!path.empty() && path.front() == '/') return std::string(path);
    if (base.empty() || base.back() == '/') return std::string(base) + std::string(path);
    return std::string(base) + "/" + std::string(path);
}

WRENN_DECL std::string clone_url(std::string_view url, std::string_view username, std::string_view password) {
    if (!password.empty() && username.empty())
        throw usage_error("invalid_argument", "Username is required when using a password for git clone.");
    if (!username.empty() && !password.empty()) return embed_credentials(url, username, password);
    return std::string(url);
}

WRENN_DECL std::optional<std::string> clone_repo_dir(std::string_view url, std::string_view dest,
                                                     std::string_view cwd) {
    std::optional<std::string> dir;
    if (!dest.empty()) dir = std::string(dest);
    else dir = repo_dir_from_url(url);
    if (!dir) return std::nullopt;
    if (!cwd.empty()) return posix_join(cwd, *dir);
    return dir;
}

// ---- parsers ----

WRENN_DECL git_status parse_status(std::string_view porcelain) {
    git_status st;
    bool first = true;
    detail::for_each_line(porcelain, [&](std::string_view line) {
        if (detail::rstrip(line).empty()) return;
        if (first) {
            first = false;
            if (line.substr(0, 3) == "## ") {
                detail::parse_branch_header(line.substr(3), st);
                return;
            }
        }
        detail::parse_file_line(line, st);
    });
    return st;
}

WRENN_DECL std::vector<git_branch> parse_branches(std::string_view out) {
    std::vector<git_branch> branches;
    detail::for_each_line(out, [&](std::string_view line) {
        line = detail::strip(line);
        if (line.empty()) return;
        auto tab = line.find('\t');
        git_branch b;
        b.name = std::string(line.substr(0, tab));
        if (tab != std::string_view::npos) {
            auto field = line.substr(tab + 1);
            b.is_current = field.substr(0, field.find('\t')) == "*";
        }
        branches.push_back(std::move(b));
    });
    return branches;
}

} // namespace wrenn::protocol::git
