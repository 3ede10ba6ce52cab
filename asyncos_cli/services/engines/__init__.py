"""Clients of the threat engines (clamd, Rspamd, the file reputation service) and the service that runs them."""
