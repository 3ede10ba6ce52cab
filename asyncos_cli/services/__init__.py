"""The services around the relay and the engine: logs, tracking, certificates, outbound clients."""
