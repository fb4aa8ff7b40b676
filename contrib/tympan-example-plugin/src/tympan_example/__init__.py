"""An example tympan plugin: ``example:tremolo`` (effect), ``example:zero_crossing_rate`` (transform), hooks.

Nothing here is imported until a name of this plugin is used; the hook module imports no torch.

Example:
    >>> from tympan import registry
    >>> registry.resolve("example:tremolo").distribution
    'tympan-example-plugin'
"""

__version__ = "0.1.0"
