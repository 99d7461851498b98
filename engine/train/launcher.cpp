#include "engine/train/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mm::engine::train {

namespace {

std::atomic<int> g_forwardSignal{0};
extern "C" void rememberSignal(int sig)
{
    g_forwardSignal.store(sig);
}

/// A port that was free a moment ago on the loopback (the kernel's choice).
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(fd);
    if (!ok)
        throw std::runtime_error(std::string("no free port on 127.0.0.1: ") + std::strerror(errno));
    return ntohs(a.sin_port);
}

std::vector<std::string> splitCommas(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string part;
    while (std::getline(in, part, ','))
        if (!part.empty())
            out.push_back(part);
    return out;
}

std::string describeStatus(int status)
{
    if (WIFSIGNALED(status))
        return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::vector<std::string> ownCommandLine()
{
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> out;
    std::string arg;
    while (std::getline(in, arg, '\0'))
        out.push_back(arg);
    return out;
}

int launchRanks(const LaunchOptions& o, const std::function<void(const std::string&)>& report)
{
    if (o.nproc < 1)
        throw std::invalid_argument("--nproc must be at least 1");
    if (o.argv.empty())
        throw std::invalid_argument("launchRanks: no command line");
    const char* addrEnv = std::getenv("MASTER_ADDR");
    const std::string addr = addrEnv && *addrEnv ? addrEnv : "127.0.0.1";
    const char* portEnv = std::getenv("MASTER_PORT");
    const std::string port = portEnv && *portEnv ? portEnv : std::to_string(freePort());
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    const std::vector<std::string> gpus = visible ? splitCommas(visible) : std::vector<std::string>{};

    std::vector<char*> args;
    for (const std::string& a : o.argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    g_forwardSignal.store(0);
    struct sigaction sa {}, oldInt {}, oldTerm {};
    sa.sa_handler = rememberSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &oldInt);
    ::sigaction(SIGTERM, &sa, &oldTerm);

    std::vector<pid_t> pids(static_cast<size_t>(o.nproc), -1);
    for (int r = 0; r < o.nproc; ++r) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            report(std::string("launcher: fork failed: ") + std::strerror(errno));
            for (pid_t p : pids)
                if (p > 0)
                    ::kill(p, SIGKILL);
            return 1;
        }
        if (pid == 0) {
            ::signal(SIGINT, SIG_DFL);
            ::signal(SIGTERM, SIG_DFL);
            ::setenv("RANK", std::to_string(r).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
            ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
            ::setenv("MASTER_ADDR", addr.c_str(), 1);
            ::setenv("MASTER_PORT", port.c_str(), 1);
            ::setenv("NCCL_NVLS_ENABLE", "0", 0);  // NVLink multicast off unless asked for
            const std::string gpu = gpus.empty() ? std::to_string(r) : gpus[size_t(r) % gpus.size()];
            ::setenv("CUDA_VISIBLE_DEVICES", gpu.c_str(), 1);
            ::execv(o.executable.c_str(), args.data());
            std::fprintf(stderr, "launcher: rank %d: cannot run %s: %s\n", r, o.executable.c_str(), std::strerror(errno));
            std::_Exit(127);
        }
        pids[size_t(r)] = pid;
    }
    report("launcher: " + std::to_string(o.nproc) + " ranks started (MASTER_ADDR " + addr + ", MASTER_PORT " + port + ")");

    int result = 0, running = o.nproc;
    bool stopping = false;
    std::chrono::steady_clock::time_point killAt{};
    auto stopOthers = [&](int sig) {
        for (pid_t p : pids)
            if (p > 0)
                ::kill(p, sig);
    };
    while (running > 0) {
        if (const int sig = g_forwardSignal.exchange(0)) {
            report("launcher: signal " + std::to_string(sig) + ": passing it on to the ranks");
            stopOthers(sig);
        }
        int status = 0;
        const pid_t done = ::waitpid(-1, &status, WNOHANG);
        if (done > 0) {
            for (int r = 0; r < o.nproc; ++r) {
                if (pids[size_t(r)] != done)
                    continue;
                pids[size_t(r)] = -1;
                --running;
                const bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
                if (failed && result == 0) {
                    result = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
                    if (running > 0 && !stopping) {
                        report("launcher: rank " + std::to_string(r) + " " + describeStatus(status) +
                               "; stopping the other " + std::to_string(running) + " rank(s)");
                        stopping = true;
                        stopOthers(SIGTERM);
                        killAt = std::chrono::steady_clock::now() + std::chrono::seconds(o.graceSeconds);
                    } else {
                        report("launcher: rank " + std::to_string(r) + " " + describeStatus(status));
                    }
                }
            }
            continue;
        }
        if (done < 0 && errno != EINTR)
            break;
        if (stopping && std::chrono::steady_clock::now() > killAt) {
            report("launcher: ranks still running " + std::to_string(o.graceSeconds) + " s after SIGTERM: killing them");
            stopOthers(SIGKILL);
            stopping = false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::sigaction(SIGINT, &oldInt, nullptr);
    ::sigaction(SIGTERM, &oldTerm, nullptr);
    return result;
}

}  // namespace mm::engine::train
