// Runs one command and reports what it cost the machine, as GNU time does, for the replay section:
// CPU time beside wall time (the gap is time the process waited for a CPU), and page faults (a
// first touch of fresh memory is expensive on some virtual machines: bench/native/page_touch.cc).
//
//   rusage-run --report FILE -- CMD [ARGS...]
//
// The command inherits stdin, stdout and stderr. One JSON line goes to FILE:
//   {"exit":0,"signal":0,"wallMs":..,"userMs":..,"sysMs":..,"minflt":..,"majflt":..,"maxrssKb":..}
// Exit status: the command's (1 if it could not be started, with the reason on stderr).
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

double mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

double ms_of(const timeval& t) { return double(t.tv_sec) * 1e3 + double(t.tv_usec) * 1e-3; }

}  // namespace

int main(int argc, char** argv) {
  const char* report = nullptr;
  int i = 1;
  for (; i < argc; i++) {
    if (std::strcmp(argv[i], "--report") == 0 && i + 1 < argc) {
      report = argv[++i];
    } else if (std::strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else {
      std::fprintf(stderr, "rusage-run: unknown argument %s\n", argv[i]);
      return 1;
    }
  }
  if (report == nullptr || i >= argc) {
    std::fprintf(stderr, "usage: rusage-run --report FILE -- CMD [ARGS...]\n");
    return 1;
  }
  const double start = mono_ms();
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "rusage-run: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid == 0) {
    execvp(argv[i], argv + i);
    std::fprintf(stderr, "rusage-run: %s: %s\n", argv[i], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "rusage-run: wait4: %s\n", std::strerror(errno));
      return 1;
    }
  }
  const double wall = mono_ms() - start;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  FILE* f = std::fopen(report, "w");
  if (f == nullptr) {
    std::fprintf(stderr, "rusage-run: %s: %s\n", report, std::strerror(errno));
    return 1;
  }
  std::fprintf(f,
               "{\"exit\":%d,\"signal\":%d,\"wallMs\":%.3f,\"userMs\":%.3f,\"sysMs\":%.3f,\"minflt\":%ld,\"majflt\":%ld,"
               "\"maxrssKb\":%ld}\n",
               code, sig, wall, ms_of(ru.ru_utime), ms_of(ru.ru_stime), ru.ru_minflt, ru.ru_majflt, ru.ru_maxrss);
  std::fclose(f);
  return sig ? 128 + sig : code;
}
