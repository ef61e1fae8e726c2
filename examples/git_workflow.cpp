// Clone a repository, branch, change, commit and push, inside a capsule.
//
//     git_workflow [URL]        (credentials from GIT_USERNAME / GIT_PASSWORD)
//
// Without a URL it first makes a bare repository inside the capsule to play
// the remote, so the example runs anywhere.
#include <wrenn/wrenn.hpp>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) try {
    const char* user = std::getenv("GIT_USERNAME");
    const char* password = std::getenv("GIT_PASSWORD");
    wrenn::sync::client client;
    wrenn::sync::scoped_capsule cap(client, {.wait = true});
    auto& git = cap->git;
    git.configure_user("Wrenn Example", "example@wrenn.dev");

    std::string url = argc > 1 ? argv[1] : "";
    if (url.empty()) {
        git.init("/tmp/origin.git", {.bare = true, .initial_branch = "main"});
        git.clone("/tmp/origin.git", "/tmp/seed");
        cap->files.write("/tmp/seed/README.md", std::string_view("# demo\n"));
        git.add({.cwd = "/tmp/seed"});
        git.commit("initial commit", {.cwd = "/tmp/seed"});
        git.push({.branch = "main", .cwd = "/tmp/seed"});
        url = "/tmp/origin.git";
    }

    git.clone(url, "project", {.username = user ? user : "", .password = password ? password : ""});
    git.create_branch("feature/hello", {.cwd = "project"});
    cap->files.write("project/hello.txt", std::string_view("hello from a capsule\n"));
    git.add({.paths = {"hello.txt"}, .cwd = "project"});

    auto status = git.status({.cwd = "project"});
    std::cout << "on " << status.branch.value_or("?") << ":";
    for (auto& f : status.files) std::cout << " " << f.path << " (" << f.status() << ")";
    std::cout << "\n";

    git.commit("Add hello.txt", {.cwd = "project"});
    git.push({.branch = "feature/hello", .set_upstream = true, .username = user ? user : "",
              .password = password ? password : "", .cwd = "project"});
    for (auto& b : git.branches({.cwd = "project"}))
        std::cout << (b.is_current ? "* " : "  ") << b.name << "\n";
    std::cout << "pushed feature/hello\n";
    return 0;
} catch (const wrenn::git_error& e) {
    std::cerr << "git failed: " << e.what() << "\n" << e.stderr_text() << "\n";
    return 1;
} catch (const wrenn::error& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
