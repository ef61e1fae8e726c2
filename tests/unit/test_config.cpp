// config resolve(): explicit > environment > default (WIRE.md §1.2), with an
// injected environment so the real process environment is never touched.
#include <catch2/catch.hpp>

#include <wrenn/config.hpp>
#include <wrenn/error.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

// A fake environment that also records which variables were asked for.
struct fake_env {
    std::map<std::string, std::string> vars;
    std::shared_ptr<std::vector<std::string>> asked = std::make_shared<std::vector<std::string>>();

    wrenn::env_lookup fn() const {
        auto v = vars;
        auto a = asked;
        return [v, a](const char* name) -> std::optional<std::string> {
            a->push_back(name);
            auto it = v.find(name);
            if (it == v.end()) return std::nullopt;
            return it->second;
        };
    }
};

wrenn::env_lookup env_of(std::map<std::string, std::string> vars) {
    return fake_env{std::move(vars)}.fn();
}

wrenn::env_lookup no_env() { return env_of({}); }

wrenn::config with_key(std::string key = "wrn_explicit") {
    wrenn::config c;
    c.api_key = std::move(key);
    return c;
}

} // namespace

TEST_CASE("config: defaults when only a key is given", "[config]") {
    auto c = wrenn::resolve(with_key(), no_env());
    CHECK(c.api_key == "wrn_explicit");
    CHECK(c.base_url == "https://app.wrenn.dev/api");
    CHECK(c.base_url == wrenn::default_base_url);
    CHECK(c.proxy_domain == "wrenn.dev");
    // untouched settings keep their defaults
    CHECK(c.verify_tls);
    CHECK(c.ca_file.empty());
    CHECK(c.max_connections_per_origin == 64);
    CHECK(c.timeouts.connect == std::chrono::seconds(10));
    CHECK(c.timeouts.idle == std::chrono::seconds(30));
    CHECK(c.timeouts.total == std::chrono::milliseconds(0));
}

TEST_CASE("config: api key precedence explicit > env", "[config]") {
    SECTION("explicit wins over env") {
        auto c = wrenn::resolve(with_key("wrn_a"), env_of({{"WRENN_API_KEY", "wrn_env"}}));
        CHECK(c.api_key == "wrn_a");
    }
    SECTION("env used when explicit empty") {
        auto c = wrenn::resolve(wrenn::config{}, env_of({{"WRENN_API_KEY", "wrn_env"}}));
        CHECK(c.api_key == "wrn_env");
    }
    SECTION("env value kept verbatim (no trimming, odd characters)") {
        std::string odd = " wrn_\xc3\xa9\t key ";
        auto c = wrenn::resolve(wrenn::config{}, env_of({{"WRENN_API_KEY", odd}}));
        CHECK(c.api_key == odd);
    }
    SECTION("explicit whitespace-only key is not empty and is kept") {
        auto c = wrenn::resolve(with_key(" "), env_of({{"WRENN_API_KEY", "wrn_env"}}));
        CHECK(c.api_key == " ");
    }
}

TEST_CASE("config: missing api key throws config_error naming WRENN_API_KEY", "[config]") {
    auto env = GENERATE(as<std::map<std::string, std::string>>{},
                        std::map<std::string, std::string>{},
                        std::map<std::string, std::string>{{"WRENN_API_KEY ", "wrn_x"}},
                        std::map<std::string, std::string>{{"WRENN_API_KEY", ""}},
                        std::map<std::string, std::string>{{"WRENN_BASE_URL", "http://localhost:8080"},
                                                           {"WRENN_PROXY_DOMAIN", "x.test"}},
                        std::map<std::string, std::string>{{"wrenn_api_key", "wrn_lowercase_name"}});
    try {
        (void)wrenn::resolve(wrenn::config{}, env_of(env));
        FAIL("resolve did not throw");
    } catch (const wrenn::config_error& e) {
        CHECK(std::string(e.what()).find("WRENN_API_KEY") != std::string::npos);
        CHECK(e.message().find("WRENN_API_KEY") != std::string::npos);
        CHECK(e.status() == 0);
        CHECK(e.body().empty());
        CHECK_FALSE(e.code().empty());
    }
}

