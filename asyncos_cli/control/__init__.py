"""The daemon's control channel: a UNIX socket only the owner can reach.

One JSON object per line each way: ``{"op": "status", ...}`` asks, and
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}`` answers.
"""
