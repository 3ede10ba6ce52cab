"""The scanning engine (built by the scanning issue).

A parsed message, a configuration snapshot and injected clients in; a
verdict and actions out. It imports only ``asyncos_cli.config`` and
third-party libraries, never opens a socket, and runs in worker processes.
"""
