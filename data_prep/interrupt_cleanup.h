#pragma once
// Removes pic-prep's temporary output when the process is interrupted (SIGINT, SIGTERM,
// SIGHUP), so that Ctrl-C or a Slurm cancel leaves nothing behind. SIGKILL cannot be caught:
// its leftover is still only OUT.tmp-<pid>, never a half-written file under the final name.
#include <string>

namespace pic::prep {

// Registers `path` (one at a time) and installs the handlers on first use. The handler
// unlinks the file, then re-raises the signal with its default action.
void remove_on_interrupt(const std::string& path);
// The file was renamed or removed: nothing to clean up any more.
void forget_on_interrupt();

}  // namespace pic::prep
