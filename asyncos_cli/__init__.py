"""asyncos-cli: an open email security gateway with the AsyncOS 14.0 appliance shell."""

__version__ = "14.0.0.1"

#: What `version` and sysDescr call the product.
PRODUCT = "asyncos-cli Open Email Security Gateway"
