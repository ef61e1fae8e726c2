// What the kernel says about this process's memory (/proc/self/status).
#pragma once

namespace bench {

// A "Vm..." line of /proc/self/status in KiB ("VmHWM": peak resident set,
// "VmRSS": resident now); -1 when it cannot be read.
long proc_status_kib(const char* key);

} // namespace bench
