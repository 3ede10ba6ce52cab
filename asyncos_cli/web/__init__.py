"""The API and web server: one process the daemon supervises, serving the AsyncOS API under /esa/api/v2.0 (and
/sma/api/v2.0) on every interface that turns it on. It reads the committed configuration and the tracking
database itself and reaches the running gateway only through the control channel's client."""
