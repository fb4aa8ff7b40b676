"""First-party plugins. Each subpackage registers its components through entry points, exactly as a
third-party distribution would, and uses only the public core API.

Example:
    >>> from tympan import registry
    >>> registry.resolve("dsp:mfcc").distribution
    'tympan'
"""
