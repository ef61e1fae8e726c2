// The quickstart with the blocking API: no io_context, no co_await.
#include <wrenn/wrenn.hpp>

#include <iostream>

int main() try {
    wrenn::sync::client client;                    // WRENN_API_KEY, WRENN_BASE_URL
    wrenn::sync::scoped_capsule cap(client, {.wait = true});  // destroyed at scope end
    auto r = cap->commands.run("echo hello");
    std::cout << r.stdout_text;
    return r.exit_code;
} catch (const wrenn::error& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
