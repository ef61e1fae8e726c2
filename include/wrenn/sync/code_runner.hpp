// The blocking code runner: a sync::capsule with run_code().
#pragma once

#include <wrenn/code_runner.hpp>
#include <wrenn/sync/capsule.hpp>

namespace wrenn::sync {

class code_runner : public capsule {
public:
    static code_runner create(const client& c, code_runner_options opts = {}) {
        return code_runner(c, c.runner().run(wrenn::code_runner::create(c.async(), opts)));
    }
    static code_runner connect(const client& c, std::string capsule_id,
                               std::string kernel = std::string(default_kernel)) {
        return code_runner(c, c.runner().run(wrenn::code_runner::connect(c.async(), std::move(capsule_id),
                                                                         std::move(kernel))));
    }

    code_runner(const client& c, wrenn::code_runner inner)
        : capsule(c, inner), r_(c.shared_runner()), runner_(std::move(inner)) {}

    execution run_code(std::string code, run_code_options opts = {}) const {
        return r_->run(runner_.run_code(std::move(code), opts));
    }
    void interrupt() const { r_->run(runner_.interrupt()); }
    const std::string& kernel_name() const noexcept { return runner_.kernel_name(); }
    std::optional<std::string> kernel_id() const { return runner_.kernel_id(); }
    const std::string& jupyter_url() const noexcept { return runner_.jupyter_url(); }

    wrenn::code_runner& async() noexcept { return runner_; }

private:
    std::shared_ptr<sync::runner> r_;
    wrenn::code_runner runner_;
};

} // namespace wrenn::sync
