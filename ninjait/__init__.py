"""NinjaIT: RMM + PSA appliance for small managed-service providers."""

__version__ = "0.1.0"
