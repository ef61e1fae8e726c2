// Blocking capsule.git: the same methods, each run to completion.
#pragma once

#include <wrenn/git.hpp>
#include <wrenn/sync/runner.hpp>

#include <memory>

namespace wrenn::sync {

class git {
public:
    git(std::shared_ptr<sync::runner> r, wrenn::git g) : r_(std::move(r)), g_(std::move(g)) {}

    command_result clone(std::string url, std::string dest = {}, git_clone_options o = {}) const {
        return r_->run(g_.clone(std::move(url), std::move(dest), o));
    }
    command_result init(std::string path = ".", git_init_options o = {}) const { return r_->run(g_.init(std::move(path), o)); }
    command_result add(git_add_options o = {}) const { return r_->run(g_.add(o)); }
    command_result commit(std::string message, git_commit_options o = {}) const {
        return r_->run(g_.commit(std::move(message), o));
    }
    command_result push(git_push_options o = {}) const { return r_->run(g_.push(o)); }
    command_result pull(git_pull_options o = {}) const { return r_->run(g_.pull(o)); }
    git_status status(git_options o = {}) const { return r_->run(g_.status(o)); }
    std::vector<git_branch> branches(git_options o = {}) const { return r_->run(g_.branches(o)); }
    command_result create_branch(std::string name, git_create_branch_options o = {}) const {
        return r_->run(g_.create_branch(std::move(name), o));
    }
    command_result checkout_branch(std::string name, git_options o = {}) const {
        return r_->run(g_.checkout_branch(std::move(name), o));
    }
    command_result delete_branch(std::string name, git_delete_branch_options o = {}) const {
        return r_->run(g_.delete_branch(std::move(name), o));
    }
    command_result remote_add(std::string name, std::string url, git_remote_add_options o = {}) const {
        return r_->run(g_.remote_add(std::move(name), std::move(url), o));
    }
    std::optional<std::string> remote_get(std::string name = "origin", git_options o = {}) const {
        return r_->run(g_.remote_get(std::move(name), o));
    }
    command_result reset(git_reset_options o = {}) const { return r_->run(g_.reset(o)); }
    command_result restore(arg_list paths, git_restore_options o = {}) const {
        return r_->run(g_.restore(paths, o));
    }
    command_result set_config(std::string key, std::string value, git_config_options o = {}) const {
        return r_->run(g_.set_config(std::move(key), std::move(value), o));
    }
    std::optional<std::string> get_config(std::string key, git_config_options o = {}) const {
        return r_->run(g_.get_config(std::move(key), o));
    }
    void configure_user(std::string name, std::string email, git_config_options o = {}) const {
        r_->run(g_.configure_user(std::move(name), std::move(email), o));
    }
    void dangerously_authenticate(std::string username, std::string password, git_authenticate_options o = {}) const {
        r_->run(g_.dangerously_authenticate(std::move(username), std::move(password), o));
    }

private:
    std::shared_ptr<sync::runner> r_;
    wrenn::git g_;
};

} // namespace wrenn::sync
