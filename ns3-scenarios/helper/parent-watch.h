// parent-watch.h: an ns-3 run never outlives the process that started it.
//
// The Python runner starts the scenario binary in its own session (so a terminal's Ctrl-C reaches
// only the runner) and names itself in GAIDT_PARENT_PID. DieWithParent() then asks Linux to send
// SIGKILL when that parent dies (prctl PR_SET_PDEATHSIG): kill -9 of a campaign, or of its whole
// process group, ends its ns-3 runs too, and no orphan later writes a result.json. If the parent
// is already gone when this runs, the binary exits at once. Without the variable (a run started by
// hand) nothing changes.
#ifndef GAIDT_PARENT_WATCH_H
#define GAIDT_PARENT_WATCH_H

#include <csignal>
#include <cstdlib>
#include <string>

#ifdef __linux__
#include <sys/prctl.h>
#include <unistd.h>
#endif

namespace gaidt
{

/** Die with the parent named by GAIDT_PARENT_PID (Linux); a no-op otherwise. */
inline void
DieWithParent()
{
#ifdef __linux__
    const char* env = std::getenv("GAIDT_PARENT_PID");
    if (env == nullptr || *env == '\0')
    {
        return;
    }
    const long parent = std::strtol(env, nullptr, 10);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (parent > 0 && getppid() != static_cast<pid_t>(parent))
    {
        std::_Exit(1); // the parent died before the watch was set: do not run orphaned
    }
#endif
}

} // namespace gaidt

#endif
