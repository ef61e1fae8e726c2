// Runs Python in a code runner's persistent Jupyter kernel: computes a damped
// oscillation in one cell, summarises it in the next (the variables persist),
// plots it and writes the figure to a PNG file on this machine.
//
//   code_runner [out.png]     (default: code_runner_plot.png)
#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <fstream>
#include <iostream>
#include <string>

namespace asio = boost::asio;

asio::awaitable<int> plot(wrenn::client client, std::string out_path) {
    co_return co_await wrenn::with_code_runner(client, {}, [&](wrenn::code_runner& runner) -> asio::awaitable<int> {
        // Cell 1: compute. Printed lines arrive while the cell runs.
        auto print_live = [](std::string_view text) { std::cout << "  kernel: " << text << std::flush; };
        auto computed = co_await runner.run_code(
            "import numpy as np\n"
            "t = np.linspace(0, 10, 500)\n"
            "y = np.exp(-0.3 * t) * np.cos(2 * np.pi * 0.8 * t)\n"
            "print(f'{len(t)} samples computed')\n",
            {.on_stdout = print_live});
        if (computed.error) {
            std::cerr << computed.error->name << ": " << computed.error->value << "\n";
            co_return 1;
        }

        // Cell 2: t and y are still there. The value of the last expression
        // is the main result, as text.
        auto peak = co_await runner.run_code("round(float(y[np.argmax(np.abs(y[50:])) + 50]), 4)");
        std::cout << "largest swing after the first second: " << peak.text().value_or("?") << "\n";

        // Cell 3: plot. The inline backend sends the figure as image/png.
        auto plotted = co_await runner.run_code(
            "import matplotlib.pyplot as plt\n"
            "plt.figure(figsize=(6, 3))\n"
            "plt.plot(t, y)\n"
            "plt.title('damped oscillation')\n"
            "plt.xlabel('t')\n"
            "plt.show()\n",
            {.timeout = std::chrono::seconds(120)});
        for (auto& r : plotted.results) {
            if (!r.png) continue;
            auto bytes = wrenn::decode_binary(*r.png);
            if (bytes.compare(0, 4, "\x89PNG") != 0) {
                std::cerr << "the figure is not a PNG\n";
                co_return 1;
            }
            std::ofstream(out_path, std::ios::binary) << bytes;
            std::cout << "wrote " << out_path << " (" << bytes.size() << " bytes, PNG)\n";
            co_return 0;
        }
        std::cerr << "no figure came back"
                  << (plotted.error ? ": " + plotted.error->name + ": " + plotted.error->value : std::string()) << "\n";
        co_return 1;
    });
}

int main(int argc, char** argv) {
    asio::io_context ioc;
    int status = 1;
    try {
        wrenn::client client(ioc);
        asio::co_spawn(client.get_executor(), plot(client, argc > 1 ? argv[1] : "code_runner_plot.png"),
                       [&](std::exception_ptr e, int rc) {
                           status = rc;
                           if (e) try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& ex) {
                                   std::cerr << ex.what() << "\n";
                                   status = 1;
                               }
                       });
        ioc.run();
    } catch (const wrenn::error& e) {
        std::cerr << e.what() << "\n";
    }
    return status;
}