TEST_CASE("config: an api key with a line break or control character is refused", "[config]") {
    // It goes out as a header line: a CR/LF in it would end the header early.
    auto key = GENERATE(as<std::string>{}, "wrn_a\r\nX-Injected: 1", "wrn_a\nb", std::string("wrn_\0x", 6), "wrn_\x7f");
    for (bool from_env : {false, true}) {
        INFO((from_env ? "from WRENN_API_KEY" : "from config.api_key"));
        try {
            if (from_env)
                (void)wrenn::resolve(wrenn::config{}, env_of({{"WRENN_API_KEY", key}}));
            else
                (void)wrenn::resolve(with_key(key), no_env());
            FAIL("resolve did not throw");
        } catch (const wrenn::config_error& e) {
            CHECK(e.code() == "invalid_api_key");
            CHECK(e.message().find("WRENN_API_KEY") != std::string::npos);
            CHECK(std::string(e.what()).find(key) == std::string::npos);  // the key itself is never echoed
        }
    }
    // tabs and spaces are allowed in a header value
    CHECK(wrenn::resolve(with_key("wrn a\tb"), no_env()).api_key == "wrn a\tb");
}

TEST_CASE("config: config_error is a wrenn::error and a std::exception", "[config]") {
    CHECK_THROWS_AS(wrenn::resolve(wrenn::config{}, no_env()), wrenn::config_error);
    CHECK_THROWS_AS(wrenn::resolve(wrenn::config{}, no_env()), wrenn::error);
    CHECK_THROWS_AS(wrenn::resolve(wrenn::config{}, no_env()), std::runtime_error);
}

TEST_CASE("config: base url precedence explicit > env > default", "[config]") {
    SECTION("explicit wins") {
        auto c = with_key();
        c.base_url = "http://explicit.test:1234/x";
        auto r = wrenn::resolve(c, env_of({{"WRENN_BASE_URL", "http://env.test"}}));
        CHECK(r.base_url == "http://explicit.test:1234/x");
        CHECK(r.proxy_domain == "explicit.test:1234");
    }
    SECTION("env used when explicit empty") {
        auto r = wrenn::resolve(with_key(), env_of({{"WRENN_BASE_URL", "http://env.test:9/p"}}));
        CHECK(r.base_url == "http://env.test:9/p");
        CHECK(r.proxy_domain == "env.test:9");
    }
    SECTION("empty env counts as unset") {
        auto r = wrenn::resolve(with_key(), env_of({{"WRENN_BASE_URL", ""}}));
        CHECK(r.base_url == "https://app.wrenn.dev/api");
        CHECK(r.proxy_domain == "wrenn.dev");
    }
}

TEST_CASE("config: invalid base url throws config_error", "[config]") {
    auto bad = GENERATE(as<std::string>{}, "app.wrenn.dev/api", "ftp://app.wrenn.dev", "ws://localhost:8080",
                        "wss://app.wrenn.dev", "https://", "http://:8080", "http://host:0",
                        "http://host:65536", "http://host:abc", "http://user:pw@host", "not a url",
                        "//host/api", "http//host");
    CAPTURE(bad);
    SECTION("explicit") {
        auto c = with_key();
        c.base_url = bad;
        CHECK_THROWS_AS(wrenn::resolve(c, no_env()), wrenn::config_error);
    }
    SECTION("from env") {
        CHECK_THROWS_AS(wrenn::resolve(with_key(), env_of({{"WRENN_BASE_URL", bad}})),
                        wrenn::config_error);
    }
    SECTION("explicit bad one is not rescued by a good env") {
        auto c = with_key();
        c.base_url = bad;
        CHECK_THROWS_AS(wrenn::resolve(c, env_of({{"WRENN_BASE_URL", "https://ok.test"}})),
                        wrenn::config_error);
    }
    SECTION("the error names the offending url and is not the missing-key error") {
        auto c = with_key();
        c.base_url = bad;
        try {
            (void)wrenn::resolve(c, no_env());
            FAIL("no throw");
        } catch (const wrenn::config_error& e) {
            CHECK(std::string(e.what()).find(bad) != std::string::npos);
            CHECK(std::string(e.what()).find("WRENN_API_KEY") == std::string::npos);
        }
    }
}

TEST_CASE("config: valid base urls are accepted and kept verbatim", "[config]") {
    auto good = GENERATE(as<std::string>{}, "http://localhost:8080", "https://app.wrenn.dev/api/",
                         "HTTPS://Example.COM/Api", "http://127.0.0.1", "http://[::1]:8080/api",
                         "https://api.example.com:9443");
    auto c = with_key();
    c.base_url = good;
    CHECK(wrenn::resolve(c, no_env()).base_url == good);
}

