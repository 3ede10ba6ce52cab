"""The web interface: pages served by the API and web process, reading the API's own handlers."""
