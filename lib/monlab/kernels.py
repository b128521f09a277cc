"""The kernel manager `monlab run` gives papermill: kernels talk over Unix sockets, not TCP.

With IPC no kernel port is open to other local users, and ipykernel has no reason to warn about
plain-text TCP on every notebook.
"""

from jupyter_client.manager import KernelManager
from traitlets import CaselessStrEnum


class IpcKernelManager(KernelManager):
    """A KernelManager whose default transport is IPC; its socket files sit beside the connection file."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
