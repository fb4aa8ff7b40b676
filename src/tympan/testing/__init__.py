"""Testing support for tympan components and plugins (opt-in).

- :func:`check_component` runs the contract checks on a registered component.
- :func:`write_distribution` fabricates an installed distribution, to test discovery.
- ``tympan.testing.pytest_plugin`` holds pytest fixtures (enable with
  ``pytest_plugins = ["tympan.testing.pytest_plugin"]``).

Example:
    >>> from tympan.testing import check_component
    >>> all(r.ok for r in check_component("dsp:amplitude_to_db"))
    True
"""

from __future__ import annotations

from tympan.testing.checks import CheckResult, check_component
from tympan.testing.distributions import write_distribution

__all__ = ["CheckResult", "check_component", "write_distribution"]
