"""DLP: national ID classifiers and the DLP policies that use them on outgoing mail."""
