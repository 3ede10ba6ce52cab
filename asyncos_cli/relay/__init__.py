"""The mail relay: listeners (aiosmtpd), host access, the durable queue, delivery."""
