// Starts a background process with a tag, finds it in the process list,
// watches it work, and stops it by tag.
#include <wrenn/wrenn.hpp>

#include <chrono>
#include <iostream>
#include <thread>

int main() try {
    wrenn::sync::client client;
    wrenn::sync::scoped_capsule cap(client, {.wait = true});

    auto started = cap->commands.run("while :; do date +%s >> /tmp/ticks; sleep 0.2; done",
                                     {.background = true, .tag = "ticker"});
    std::cout << "started pid " << started.pid << " as '" << started.tag << "'\n";

    for (auto& p : cap->commands.list())
        if (p.tag == started.tag) std::cout << "listed: pid " << p.pid << " " << p.cmd.value_or("?") << "\n";

    // Wait (at most 10 s) until it has ticked a few times.
    for (int i = 0; i < 50; ++i) {
        if (cap->commands.run("test $(wc -l < /tmp/ticks) -ge 3").exit_code == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::cout << "ticks so far: " << cap->commands.run("wc -l < /tmp/ticks").stdout_text;

    cap->commands.kill("ticker", wrenn::kill_signal::sigterm);
    auto running = [&] {
        for (auto& p : cap->commands.list())
            if (p.tag == started.tag) return true;
        return false;
    };
    for (int i = 0; i < 50 && running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (running()) {
        std::cerr << "still running 5 s after SIGTERM\n";
        return 1;
    }
    std::cout << "stopped '" << started.tag << "'\n";
    return 0;
} catch (const wrenn::error& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
