// A TCP port that is free on this node now (for --master-port 0).
#pragma once

namespace fw::launch {

// Binds a socket to port 0 on all interfaces, reads the port the kernel chose and closes
// the socket. Another process could take the port before rank 0 binds it (the same race
// torchrun's free-port pick has). Throws fw::Error (Runtime) if no socket can be bound.
int pick_free_port();

}  // namespace fw::launch
