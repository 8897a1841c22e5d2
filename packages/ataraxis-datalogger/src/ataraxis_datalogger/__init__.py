"""ataraxis-datalogger: in development; its public API lands with its own issue.

This placeholder only reports the installed version so that the workspace, the meta-package and the
isolated-install checks can be built around it.
"""

from importlib.metadata import version

__version__: str = version("ataraxis-datalogger")

__all__ = ["__version__"]