TEST_CASE("config: proxy domain resolution", "[config]") {
    using map = std::map<std::string, std::string>;
    struct row {
        std::string base_url;
        std::string explicit_domain;
        map env;
        std::string expected;
    };
    auto r = GENERATE(values<row>({
        // derived from the default host
        {"", "", {}, "wrenn.dev"},
        {"https://app.wrenn.dev/api", "", {}, "wrenn.dev"},
        {"https://APP.Wrenn.Dev/api", "", {}, "wrenn.dev"},
        {"http://app.wrenn.dev", "", {}, "wrenn.dev"},
        // other hosts: host[:port] verbatim, path dropped
        {"http://localhost:8080", "", {}, "localhost:8080"},
        {"https://api.example.com:9443/some/path/", "", {}, "api.example.com:9443"},
        {"https://api.example.com/api", "", {}, "api.example.com"},
        {"https://wrenn.dev/api", "", {}, "wrenn.dev"},
        {"https://staging.app.wrenn.dev/api", "", {}, "staging.app.wrenn.dev"},
        {"https://app.wrenn.dev.evil.test/api", "", {}, "app.wrenn.dev.evil.test"},
        {"http://127.0.0.1:3000", "", {}, "127.0.0.1:3000"},
        {"http://[::1]:8080", "", {}, "[::1]:8080"},
        // env wins over derivation
        {"http://localhost:8080", "", {{"WRENN_PROXY_DOMAIN", "proxy.test"}}, "proxy.test"},
        {"", "", {{"WRENN_PROXY_DOMAIN", "proxy.test:81"}}, "proxy.test:81"},
        // empty env counts as unset
        {"http://localhost:8080", "", {{"WRENN_PROXY_DOMAIN", ""}}, "localhost:8080"},
        // explicit wins over env and derivation
        {"http://localhost:8080", "explicit.test", {{"WRENN_PROXY_DOMAIN", "proxy.test"}}, "explicit.test"},
        {"", "explicit.test", {}, "explicit.test"},
        // env base URL feeds the derivation
        {"", "", {{"WRENN_BASE_URL", "http://env-host:7000/api"}}, "env-host:7000"},
    }));
    CAPTURE(r.base_url, r.explicit_domain, r.expected);
    auto c = with_key();
    c.base_url = r.base_url;
    c.proxy_domain = r.explicit_domain;
    CHECK(wrenn::resolve(c, env_of(r.env)).proxy_domain == r.expected);
}

TEST_CASE("config: everything from the environment at once", "[config]") {
    auto c = wrenn::resolve(wrenn::config{}, env_of({{"WRENN_API_KEY", "wrn_k"},
                                                     {"WRENN_BASE_URL", "http://localhost:8080"},
                                                     {"WRENN_PROXY_DOMAIN", "p.localhost:8080"}}));
    CHECK(c.api_key == "wrn_k");
    CHECK(c.base_url == "http://localhost:8080");
    CHECK(c.proxy_domain == "p.localhost:8080");
}

TEST_CASE("config: only the three WRENN_ variables are looked up", "[config]") {
    fake_env env;
    env.vars = {{"WRENN_API_KEY", "wrn_k"}};
    (void)wrenn::resolve(wrenn::config{}, env.fn());
    for (auto& name : *env.asked) {
        CAPTURE(name);
        CHECK((name == "WRENN_API_KEY" || name == "WRENN_BASE_URL" || name == "WRENN_PROXY_DOMAIN"));
    }
    CHECK(std::find(env.asked->begin(), env.asked->end(), "WRENN_API_KEY") != env.asked->end());
}

TEST_CASE("config: other settings pass through resolve", "[config]") {
    auto c = with_key();
    c.verify_tls = false;
    c.ca_file = "/tmp/ca.pem";
    c.timeouts.connect = std::chrono::milliseconds(1);
    c.timeouts.idle = std::chrono::milliseconds(2);
    c.timeouts.total = std::chrono::milliseconds(3);
    c.max_connections_per_origin = 5;
    auto r = wrenn::resolve(c, no_env());
    CHECK_FALSE(r.verify_tls);
    CHECK(r.ca_file == "/tmp/ca.pem");
    CHECK(r.timeouts.connect.count() == 1);
    CHECK(r.timeouts.idle.count() == 2);
    CHECK(r.timeouts.total.count() == 3);
    CHECK(r.max_connections_per_origin == 5);

    c.max_connections_per_origin = 0;  // 0 would deadlock a pool: clamped to 1
    CHECK(wrenn::resolve(c, no_env()).max_connections_per_origin == 1);
}

TEST_CASE("config: process_env reads the real environment", "[config]") {
    // PATH is set in any test environment; a made-up name is not.
    CHECK(wrenn::process_env("PATH").has_value());
    CHECK_FALSE(wrenn::process_env("WRENN_UNIT_TEST_SURELY_UNSET_VARIABLE_4711").has_value());
}
