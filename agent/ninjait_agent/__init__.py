"""NinjaIT endpoint agent."""

__version__ = "0.1.0"

try:  # a binary build may stamp its own version (build/agent/agent.spec, NINJAIT_AGENT_BUILD_VERSION)
    from ninjait_agent_build import VERSION as __version__  # type: ignore[import-not-found,no-redef]
except ImportError:
    pass
